#include "response/execd.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/file.h"
#include "response/address.h"
#include "response/builtin_firewall.h"

namespace vigil::response {
namespace {

// The loop never sleeps longer than this, so a wall-clock step is noticed within a second.
constexpr std::chrono::milliseconds kMaxSleep{1000};
// Datagrams handled per wake-up before the timers are checked again.
constexpr int kMaxBatch = 64;

}  // namespace

Expected<std::unique_ptr<Execd>> Execd::Start(const config::Config& config, ExecdOptions options) {
  if (options.state_dir.empty()) {
    return Status::InvalidArgument("execd needs a state folder (<paths><state_dir>)");
  }
  StatePaths paths = StatePaths::ForStateDir(options.state_dir);
  std::unique_ptr<Execd> execd(new Execd(std::move(options), std::move(paths)));
  VIGIL_RETURN_IF_ERROR(execd->Init(config));
  return execd;
}

Status Execd::Init(const config::Config& config) {
  clock_ = options_.clock != nullptr ? options_.clock : &SystemClock::Get();
  logger_ = GetLogger("execd");
  options_.workers = std::max(1, options_.workers);

  VIGIL_RETURN_IF_ERROR(MakeDirectories(DirName(paths_.lock), 0750));
  lock_fd_ = ::open(paths_.lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (lock_fd_ < 0) {
    return Status::IoError("cannot open " + paths_.lock + ": " + std::strerror(errno));
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    return Status::AlreadyExists("another execd is running with state folder " +
                                 options_.state_dir + " (it holds " + paths_.lock + ")");
  }

  std::vector<std::string> errors;
  config_table_ = ResponseTable::FromConfig(config, &errors);
  if (!errors.empty()) {
    std::string message = "active response configuration is invalid:";
    for (const std::string& error : errors) message += "\n  " + error;
    return Status::InvalidArgument(message);
  }
  if (options_.write_table) {
    VIGIL_RETURN_IF_ERROR(MakeDirectories(DirName(paths_.table), 0750));
    VIGIL_RETURN_IF_ERROR(WriteFileAtomic(paths_.table, config_table_.Format(), 0640));
    table_ = config_table_;
  } else if (auto text = ReadFile(paths_.table); text.ok()) {
    table_ = ResponseTable::Parse(*text, &errors);
    table_.MergeOptionsFrom(config_table_);
    for (const std::string& error : errors) logger_->warn("{}: {}", paths_.table, error);
  }
  for (const TableEntry& entry : table_.entries()) {
    if (IsBuiltinExecutable(entry.executable)) continue;
    if (options_.responses_dir.empty()) {
      return Status::InvalidArgument("response " + entry.name + " runs the program " +
                                     entry.executable +
                                     ", but no responses folder is set (<paths><responses_dir>)");
    }
    const std::string path = options_.responses_dir + "/" + entry.executable;
    if (::access(path.c_str(), X_OK) != 0) {
      logger_->warn(
          "response {}: program {} is not an executable file ({}); requests for it "
          "will fail",
          entry.name, path, std::strerror(errno));
    }
  }

  if (FileExists(paths_.pending)) {
    auto text = ReadFile(paths_.pending);
    auto store =
        text.ok() ? PendingStore::Parse(*text, &errors) : Expected<PendingStore>(text.status());
    if (store.ok()) {
      pending_ = std::move(*store);
      for (const std::string& error : errors) logger_->warn("{}: {}", paths_.pending, error);
    } else {
      // Starting empty is safer than refusing to start, and the file is kept for inspection.
      const std::string kept = paths_.pending + ".invalid";
      ::rename(paths_.pending.c_str(), kept.c_str());
      logger_->error(
          "cannot load pending deletes from {}: {}; moved it to {}, and blocks it "
          "listed must be removed by hand",
          paths_.pending, store.status().message(), kept);
    }
  }

  auto log = ActionLog::Open(paths_.actions, clock_);
  if (!log.ok()) return log.status();
  log_ = std::move(*log);

  auto socket = DatagramSocket::Bind(paths_.execq, 0660);
  if (!socket.ok()) return socket.status();
  socket_ = std::move(*socket);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return Status::IoError(std::string("eventfd: ") + std::strerror(errno));

  for (int i = 0; i < options_.workers; ++i) workers_.push_back(std::make_unique<Worker>());
  for (size_t i = 0; i < workers_.size(); ++i) {
    workers_[i]->thread = std::thread([this, i] { WorkerLoop(i); });
  }
  loop_ = std::thread([this] { Loop(); });
  started_ = true;
  logger_->info("execd started: socket {}, {} responses, {} pending deletes, table {}",
                paths_.execq, table_.entries().size(), pending_.size(), paths_.table);
  return Status::Ok();
}

Execd::~Execd() {
  Stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

void Execd::Stop() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(submitted_mu_);
    submit_closed_ = true;
  }
  stopping_ = true;
  Wake();
  if (loop_.joinable()) loop_.join();
  DrainSubmitted();
  // Workers finish what is queued: a delete taken from the store must not be lost.
  for (auto& worker : workers_) {
    {
      std::lock_guard lock(worker->mu);
      worker->stopping = true;
    }
    worker->cv.notify_all();
  }
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
  socket_ = DatagramSocket();
  // An execd that failed to start must not write the file of the execd that holds the lock.
  if (!started_) return;
  SavePending();
  const ExecdCounters c = counters();
  logger_->info(
      "execd stopped: {} messages ({} invalid), {} executed, {} failed, {} "
      "simulated, {} extended, {} undone, {} deletes still pending",
      c.messages, c.invalid_messages, c.executed, c.failed, c.simulated, c.extended, c.undone,
      Pending().size());
}

void Execd::Wake() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  const ssize_t ignored = ::write(wake_fd_, &one, sizeof(one));
  (void)ignored;
}

