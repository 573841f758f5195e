// The loaded rules: the rule tree, and the correlation state that lives in it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "analysis/decoder.h"
#include "analysis/rule.h"
#include "common/status.h"

namespace vigil::analysis {

struct RuleOptions {
  int log_alert_level = 1;      // rules at or above are written to alerts.log
  int email_alert_level = 7;    // rules at or above get the mail mark
  int default_timeframe = 360;  // seconds, for correlation rules without timeframe
  // Text lists that rule <list> elements may name, as declared by <rules><list>. A rule's
  // path matches a declared path that is equal to it or ends with "/" plus it.
  std::vector<std::string> lists;
};

class RuleSet {
 public:
  RuleSet() = default;
  RuleSet(RuleSet&&) = default;
  RuleSet& operator=(RuleSet&&) = default;

  // Loads every rule file in order against the loaded decoders. Problems in all files are
  // collected and returned together, one per line, each "FILE:LINE: what is wrong".
  static Expected<RuleSet> Load(const std::vector<std::string>& files, const DecoderSet& decoders,
                                const RuleOptions& options);

  // Rules with id below 10, in load order: the tree is walked from these.
  const std::vector<Rule*>& roots() const { return roots_; }
  Rule* Find(int id) const;
  // True when some rule searches the history of all alerted events (if_matched_regex alone).
  bool uses_history() const { return uses_history_; }
  size_t size() const { return rules_.size(); }
  const std::vector<std::unique_ptr<Rule>>& all() const { return rules_; }
  // Problems that did not stop loading, each "FILE:LINE: what is ignored".
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Drops the ignore windows and fired counts. RuleEngine::ResetState() drops the stored
  // events.
  void ResetState();

 private:
  friend class RuleLoader;
  std::vector<std::unique_ptr<Rule>> rules_;
  std::vector<Rule*> roots_;
  std::map<int, Rule*> by_id_;
  std::vector<std::shared_ptr<EventList>> lists_;
  bool uses_history_ = false;
  std::vector<std::string> warnings_;
};

}  // namespace vigil::analysis
