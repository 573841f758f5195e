#include "response/agent_blocks.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/file.h"
#include "common/logging.h"

namespace vigil::response {
namespace {

using Json = nlohmann::json;

int64_t NowMs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now().time_since_epoch())
      .count();
}

Expected<std::vector<AgentBlock>> ParseBlocks(const std::string& path, const std::string& text) {
  const Json root = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_array()) {
    return Status::ParseError(path + ": expected a JSON array of blocks");
  }
  std::vector<AgentBlock> blocks;
  for (const Json& item : root) {
    if (!item.is_object()) continue;
    auto agent = item.find("agent_id");
    auto response = item.find("response");
    auto key = item.find("key");
    auto undo = item.find("undo_at_ms");
    if (agent == item.end() || !agent->is_string() || response == item.end() ||
        !response->is_string() || key == item.end() || !key->is_string() || undo == item.end() ||
        !undo->is_number_integer()) {
      continue;
    }
    AgentBlock block;
    block.agent_id = agent->get<std::string>();
    block.response = response->get<std::string>();
    block.key = key->get<std::string>();
    block.undo_at_ms = undo->get<int64_t>();
    blocks.push_back(std::move(block));
  }
  return blocks;
}

void SortAndDropExpired(std::vector<AgentBlock>* blocks, int64_t now_ms) {
  std::erase_if(*blocks, [now_ms](const AgentBlock& block) { return block.undo_at_ms <= now_ms; });
  std::sort(blocks->begin(), blocks->end(), [](const AgentBlock& a, const AgentBlock& b) {
    return a.undo_at_ms < b.undo_at_ms;
  });
}

}  // namespace

Expected<std::unique_ptr<AgentBlockTable>> AgentBlockTable::Open(std::string path,
                                                                 const Clock* clock) {
  std::unique_ptr<AgentBlockTable> table(
      new AgentBlockTable(path, clock != nullptr ? clock : &SystemClock::Get()));
  if (FileExists(path)) {
    auto text = ReadFile(path);
    if (!text.ok()) return text.status();
    auto blocks = ParseBlocks(path, *text);
    if (!blocks.ok()) return blocks.status();
    table->blocks_ = std::move(*blocks);
  }
  return table;
}

void AgentBlockTable::Set(AgentBlock block) {
  std::lock_guard lock(mu_);
  auto same = [&](const AgentBlock& other) {
    return other.agent_id == block.agent_id && other.response == block.response &&
           other.key == block.key;
  };
  std::erase_if(blocks_, same);
  blocks_.push_back(std::move(block));
  SaveLocked();
}

size_t AgentBlockTable::RemoveKey(const std::string& agent_id, const std::string& key) {
  std::lock_guard lock(mu_);
  const size_t removed = std::erase_if(blocks_, [&](const AgentBlock& block) {
    return block.agent_id == agent_id && block.key == key;
  });
  if (removed > 0) SaveLocked();
  return removed;
}

bool AgentBlockTable::RemoveUndone(const std::string& agent_id, const std::string& response,
                                   const std::string& key, int64_t undone_due_ms) {
  std::lock_guard lock(mu_);
  const size_t removed = std::erase_if(blocks_, [&](const AgentBlock& block) {
    return block.agent_id == agent_id && block.response == response && block.key == key &&
           (undone_due_ms <= 0 || block.undo_at_ms <= undone_due_ms);
  });
  if (removed > 0) SaveLocked();
  return removed > 0;
}

std::vector<AgentBlock> AgentBlockTable::List() const {
  std::vector<AgentBlock> blocks;
  {
    std::lock_guard lock(mu_);
    blocks = blocks_;
  }
  SortAndDropExpired(&blocks, NowMs(*clock_));
  return blocks;
}

void AgentBlockTable::SaveLocked() {
  SortAndDropExpired(&blocks_, NowMs(*clock_));
  Json out = Json::array();
  for (const AgentBlock& block : blocks_) {
    out.push_back({{"agent_id", block.agent_id},
                   {"response", block.response},
                   {"key", block.key},
                   {"undo_at_ms", block.undo_at_ms}});
  }
  Status made = MakeDirectories(DirName(path_), 0750);
  Status saved = made.ok() ? WriteFileAtomic(path_, out.dump(1) + "\n", 0640) : made;
  if (!saved.ok()) {
    GetLogger("response")->error("cannot save the agents' blocks: {}", saved.message());
  }
}

Expected<std::vector<AgentBlock>> ReadAgentBlocks(const std::string& path, int64_t now_ms) {
  if (!FileExists(path)) return std::vector<AgentBlock>();
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  auto blocks = ParseBlocks(path, *text);
  if (!blocks.ok()) return blocks.status();
  SortAndDropExpired(&*blocks, now_ms);
  return blocks;
}

}  // namespace vigil::response