int64_t Execd::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Now().time_since_epoch())
      .count();
}

void Execd::Loop() {
  std::string payload, sender;
  while (!stopping_) {
    RunDue();
    DrainSubmitted();
    std::chrono::milliseconds sleep = kMaxSleep;
    {
      std::lock_guard lock(state_mu_);
      if (auto next = pending_.NextDue()) {
        sleep = std::clamp(std::chrono::milliseconds(*next - NowMs()), std::chrono::milliseconds(0),
                           kMaxSleep);
      }
    }
    pollfd fds[2] = {{socket_.fd(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(sleep.count()));
    if (ready < 0 && errno != EINTR) {
      logger_->error("poll on {} failed: {}", paths_.execq, std::strerror(errno));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    if (fds[1].revents != 0) {
      uint64_t value = 0;
      const ssize_t ignored = ::read(wake_fd_, &value, sizeof(value));
      (void)ignored;
      DrainSubmitted();
    }
    if (fds[0].revents == 0) continue;
    for (int i = 0; i < kMaxBatch && !stopping_; ++i) {
      Status received =
          socket_.Receive(&payload, &sender, kMaxMessageBytes, std::chrono::milliseconds(0));
      if (received.code() == StatusCode::kTimedOut) break;
      if (received.ok()) {
        HandleDatagram(payload, sender);
      } else {
        {
          std::lock_guard lock(state_mu_);
          ++counters_.invalid_messages;
        }
        uint64_t suppressed = 0;
        if (repeats_.ShouldLog("receive", &suppressed)) {
          logger_->error("execq message rejected: {} ({} more not logged)", received.message(),
                         suppressed);
        }
      }
      // Counted after handling, so a caller that reads the count can also read the outcome.
      std::lock_guard lock(state_mu_);
      ++counters_.messages;
    }
  }
}

void Execd::HandleDatagram(const std::string& payload, const std::string& sender) {
  auto message = ParseExecMessage(payload, table_);
  const bool known_name = message.ok()
                              ? !message->request || table_.Find(message->request->name) != nullptr
                              : !table_.MatchNamePrefix(payload).empty();
  if (!known_name) {
    // The table may have changed since the start (an agent's manager sent a new one): read
    // it once more, and parse again because a new name may contain spaces.
    ReloadTable();
    message = ParseExecMessage(payload, table_);
  }
  if (!message.ok()) {
    {
      std::lock_guard lock(state_mu_);
      ++counters_.invalid_messages;
    }
    uint64_t suppressed = 0;
    if (repeats_.ShouldLog("invalid", &suppressed)) {
      logger_->warn("execq message rejected: {}; message starts '{}' ({} similar not logged)",
                    message.status().message(), EscapeForLog(payload), suppressed);
    }
    ActionRecord record;
    record.event = "skipped";
    record.reason = "invalid message: " + message.status().message();
    log_->Append(std::move(record));
    return;
  }
  if (message->control) {
    UnblockCallback reply;
    if (!sender.empty()) {
      reply = [this, sender, srcip = message->control->srcip](const UnblockResult& result) {
        // Items are "response key".
        auto describe = [](const std::string& item) {
          const size_t space = item.find(' ');
          return nlohmann::json{{"response", item.substr(0, space)},
                                {"key", item.substr(space + 1)}};
        };
        nlohmann::json undone = nlohmann::json::array();
        for (const std::string& item : result.undone) undone.push_back(describe(item));
        nlohmann::json failed = nlohmann::json::array();
        for (const auto& [item, reason] : result.failed) {
          nlohmann::json entry = describe(item);
          entry["detail"] = reason;
          failed.push_back(std::move(entry));
        }
        const nlohmann::json answer = {
            {"ok", true}, {"srcip", srcip}, {"undone", undone}, {"failed", failed}};
        Status sent = socket_.SendTo(sender, answer.dump());
        if (!sent.ok()) {
          logger_->warn("cannot reply to {}, which may have stopped waiting: {}", sender,
                        sent.message());
        }
      };
    }
    HandleUnblock(message->control->srcip, std::move(reply));
    return;
  }
  HandleRequest(std::move(*message->request), nullptr);
}

void Execd::Submit(ExecRequest request, std::optional<TableEntry> offered, SubmitCallback done) {
  {
    std::lock_guard lock(submitted_mu_);
    if (!submit_closed_) {
      submitted_.push_back(Submitted{std::move(request), std::move(offered), std::move(done), "",
                                     nullptr});
      done = nullptr;
    }
  }
  if (done) {
    done(SubmitResult{"skipped", std::nullopt, "execd is stopping", 0});
    return;
  }
  Wake();
}

void Execd::SubmitUnblock(std::string srcip, UnblockCallback done) {
  {
    std::lock_guard lock(submitted_mu_);
    if (!submit_closed_) {
      submitted_.push_back(Submitted{std::nullopt, std::nullopt, nullptr, std::move(srcip),
                                     std::move(done)});
      done = nullptr;
    }
  }
  if (done) {
    done({});
    return;
  }
  Wake();
}

void Execd::DrainSubmitted() {
  std::deque<Submitted> items;
  {
    std::lock_guard lock(submitted_mu_);
    items.swap(submitted_);
  }
  for (Submitted& item : items) {
    if (stopping_) {
      // The loop has ended, so nothing may start, but every caller still gets a result.
      if (item.done) item.done(SubmitResult{"skipped", std::nullopt, "execd is stopping", 0});
      if (item.unblock_done) item.unblock_done({});
      continue;
    }
    if (item.request) {
      if (item.offered) AdoptEntry(*item.offered);
      Status valid = ValidateRequest(&*item.request);
      if (!valid.ok()) {
        ActionRecord record;
        record.event = "skipped";
        record.response = item.request->name;
        record.reason = "invalid request: " + valid.message();
        log_->Append(std::move(record));
        if (item.done) item.done(SubmitResult{"skipped", std::nullopt, valid.message(), 0});
        continue;
      }
      HandleRequest(std::move(*item.request), item.done);
    } else {
      HandleUnblock(item.unblock_srcip, std::move(item.unblock_done));
    }
  }
}

void Execd::AdoptEntry(const TableEntry& offered) {
  const TableEntry* known = table_.Find(offered.name);
  const bool added = known == nullptr;
  const bool changed = added || !(*known == offered);
  TableEntry entry = offered;
  // A response that this host's own configuration defines keeps this host's options.
  if (const TableEntry* own = config_table_.Find(offered.name)) entry.options = own->options;
  table_.Put(std::move(entry));
  if (!changed) return;
  Status written = MakeDirectories(DirName(paths_.table), 0750);
  if (written.ok()) written = WriteFileAtomic(paths_.table, table_.Format(), 0640);
  if (!written.ok()) {
    logger_->error("cannot write the response table {}: {}; the response runs, but a restart "
                   "forgets it until the manager sends it again",
                   paths_.table, written.message());
  }
  logger_->info("response {} {}: program {}, timeout {} s", offered.name,
                added ? "added to the table" : "changed in the table",
                offered.executable, offered.timeout_seconds);
}

void Execd::ReloadTable() {
  auto text = ReadFile(paths_.table);
  if (!text.ok()) {
    logger_->error("cannot re-read the response table: {}", text.status().message());
    return;
  }
  std::vector<std::string> errors;
  ResponseTable reread = ResponseTable::Parse(*text, &errors);
  for (const std::string& error : errors) logger_->warn("{}: {}", paths_.table, error);
  reread.MergeOptionsFrom(config_table_);
  table_ = std::move(reread);
}

const TableEntry* Execd::FindEntry(const std::string& name) {
  if (const TableEntry* entry = table_.Find(name)) return entry;
  return config_table_.Find(name);
}

void Execd::HandleRequest(ExecRequest request, const SubmitCallback& done) {
  const TableEntry* entry = FindEntry(request.name);
  ActionRecord record;
  record.response = request.name;
  record.key = request.Key();
  record.rule_id = request.rule_id;
  if (entry == nullptr) {
    record.event = "skipped";
    record.reason = "unknown response '" + EscapeForLog(request.name) + "', not in " + paths_.table;
    logger_->error("{}", record.reason);
    if (done) done(SubmitResult{"skipped", std::nullopt, record.reason, 0});
    log_->Append(std::move(record));
    return;
  }
  const ResponseOptions& expect = entry->options;
  std::string missing;
  if (expect.expect_srcip && request.srcip == "-") missing = "a source address";
  if (expect.expect_user && request.user == "-") missing = "a user";
  if (expect.expect_filename && request.filename == "-") missing = "a file name";
  if (!missing.empty()) {
    record.event = "skipped";
    record.reason = "response needs " + missing + " and the request has none";
    logger_->warn("response {}: {}", request.name, record.reason);
    if (done) done(SubmitResult{"skipped", std::nullopt, record.reason, 0});
    log_->Append(std::move(record));
    return;
  }

  Job job;
  job.entry = *entry;
  job.request = request;
  if (request.action == Action::kDelete) {
    std::unique_lock lock(state_mu_);
    std::optional<PendingEntry> pending = pending_.Take(entry->name, request.Key());
    lock.unlock();
    if (pending) job.request = pending->request;
    job.request.action = Action::kDelete;
    job.event = "undone";
    Dispatch(std::move(job), done);
    SavePending();
    return;
  }

  // A response decided earlier (one that waited for an offline agent) counts its timeout
  // from then, and runs not at all when that time has passed.
  const int64_t now_ms = NowMs();
  const int64_t decided_ms = request.decided_ms > 0 ? std::min(request.decided_ms, now_ms) : now_ms;
  if (entry->timeout_seconds > 0 && decided_ms + entry->timeout_seconds * int64_t{1000} <= now_ms) {
    record.event = "skipped";
    record.reason = "expired: the response was decided " +
                    std::to_string((now_ms - decided_ms) / 1000) + " s ago and its timeout of " +
                    std::to_string(entry->timeout_seconds) + " s has passed";
    logger_->info("response {}: {}", request.name, record.reason);
    if (done) done(SubmitResult{"skipped", std::nullopt, record.reason, 0});
    log_->Append(std::move(record));
    return;
  }
  std::unique_lock lock(state_mu_);
  const AddDecision decision = pending_.OnAdd(*entry, request, decided_ms);
  const PendingEntry* pending = pending_.Find(entry->name, request.Key());
  const int64_t due_ms = pending != nullptr ? pending->due_ms : 0;
  if (decision.outcome != AddOutcome::kRun) ++counters_.extended;
  lock.unlock();

  job.timeout_seconds = decision.timeout_seconds;
  // A program that expires the block itself gets the time that is left.
  if (decision.timeout_seconds > 0 && due_ms > 0) {
    job.timeout_seconds = static_cast<int>(
        std::clamp<int64_t>((due_ms - now_ms + 999) / 1000, 1, decision.timeout_seconds));
  }
  job.event = "executed";
  if (decision.outcome == AddOutcome::kRun) {
    Dispatch(std::move(job), done, decision.timeout_seconds > 0 ? due_ms : 0);
  } else {
    record.event = decision.outcome == AddOutcome::kExtend ? "extended" : "escalated";
    record.reason = "offence " + std::to_string(decision.offence) + ", undone in " +
                    std::to_string((due_ms - now_ms + 999) / 1000) + " s";
    if (done) done(SubmitResult{record.event, std::nullopt, record.reason, due_ms});
    log_->Append(std::move(record));
    if (entry->options.refresh_on_extend) Dispatch(std::move(job));
  }
  if (decision.timeout_seconds > 0) SavePending();
}

void Execd::HandleUnblock(const std::string& srcip, UnblockCallback done) {
  std::vector<PendingEntry> taken;
  {
    std::lock_guard lock(state_mu_);
    taken = pending_.TakeByAddress(srcip);
  }
  logger_->info("unblock {} requested: {} pending blocks to undo", srcip, taken.size());
  if (taken.empty()) {
    if (done) done({});
    return;
  }
  SavePending();
  // `done` runs once every delete has run, so that an address reported as undone is no
  // longer blocked.
  struct Progress {
    std::mutex mu;
    size_t left = 0;
    UnblockResult result;
    UnblockCallback done;
  };
  auto progress = std::make_shared<Progress>();
  progress->left = taken.size();
  progress->done = std::move(done);
  for (PendingEntry& entry : taken) {
    std::string item = entry.request.name + " " + entry.request.Key();
    auto one_done = [progress, item](const SubmitResult& outcome) {
      std::lock_guard lock(progress->mu);
      if (outcome.event == "failed") {
        progress->result.failed.emplace_back(item, outcome.detail);
      } else {
        progress->result.undone.push_back(item);
      }
      if (--progress->left == 0 && progress->done) progress->done(progress->result);
    };
    const TableEntry* table_entry = FindEntry(entry.request.name);
    Job job;
    job.entry = table_entry != nullptr ? *table_entry
                                       : TableEntry{entry.request.name, entry.executable, 0, {}};
    job.entry.executable = entry.executable;
    job.entry.options.simulate = entry.simulated;
    job.request = entry.request;
    job.request.action = Action::kDelete;
    job.event = "undone";
    Dispatch(std::move(job), one_done);
  }
}

void Execd::RunDue() {
  std::vector<PendingEntry> due;
  {
    std::lock_guard lock(state_mu_);
    due = pending_.TakeDue(NowMs());
  }
  if (due.empty()) return;
  for (PendingEntry& entry : due) {
    const TableEntry* table_entry = FindEntry(entry.request.name);
    Job job;
    job.entry = table_entry != nullptr ? *table_entry : TableEntry{};
    job.entry.name = entry.request.name;
    // The delete runs the program that ran the add, even if the table changed since.
    job.entry.executable = entry.executable;
    job.entry.options.simulate = entry.simulated;
    job.request = entry.request;
    job.request.action = Action::kDelete;
    job.event = "undone";
    SubmitCallback done;
    if (options_.on_timed_undo) {
      done = [this, entry](const SubmitResult& result) { options_.on_timed_undo(entry, result); };
    }
    Dispatch(std::move(job), std::move(done));
  }
  SavePending();
}

void Execd::Dispatch(Job job, SubmitCallback done, int64_t undo_at_ms) {
  const size_t index =
      std::hash<std::string>()(job.entry.name + '\n' + job.request.Key()) % workers_.size();
  {
    std::lock_guard lock(idle_mu_);
    ++busy_;
  }
  Worker& worker = *workers_[index];
  {
    std::lock_guard lock(worker.mu);
    worker.jobs.push_back(QueuedJob{std::move(job), std::move(done), undo_at_ms});
  }
  worker.cv.notify_one();
}

void Execd::WorkerLoop(size_t index) {
  Worker& worker = *workers_[index];
  const ExecutorOptions executor{options_.responses_dir, options_.program_time_limit};
  while (true) {
    QueuedJob queued;
    {
      std::unique_lock lock(worker.mu);
      worker.cv.wait(lock, [&] { return worker.stopping || !worker.jobs.empty(); });
      if (worker.jobs.empty()) return;
      queued = std::move(worker.jobs.front());
      worker.jobs.pop_front();
    }
    const Job& job = queued.job;
    const ProgramResult result = ExecuteJob(job, executor, log_.get());
    if (queued.done) {
      SubmitResult outcome;
      if (result.spawn_status.ok()) outcome.exit_status = result.exit_status;
      outcome.detail = DescribeResult(result);
      if (job.entry.options.simulate) {
        outcome.event = "simulated";
        outcome.detail = "simulated: nothing ran";
      } else if (result.succeeded()) {
        outcome.event = job.event;
      } else {
        outcome.event = "failed";
        if (!result.spawn_status.ok()) outcome.detail = result.spawn_status.message();
        if (!result.stderr_text.empty()) {
          outcome.detail += "; stderr: " + EscapeForLog(result.stderr_text.substr(0, 200));
        }
      }
      if (outcome.event != "failed") outcome.undo_at_ms = queued.undo_at_ms;
      queued.done(outcome);
    }
    {
      std::lock_guard lock(state_mu_);
      if (job.entry.options.simulate) {
        ++counters_.simulated;
      } else if (!result.succeeded()) {
        ++counters_.failed;
      } else if (job.request.action == Action::kDelete) {
        ++counters_.undone;
      } else {
        ++counters_.executed;
      }
    }
    {
      std::lock_guard lock(idle_mu_);
      --busy_;
    }
    idle_cv_.notify_all();
  }
}

void Execd::SavePending() {
  std::string text;
  {
    std::lock_guard lock(state_mu_);
    text = pending_.Serialize();
  }
  Status saved = WriteFileAtomic(paths_.pending, text, 0640);
  if (!saved.ok()) {
    uint64_t suppressed = 0;
    if (repeats_.ShouldLog("save", &suppressed)) {
      logger_->error(
          "cannot save pending deletes: {}; a restart now would forget them ({} "
          "more not logged)",
          saved.message(), suppressed);
    }
  }
}

bool Execd::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(idle_mu_);
  return idle_cv_.wait_for(lock, timeout, [this] { return busy_ == 0; });
}

ExecdCounters Execd::counters() const {
  std::lock_guard lock(state_mu_);
  return counters_;
}

std::vector<PendingEntry> Execd::Pending() const {
  std::lock_guard lock(state_mu_);
  return pending_.Entries();
}

}  // namespace vigil::response
