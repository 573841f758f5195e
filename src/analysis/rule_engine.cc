#include "analysis/rule_engine.h"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace vigil::analysis {
namespace {

constexpr size_t kMaxPreviousEvents = 11;
// Stored events are allocated this many at a time.
constexpr size_t kEventBlockSize = 64;
// A spare event keeps the buffer of its log and fields for the next one, up to this many
// bytes.
constexpr size_t kMaxKeptTextCapacity = 4096;

bool MatchField(const std::optional<Pattern>& pattern, bool present, std::string_view value) {
  return !pattern || (present && pattern->Search(value));
}

std::string_view UserOf(const Event& event, bool* present) {
  if (event.Has(Field::kDstUser)) {
    *present = true;
    return event.Get(Field::kDstUser);
  }
  *present = event.Has(Field::kSrcUser);
  return event.Get(Field::kSrcUser);
}

// Returns the value a <list> condition looks up, or false when the event lacks it.
bool ListSubject(const ListCondition& condition, const Event& event, std::string_view* value) {
  switch (condition.source) {
    case FieldCondition::Source::kUser: {
      bool present = false;
      *value = UserOf(event, &present);
      return present;
    }
    case FieldCondition::Source::kHostname:
      *value = event.hostname;
      return true;
    case FieldCondition::Source::kProgramName:
      *value = event.program_name;
      return event.has_program_name;
    case FieldCondition::Source::kField:
    case FieldCondition::Source::kDynamic:
      *value = event.Get(condition.field);
      return event.Has(condition.field);
  }
  return false;
}

std::string_view ReportedDecoderName(const Event& event) {
  return event.decoder != nullptr ? std::string_view(event.decoder->ReportedName())
                                  : std::string_view();
}

// Appends `value` when `wanted`, then a space separator.
void AppendKeyPart(std::string* key, bool wanted, std::string_view value) {
  if (wanted) key->append(value);
  key->push_back(' ');
}

bool SameValue(bool stored_present, std::string_view stored, const Event& event, Field field) {
  return stored_present && event.Has(field) && stored == event.Get(field);
}

// Sets the correlation mark of `event` and records it in every list that contains it.
void Mark(StoredEvent* event, int level) {
  event->matched = level;
  for (EventList* list : event->lists) {
    // A list keeps its newest events, so one whose oldest is newer has dropped this event.
    if (list->events.empty() || list->events.oldest().sequence > event->sequence) {
      continue;
    }
    list->marked[event->sequence] = event;
  }
}

// Returns the sequence of the newest event in `list` marked at `level` or above, or 0. A
// search by a rule of that level stops there.
uint64_t Barrier(const EventList& list, int level) {
  for (auto it = list.marked.rbegin(); it != list.marked.rend(); ++it) {
    if (it->second->matched >= level) return it->first;
  }
  return 0;
}

// Returns the hashes of `event`'s keys in the indexes of `list`, and prefetches the index
// slots that storing the event reads.
KeyHashes PrefetchKeySlots(const EventList& list, const Event& event) {
  KeyHashes hashes;
  if (list.index_srcip && event.Has(Field::kSrcIp)) {
    hashes.srcip = list.by_srcip.Hash(event.Get(Field::kSrcIp));
    list.by_srcip.Prefetch(hashes.srcip);
  }
  if (list.index_dstuser && event.Has(Field::kDstUser)) {
    hashes.dstuser = list.by_dstuser.Hash(event.Get(Field::kDstUser));
    list.by_dstuser.Prefetch(hashes.dstuser);
  }
  return hashes;
}

// Prefetches what removing the oldest event of `list` reads: the event, its index slots and
// the entries after it. A full list removes one event for each one it stores, so the next
// Store() into the list reads them, and the loads have that long to complete.
void PrefetchOldest(const EventList& list) {
  if (list.events.empty()) return;
  const EventList::Entry& oldest = list.events.oldest();
  __builtin_prefetch(oldest.event);
  if (list.index_srcip) list.by_srcip.Prefetch(oldest.srcip_hash);
  if (list.index_dstuser) list.by_dstuser.Prefetch(oldest.dstuser_hash);
  list.events.Prefetch(list.events.begin() + 2);
}

}  // namespace

