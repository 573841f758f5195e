// Matches decoded events against the rule tree, with OSSEC's correlation semantics.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "analysis/event.h"
#include "analysis/rule_set.h"

namespace vigil::analysis {

// The outcome of matching one event.
struct RuleMatch {
  const Rule* rule = nullptr;  // nullptr when no rule matched
  // For correlation rules: the earlier events that counted, newest first (at most 11).
  std::vector<std::shared_ptr<const StoredEvent>> previous;
  // True when the rule should produce an alert: level above 0 and not suppressed by ignore.
  bool alert = false;
};

// Not thread-safe: one engine owns the correlation state inside its RuleSet.
class RuleEngine {
 public:
  // `rules` must outlive the engine. Event times come from Event::time.
  explicit RuleEngine(RuleSet* rules) : rules_(rules) {}

  // Finds the rule for `event` and records the event for later correlation when it alerts.
  // When `trace` is not null, appends logtest's verbose explanation of every rule tried.
  RuleMatch Match(const Event& event, std::string* trace = nullptr);

 private:
  // What a correlation rule found in its list when it fired.
  struct ContextResult {
    std::vector<std::shared_ptr<const StoredEvent>> counted;  // newest first, at most 11
    std::shared_ptr<StoredEvent> marks[2];  // the last counted and the newest listed event
    int level = 0;                          // 0 when the rule has no context
  };

  const Rule* Check(const Rule& rule, const Event& event, std::string* trace);
  bool TestConditions(const Rule& rule, const Event& event, std::string* why) const;
  bool TestContext(const Rule& rule, const Event& event, ContextResult* result) const;
  void Store(const Rule& rule, const Event& event, int matched_level);

  RuleSet* rules_;
  // Context of the rule Check() returned last.
  ContextResult selected_context_;
};

}  // namespace vigil::analysis
