// Loading of rule files into the rule tree.
#include <algorithm>
#include <iterator>
#include <map>

#include "analysis/rule_set.h"
#include "analysis/word_match.h"
#include "analysis/xml_vars.h"
#include "common/file.h"
#include "common/json_writer.h"
#include "common/text.h"
#include "config/xml.h"

namespace vigil::analysis {

using config::Where;
using config::XmlNode;

namespace {

constexpr int kMaxRuleId = 999999;

// Text of repeated pattern elements, concatenated without separator as OSSEC does.
struct PatternText {
  std::string text;
  PatternSyntax syntax = PatternSyntax::kOsMatch;
  bool seen = false;
  bool mixed = false;
  int line = 0;
  std::string element;

  void Append(const XmlNode& node, PatternSyntax node_syntax) {
    if (seen && node_syntax != syntax) mixed = true;
    if (!seen) {
      line = node.line;
      element = node.name;
    }
    syntax = node_syntax;
    seen = true;
    text += node.text;
  }
};

bool ParseIntAttribute(const std::string& text, int max, int* out) {
  uint64_t value = 0;
  if (!ParseUint(Trim(text), &value) || value > static_cast<uint64_t>(max)) return false;
  *out = static_cast<int>(value);
  return true;
}

// Parses `H[:MM][am|pm]` into minutes since midnight.
bool ParseClock(std::string_view text, int* minutes) {
  text = Trim(text);
  std::string lower = ToLower(text);
  int add = 0;
  if (lower.ends_with("am") || lower.ends_with("pm")) {
    add = lower.ends_with("pm") ? 12 * 60 : 0;
    lower.resize(lower.size() - 2);
    lower = std::string(Trim(lower));
  } else {
    add = -1;
  }
  uint64_t hour = 0, minute = 0;
  size_t colon = lower.find(':');
  if (!ParseUint(std::string_view(lower).substr(0, colon), &hour)) return false;
  if (colon != std::string::npos &&
      !ParseUint(std::string_view(lower).substr(colon + 1), &minute)) {
    return false;
  }
  if (minute > 59) return false;
  if (add >= 0) {
    if (hour < 1 || hour > 12) return false;
    hour %= 12;
  } else if (hour > 23) {
    return false;
  }
  *minutes = static_cast<int>(hour) * 60 + static_cast<int>(minute) + std::max(add, 0);
  return true;
}

bool ParseTimeRange(std::string_view text, TimeRange* range) {
  text = Trim(text);
  bool negate = false;
  if (!text.empty() && text[0] == '!') {
    negate = true;
    text.remove_prefix(1);
  }
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) return false;
  int start = 0, end = 0;
  if (!ParseClock(text.substr(0, dash), &start) || !ParseClock(text.substr(dash + 1), &end)) {
    return false;
  }
  if (start > end) {
    // A range that wraps past midnight is kept as the negation of the day-time gap. OSSEC
    // drops a user's `!` in this case; so does Vigil, for the same decisions.
    range->start_minute = end;
    range->end_minute = start;
    range->negate = true;
  } else {
    range->start_minute = start;
    range->end_minute = end;
    range->negate = negate;
  }
  return true;
}

bool ParseWeekdays(std::string_view text, uint8_t* days) {
  static constexpr std::pair<std::string_view, uint8_t> kDays[] = {
      {"sunday", 1 << 0},   {"sun", 1 << 0}, {"monday", 1 << 1},    {"mon", 1 << 1},
      {"tuesday", 1 << 2},  {"tue", 1 << 2}, {"wednesday", 1 << 3}, {"wed", 1 << 3},
      {"thursday", 1 << 4}, {"thu", 1 << 4}, {"friday", 1 << 5},    {"fri", 1 << 5},
      {"saturday", 1 << 6}, {"sat", 1 << 6}, {"weekdays", 0x3e},    {"weekends", 0x41},
  };
  uint8_t result = 0;
  text = Trim(text);
  // OSSEC 3.7 detects a leading `!` but does not skip it, so `!weekends` fails to load there.
  // Vigil reads it as the days not listed.
  bool negate = !text.empty() && text[0] == '!';
  if (negate) text.remove_prefix(1);
  std::vector<std::string> parts = SplitList(ToLower(text), ", ");
  if (parts.empty()) return false;
  for (const std::string& part : parts) {
    bool found = false;
    for (const auto& [name, bits] : kDays) {
      if (part == name) {
        result |= bits;
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  if (negate) result = static_cast<uint8_t>(~result & 0x7f);
  *days = result;
  return true;
}

}  // namespace

class RuleLoader {
 public:
  RuleLoader(const DecoderSet& decoders, const RuleOptions& options, RuleSet* set)
      : decoders_(decoders), options_(options), set_(set) {}

  void LoadFile(const std::string& file) {
    Expected<std::vector<XmlNode>> nodes = ReadRulesXml(file);
    if (!nodes.ok()) {
      errors_.push_back(nodes.status().message());
      return;
    }
    for (const XmlNode& group : *nodes) {
      if (group.name != "group") {
        errors_.push_back(Where(file, group) + "<" + group.name +
                          "> is not allowed here, expected <group name=\"...\">");
        continue;
      }
      const std::string* group_name = group.Attribute("name");
      if (group_name == nullptr || group.attributes.size() != 1) {
        errors_.push_back(Where(file, group) + "<group> needs exactly one attribute, name");
        continue;
      }
      for (const XmlNode& rule : group.children) {
        if (rule.name != "rule") {
          errors_.push_back(Where(file, rule) + "<" + rule.name +
                            "> is not allowed in <group>, expected <rule>");
          continue;
        }
        LoadRule(file, *group_name, rule);
      }
    }
  }

  // Wires the correlation lists and the child indexes once every rule is in place.
  void Finish() {
    for (const auto& rule : set_->rules_) {
      IndexChildren(rule.get());
      RenderAlertText(rule.get());
    }
    for (const auto& rule : set_->rules_) {
      if (rule->if_matched_sid.empty()) continue;
      Rule* target = set_->Find(rule->if_matched_sid.front());
      if (target == nullptr) continue;  // reported when the rule was loaded
      if (!target->own_list) {
        target->own_list = std::make_shared<EventList>();
        set_->lists_.push_back(target->own_list);
      }
      rule->matched_list = target->own_list.get();
      target->own_list->max_age_seconds =
          std::max(target->own_list->max_age_seconds, rule->timeframe);
      if (rule->same & kSameSourceIp) {
        target->own_list->index_srcip = true;
      } else if (rule->same & kSameUser) {
        target->own_list->index_dstuser = true;
      }
    }
    for (const auto& rule : set_->rules_) {
      if (rule->if_matched_group.empty() || !rule->if_matched_sid.empty()) continue;
      auto list = std::make_shared<EventList>();
      list->max_age_seconds = rule->timeframe;
      list->index_srcip = (rule->same & kSameSourceIp) != 0;
      list->index_dstuser = !list->index_srcip && (rule->same & kSameUser) != 0;
      set_->lists_.push_back(list);
      rule->matched_list = list.get();
      for (const auto& other : set_->rules_) {
        if (WordMatch(rule->if_matched_group, other->groups)) {
          other->group_lists.push_back(list.get());
        }
      }
    }
    // A rule's events go into its own list when a rule searches it, and else into its group
    // lists.
    for (const auto& rule : set_->rules_) {
      if (rule->own_list) {
        rule->store_lists = {rule->own_list.get()};
      } else {
        rule->store_lists = rule->group_lists;
      }
    }
  }

  std::vector<std::string>& errors() { return errors_; }

 private:
  // Fills rule->alert_text. The pieces are those of the alerts.log and alerts.json formats
  // written by src/alerting/alert.cc, which puts the per-alert parts between them.
  static void RenderAlertText(Rule* rule) {
    Rule::AlertText& text = rule->alert_text;
    text = Rule::AlertText();
    text.log_line = "Rule: " + std::to_string(rule->id) + " (level " + std::to_string(rule->level) +
                    ") -> '" + rule->description + "'\n";
    JsonWriter head(&text.json_head);
    head.BeginObject();
    head.MemberInt("level", rule->level);
    head.Member("comment", rule->description);
    head.MemberInt("sidid", rule->id);
    if (rule->frequency > 0) head.MemberInt("frequency", rule->frequency);
    head.Key("firedtimes");
    text.json_tail = ",";
    JsonWriter tail(&text.json_tail);
    tail.Key("groups");
    tail.BeginArray();
    // The group string is comma-separated with a trailing comma; empty items are left out.
    std::string_view groups = rule->groups;
    while (!groups.empty()) {
      size_t comma = groups.find(',');
      std::string_view group = groups.substr(0, comma);
      if (!group.empty()) tail.String(group);
      groups.remove_prefix(comma == std::string_view::npos ? groups.size() : comma + 1);
    }
    tail.EndArray();
    for (const RuleInfo& info : rule->info) {
      tail.Member(info.type == "cve" ? "cve" : "info", info.value);
    }
    tail.EndObject();
  }

  // Splits a rule's children by <decoded_as>, so that matching skips the children whose
  // decoder differs from the event's without testing them one by one.
  static void IndexChildren(Rule* rule) {
    rule->children_generic.clear();
    // A map keeps the decoder ids sorted, as Rule::ChildGatesFor() expects.
    std::map<int, std::vector<Rule::ChildGate>> by_decoder;
    for (Rule* child : rule->children) {
      if (child->decoded_as >= 0) by_decoder.try_emplace(child->decoded_as);
    }
    for (Rule* child : rule->children) {
      // The engine fills in the prefilter tests.
      Rule::ChildGate gate{.rule = child, .match = {}, .regex = {}};
      if (child->decoded_as < 0) {
        rule->children_generic.push_back(gate);
        for (auto& [id, list] : by_decoder) list.push_back(gate);
      } else {
        by_decoder[child->decoded_as].push_back(gate);
      }
    }
    rule->children_by_decoder.assign(std::make_move_iterator(by_decoder.begin()),
                                     std::make_move_iterator(by_decoder.end()));
  }

  void Error(const std::string& where, const std::string& message) {
    errors_.push_back(where + message);
  }

  // Adds a warning for each attribute of rule element `child` that OSSEC ignores.
  void WarnIgnoredAttributes(const std::string& where, const std::string& element,
                             const XmlNode& child) {
    std::vector<std::string> ignored;
    if (element == "info") {
      ignored = IgnoredAttributeWarnings(where, child, {"type"});
    } else if (element == "list") {
      ignored = IgnoredAttributeWarnings(where, child, {"field", "lookup", "check_value"});
    } else if (element == "field") {
      ignored = IgnoredAttributeWarnings(where, child, {"name"});
    } else {
      ignored = IgnoredAttributeWarnings(where, child, {});
    }
    set_->warnings_.insert(set_->warnings_.end(), ignored.begin(), ignored.end());
  }

  std::optional<Pattern> Compile(const std::string& file, const PatternText& text,
                                 const std::string& rule_where) {
    if (text.mixed) {
      Error(rule_where, "<" + text.element + "> is mixed with its _pcre2 variant");
      return std::nullopt;
    }
    Expected<Pattern> pattern = Pattern::Compile(text.syntax, text.text);
    if (!pattern.ok()) {
      errors_.push_back(file + ":" + std::to_string(text.line) + ": <" + text.element +
                        ">: " + pattern.status().message());
      return std::nullopt;
    }
    return std::move(*pattern);
  }

  void LoadRule(const std::string& file, const std::string& group_name, const XmlNode& node) {
    auto rule = std::make_unique<Rule>();
    rule->file = file;
    rule->line = node.line;
    rule->groups = group_name;
    rule->timeframe = options_.default_timeframe;
    std::string where = Where(file, node);
    size_t errors_before = errors_.size();

    bool has_id = false, has_level = false, overwrite = false;
    int accuracy = 1;
    for (const auto& [key, value] : node.attributes) {
      if (key == "id") {
        has_id = ParseIntAttribute(value, kMaxRuleId, &rule->id);
        if (!has_id) Error(where, "<rule id=\"" + value + "\">: expected a number 0 to 999999");
      } else if (key == "level") {
        has_level = ParseIntAttribute(value, 9999, &rule->level);
        if (!has_level) Error(where, "<rule level=\"" + value + "\">: expected a number");
      } else if (key == "maxsize") {
        if (!ParseIntAttribute(value, 9999, &rule->maxsize)) {
          Error(where, "<rule maxsize=\"" + value + "\">: expected a number");
        }
      } else if (key == "frequency") {
        if (!ParseIntAttribute(value, 9999, &rule->frequency)) {
          Error(where, "<rule frequency=\"" + value + "\">: expected a number");
        }
      } else if (key == "timeframe") {
        if (!ParseIntAttribute(value, 99999, &rule->timeframe)) {
          Error(where, "<rule timeframe=\"" + value + "\">: expected a number of seconds");
        }
      } else if (key == "accuracy") {
        if (!ParseIntAttribute(value, 9999, &accuracy)) {
          Error(where, "<rule accuracy=\"" + value + "\">: expected a number");
        }
      } else if (key == "noalert") {
        rule->noalert = true;
      } else if (key == "ignore") {
        if (!ParseIntAttribute(value, 999999, &rule->ignore_seconds)) {
          Error(where, "<rule ignore=\"" + value + "\">: expected a number of seconds");
        }
      } else if (key == "overwrite") {
        overwrite = value == "yes";
      } else {
        Error(where, "<rule>: unknown attribute '" + key + "'");
      }
    }
    if (!has_id || !has_level) {
      if (has_id || errors_.size() == errors_before) {
        Error(where, "<rule> needs both id and level attributes");
      }
      return;
    }
    where += "rule " + std::to_string(rule->id) + ": ";

    PatternText match, regex, program_name, id, url, status, hostname, extra_data, user, srcport,
        dstport, srcgeoip, dstgeoip, if_matched_regex;
    bool context = false;
    for (const XmlNode& child : node.children) {
      std::string element = ToLower(child.name);
      std::string value(Trim(child.text));
      std::string child_where = Where(file, child);
      if (!child.attributes.empty()) WarnIgnoredAttributes(child_where, element, child);
      if (element == "match") {
        match.Append(child, PatternSyntax::kOsMatch);
      } else if (element == "match_pcre2") {
        match.Append(child, PatternSyntax::kPcre2);
      } else if (element == "regex") {
        regex.Append(child, PatternSyntax::kOsRegex);
      } else if (element == "pcre2") {
        regex.Append(child, PatternSyntax::kPcre2);
      } else if (element == "program_name" || element == "program_name_pcre2") {
        program_name.Append(child, Syntax(element));
      } else if (element == "id" || element == "id_pcre2") {
        id.Append(child, Syntax(element));
      } else if (element == "url" || element == "url_pcre2") {
        url.Append(child, Syntax(element));
      } else if (element == "status" || element == "status_pcre2") {
        status.Append(child, Syntax(element));
      } else if (element == "hostname" || element == "hostname_pcre2") {
        hostname.Append(child, Syntax(element));
      } else if (element == "extra_data" || element == "extra_data_pcre2") {
        extra_data.Append(child, Syntax(element));
      } else if (element == "user" || element == "user_pcre2") {
        user.Append(child, Syntax(element));
      } else if (element == "srcport" || element == "srcport_pcre2") {
        srcport.Append(child, Syntax(element));
      } else if (element == "dstport" || element == "dstport_pcre2") {
        dstport.Append(child, Syntax(element));
      } else if (element == "srcgeoip" || element == "srcgeoip_pcre2") {
        srcgeoip.Append(child, Syntax(element));
      } else if (element == "dstgeoip" || element == "dstgeoip_pcre2") {
        dstgeoip.Append(child, Syntax(element));
      } else if (element == "decoded_as") {
        int decoder_id = decoders_.IdOf(value);
        if (decoder_id < 0) {
          Error(child_where, "<decoded_as> names decoder '" + value + "', which is not defined");
        }
        rule->decoded_as = decoder_id;
        rule->decoded_as_name = value;
      } else if (element == "category") {
        Category category;
        if (!ParseCategory(value, &category)) {
          Error(child_where, "<category>: unknown category '" + value + "'");
        } else {
          rule->category = category;
        }
      } else if (element == "srcip" || element == "dstip") {
        IpList& list = element == "srcip" ? rule->srcip : rule->dstip;
        Status s = list.Add(value);
        if (!s.ok()) Error(child_where, "<" + element + ">: " + s.message());
      } else if (element == "action") {
        rule->action = value;
      } else if (element == "time") {
        TimeRange range;
        if (!ParseTimeRange(value, &range)) {
          Error(child_where, "<time>: expected a range like '6 pm - 8:30 am', got '" + value + "'");
        }
        rule->time = range;
      } else if (element == "weekday") {
        if (!ParseWeekdays(value, &rule->weekdays)) {
          Error(child_where,
                "<weekday>: expected day names, weekdays or weekends, got '" + value + "'");
        }
      } else if (element == "description") {
        rule->description += child.text;
        std::replace(rule->description.begin(), rule->description.end(), '\n', ' ');
      } else if (element == "group") {
        rule->groups += value;
      } else if (element == "info") {
        const std::string* type = child.Attribute("type");
        rule->info.push_back({type != nullptr ? *type : "text", value});
      } else if (element == "cve") {
        rule->info.push_back({"cve", value});
      } else if (element == "options") {
        ParseOption(child_where, value, rule.get());
      } else if (element == "if_sid") {
        for (const std::string& sid : SplitList(value, ", ")) {
          int parent = 0;
          if (!ParseIntAttribute(sid, kMaxRuleId, &parent)) {
            Error(child_where, "<if_sid>: expected rule ids, got '" + sid + "'");
          } else {
            rule->if_sid.push_back(parent);
          }
        }
      } else if (element == "if_level") {
        int level = 0;
        if (!ParseIntAttribute(value, 9999, &level)) {
          Error(child_where, "<if_level>: expected a level number, got '" + value + "'");
        }
        rule->if_level = level;
      } else if (element == "if_group") {
        rule->if_group = value;
      } else if (element == "if_matched_sid") {
        int sid = 0;
        if (!ParseIntAttribute(value, kMaxRuleId, &sid)) {
          Error(child_where, "<if_matched_sid>: expected a rule id, got '" + value + "'");
        } else {
          rule->if_matched_sid.push_back(sid);
        }
        context = true;
      } else if (element == "if_matched_group") {
        rule->if_matched_group = value;
        context = true;
      } else if (element == "if_matched_regex") {
        if_matched_regex.Append(child, PatternSyntax::kOsRegex);
        context = true;
      } else if (element == "if_fts") {
        rule->if_fts = true;
      } else if (element == "same_source_ip") {
        rule->same |= kSameSourceIp;
      } else if (element == "same_src_port") {
        rule->same |= kSameSrcPort;
      } else if (element == "same_dst_port") {
        rule->same |= kSameDstPort;
      } else if (element == "same_user") {
        rule->same |= kSameUser;
      } else if (element == "same_location") {
        rule->same |= kSameLocation;
      } else if (element == "same_id") {
        rule->same |= kSameId;
      } else if (element == "different_url") {
        rule->same |= kDifferentUrl;
      } else if (element == "different_srcip") {
        rule->same |= kDifferentSrcIp;
      } else if (element == "different_srcgeoip") {
        rule->same |= kDifferentSrcGeoIp;
      } else if (element == "not_same_source_ip") {
        rule->same &= ~kSameSourceIp;
      } else if (element == "not_same_user") {
        rule->same &= ~kSameUser;
      } else if (element == "not_same_agent") {
        rule->same &= ~kSameLocation;
      } else if (element == "not_same_id") {
        rule->same &= ~kSameId;
      } else if (element == "ignore") {
        ParseIgnoreFields(child_where, element, value, &rule->ignore_fields);
      } else if (element == "check_if_ignored") {
        ParseIgnoreFields(child_where, element, value, &rule->check_if_ignored_fields);
      } else if (element == "check_diff") {
        rule->check_diff = true;
        context = true;
      } else if (element == "compiled_rule") {
        rule->compiled_rule = FindCompiledRule(value);
        rule->compiled_rule_name = value;
        if (rule->compiled_rule == nullptr) {
          Error(child_where, "<compiled_rule>: unknown function '" + value +
                                 "', expected comp_srcuser_dstuser, check_id_size, "
                                 "comp_mswin_targetuser_calleruser_diff, "
                                 "is_simple_http_request or is_valid_crawler");
        }
      } else if (element == "list") {
        ParseList(child_where, child, value, rule.get());
      } else if (element == "field") {
        const std::string* name = child.Attribute("name");
        if (name == nullptr || name->empty()) {
          Error(child_where, "<field> needs a name attribute");
          continue;
        }
        Expected<Pattern> pattern = Pattern::Compile(PatternSyntax::kOsRegex, child.text);
        if (!pattern.ok()) {
          Error(child_where, "<field name=\"" + *name + "\">: " + pattern.status().message());
          continue;
        }
        FieldCondition condition{FieldCondition::Source::kDynamic, Field::kData, *name,
                                 std::move(*pattern)};
        Field known;
        if (ParseFieldName(*name, &known)) {
          condition.source = FieldCondition::Source::kField;
          condition.field = known;
        }
        rule->dynamic_fields.push_back(std::move(condition));
      } else {
        Error(child_where, "<" + child.name + "> is not a rule element");
      }
    }

    if (match.seen) rule->match = Compile(file, match, where);
    if (regex.seen) rule->regex = Compile(file, regex, where);
    if (program_name.seen) rule->program_name = Compile(file, program_name, where);
    if (id.seen) rule->id_pattern = Compile(file, id, where);
    if (url.seen) rule->url = Compile(file, url, where);
    if (status.seen) rule->status = Compile(file, status, where);
    if (hostname.seen) rule->hostname = Compile(file, hostname, where);
    if (extra_data.seen) rule->extra_data = Compile(file, extra_data, where);
    if (user.seen) rule->user = Compile(file, user, where);
    if (srcport.seen) rule->srcport = Compile(file, srcport, where);
    if (dstport.seen) rule->dstport = Compile(file, dstport, where);
    if (srcgeoip.seen) rule->srcgeoip = Compile(file, srcgeoip, where);
    if (dstgeoip.seen) rule->dstgeoip = Compile(file, dstgeoip, where);
    if (if_matched_regex.seen) rule->if_matched_regex = Compile(file, if_matched_regex, where);

    if ((rule->frequency > 0 || rule->same != 0) && !context) {
      Error(where,
            "frequency and same_*/different_* need <if_matched_sid>, "
            "<if_matched_group> or <if_matched_regex>");
    }
    rule->searches_history = rule->if_matched_regex.has_value() && rule->if_matched_sid.empty() &&
                             rule->if_matched_group.empty();
    if (rule->searches_history) set_->uses_history_ = true;
    if (!rule->if_matched_sid.empty() && rule->if_sid.empty() && rule->if_group.empty()) {
      rule->if_sid = rule->if_matched_sid;
    }
    if (!rule->if_matched_group.empty() && rule->if_sid.empty() && rule->if_group.empty()) {
      rule->if_group = rule->if_matched_group;
    }
    for (int sid : rule->if_matched_sid) {
      if (set_->Find(sid) == nullptr) {
        Error(where,
              "<if_matched_sid> names rule " + std::to_string(sid) + ", which is not defined");
      }
    }

    rule->sort_level = accuracy == 0 ? rule->level : (rule->level == 0 ? 9900 : rule->level * 100);
    rule->log_alert = rule->level >= options_.log_alert_level;
    rule->mail_alert = rule->level >= options_.email_alert_level;
    if (rule->options & kOptionAlertByEmail) rule->mail_alert = true;
    if (rule->options & kOptionNoEmailAlert) rule->mail_alert = false;
    if (rule->options & kOptionLogAlert) rule->log_alert = true;
    if (rule->options & kOptionNoLog) rule->log_alert = false;

    if (errors_.size() != errors_before) return;
    if (overwrite) {
      Overwrite(where, std::move(rule));
      return;
    }
    if (set_->Find(rule->id) != nullptr) {
      Rule* existing = set_->Find(rule->id);
      Error(where, "duplicate rule id " + std::to_string(rule->id) + " (first defined at " +
                       existing->file + ":" + std::to_string(existing->line) +
                       "); add overwrite=\"yes\" to replace it");
      return;
    }
    Place(where, std::move(rule));
  }

  static PatternSyntax Syntax(const std::string& element) {
    return element.ends_with("_pcre2") ? PatternSyntax::kPcre2 : PatternSyntax::kOsMatch;
  }

  void ParseIgnoreFields(const std::string& where, const std::string& element,
                         const std::string& value, uint32_t* bits) {
    static constexpr std::pair<std::string_view, IgnoreField> kFields[] = {
        {"name", kIgnoreName},         {"user", kIgnoreUser},
        {"dstuser", kIgnoreUser},      {"srcip", kIgnoreSrcIp},
        {"dstip", kIgnoreDstIp},       {"id", kIgnoreId},
        {"location", kIgnoreLocation}, {"data", kIgnoreData},
        {"extra_data", kIgnoreData},   {"system_name", kIgnoreSystemName},
    };
    for (const std::string& name : SplitList(value, ", ")) {
      bool found = false;
      for (const auto& [known, bit] : kFields) {
        if (name == known) {
          *bits |= bit;
          found = true;
        }
      }
      if (!found) {
        Error(where, "<" + element + ">: unknown field '" + name +
                         "', expected name, user, srcip, dstip, id, location, data or "
                         "system_name");
      }
    }
  }

  void ParseList(const std::string& where, const XmlNode& node, const std::string& path,
                 Rule* rule) {
    static constexpr std::pair<std::string_view, FieldCondition::Source> kSources[] = {
        {"user", FieldCondition::Source::kUser},
        {"hostname", FieldCondition::Source::kHostname},
        {"program_name", FieldCondition::Source::kProgramName},
    };
    static constexpr std::string_view kFieldNames[] = {"srcip", "srcport", "dstip",  "dstport",
                                                       "url",   "id",      "status", "action"};
    ListCondition condition;
    condition.path = path;
    const std::string* field = node.Attribute("field");
    if (field == nullptr) {
      Error(where, "<list> needs a field attribute");
      return;
    }
    bool known = false;
    for (const auto& [name, source] : kSources) {
      if (*field == name) {
        condition.source = source;
        known = true;
      }
    }
    for (std::string_view name : kFieldNames) {
      if (*field == name) {
        condition.source = FieldCondition::Source::kField;
        ParseFieldName(name, &condition.field);
        known = true;
      }
    }
    if (!known) {
      Error(where, "<list field=\"" + *field +
                       "\">: expected srcip, srcport, dstip, dstport, user, url, id, hostname, "
                       "program_name, status or action");
      return;
    }
    if (const std::string* lookup = node.Attribute("lookup")) {
      if (!ParseListLookup(*lookup, &condition.lookup)) {
        Error(where, "<list lookup=\"" + *lookup +
                         "\">: expected match_key, not_match_key, match_key_value, "
                         "address_match_key, not_address_match_key or address_match_key_value");
        return;
      }
    }
    if (const std::string* check = node.Attribute("check_value")) {
      Expected<Pattern> pattern = Pattern::Compile(PatternSyntax::kOsMatch, *check);
      if (!pattern.ok()) {
        Error(where, "<list check_value>: " + pattern.status().message());
        return;
      }
      condition.check_value = std::move(*pattern);
    }
    condition.list = FindList(where, path);
    if (condition.list == nullptr) return;
    rule->lists.push_back(std::move(condition));
  }

  // Returns the declared list a rule's <list> path names, loading it on first use.
  std::shared_ptr<const KeyValueList> FindList(const std::string& where, const std::string& path) {
    for (const std::string& declared : options_.lists) {
      bool same = declared == path || declared.ends_with("/" + path) ||
                  declared.ends_with("/rules/" + path);
      if (!same) continue;
      auto it = lists_.find(declared);
      if (it != lists_.end()) return it->second;
      Expected<KeyValueList> list = KeyValueList::Load(declared);
      if (!list.ok()) {
        Error(where, "<list> " + path + ": " + list.status().message());
        return nullptr;
      }
      auto shared = std::make_shared<const KeyValueList>(std::move(*list));
      lists_.emplace(declared, shared);
      return shared;
    }
    Error(where, "<list> names '" + path +
                     "', which is not declared by a <list> in the <rules> section of the "
                     "configuration");
    return nullptr;
  }

  void ParseOption(const std::string& where, const std::string& value, Rule* rule) {
    static constexpr std::pair<std::string_view, RuleOption> kOptions[] = {
        {"alert_by_email", kOptionAlertByEmail},
        {"no_email_alert", kOptionNoEmailAlert},
        {"log_alert", kOptionLogAlert},
        {"no_log", kOptionNoLog},
        {"no_ar", kOptionNoAr},
        {"no_full_log", kOptionNoFullLog},
    };
    for (const auto& [name, bit] : kOptions) {
      if (value == name) {
        rule->options |= bit;
        return;
      }
    }
    Error(where, "<options>: unknown option '" + value +
                     "', expected alert_by_email, no_email_alert, log_alert, no_log, no_ar or "
                     "no_full_log");
  }

  static void AddChild(Rule* parent, Rule* child) {
    auto it =
        std::find_if(parent->children.begin(), parent->children.end(),
                     [&](const Rule* sibling) { return sibling->sort_level < child->sort_level; });
    parent->children.insert(it, child);
  }

  void Place(const std::string& where, std::unique_ptr<Rule> owned) {
    Rule* rule = owned.get();
    if (rule->id < 10) {
      set_->roots_.push_back(rule);
    } else if (!rule->if_sid.empty()) {
      // Every parent must exist before the rule joins any of them: a rule that is not placed
      // is freed, and no parent may keep a pointer to it.
      for (int sid : rule->if_sid) {
        if (set_->Find(sid) == nullptr) {
          Error(where, "<if_sid> names rule " + std::to_string(sid) + ", which is not defined");
          return;
        }
      }
      for (int sid : rule->if_sid) {
        Rule* parent = set_->Find(sid);
        if (!rule->category) rule->category = parent->category;
        AddChild(parent, rule);
      }
    } else if (rule->if_level) {
      int threshold = *rule->if_level * 100;
      for (const auto& other : set_->rules_) {
        if (other->sort_level >= threshold) AddChild(other.get(), rule);
      }
    } else if (!rule->if_group.empty()) {
      bool placed = false;
      for (const auto& other : set_->rules_) {
        if (WordMatch(rule->if_group, other->groups)) {
          AddChild(other.get(), rule);
          placed = true;
        }
      }
      if (!placed) {
        Error(where, "<if_group> '" + rule->if_group + "' matches no rule defined before it");
        return;
      }
    } else {
      Category category = rule->category.value_or(Category::kSyslog);
      Rule* root = nullptr;
      for (Rule* candidate : set_->roots_) {
        if (candidate->category.value_or(Category::kSyslog) == category) {
          root = candidate;
          break;
        }
      }
      if (root != nullptr) {
        AddChild(root, rule);
      } else {
        set_->roots_.push_back(rule);
      }
    }
    set_->by_id_[rule->id] = rule;
    set_->rules_.push_back(std::move(owned));
  }

  void Overwrite(const std::string& where, std::unique_ptr<Rule> replacement) {
    Rule* existing = set_->Find(replacement->id);
    if (existing == nullptr) {
      Error(where,
            "overwrite=\"yes\" but rule " + std::to_string(replacement->id) + " is not defined");
      return;
    }
    // Tree position, parents, category, pcre2 variants, lists and dynamic fields stay as they
    // were, as in OSSEC; everything else takes the new definition.
    Rule& r = *replacement;
    existing->level = r.level;
    existing->maxsize = r.maxsize;
    existing->frequency = r.frequency;
    existing->timeframe = r.timeframe;
    existing->ignore_seconds = r.ignore_seconds;
    existing->noalert = r.noalert;
    existing->groups = r.groups;
    existing->description = r.description;
    existing->info = r.info;
    existing->options = r.options;
    existing->log_alert = r.log_alert;
    existing->mail_alert = r.mail_alert;
    existing->decoded_as = r.decoded_as;
    existing->decoded_as_name = r.decoded_as_name;
    existing->match = std::move(r.match);
    existing->regex = std::move(r.regex);
    existing->program_name = std::move(r.program_name);
    existing->id_pattern = std::move(r.id_pattern);
    existing->url = std::move(r.url);
    existing->action = r.action;
    existing->srcip = r.srcip;
    existing->dstip = r.dstip;
    existing->srcport = std::move(r.srcport);
    existing->dstport = std::move(r.dstport);
    existing->user = std::move(r.user);
    existing->srcgeoip = std::move(r.srcgeoip);
    existing->dstgeoip = std::move(r.dstgeoip);
    existing->extra_data = std::move(r.extra_data);
    existing->hostname = std::move(r.hostname);
    existing->status = std::move(r.status);
    existing->time = r.time;
    existing->weekdays = r.weekdays;
    existing->if_matched_sid = r.if_matched_sid;
    existing->if_matched_group = r.if_matched_group;
    existing->if_matched_regex = std::move(r.if_matched_regex);
    existing->same = r.same;
    existing->searches_history = r.searches_history;
    existing->ignore_fields = r.ignore_fields;
    existing->check_if_ignored_fields = r.check_if_ignored_fields;
    existing->compiled_rule = r.compiled_rule;
    existing->compiled_rule_name = r.compiled_rule_name;
    existing->check_diff = r.check_diff;
    existing->if_fts = r.if_fts;
    existing->file = r.file;
    existing->line = r.line;
  }

  const DecoderSet& decoders_;
  RuleOptions options_;
  std::map<std::string, std::shared_ptr<const KeyValueList>> lists_;
  RuleSet* set_;
  std::vector<std::string> errors_;
};

Rule* RuleSet::Find(int id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

void RuleSet::ResetState() {
  for (const auto& rule : rules_) {
    rule->ignore_until = 0;
    rule->fired_times = 0;
  }
}

Expected<RuleSet> RuleSet::Load(const std::vector<std::string>& files, const DecoderSet& decoders,
                                const RuleOptions& options) {
  RuleSet set;
  RuleLoader loader(decoders, options, &set);
  for (const std::string& file : files) loader.LoadFile(file);
  if (loader.errors().empty()) loader.Finish();
  if (!loader.errors().empty()) {
    std::string message;
    for (const std::string& error : loader.errors()) {
      if (!message.empty()) message += '\n';
      message += error;
    }
    return Status::ParseError(message);
  }
  return set;
}

}  // namespace vigil::analysis
