// The `-U RULE:LEVEL:DECODER` contract of OSSEC's rule test suite.
#pragma once

#include <string>
#include <string_view>

#include "analysis/event.h"
#include "analysis/rule_engine.h"

namespace vigil::analysis {

struct Expectation {
  int rule = 0;
  int level = 0;
  std::string decoder;
};

// Parses "5710:5:sshd"; the decoder part may be empty.
bool ParseExpectation(std::string_view text, Expectation* out);

// Returns OSSEC logtest's exit status for one analysed line: 3 when the reported decoder
// differs (or none matched), 2 when the rule id differs (or none matched), 1 when the level
// differs, 0 when all three are as expected.
int CheckExpectation(const Expectation& expected, const Event& event, const RuleMatch& match);

}  // namespace vigil::analysis
