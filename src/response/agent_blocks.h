// The manager's record of the blocks that its agents hold, built from the agents' results:
// which agent runs which response for which address or user, and until when. It is kept in
// <state_dir>/response/agent-blocks.json, which `vigil control --blocks` and `--unblock` read.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace vigil::response {

struct AgentBlock {
  std::string agent_id;
  std::string response;
  std::string key;         // the address, or "user:NAME" (ExecRequest::Key())
  int64_t undo_at_ms = 0;  // wall clock, milliseconds since the Unix epoch
};

// Thread-safe. Every change rewrites the file atomically; blocks whose time has passed are
// dropped then, because the agent's execd has undone them by itself.
class AgentBlockTable {
 public:
  // Loads `path` when it exists. `clock` is not owned; null means the system clock.
  static Expected<std::unique_ptr<AgentBlockTable>> Open(std::string path,
                                                         const Clock* clock = nullptr);

  // Records `block`, replacing the block of the same agent, response and key.
  void Set(AgentBlock block);
  // Forgets the blocks of `agent_id` on `key` (any response); returns how many there were.
  size_t RemoveKey(const std::string& agent_id, const std::string& key);
  // Forgets the block of `agent_id`, `response` and `key` that the agent undid at the end of
  // its timeout. `undone_due_ms` is the due time of the delete the agent ran: a block that ends
  // later (renewed or added after the delete) stays; 0 removes the block whatever its time.
  // Returns whether a block was removed.
  bool RemoveUndone(const std::string& agent_id, const std::string& response,
                    const std::string& key, int64_t undone_due_ms);
  // Returns the blocks still in force, soonest first.
  std::vector<AgentBlock> List() const;

 private:
  AgentBlockTable(std::string path, const Clock* clock) : path_(std::move(path)), clock_(clock) {}
  // REQUIRES: mu_ held.
  void SaveLocked();

  std::string path_;
  const Clock* clock_;
  mutable std::mutex mu_;
  std::vector<AgentBlock> blocks_;
};

// Reads the blocks still in force at `now_ms` from a file written by AgentBlockTable; a
// missing file means none.
Expected<std::vector<AgentBlock>> ReadAgentBlocks(const std::string& path, int64_t now_ms);

}  // namespace vigil::response