std::string IgnoreKey(const Event& event, uint32_t fields) {
  std::string key;
  AppendKeyPart(&key, fields & kIgnoreName, ReportedDecoderName(event));
  AppendKeyPart(&key, fields & kIgnoreId, event.Get(Field::kId));
  AppendKeyPart(&key, fields & kIgnoreUser, event.Get(Field::kDstUser));
  AppendKeyPart(&key, fields & kIgnoreSrcIp, event.Get(Field::kSrcIp));
  AppendKeyPart(&key, fields & kIgnoreDstIp, event.Get(Field::kDstIp));
  AppendKeyPart(&key, fields & kIgnoreData, event.Get(Field::kData));
  AppendKeyPart(&key, fields & kIgnoreSystemName, event.Get(Field::kSystemName));
  if (fields & kIgnoreLocation) key.append(event.location);
  return key;
}

std::string FtsKey(const Event& event, uint32_t fts_fields) {
  std::string key;
  AppendKeyPart(&key, fts_fields & kFtsName, ReportedDecoderName(event));
  AppendKeyPart(&key, fts_fields & kFtsId, event.Get(Field::kId));
  AppendKeyPart(&key, fts_fields & kFtsUser, event.Get(Field::kDstUser));
  AppendKeyPart(&key, fts_fields & kFtsSrcUser, event.Get(Field::kSrcUser));
  AppendKeyPart(&key, fts_fields & kFtsSrcIp, event.Get(Field::kSrcIp));
  AppendKeyPart(&key, fts_fields & kFtsDstIp, event.Get(Field::kDstIp));
  AppendKeyPart(&key, fts_fields & kFtsData, event.Get(Field::kData));
  AppendKeyPart(&key, fts_fields & kFtsSystemName, event.Get(Field::kSystemName));
  if (fts_fields & kFtsLocation) key.append(event.location);
  return key;
}

RuleEngine::RuleEngine(RuleSet* rules, EngineOptions options, LogPrefilter* shared)
    : rules_(rules), options_(std::move(options)), prefilter_(shared) {
  if (prefilter_ == nullptr) {
    own_prefilter_ = std::make_unique<LogPrefilter>();
    prefilter_ = own_prefilter_.get();
  }
  for (const auto& rule : rules_->all()) {
    if (rule->matched_list != nullptr) rule->matched_list->compared_fields = 0;
  }
  for (const auto& rule : rules_->all()) {
    if (rule->matched_list != nullptr) rule->matched_list->compared_fields |= rule->same;
    if (rule->searches_history) history_compared_fields_ |= rule->same;
  }
  // Store() puts an event in the rule's own list, or else in all of its group lists.
  for (const auto& rule : rules_->all()) {
    if (rule->matched_list != nullptr) rule->matched_list->sole_holder = !rules_->uses_history();
    if (rule->matched_list != nullptr || rule->searches_history) {
      correlates_ = true;
      max_timeframe_ = std::max<int64_t>(max_timeframe_, rule->timeframe);
    }
  }
  for (const auto& rule : rules_->all()) {
    if (rule->own_list || rule->group_lists.size() < 2) continue;
    for (EventList* list : rule->group_lists) list->sole_holder = false;
  }
  // Every condition that TestConditions() tests after <regex> must be listed here.
  for (const auto& rule : rules_->all()) {
    const Rule& r = *rule;
    rule->has_field_conditions = r.action || r.url || !r.dynamic_fields.empty() ||
                                 !r.srcip.empty() || !r.dstip.empty() || r.srcport || r.dstport ||
                                 r.compiled_rule != nullptr || r.user || r.srcgeoip || r.dstgeoip ||
                                 r.maxsize > 0 || r.time || r.weekdays != 0 || r.extra_data ||
                                 r.hostname || r.status;
  }
  for (const auto& rule : rules_->all()) {
    rule->match_prefilter = -1;
    rule->regex_prefilter = -1;
    rule->match_decided = false;
    rule->regex_decided = false;
    if (!options_.prefilter) continue;
    if (rule->match) rule->match_prefilter = prefilter_->Add(*rule->match);
    if (rule->regex) rule->regex_prefilter = prefilter_->Add(*rule->regex);
    rule->match_decided = prefilter_->Decides(rule->match_prefilter);
    rule->regex_decided = prefilter_->Decides(rule->regex_prefilter);
  }
  auto fill = [&](Rule::ChildGate* gate) {
    gate->match = prefilter_->TestFor(gate->rule->match_prefilter);
    gate->regex = prefilter_->TestFor(gate->rule->regex_prefilter);
  };
  for (const auto& rule : rules_->all()) {
    for (Rule::ChildGate& gate : rule->children_generic) fill(&gate);
    for (auto& [decoder, gates] : rule->children_by_decoder) {
      for (Rule::ChildGate& gate : gates) fill(&gate);
    }
  }
  if (own_prefilter_ == nullptr) return;
  own_prefilter_->Build();
}

