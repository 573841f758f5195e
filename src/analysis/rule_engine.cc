#include "analysis/rule_engine.h"

#include <ctime>

namespace vigil::analysis {
namespace {

constexpr size_t kMaxPreviousEvents = 11;
// Upper bound on events kept per correlation list, whatever the timeframes say.
constexpr size_t kMaxListEvents = 16384;

Category EventCategory(const Event& event) {
  return event.decoder != nullptr ? event.decoder->type : Category::kSyslog;
}

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

}  // namespace

bool RuleEngine::TestConditions(const Rule& rule, const Event& event, std::string* why) const {
  auto fail = [&](const char* reason) {
    if (why != nullptr) *why = reason;
    return false;
  };
  if (rule.decoded_as == -2) return fail("uses an element Vigil does not evaluate");
  if (rule.decoded_as >= 0 && (event.decoder == nullptr || event.decoder->id != rule.decoded_as)) {
    return fail("decoded_as differs");
  }
  if (rule.program_name &&
      !(event.has_program_name && rule.program_name->Search(event.program_name))) {
    return fail("program_name does not match");
  }
  if (!MatchField(rule.id_pattern, event.Has(Field::kId), event.Get(Field::kId))) {
    return fail("id does not match");
  }
  if (rule.match && !rule.match->Search(event.log())) return fail("match does not match");
  if (rule.regex && !rule.regex->Search(event.log())) return fail("regex does not match");
  if (rule.action && !(event.Has(Field::kAction) && event.Get(Field::kAction) == *rule.action)) {
    return fail("action differs");
  }
  if (!MatchField(rule.url, event.Has(Field::kUrl), event.Get(Field::kUrl))) {
    return fail("url does not match");
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
    return fail("srcip does not match");
  }
  if (!rule.dstip.empty() &&
      !(event.Has(Field::kDstIp) && rule.dstip.Matches(event.Get(Field::kDstIp)))) {
    return fail("dstip does not match");
  }
  if (!MatchField(rule.srcport, event.Has(Field::kSrcPort), event.Get(Field::kSrcPort))) {
    return fail("srcport does not match");
  }
  if (!MatchField(rule.dstport, event.Has(Field::kDstPort), event.Get(Field::kDstPort))) {
    return fail("dstport does not match");
  }
  if (rule.user) {
    bool present = false;
    std::string_view user = UserOf(event, &present);
    if (!present || !rule.user->Search(user)) return fail("user does not match");
  }
  if (rule.maxsize > 0 && event.log().size() < static_cast<size_t>(rule.maxsize)) {
    return fail("log is shorter than maxsize");
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
      return fail("weekday does not match");
    }
  }
  if (!MatchField(rule.extra_data, event.Has(Field::kData), event.Get(Field::kData))) {
    return fail("extra_data does not match");
  }
  if (rule.hostname && !rule.hostname->Search(event.hostname)) {
    return fail("hostname does not match");
  }
  if (!MatchField(rule.status, event.Has(Field::kStatus), event.Get(Field::kStatus))) {
    return fail("status does not match");
  }
  return true;
}

bool RuleEngine::TestContext(const Rule& rule, const Event& event, ContextResult* result) const {
  EventList* list = rule.matched_list;
  if (list == nullptr) return false;
  int64_t now = event.time;
  std::vector<std::shared_ptr<const StoredEvent>> counted;
  int needed = rule.frequency + 1;
  int count = 0;
  std::shared_ptr<StoredEvent> last_counted;
  for (const std::shared_ptr<StoredEvent>& stored : list->events) {
    if (stored->time < now - rule.timeframe) break;
    if (stored->matched >= rule.level && stored->matched != 0) break;
    if (rule.same & kSameSourceIp) {
      if (!stored->has_srcip || !event.Has(Field::kSrcIp) ||
          stored->srcip != event.Get(Field::kSrcIp)) {
        continue;
      }
    }
    if (rule.same & kSameSrcPort) {
      if (!stored->has_srcport || stored->srcport != event.Get(Field::kSrcPort)) continue;
    }
    if (rule.same & kSameDstPort) {
      if (!stored->has_dstport || stored->dstport != event.Get(Field::kDstPort)) continue;
    }
    if (rule.same & kSameUser) {
      if (!stored->has_dstuser || !event.Has(Field::kDstUser) ||
          stored->dstuser != event.Get(Field::kDstUser)) {
        continue;
      }
    }
    if (rule.same & kSameLocation) {
      if (stored->hostname != event.hostname) continue;
    }
    if (rule.same & kSameId) {
      if (!stored->has_id || stored->id != event.Get(Field::kId)) continue;
    }
    if (rule.same & kDifferentUrl) {
      if (!stored->has_url || stored->url == event.Get(Field::kUrl)) continue;
    }
    if (rule.if_matched_regex && rule.if_matched_sid.empty() && rule.if_matched_group.empty()) {
      if (!rule.if_matched_regex->Search(stored->log)) continue;
    }
    ++count;
    last_counted = stored;
    if (counted.size() < kMaxPreviousEvents) counted.push_back(stored);
    if (count >= needed) {
      result->counted = std::move(counted);
      result->marks[0] = last_counted;
      result->marks[1] = list->events.front();
      result->level = rule.level;
      return true;
    }
  }
  return false;
}

