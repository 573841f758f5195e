// Matches decoded events against the rule tree, with OSSEC's correlation semantics.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "analysis/event.h"
#include "analysis/log_prefilter.h"
#include "analysis/rule_set.h"

namespace vigil::analysis {

// The outcome of matching one event.
struct RuleMatch {
  const Rule* rule = nullptr;  // nullptr when no rule matched
  // For correlation rules: the earlier events that counted, newest first (at most 11). The
  // engine owns them; they stay valid until its next Match() or ResetState() call.
  std::vector<const StoredEvent*> previous;
  // True when the rule should produce an alert: level above 0 and not suppressed by the
  // ignore attribute or by <check_if_ignored>.
  bool alert = false;
};

// Options for the state the engine keeps between events.
struct EngineOptions {
  // OSSEC's memory_size: the number of recent alerted events the engine remembers. An event
  // that leaves this history leaves the correlation lists too.
  size_t memory_size = 8192;
  // Folder for <check_diff> state, one file per host and rule; empty keeps it in memory.
  std::string diff_dir;
  // Rejects <match> and <regex> patterns whose required literals are absent from the log
  // before running them (see LogPrefilter). Decisions are the same either way.
  bool prefilter = true;
  // Searches correlation lists through their per-source-address index for same_source_ip
  // rules. Decisions are the same either way.
  bool index_by_source = true;
};

// Not thread-safe: one engine owns the correlation state inside its RuleSet and its own
// first-time-seen, ignore, diff and history stores. One engine at a time may use a RuleSet.
class RuleEngine {
 public:
  // `rules` must outlive the engine. Event times come from Event::time. A `shared` prefilter
  // must outlive the engine too: the engine adds the rules' patterns to it, and its owner
  // builds it and fills each Event::literal_hits. Without one, the engine keeps its own
  // prefilter and scans each event's log itself.
  explicit RuleEngine(RuleSet* rules, EngineOptions options = {}, LogPrefilter* shared = nullptr);
  // Empties the correlation lists of the RuleSet, whose events the engine owns.
  ~RuleEngine();
  RuleEngine(const RuleEngine&) = delete;
  RuleEngine& operator=(const RuleEngine&) = delete;

  bool prefilter_enabled() const { return options_.prefilter; }

  // Finds the rule for `event` and records the event for later correlation when it alerts.
  // When `trace` is not null, appends logtest's verbose explanation of every rule tried,
  // with the reason each one failed.
  RuleMatch Match(const Event& event, std::string* trace = nullptr);

  // Drops the first-time-seen keys, the ignore store, the diff state kept in memory, the
  // event history and the events of the correlation lists.
  void ResetState();

 private:
  // Result of a successful correlation search.
  struct ContextResult {
    std::vector<const StoredEvent*> counted;     // newest first, at most 11
    StoredEvent* marks[2] = {nullptr, nullptr};  // the last counted and the newest listed event
    int level = 0;                               // 0 when the rule has no context
  };