RuleEngine::~RuleEngine() {
  for (const auto& rule : rules_->all()) {
    if (rule->matched_list != nullptr) Clear(rule->matched_list);
  }
}

void RuleEngine::ResetState() {
  fts_seen_.clear();
  ignored_.clear();
  diff_last_.clear();
  while (!history_.empty()) PopHistory();
  for (const auto& rule : rules_->all()) {
    if (rule->matched_list != nullptr) Clear(rule->matched_list);
  }
}

bool RuleEngine::QuickReject(const Rule& rule, const Event& event) const {
  if (rule.decoded_as >= 0 && (event.decoder == nullptr || event.decoder->id != rule.decoded_as)) {
    return true;
  }
  return (rule.match && !prefilter_->MayMatch(rule.match_prefilter, *hits_)) ||
         (rule.regex && !prefilter_->MayMatch(rule.regex_prefilter, *hits_));
}

bool RuleEngine::TestConditions(const Rule& rule, const Event& event, std::string* why) const {
  auto fail = [&](const char* reason) {
    if (why != nullptr) *why = reason;
    return false;
  };
  if (rule.decoded_as >= 0 && (event.decoder == nullptr || event.decoder->id != rule.decoded_as)) {
    return fail("decoded_as: the event was decoded by another decoder");
  }
  if (rule.program_name &&
      !(event.has_program_name && rule.program_name->Search(event.program_name))) {
    return fail(event.has_program_name ? "program_name does not match"
                                       : "program_name: the event has no program name");
  }
  if (!MatchField(rule.id_pattern, event.Has(Field::kId), event.Get(Field::kId))) {
    return fail(event.Has(Field::kId) ? "id does not match" : "id: the event has no id");
  }
  if (rule.match && !LogMatches(*rule.match, rule.match_prefilter, rule.match_decided, event)) {
    return fail("match does not match the log");
  }
  if (rule.regex && !LogMatches(*rule.regex, rule.regex_prefilter, rule.regex_decided, event)) {
    return fail("regex does not match the log");
  }
  if (!rule.has_field_conditions) return true;
  if (rule.action && !(event.Has(Field::kAction) && event.Get(Field::kAction) == *rule.action)) {
    return fail(event.Has(Field::kAction) ? "action differs" : "action: the event has no action");
  }
  if (!MatchField(rule.url, event.Has(Field::kUrl), event.Get(Field::kUrl))) {
    return fail(event.Has(Field::kUrl) ? "url does not match" : "url: the event has no url");
  }
  for (const FieldCondition& condition : rule.dynamic_fields) {
    if (condition.source == FieldCondition::Source::kField) {
      if (!event.Has(condition.field) || !condition.pattern.Search(event.Get(condition.field))) {
        return fail("field does not match");
      }
    } else {
      const std::string* value = event.GetDynamic(condition.dynamic_name);
      if (value == nullptr || !condition.pattern.Search(*value)) {
        return fail("field does not match");
      }
    }
  }
  if (!rule.srcip.empty() &&
      !(event.Has(Field::kSrcIp) && rule.srcip.Matches(event.Get(Field::kSrcIp)))) {
    return fail(event.Has(Field::kSrcIp) ? "srcip is not in the list"
                                         : "srcip: the event has no source address");
  }
  if (!rule.dstip.empty() &&
      !(event.Has(Field::kDstIp) && rule.dstip.Matches(event.Get(Field::kDstIp)))) {
    return fail(event.Has(Field::kDstIp) ? "dstip is not in the list"
                                         : "dstip: the event has no destination address");
  }
  if (!MatchField(rule.srcport, event.Has(Field::kSrcPort), event.Get(Field::kSrcPort))) {
    return fail("srcport does not match");
  }
  if (!MatchField(rule.dstport, event.Has(Field::kDstPort), event.Get(Field::kDstPort))) {
    return fail("dstport does not match");
  }
  if (rule.compiled_rule != nullptr && !rule.compiled_rule(event)) {
    return fail("compiled_rule returned false");
  }
  if (rule.user) {
    bool present = false;
    std::string_view user = UserOf(event, &present);
    if (!present) return fail("user: the event has no user");
    if (!rule.user->Search(user)) return fail("user does not match");
  }
  // OSSEC tests the countries right after the user; an event without one fails the rule.
  if (rule.srcgeoip && !(!event.srcgeoip.empty() && rule.srcgeoip->Search(event.srcgeoip))) {
    return fail(event.srcgeoip.empty() ? "srcgeoip: the event has no source country"
                                       : "srcgeoip does not match");
  }
  if (rule.dstgeoip && !(!event.dstgeoip.empty() && rule.dstgeoip->Search(event.dstgeoip))) {
    return fail(event.dstgeoip.empty() ? "dstgeoip: the event has no destination country"
                                       : "dstgeoip does not match");
  }
  if (rule.maxsize > 0 && event.log().size() < static_cast<size_t>(rule.maxsize)) {
    return fail("the log is shorter than maxsize");
  }
  if (rule.time || rule.weekdays != 0) {
    time_t now = static_cast<time_t>(event.time);
    struct tm local {};
    localtime_r(&now, &local);
    if (rule.time) {
      int minute = local.tm_hour * 60 + local.tm_min;
      bool inside = minute >= rule.time->start_minute && minute <= rule.time->end_minute;
      if (inside == rule.time->negate) return fail("time is outside the range");
    }
    if (rule.weekdays != 0 && ((rule.weekdays >> local.tm_wday) & 1) == 0) {
      return fail("weekday is not listed");
    }
  }
  if (!MatchField(rule.extra_data, event.Has(Field::kData), event.Get(Field::kData))) {
    return fail("extra_data does not match");
  }
  if (rule.hostname && !rule.hostname->Search(event.hostname)) {
    return fail("hostname does not match");
  }
  if (!MatchField(rule.status, event.Has(Field::kStatus), event.Get(Field::kStatus))) {
    return fail(event.Has(Field::kStatus) ? "status does not match"
                                          : "status: the event has no status");
  }
  return true;
}

