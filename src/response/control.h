// The work behind `vigil control`, OSSEC's agent_control for active response. The CLI only
// parses options and prints what these functions return.
//
// Each function reads the state folder of a running or stopped Vigil. Actions go through the
// running execd's socket when there is one, so its timers and dedupe stay in charge. When no
// execd runs, they run the program here and update the pending-deletes file under execd's
// lock, so the next start undoes them on time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "config/config.h"
#include "response/action_log.h"
#include "response/remote.h"
#include "response/table.h"

namespace vigil::response {

struct ControlOptions {
  std::string state_dir;
  std::string responses_dir;
  std::chrono::milliseconds reply_timeout{5000};  // for execd's reply to an unblock
  std::chrono::milliseconds program_time_limit{60'000};
  const Clock* clock = nullptr;  // null: the system clock. Not owned.

  static ControlOptions FromConfig(const config::Config& config);
};

// Returns true when an execd holds the state folder's lock.
bool IsExecdRunning(const std::string& state_dir);

// `-L`: the response table that execd wrote at its last start.
Expected<std::vector<TableEntry>> ListResponses(const ControlOptions& options);
// Returns one line per response: name, program and timeout, with a header.
std::string FormatResponses(const std::vector<TableEntry>& entries);

// `-b IP -f NAME`: runs the response `name` for `address` now, with OSSEC's agent_control
// arguments (`add - IP (from_the_server) (no_rule_id)`). Returns what was done, as a sentence.
Expected<std::string> RunResponseNow(const config::Config& config, const ControlOptions& options,
                                     const std::string& address, const std::string& name);

// Builds what `-b IP -f NAME -u ID` sends to an agent: the response `name` from the table, with
// agent_control's arguments for `address`. Fails for an invalid address, an unknown response
// or one that acts on a user.
Expected<AgentCommand> PrepareAgentCommand(const config::Config& config,
                                           const ControlOptions& options,
                                           const std::string& address, const std::string& name);

struct Block {
  std::string agent_id;  // the agent that holds the block; empty for this host
  std::string response;
  std::string key;           // the address, or "user:NAME" for account responses
  int64_t due_ms = 0;        // wall clock, milliseconds since the Unix epoch
  int64_t seconds_left = 0;  // rounded up; 0 when overdue
  int timeout_seconds = 0;
  bool simulated = false;
};

// `--blocks`: what is blocked now and will be undone, soonest first: this host's blocks and, on
// a manager, those its agents reported.
Expected<std::vector<Block>> ListBlocks(const ControlOptions& options);
// Returns one line per block: where, response, key, time left, with a header.
std::string FormatBlocks(const std::vector<Block>& blocks);

// `--unblock IP`: undoes every pending block of `address` now. Returns "response key" for
// each block undone; an empty list when nothing of that address was pending.
Expected<std::vector<std::string>> Unblock(const config::Config& config,
                                           const ControlOptions& options,
                                           const std::string& address);

// The last `count` action records, oldest first.
Expected<std::vector<ActionRecord>> RecentActions(const ControlOptions& options, size_t count);

}  // namespace vigil::response
