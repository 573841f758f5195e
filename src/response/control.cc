#include "response/control.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "common/file.h"
#include "response/address.h"
#include "response/agent_blocks.h"
#include "response/executor.h"
#include "response/message.h"
#include "response/pending.h"
#include "response/socket.h"

namespace vigil::response {
namespace {

// execd's lock, held for as long as this object lives.
class StateLock {
 public:
  static Expected<StateLock> Acquire(const std::string& path) {
    VIGIL_RETURN_IF_ERROR(MakeDirectories(DirName(path), 0750));
    StateLock lock;
    lock.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (lock.fd_ < 0) {
      return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
    }
    if (::flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
      return Status::AlreadyExists("execd started while this command ran; run it again");
    }
    return lock;
  }
  StateLock(StateLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  StateLock(const StateLock&) = delete;
  ~StateLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  StateLock() = default;
  int fd_ = -1;
};

const Clock& ClockOf(const ControlOptions& options) {
  return options.clock != nullptr ? *options.clock : SystemClock::Get();
}

int64_t NowMs(const ControlOptions& options) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             ClockOf(options).Now().time_since_epoch())
      .count();
}

Expected<PendingStore> LoadPending(const StatePaths& paths) {
  if (!FileExists(paths.pending)) return PendingStore();
  auto text = ReadFile(paths.pending);
  if (!text.ok()) return text.status();
  std::vector<std::string> errors;
  auto store = PendingStore::Parse(*text, &errors);
  if (!store.ok()) {
    return Status::ParseError(paths.pending + ": " + store.status().message());
  }
  return store;
}

// Returns the table entry `name` from ar.conf, with options from the configuration; falls
// back to the configuration's table when ar.conf has not been written yet.
Expected<TableEntry> FindResponse(const config::Config& config, const StatePaths& paths,
                                  const std::string& name) {
  std::vector<std::string> errors;
  ResponseTable from_config = ResponseTable::FromConfig(config, &errors);
  ResponseTable table = from_config;
  if (auto text = ReadFile(paths.table); text.ok()) {
    table = ResponseTable::Parse(*text, &errors);
    table.MergeOptionsFrom(from_config);
  }
  const TableEntry* entry = table.Find(name);
  if (entry == nullptr) {
    return Status::NotFound("no response named '" + name + "'; `vigil control -L` lists them");
  }
  return *entry;
}

std::string FormatSeconds(int64_t seconds) {
  if (seconds >= 3600) {
    return std::to_string(seconds / 3600) + "h" + std::to_string(seconds % 3600 / 60) + "m";
  }
  if (seconds >= 60) return std::to_string(seconds / 60) + "m" + std::to_string(seconds % 60) + "s";
  return std::to_string(seconds) + "s";
}

}  // namespace

ControlOptions ControlOptions::FromConfig(const config::Config& config) {
  ControlOptions options;
  options.state_dir = config.paths.state_dir;
  options.responses_dir = config.paths.responses_dir;
  return options;
}

bool IsExecdRunning(const std::string& state_dir) {
  const std::string path = StatePaths::ForStateDir(state_dir).lock;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool running = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);
  return running;
}

Expected<std::vector<TableEntry>> ListResponses(const ControlOptions& options) {
  const StatePaths paths = StatePaths::ForStateDir(options.state_dir);
  auto text = ReadFile(paths.table);
  if (!text.ok()) {
    return Status::NotFound("no response table at " + paths.table +
                            "; `vigil run` writes it at start");
  }
  std::vector<std::string> errors;
  return ResponseTable::Parse(*text, &errors).entries();
}

std::string FormatResponses(const std::vector<TableEntry>& entries) {
  if (entries.empty()) return "No active responses are configured.\n";
  std::string text = "Active responses (name - program - timeout):\n";
  for (const TableEntry& entry : entries) {
    text += "  " + entry.name + " - " + entry.executable + " - " +
            (entry.timeout_seconds == 0 ? std::string("never undone")
                                        : std::to_string(entry.timeout_seconds) + " s") +
            "\n";
  }
  return text;
}