bool RuleEngine::TestStateful(const Rule& rule, const Event& event, std::string* why) {
  auto fail = [&](const char* reason) {
    if (why != nullptr) *why = reason;
    return false;
  };
  if (rule.check_diff && !CheckDiff(rule, event)) {
    return fail("check_diff: the output has not changed");
  }
  if (rule.if_fts) {
    if (event.decoder == nullptr || event.decoder->fts == 0) {
      return fail("if_fts: the decoder has no <fts>");
    }
    if (!IsFirstTimeSeen(event)) return fail("if_fts: seen before");
  }
  for (const ListCondition& condition : rule.lists) {
    std::string_view value;
    if (!ListSubject(condition, event, &value)) return fail("list: the event lacks the field");
    if (!LookupList(*condition.list, condition.lookup, value, condition.check_value)) {
      return fail("list lookup failed");
    }
  }
  return true;
}

bool RuleEngine::IsFirstTimeSeen(const Event& event) {
  return fts_seen_.insert(FtsKey(event, event.decoder->fts)).second;
}

// Compares the log with the one stored for this host and rule and stores the new one. The
// first output seen for a host and rule only sets the baseline.
bool RuleEngine::CheckDiff(const Rule& rule, const Event& event) {
  std::string log(event.log());
  if (options_.diff_dir.empty()) {
    std::string key = event.hostname + " " + std::to_string(rule.id);
    auto [it, inserted] = diff_last_.try_emplace(key, log);
    if (inserted) return false;
    if (it->second == log) return false;
    it->second = std::move(log);
    return true;
  }
  std::string host = event.hostname;
  for (char& c : host) {
    if (c == '/' || c == '\0') c = '_';
  }
  if (host.empty() || host == "." || host == "..") host.assign(1, '_');
  std::filesystem::path dir =
      std::filesystem::path(options_.diff_dir) / host / std::to_string(rule.id);
  std::filesystem::path file = dir / "last-entry";
  std::error_code error;
  std::ifstream in(file, std::ios::binary);
  bool had_previous = in.good();
  std::string previous;
  if (had_previous) {
    std::stringstream buffer;
    buffer << in.rdbuf();
    previous = buffer.str();
  }
  if (had_previous && previous == log) return false;
  std::filesystem::create_directories(dir, error);
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << log;
  return had_previous;
}

