// Rules: OSSEC's <rule> definitions and the rule tree they form.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analysis/cdb_list.h"
#include "analysis/decoder.h"
#include "analysis/event_list.h"
#include "analysis/ip_list.h"
#include "analysis/pattern/pattern.h"

namespace vigil::analysis {

// Bits of <options>.
enum RuleOption : uint32_t {
  kOptionAlertByEmail = 1 << 0,
  kOptionNoEmailAlert = 1 << 1,
  kOptionLogAlert = 1 << 2,
  kOptionNoLog = 1 << 3,
  kOptionNoAr = 1 << 4,
  kOptionNoFullLog = 1 << 5,
};

// Bits of the context elements that restrict which earlier events count for correlation.
enum SameFlag : uint32_t {
  kSameSourceIp = 1 << 0,
  kSameSrcPort = 1 << 1,
  kSameDstPort = 1 << 2,
  kSameUser = 1 << 3,
  kSameLocation = 1 << 4,
  kSameId = 1 << 5,
  kDifferentUrl = 1 << 6,
  kDifferentSrcIp = 1 << 7,
  kDifferentSrcGeoIp = 1 << 8,
};

// A pattern condition on one event field.
struct FieldCondition {
  enum class Source : uint8_t { kField, kUser, kHostname, kProgramName, kDynamic };
  Source source = Source::kField;
  Field field = Field::kData;
  std::string dynamic_name;
  Pattern pattern;
};

// Fields that <ignore> and <check_if_ignored> put in an ignore-store entry.
enum IgnoreField : uint32_t {
  kIgnoreName = 1 << 0,
  kIgnoreUser = 1 << 1,
  kIgnoreSrcIp = 1 << 2,
  kIgnoreDstIp = 1 << 3,
  kIgnoreId = 1 << 4,
  kIgnoreLocation = 1 << 5,
  kIgnoreData = 1 << 6,
  kIgnoreSystemName = 1 << 7,
};

// A built-in test named by <compiled_rule>; returns true when the rule may match.
using CompiledRule = bool (*)(const Event& event);

// Returns the built-in test named `name`, or nullptr when there is none. The names are those
// of OSSEC's compiled rules: comp_srcuser_dstuser, check_id_size,
// comp_mswin_targetuser_calleruser_diff, is_simple_http_request and is_valid_crawler.
CompiledRule FindCompiledRule(std::string_view name);

// A <list> condition: the event field is looked up in a key-value list.
struct ListCondition {
  FieldCondition::Source source = FieldCondition::Source::kField;
  Field field = Field::kSrcIp;
  ListLookup lookup = ListLookup::kMatchKey;
  std::shared_ptr<const KeyValueList> list;
  std::optional<Pattern> check_value;
  std::string path;  // as written in the rule
};

// A <time> range in minutes since midnight, inclusive; negated when written with `!` or when
// the range wraps past midnight (as OSSEC stores it).
struct TimeRange {
  int start_minute = 0;
  int end_minute = 0;
  bool negate = false;
};

struct RuleInfo {
  std::string type;  // text, link, cve or osvdb
  std::string value;
};

// Trying a rule reads the members of the first block, which come first and start on a cache
// line, so that a rule costs few cache misses. Their order is not OSSEC's order of tests.
struct alignas(64) Rule {
  // A child with the prefilter tests of its <match> and <regex>, which the engine fills in.
  struct ChildGate {
    Rule* rule = nullptr;
    PrefilterTest match;
    PrefilterTest regex;
  };

  int id = 0;
  int level = 0;
  int decoded_as = -1;  // decoder id, -1 when not set
  // Requirements of `match` and `regex` in the engine's LogPrefilter; -1 when none.
  int match_prefilter = -1;
  int regex_prefilter = -1;
  // True when the requirement alone decides <match> or <regex> on logs that the prefilter
  // filters (LogPrefilter::Decides()). The engine sets them.
  bool match_decided = false;
  bool regex_decided = false;
  bool noalert = false;
  // False when the rule has none of the conditions from <action> on, so the engine can stop
  // after <match> and <regex>. The engine sets it, and it is true until then.
  bool has_field_conditions = true;
  bool check_diff = false;
  bool if_fts = false;
  // True when if_matched_regex is the only context element: the rule then searches the
  // history of all alerted events rather than a rule's or group's list.
  bool searches_history = false;
  std::optional<Pattern> program_name;
  std::optional<Pattern> id_pattern;
  std::optional<Pattern> match;
  std::optional<Pattern> regex;
  EventList* matched_list = nullptr;  // the list this rule searches, for if_matched_*
  std::vector<ListCondition> lists;
  std::vector<Rule*> children;  // sorted by sort_level, level 0 first
  // The children an event can match, by the event's decoder id: those without <decoded_as>
  // and those whose <decoded_as> is that decoder, in `children` order. Built by the loader
  // once the tree is complete, sorted by decoder id. A decoder id absent from the list selects
  // children_generic.
  std::vector<std::pair<int, std::vector<ChildGate>>> children_by_decoder;
  std::vector<ChildGate> children_generic;