  const Rule* Check(const Rule& rule, const Event& event, std::string* trace);
  // True when a cheap test already fails one of the conditions TestConditions() tests
  // (decoded_as, or a <match> or <regex> whose literals the log lacks). Those conditions have
  // no side effects, so skipping Check() for the rule decides the same.
  bool QuickReject(const Rule& rule, const Event& event) const;
  // Returns false when the prefilter shows that a child from a list chosen by the event's
  // decoder cannot match: QuickReject() without the <decoded_as> test the list already made.
  // REQUIRES: hits_->filtering, and `bits` is hits_->bits.data().
  bool GatePasses(const Rule::ChildGate& gate, const uint64_t* bits) const {
    return prefilter_->Passes(gate.match, bits) && prefilter_->Passes(gate.regex, bits);
  }
  // Tests <match> or <regex> `pattern` against the event's log: first the prefilter's
  // requirement `id`, which alone decides when `decided` and the hits filter, then the search.
  bool LogMatches(const Pattern& pattern, int id, bool decided, const Event& event) const {
    if (!prefilter_->MayMatch(id, *hits_)) return false;
    // A log that the prefilter scans is ASCII.
    if (!hits_->filtering) return pattern.Search(event.log());
    return decided || pattern.Search(event.log(), nullptr, SubjectText::kAscii);
  }
  // Tests the conditions that need no state; on failure sets *why when it is not null.
  bool TestConditions(const Rule& rule, const Event& event, std::string* why) const;
  // Tests check_diff, if_fts and <list>, which follow the stateless tests in OSSEC's order.
  bool TestStateful(const Rule& rule, const Event& event, std::string* why);
  bool TestContext(const Rule& rule, const Event& event, ContextResult* result) const;
  // True when `stored` counts for `rule`'s search on behalf of `event` (the same_* tests).
  bool Qualifies(const Rule& rule, const StoredEvent& stored, const Event& event) const;
  bool CheckDiff(const Rule& rule, const Event& event);
  bool IsFirstTimeSeen(const Event& event);
  void Store(const Rule& rule, const Event& event, int matched_level);
  // Returns an event to fill that no list contains yet: a spare one when there is one, else
  // a new one.
  StoredEvent* NewStoredEvent();
  // Removes the oldest event of `list`, with its index entries, and releases it.
  void PopOldest(EventList* list);
  // Adds an alerted event to the history. Once the history contains more than memory_size
  // events, at least its 10 oldest leave, and then every event older than the maximum
  // timeframe. The newest event always stays. docs/compatibility.md says where OSSEC differs.
  void AddToHistory(const HistoryEntry& entry);
  // Removes the oldest event of the history, and the same event from each of its lists that
  // still contains it.
  void PopHistory();
  // Counts one list (or the history) less for `stored`, and keeps it as a spare at zero.
  void Release(StoredEvent* stored);
  // Keeps `stored`, which no list or history contains any more, for NewStoredEvent().
  void AddSpare(StoredEvent* stored);
  // Empties `list`, releasing its events.
  void Clear(EventList* list);

  RuleSet* rules_;
  EngineOptions options_;
  std::unique_ptr<LogPrefilter> own_prefilter_;  // when no prefilter is shared
  LogPrefilter* prefilter_;
  // Hits of the current event: its own, or those the engine scanned when it had none.
  const LiteralHits* hits_ = nullptr;
  LiteralHits own_hits_;
  // The events TestContext() has counted so far, reused between searches.
  mutable std::vector<const StoredEvent*> counted_scratch_;
  // Context of the rule Check() returned last.
  ContextResult selected_context_;
  // Level of the last correlation rule whose search succeeded for the current event.
  int current_matched_level_ = 0;
  uint64_t sequence_ = 0;  // of the last stored event
  std::unordered_set<std::string> fts_seen_;
  std::unordered_set<std::string> ignored_;
  std::unordered_map<std::string, std::string> diff_last_;  // "host rule-id" -> last log
  // The most recent alerted events, newest first: OSSEC's global event list.
  PositionRing<HistoryEntry> history_;
  // True when some rule searches a list or the history (if_matched_*).
  bool correlates_ = false;
  // The maximum timeframe of the rules that search a list or the history. Older events
  // cannot count for any search.
  int64_t max_timeframe_ = 0;
  // Every stored event, allocated in blocks that never move, and the spare ones that no
  // list contains.
  std::vector<std::unique_ptr<StoredEvent[]>> event_blocks_;
  size_t last_block_used_ = 0;  // events handed out from the last block
  std::vector<StoredEvent*> spare_events_;
  // The same_* bits of the rules that search the history (if_matched_regex alone).
  uint32_t history_compared_fields_ = 0;
  // Hashes of the stored event's keys in each of its lists, reused by every Store().
  std::vector<KeyHashes> key_hashes_;
};

// Builds an ignore-store entry "<decoder> <id> <dstuser> <srcip> <dstip> <data> <system name>
// <location>" with only the IgnoreField `fields` filled, the others empty.
std::string IgnoreKey(const Event& event, uint32_t fields);

// Builds a first-time-seen key "<decoder> <id> <dstuser> <srcuser> <srcip> <dstip> <data>
// <system name> <location>" with only the decoder's <fts> fields filled.
std::string FtsKey(const Event& event, uint32_t fts_fields);

}  // namespace vigil::analysis