bool RuleEngine::Qualifies(const Rule& rule, const StoredEvent& stored, const Event& event) const {
  if (rule.searches_history) {
    // The history contains every alerted event. Only events of the same decoder type whose
    // log matches if_matched_regex count, and ports and location are not compared.
    if (stored.category != event.category) return false;
    if (!rule.if_matched_regex->Search(stored.log())) return false;
  } else {
    if ((rule.same & kSameSrcPort) &&
        !SameValue(stored.has_srcport, stored.srcport, event, Field::kSrcPort)) {
      return false;
    }
    if ((rule.same & kSameDstPort) &&
        !SameValue(stored.has_dstport, stored.dstport, event, Field::kDstPort)) {
      return false;
    }
    // same_location compares host names: the agent for agent events, the syslog host for
    // others.
    if ((rule.same & kSameLocation) && stored.hostname != event.hostname) return false;
  }
  if ((rule.same & kSameSourceIp) &&
      !SameValue(stored.has_srcip, stored.srcip, event, Field::kSrcIp)) {
    return false;
  }
  if ((rule.same & kSameUser) &&
      !SameValue(stored.has_dstuser, stored.dstuser, event, Field::kDstUser)) {
    return false;
  }
  if ((rule.same & kSameId) && !SameValue(stored.has_id, stored.id, event, Field::kId)) {
    return false;
  }
  if ((rule.same & kDifferentUrl) &&
      (!stored.has_url || !event.Has(Field::kUrl) || stored.url == event.Get(Field::kUrl))) {
    return false;
  }
  // As with different_url, both events need a country and the countries must differ.
  if ((rule.same & kDifferentSrcGeoIp) &&
      (stored.srcgeoip.empty() || event.srcgeoip.empty() || stored.srcgeoip == event.srcgeoip)) {
    return false;
  }
  return true;
}

bool RuleEngine::TestContext(const Rule& rule, const Event& event, ContextResult* result) const {
  const EventList* list = rule.matched_list;
  if (list == nullptr && !rule.searches_history) return false;
  if (list != nullptr ? list->events.empty() : history_.empty()) return false;
  int64_t oldest_time = event.time - rule.timeframe;
  int needed = rule.frequency + 1;
  int count = 0;
  // Most searches fail, so the counted events are copied to the result only when the rule
  // fires.
  std::vector<const StoredEvent*>& counted = counted_scratch_;
  counted.clear();
  StoredEvent* last_counted = nullptr;
  // Counts `stored`; returns true when the rule fires.
  auto count_event = [&](StoredEvent* stored) {
    ++count;
    last_counted = stored;
    if (counted.size() < kMaxPreviousEvents) counted.push_back(stored);
    return count >= needed;
  };
  auto fire = [&] {
    result->counted.assign(counted.begin(), counted.end());
    result->marks[0] = last_counted;
    result->marks[1] = list != nullptr ? list->events.newest().event : history_.newest().event;
    result->level = rule.level;
    return true;
  };

  if (list == nullptr) {
    // The history has no marks of its own, so each walked event's mark is read.
    for (size_t i = 0; i < history_.size(); ++i) {
      if (history_[i].time < oldest_time) break;
      StoredEvent* stored = history_[i].event;
      if (stored->matched >= rule.level && stored->matched != 0) break;
      if (!Qualifies(rule, *stored, event)) continue;
      if (count_event(stored)) return fire();
    }
    return false;
  }

  // A walk of the list stops at the newest event marked at this rule's level or above. The
  // list's marks give its sequence, so an event is read only when a same_* test needs it.
  const PositionRing<EventList::Entry>& events = list->events;
  const KeyIndex* index = nullptr;
  Field key_field = Field::kSrcIp;
  if (options_.index_by_source) {
    if (list->index_srcip && (rule.same & kSameSourceIp)) {
      index = &list->by_srcip;
    } else if (list->index_dstuser && (rule.same & kSameUser)) {
      index = &list->by_dstuser;
      key_field = Field::kDstUser;
    }
  }
  if (index != nullptr) {
    // Only events with the same address (or user) can count.
    if (!event.Has(key_field)) return false;
    uint64_t position = index->Find(event.Get(key_field));
    if (position == 0) return false;
    uint64_t barrier = Barrier(*list, rule.level);
    bool by_user = key_field == Field::kDstUser;
    // Every event of the chain has the key, so only the other elements need testing.
    bool test = (rule.same & ~(by_user ? kSameUser : kSameSourceIp)) != 0;
    while (events.Contains(position)) {
      const EventList::Entry& entry = events.at(position);
      if (entry.time < oldest_time || entry.sequence <= barrier) break;
      position = by_user ? entry.older_dstuser : entry.older_srcip;
      if (test && !Qualifies(rule, *entry.event, event)) continue;
      if (count_event(entry.event)) return fire();
    }
    return false;
  }
  uint64_t barrier = Barrier(*list, rule.level);
  bool test = rule.same != 0;  // else every event qualifies
  for (size_t i = 0; i < events.size(); ++i) {
    const EventList::Entry& entry = events[i];
    if (entry.time < oldest_time || entry.sequence <= barrier) break;
    if (test && !Qualifies(rule, *entry.event, event)) continue;
    if (count_event(entry.event)) return fire();
  }
  return false;
}