  int sort_level = 0;  // level x 100 (level 0 sorts first as 9900), as OSSEC orders siblings
  int maxsize = 0;
  int frequency = 0;
  int timeframe = 0;
  int ignore_seconds = 0;
  std::string description;
  std::string groups;  // the group string: "syslog,sshd,authentication_failed,"
  std::vector<RuleInfo> info;
  uint32_t options = 0;
  bool log_alert = false;   // written to alerts.log
  bool mail_alert = false;  // marked " mail " in alerts.log

  // Alert text that depends on the rule alone, rendered once by RuleSet::Load, so that the
  // alert writers (src/alerting/alert.cc) copy it rather than format it for every alert.
  struct AlertText {
    std::string log_line;   // "Rule: 5710 (level 5) -> 'description'\n" of alerts.log
    std::string json_head;  // the JSON "rule" object up to `"firedtimes":`
    std::string json_tail;  // the rest of it after the count: groups, info, closing brace
  };
  AlertText alert_text;

  // The other conditions, in OSSEC's order of tests.
  std::string decoded_as_name;
  std::optional<Category> category;
  std::optional<std::string> action;  // compared exactly, case-sensitive
  std::optional<Pattern> url;
  std::vector<FieldCondition> dynamic_fields;
  IpList srcip;
  IpList dstip;
  std::optional<Pattern> srcport;
  std::optional<Pattern> dstport;
  std::optional<Pattern> user;
  std::optional<Pattern> srcgeoip;  // tested against Event::srcgeoip, a country code
  std::optional<Pattern> dstgeoip;
  std::optional<Pattern> extra_data;
  std::optional<Pattern> hostname;
  std::optional<Pattern> status;
  std::optional<TimeRange> time;
  uint8_t weekdays = 0;  // bit d for day d (0 = Sunday); 0 when not set
  CompiledRule compiled_rule = nullptr;
  std::string compiled_rule_name;

  // Tree placement.
  std::vector<int> if_sid;
  std::optional<int> if_level;
  std::string if_group;

  // Correlation.
  std::vector<int> if_matched_sid;
  std::string if_matched_group;
  std::optional<Pattern> if_matched_regex;
  uint32_t same = 0;  // SameFlag bits
  uint32_t ignore_fields = 0;            // IgnoreField bits of <ignore>
  uint32_t check_if_ignored_fields = 0;  // IgnoreField bits of <check_if_ignored>

  // Returns the children that an event decoded by `decoder_id` (-1 for none) can match. The
  // list is a sorted vector because a lookup in an unordered_map costs an integer division.
  const std::vector<ChildGate>& ChildGatesFor(int decoder_id) const {
    auto it = std::lower_bound(children_by_decoder.begin(), children_by_decoder.end(), decoder_id,
                               [](const std::pair<int, std::vector<ChildGate>>& entry, int id) {
                                 return entry.first < id;
                               });
    return it != children_by_decoder.end() && it->first == decoder_id ? it->second
                                                                      : children_generic;
  }

  // Runtime state, owned by the engine thread.
  std::shared_ptr<EventList> own_list;  // events this rule alerted on, when some rule searches
  std::vector<EventList*> group_lists;  // lists of if_matched_group rules that match this one
  // The lists that this rule's alerted events go into: `own_list` when it has one, else
  // `group_lists`. The loader fills it with them.
  std::vector<EventList*> store_lists;
  int64_t ignore_until = 0;             // alerts of this rule are suppressed before this time
  uint64_t fired_times = 0;

  std::string file;
  int line = 0;
};

}  // namespace vigil::analysis