const Rule* RuleEngine::Check(const Rule& rule, const Event& event, std::string* trace) {
  if (trace != nullptr) {
    trace->append("    Trying rule: " + std::to_string(rule.id) + " - " + rule.description + "\n");
  }
  std::string why;
  if (!TestConditions(rule, event, trace != nullptr ? &why : nullptr)) return nullptr;
  ContextResult context;
  if (rule.matched_list != nullptr && !TestContext(rule, event, &context)) return nullptr;
  if (trace != nullptr) {
    trace->append("       *Rule " + std::to_string(rule.id) + " matched.\n");
  }
  if (!rule.children.empty()) {
    if (trace != nullptr) trace->append("       *Trying child rules.\n");
    for (const Rule* child : rule.children) {
      const Rule* found = Check(*child, event, trace);
      if (found != nullptr) return found;
    }
  }
  if (rule.noalert) return nullptr;
  selected_context_ = std::move(context);
  return &rule;
}

void RuleEngine::Store(const Rule& rule, const Event& event, int matched_level) {
  std::vector<EventList*> targets;
  if (rule.own_list) {
    targets.push_back(rule.own_list.get());
  } else {
    targets = rule.group_lists;
  }
  if (targets.empty()) return;
  auto stored = std::make_shared<StoredEvent>();
  stored->time = event.time;
  stored->full_log = event.full_log;
  stored->log = std::string(event.log());
  stored->has_srcip = event.Has(Field::kSrcIp);
  stored->srcip = event.Get(Field::kSrcIp);
  stored->has_srcport = event.Has(Field::kSrcPort);
  stored->srcport = event.Get(Field::kSrcPort);
  stored->has_dstport = event.Has(Field::kDstPort);
  stored->dstport = event.Get(Field::kDstPort);
  stored->has_dstuser = event.Has(Field::kDstUser);
  stored->dstuser = event.Get(Field::kDstUser);
  stored->hostname = event.hostname;
  stored->has_id = event.Has(Field::kId);
  stored->id = event.Get(Field::kId);
  stored->has_url = event.Has(Field::kUrl);
  stored->url = event.Get(Field::kUrl);
  stored->category = EventCategory(event);
  stored->matched = matched_level;
  for (EventList* list : targets) {
    list->events.push_front(stored);
    int64_t oldest = event.time - list->max_age_seconds;
    while (!list->events.empty() &&
           (list->events.back()->time < oldest || list->events.size() > kMaxListEvents)) {
      list->events.pop_back();
    }
  }
}

RuleMatch RuleEngine::Match(const Event& event, std::string* trace) {
  RuleMatch result;
  selected_context_ = ContextResult();
  Category category = EventCategory(event);
  if (trace != nullptr) trace->append("\n**Rule debugging:\n");
  for (const Rule* root : rules_->roots()) {
    if (root->category.value_or(Category::kSyslog) != category) continue;
    const Rule* found = Check(*root, event, trace);
    if (found == nullptr) continue;
    result.rule = found;
    break;
  }
  if (result.rule == nullptr || result.rule->level == 0) return result;

  Rule* rule = rules_->Find(result.rule->id);
  if (rule->ignore_seconds > 0) {
    if (event.time < rule->ignore_until) return result;
    rule->ignore_until = event.time + rule->ignore_seconds;
  }
  result.alert = true;
  ++rule->fired_times;
  int matched_level = 0;
  if (selected_context_.level > 0) {
    result.previous = std::move(selected_context_.counted);
    for (auto& mark : selected_context_.marks) {
      if (mark) mark->matched = selected_context_.level;
    }
    matched_level = selected_context_.level;
  }
  Store(*rule, event, matched_level);
  return result;
}

}  // namespace vigil::analysis