const Rule* RuleEngine::Check(const Rule& rule, const Event& event, std::string* trace) {
  if (trace != nullptr) {
    trace->append("    Trying rule: " + std::to_string(rule.id) + " - " + rule.description + "\n");
  }
  std::string why;
  std::string* reason = trace != nullptr ? &why : nullptr;
  bool matched = TestConditions(rule, event, reason) && TestStateful(rule, event, reason);
  bool has_context = rule.matched_list != nullptr || rule.searches_history;
  std::optional<ContextResult> context;
  if (matched && has_context) {
    context.emplace();
    if (!TestContext(rule, event, &*context)) {
      matched = false;
      if (trace != nullptr)
        why = "fewer than frequency+1 earlier matching events within the timeframe and the "
              "last memory_size alerts";
    }
  }
  if (!matched) {
    if (trace != nullptr) trace->append("       *Not matched: " + why + "\n");
    return nullptr;
  }
  if (context && context->level > 0) {
    // As in OSSEC, the events that made the rule fire are marked as soon as the search
    // succeeds, whether or not the rule ends up alerting. The current event carries the
    // mark too when it is stored.
    for (StoredEvent* mark : context->marks) {
      if (mark != nullptr) Mark(mark, context->level);
    }
    current_matched_level_ = context->level;
  }
  if (trace != nullptr) {
    trace->append("       *Rule " + std::to_string(rule.id) + " matched.\n");
  }
  if (!rule.children.empty()) {
    if (trace != nullptr) trace->append("       *Trying child rules.\n");
    if (trace != nullptr) {
      // Every child is tried so that the trace lists it.
      for (const Rule* child : rule.children) {
        const Rule* found = Check(*child, event, trace);
        if (found != nullptr) return found;
      }
    } else {
      // Children with another <decoded_as> are skipped unseen, and so are those whose
      // <match> or <regex> literals the log lacks.
      int decoder_id = event.decoder != nullptr ? event.decoder->id : -1;
      const std::vector<Rule::ChildGate>& gates = rule.ChildGatesFor(decoder_id);
      bool filtering = hits_->filtering;
      const uint64_t* bits = hits_->bits.data();
      for (const Rule::ChildGate& gate : gates) {
        if (filtering && !GatePasses(gate, bits)) continue;
        const Rule* found = Check(*gate.rule, event, trace);
        if (found != nullptr) return found;
      }
    }
  }
  if (rule.noalert) return nullptr;
  if (context) {
    selected_context_ = std::move(*context);
  } else {
    selected_context_ = ContextResult();
  }
  return &rule;
}