Expected<AgentCommand> PrepareAgentCommand(const config::Config& config,
                                           const ControlOptions& options,
                                           const std::string& address, const std::string& name) {
  auto parsed = ParseSourceAddress(address);
  if (!parsed.ok()) return parsed.status();
  auto entry = FindResponse(config, StatePaths::ForStateDir(options.state_dir), name);
  if (!entry.ok()) return entry.status();
  if (entry->options.expect_user) {
    return Status::InvalidArgument("response '" + name +
                                   "' acts on a user, and -b only passes an address");
  }
  AgentCommand command;
  command.entry = *entry;
  ExecRequest& request = command.request;
  request.name = name;
  request.srcip = parsed->ToString();
  request.alert_id = "(from_the_server)";
  request.rule_id = "(no_rule_id)";
  request.extra_words = 2;
  VIGIL_RETURN_IF_ERROR(ValidateRequest(&request));
  return command;
}

Expected<std::string> RunResponseNow(const config::Config& config, const ControlOptions& options,
                                     const std::string& address, const std::string& name) {
  auto command = PrepareAgentCommand(config, options, address, name);
  if (!command.ok()) return command.status();
  const StatePaths paths = StatePaths::ForStateDir(options.state_dir);
  const TableEntry* entry = &command->entry;
  const ExecRequest& request = command->request;

  if (IsExecdRunning(options.state_dir)) {
    auto socket = DatagramSocket::Unbound();
    if (!socket.ok()) return socket.status();
    const std::string message = name + " - " + request.srcip + " (from_the_server) (no_rule_id)";
    VIGIL_RETURN_IF_ERROR(socket->SendTo(paths.execq, message, kExecdNotRunningHint));
    return "sent '" + name + "' for " + request.srcip +
           " to execd; `vigil control --blocks` "
           "shows the block";
  }

  auto lock = StateLock::Acquire(paths.lock);
  if (!lock.ok()) return lock.status();
  auto store = LoadPending(paths);
  if (!store.ok()) return store.status();
  auto log = ActionLog::Open(paths.actions, &ClockOf(options));
  if (!log.ok()) return log.status();

  const AddDecision decision = store->OnAdd(*entry, request, NowMs(options));
  if (decision.outcome != AddOutcome::kRun) {
    VIGIL_RETURN_IF_ERROR(WriteFileAtomic(paths.pending, store->Serialize(), 0640));
    return "'" + name + "' is already pending for " + request.srcip + "; its undo now runs in " +
           FormatSeconds(decision.timeout_seconds);
  }
  Job job{*entry, request, decision.timeout_seconds, "executed"};
  const ProgramResult result = ExecuteJob(
      job, ExecutorOptions{options.responses_dir, options.program_time_limit}, log->get());
  if (!result.succeeded()) {
    // The add failed, so there is nothing to undo later.
    store->Take(name, request.Key());
    VIGIL_RETURN_IF_ERROR(WriteFileAtomic(paths.pending, store->Serialize(), 0640));
    std::string message =
        "'" + name + "' failed for " + request.srcip + ": " + DescribeResult(result);
    if (!result.stderr_text.empty()) message += "; stderr: " + EscapeForLog(result.stderr_text);
    return Status::Internal(message);
  }
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(paths.pending, store->Serialize(), 0640));
  std::string done = "ran '" + name + "' for " + request.srcip + " here (execd is not running)";
  if (decision.timeout_seconds > 0) {
    done += "; the next start of Vigil undoes it after " + FormatSeconds(decision.timeout_seconds);
  }
  return done;
}

Expected<std::vector<Block>> ListBlocks(const ControlOptions& options) {
  const StatePaths paths = StatePaths::ForStateDir(options.state_dir);
  auto store = LoadPending(paths);
  if (!store.ok()) return store.status();
  auto agent_blocks = ReadAgentBlocks(paths.agent_blocks, NowMs(options));
  if (!agent_blocks.ok()) return agent_blocks.status();
  const int64_t now = NowMs(options);
  std::vector<Block> blocks;
  for (const PendingEntry& entry : store->Entries()) {
    Block block;
    block.response = entry.request.name;
    block.key = entry.request.Key();
    block.due_ms = entry.due_ms;
    block.seconds_left = std::max<int64_t>(0, (entry.due_ms - now + 999) / 1000);
    block.timeout_seconds = entry.timeout_seconds;
    block.simulated = entry.simulated;
    blocks.push_back(std::move(block));
  }
  for (const AgentBlock& held : *agent_blocks) {
    Block block;
    block.agent_id = held.agent_id;
    block.response = held.response;
    block.key = held.key;
    block.due_ms = held.undo_at_ms;
    block.seconds_left = std::max<int64_t>(0, (held.undo_at_ms - now + 999) / 1000);
    blocks.push_back(std::move(block));
  }
  std::stable_sort(blocks.begin(), blocks.end(),
                   [](const Block& a, const Block& b) { return a.due_ms < b.due_ms; });
  return blocks;
}

std::string FormatBlocks(const std::vector<Block>& blocks) {
  if (blocks.empty()) return "Nothing is blocked.\n";
  std::string text = "Blocked now (where, response, address or user, time left):\n";
  for (const Block& block : blocks) {
    const std::string where = block.agent_id.empty() ? "here" : "agent " + block.agent_id;
    text += "  " + where + "  " + block.response + "  " + block.key + "  " +
            FormatSeconds(block.seconds_left) + (block.simulated ? "  (simulated)" : "") + "\n";
  }
  return text;
}

Expected<std::vector<std::string>> Unblock(const config::Config& config,
                                           const ControlOptions& options,
                                           const std::string& address) {
  auto parsed = ParseSourceAddress(address);
  if (!parsed.ok()) return parsed.status();
  const std::string srcip = parsed->ToString();
  const StatePaths paths = StatePaths::ForStateDir(options.state_dir);
  std::vector<std::string> undone;

  if (IsExecdRunning(options.state_dir)) {
    const std::string reply_path = DirName(paths.execq) + "/control-" + std::to_string(::getpid());
    auto socket = DatagramSocket::Bind(reply_path, 0600);
    if (!socket.ok()) return socket.status();
    const nlohmann::json request = {{"version", 1}, {"control", "unblock"}, {"srcip", srcip}};
    VIGIL_RETURN_IF_ERROR(socket->SendTo(paths.execq, request.dump(), kExecdNotRunningHint));
    std::string reply, sender;
    // execd replies once the deletes have run, and each may take up to the program time limit.
    Status received = socket->Receive(&reply, &sender, kMaxMessageBytes,
                                      options.program_time_limit + options.reply_timeout);
    if (!received.ok()) {
      return Status::TimedOut("execd did not answer the unblock request for " + srcip + ": " +
                              received.message() + "; the undo may still be running");
    }
    const nlohmann::json answer = nlohmann::json::parse(reply, nullptr, false);
    if (answer.is_discarded() || !answer.contains("undone") || !answer["undone"].is_array()) {
      return Status::ParseError("execd sent an invalid reply to the unblock request: " +
                                EscapeForLog(reply));
    }
    // As without a running execd, a failed undo is an error.
    if (answer.contains("failed") && answer["failed"].is_array()) {
      for (const nlohmann::json& item : answer["failed"]) {
        if (!item.is_object()) continue;
        return Status::Internal("undoing '" + item.value("response", "") + "' for " + srcip +
                                " failed: " + item.value("detail", ""));
      }
    }
    for (const nlohmann::json& item : answer["undone"]) {
      if (item.is_object()) {
        undone.push_back(item.value("response", "") + " " + item.value("key", ""));
      }
    }
    return undone;
  }

  auto lock = StateLock::Acquire(paths.lock);
  if (!lock.ok()) return lock.status();
  auto store = LoadPending(paths);
  if (!store.ok()) return store.status();
  auto log = ActionLog::Open(paths.actions, &ClockOf(options));
  if (!log.ok()) return log.status();
  std::vector<std::string> errors;
  ResponseTable from_config = ResponseTable::FromConfig(config, &errors);
  Status first_failure;
  for (PendingEntry& entry : store->TakeByAddress(srcip)) {
    Job job;
    if (const TableEntry* known = from_config.Find(entry.request.name)) job.entry = *known;
    job.entry.name = entry.request.name;
    job.entry.executable = entry.executable;
    job.entry.options.simulate = entry.simulated;
    job.request = entry.request;
    job.request.action = Action::kDelete;
    job.event = "undone";
    const ProgramResult result = ExecuteJob(
        job, ExecutorOptions{options.responses_dir, options.program_time_limit}, log->get());
    if (result.succeeded()) {
      undone.push_back(entry.request.name + " " + entry.request.Key());
    } else if (first_failure.ok()) {
      first_failure = Status::Internal("undoing '" + entry.request.name + "' for " + srcip +
                                       " failed: " + DescribeResult(result));
    }
  }
  VIGIL_RETURN_IF_ERROR(WriteFileAtomic(paths.pending, store->Serialize(), 0640));
  if (!first_failure.ok()) return first_failure;
  return undone;
}

Expected<std::vector<ActionRecord>> RecentActions(const ControlOptions& options, size_t count) {
  return ReadActionLog(StatePaths::ForStateDir(options.state_dir).actions, count, nullptr);
}

}  // namespace vigil::response