void RuleEngine::Store(const Rule& rule, const Event& event, int matched_level) {
  // Without a rule that searches earlier events, the history changes no decision.
  if (!correlates_) return;
  bool keep_history = rules_->uses_history();
  // Every alerted event takes a place in the history, even one that no list keeps, because it
  // pushes older events out.
  HistoryEntry remembered{nullptr, event.time, ++sequence_, rule.store_lists};
  if (rule.store_lists.empty() && !keep_history) {
    AddToHistory(remembered);
    return;
  }
  StoredEvent* stored = NewStoredEvent();
  stored->lists = rule.store_lists;
  stored->time = event.time;
  stored->sequence = remembered.sequence;
  stored->log_offset = event.log_offset;
  stored->log_length = event.log_length;
  // Only the fields that a search of this event's lists (or of the history) compares are
  // copied; the others stay empty.
  uint32_t compared = keep_history ? history_compared_fields_ : 0;
  key_hashes_.clear();
  for (EventList* list : stored->lists) {
    compared |= list->compared_fields;
    key_hashes_.push_back(PrefetchKeySlots(*list, event));
  }
  auto copied = [&](uint32_t bits, std::string_view value) {
    return (compared & bits) ? value : std::string_view();
  };
  stored->AssignText(event.full_log,
                     {{copied(kSameSourceIp, event.Get(Field::kSrcIp)), &stored->srcip},
                      {copied(kSameSrcPort, event.Get(Field::kSrcPort)), &stored->srcport},
                      {copied(kSameDstPort, event.Get(Field::kDstPort)), &stored->dstport},
                      {copied(kSameUser, event.Get(Field::kDstUser)), &stored->dstuser},
                      {copied(kSameLocation, event.hostname), &stored->hostname},
                      {copied(kSameId, event.Get(Field::kId)), &stored->id},
                      {copied(kDifferentUrl, event.Get(Field::kUrl)), &stored->url},
                      {copied(kDifferentSrcGeoIp, event.srcgeoip), &stored->srcgeoip}},
                     kMaxKeptTextCapacity);
  stored->has_srcip = event.Has(Field::kSrcIp);
  stored->has_srcport = event.Has(Field::kSrcPort);
  stored->has_dstport = event.Has(Field::kDstPort);
  stored->has_dstuser = event.Has(Field::kDstUser);
  stored->has_id = event.Has(Field::kId);
  stored->has_url = event.Has(Field::kUrl);
  stored->category = event.category;
  for (size_t i = 0; i < stored->lists.size(); ++i) {
    EventList* list = stored->lists[i];
    // Events that no search of the list reaches any more leave it before the new one comes,
    // which keeps the index one key smaller.
    int64_t oldest = event.time - list->max_age_seconds;
    while (!list->events.empty() && list->events.oldest().time < oldest) PopOldest(list);
    EventList::Entry entry;
    entry.event = stored;
    entry.time = stored->time;
    entry.sequence = stored->sequence;
    uint64_t position = list->events.end();
    if (list->index_srcip && stored->has_srcip) {
      entry.srcip_hash = key_hashes_[i].srcip;
      entry.older_srcip = list->by_srcip.Exchange(stored->srcip, entry.srcip_hash, position);
    }
    if (list->index_dstuser && stored->has_dstuser) {
      entry.dstuser_hash = key_hashes_[i].dstuser;
      entry.older_dstuser =
          list->by_dstuser.Exchange(stored->dstuser, entry.dstuser_hash, position);
    }
    list->events.push_front(entry);
    ++stored->holders;
  }
  if (matched_level > 0) Mark(stored, matched_level);
  if (keep_history) {
    remembered.event = stored;
    ++stored->holders;
  }
  AddToHistory(remembered);
}

void RuleEngine::AddToHistory(const HistoryEntry& entry) {
  history_.push_front(entry);
  if (history_.size() <= options_.memory_size) return;
  // OSSEC 3.7.0 compares the age with the largest frequency attribute, read as seconds. The
  // maximum timeframe is what that check means: older events count for no search.
  size_t removed = 0;
  while (history_.size() > 1 &&
         (removed < 10 || entry.time - history_.oldest().time > max_timeframe_)) {
    PopHistory();
    ++removed;
  }
}

void RuleEngine::PopHistory() {
  const HistoryEntry& oldest = history_.oldest();
  // The lists keep their events in the history's order, so a list that still contains this
  // event has it as its oldest.
  for (EventList* list : oldest.lists) {
    if (!list->events.empty() && list->events.oldest().sequence == oldest.sequence) {
      PopOldest(list);
    }
  }
  StoredEvent* history_event = oldest.event;
  history_.pop_back();
  if (history_event != nullptr) Release(history_event);
}

StoredEvent* RuleEngine::NewStoredEvent() {
  StoredEvent* stored = nullptr;
  if (!spare_events_.empty()) {
    stored = spare_events_.back();
    spare_events_.pop_back();
  } else {
    if (event_blocks_.empty() || last_block_used_ == kEventBlockSize) {
      event_blocks_.push_back(std::make_unique<StoredEvent[]>(kEventBlockSize));
      last_block_used_ = 0;
    }
    stored = &event_blocks_.back()[last_block_used_++];
  }
  stored->matched = 0;
  stored->holders = 0;
  return stored;
}

void RuleEngine::PopOldest(EventList* list) {
  uint64_t position = list->events.begin();
  const EventList::Entry& entry = list->events.oldest();
  StoredEvent* oldest = entry.event;
  // An event without the key was never indexed, and its position is in no slot, so EraseIf
  // leaves the index as it is. Not testing for the key saves reading the event.
  if (list->index_srcip) list->by_srcip.EraseIf(entry.srcip_hash, position);
  if (list->index_dstuser) list->by_dstuser.EraseIf(entry.dstuser_hash, position);
  // A list marks only events it contains, so the oldest event's mark, if it has one, is the
  // first.
  if (!list->marked.empty() && list->marked.begin()->first == entry.sequence) {
    list->marked.erase(list->marked.begin());
  }
  list->events.pop_back();
  if (list->sole_holder) {
    // Releasing the event without reading its count of holders saves waiting for memory.
    AddSpare(oldest);
  } else {
    Release(oldest);
  }
  PrefetchOldest(*list);
}

void RuleEngine::Release(StoredEvent* stored) {
  if (--stored->holders > 0) return;
  AddSpare(stored);
}

void RuleEngine::AddSpare(StoredEvent* stored) {
  // The event may be one of the previous events of the current match, which the caller reads
  // after Store(). So it stays as it is until the next Store() reuses it.
  spare_events_.push_back(stored);
  stored->PrefetchMembers();
}

void RuleEngine::Clear(EventList* list) {
  while (!list->events.empty()) PopOldest(list);
  list->by_srcip.clear();
  list->by_dstuser.clear();
  list->marked.clear();
}

RuleMatch RuleEngine::Match(const Event& event, std::string* trace) {
  RuleMatch result;
  selected_context_ = ContextResult();
  current_matched_level_ = 0;
  // An engine with its own prefilter numbers the literals its own way, so it scans itself.
  hits_ = &event.literal_hits;
  if (own_prefilter_ != nullptr || !event.literal_hits.scanned) {
    prefilter_->Scan(event.log(), &own_hits_);
    hits_ = &own_hits_;
  }
  if (trace != nullptr) trace->append("\n**Rule debugging:\n");
  if (event.generated_rule_id != 0) {
    // A forwarded alert names its rule: that rule is the decision.
    if (const Rule* generated = rules_->Find(event.generated_rule_id)) {
      result.rule = generated;
      result.alert = generated->level > 0;
      if (trace != nullptr) {
        trace->append("    Rule " + std::to_string(generated->id) +
                      " named by the forwarded alert.\n");
      }
      return result;
    }
  }
  for (const Rule* root : rules_->roots()) {
    if (root->category.value_or(Category::kSyslog) != event.category) continue;
    if (trace == nullptr && QuickReject(*root, event)) continue;
    const Rule* found = Check(*root, event, trace);
    if (found == nullptr) continue;
    result.rule = found;
    break;
  }
  if (result.rule == nullptr || result.rule->level == 0) return result;

  // The rule set is owned by this engine's caller and not shared, so its rules may change.
  Rule* rule = const_cast<Rule*>(result.rule);
  ++rule->fired_times;
  if (rule->ignore_seconds > 0) {
    if (event.time < rule->ignore_until) {
      if (trace != nullptr) trace->append("       *Suppressed by the ignore attribute.\n");
      return result;
    }
    rule->ignore_until = event.time + rule->ignore_seconds;
  }
  if (rule->check_if_ignored_fields != 0 &&
      ignored_.count(IgnoreKey(event, rule->check_if_ignored_fields)) != 0) {
    if (trace != nullptr) trace->append("       *Suppressed by <check_if_ignored>.\n");
    return result;
  }
  if (rule->ignore_fields != 0) ignored_.insert(IgnoreKey(event, rule->ignore_fields));
  result.alert = true;
  if (selected_context_.level > 0) result.previous = std::move(selected_context_.counted);
  Store(*rule, event, current_matched_level_);
  return result;
}

}  // namespace vigil::analysis
