#include "transport/agent.h"

#include <openssl/err.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>

#include "common/file.h"
#include "transport/state_files.h"
#include "transport/tls_io.h"

namespace vigil::transport {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxLoggedResponses = 256;
// Results kept for resending until the manager acknowledges them.
constexpr size_t kMaxUnackedResults = 1024;
constexpr size_t kMaxPendingOutput = 1 << 20;

std::shared_ptr<spdlog::logger> Log() { return GetLogger("transport"); }

}  // namespace

Agent::Agent(AgentOptions options, AgentIdentity identity, std::unique_ptr<DiskQueue> queue)
    : options_(std::move(options)), identity_(std::move(identity)), queue_(std::move(queue)) {
  char host[256] = "";
  gethostname(host, sizeof(host) - 1);
  hostname_ = host;
  utsname u{};
  if (uname(&u) == 0) os_ = std::string(u.sysname) + " " + u.release + " " + u.machine;
}

Agent::~Agent() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

Expected<std::unique_ptr<Agent>> Agent::Create(AgentOptions options) {
  if (options.managers.empty()) {
    return Status::InvalidArgument("no manager address is configured; add <server> to <client>");
  }
  for (const std::string& m : options.managers) {
    Expected<HostPort> parsed = ParseHostPort(m);
    if (!parsed.ok()) return parsed.status();
  }
  if (options.keepalive.count() <= 0) {
    return Status::InvalidArgument("the keepalive interval must be at least 1 second");
  }
  Expected<AgentIdentity> identity = LoadAgentIdentity(options.state_dir);
  if (!identity.ok()) return identity.status();
  DiskQueueOptions queue_options;
  queue_options.dir = options.state_dir + "/queue";
  queue_options.max_bytes = options.queue_max_bytes;
  queue_options.fsync_each_append = options.queue_fsync;
  Expected<std::unique_ptr<DiskQueue>> queue = DiskQueue::Open(queue_options);
  if (!queue.ok()) return queue.status();
  std::unique_ptr<Agent> agent(
      new Agent(std::move(options), std::move(*identity), std::move(*queue)));
  Expected<SslCtxPtr> ctx = MakeIdentityContext(agent->identity_);
  if (!ctx.ok()) return ctx.status();
  agent->ssl_ctx_ = std::move(*ctx);
  agent->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  agent->LoadResponseLog();
  return agent;
}

Status Agent::Start() {
  if (link_thread_.joinable()) return Status::Ok();
  stop_ = false;
  IgnoreSigpipe();
  queue_->SetAppendNotify([this] { Wake(); });
  link_thread_ = std::thread([this] { RunLink(); });
  response_thread_ = std::thread([this] { RunResponses(); });
  Log()->info("agent {} ({}) started: managers {}, session {}, {} queued records",
              identity_.agent_id, identity_.name, fmt::join(options_.managers, ","),
              queue_->session_id(), queue_->depth_records());
  return Status::Ok();
}

void Agent::Stop() {
  if (!link_thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  Wake();
  link_thread_.join();
  response_thread_.join();
  queue_->SetAppendNotify(nullptr);
  AgentCounters c = counters();
  Log()->info(
      "agent {} stopped: batches sent={} resent={} acked={} records={} backpressure={} "
      "queued records={}",
      identity_.agent_id, c.batches_sent, c.batches_resent, c.batches_acked, c.records_submitted,
      c.backpressure, c.queue_records);
}

void Agent::Wake() {
  uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!write(wake_fd_, &one, sizeof(one));
}

Status Agent::Submit(const std::vector<EventRecord>& records) {
  Status status = queue_->Append(records);
  std::lock_guard lock(mu_);
  if (status.ok()) {
    counters_.records_submitted += records.size();
  } else if (status.code() == StatusCode::kResourceExhausted) {
    ++counters_.backpressure;
  }
  return status;
}

bool Agent::WaitForSpace(uint64_t bytes, std::chrono::milliseconds timeout) {
  return queue_->WaitForSpace(bytes, timeout);
}

std::string Agent::current_manager() const {
  std::lock_guard lock(mu_);
  return current_manager_;
}

AgentCounters Agent::counters() const {
  AgentCounters c;
  {
    std::lock_guard lock(mu_);
    c = counters_;
  }
  c.queue_records = queue_->depth_records();
  c.queue_bytes = queue_->depth_bytes();
  return c;
}

AgentStatus Agent::CurrentStatus() const {
  AgentStatus s;
  s.version = options_.version;
  s.hostname = hostname_;
  s.os = os_;
  s.config_checksum = options_.config_checksum;
  s.queue_records = queue_->depth_records();
  s.queue_bytes = queue_->depth_bytes();
  return s;
}

void Agent::RunLink() {
  std::mt19937_64 random(std::random_device{}());
  size_t index = 0;
  int attempt = 0;
  while (!stop_) {
    const std::string& manager = options_.managers[index];
    {
      std::lock_guard lock(mu_);
      current_manager_ = manager;
    }
    uint64_t connects_before = counters().connects;
    Status ended = RunSession(manager);
    bool was_connected = connected_.exchange(false);
    if (stop_) break;
    uint64_t suppressed = 0;
    if (was_connected) {
      {
        std::lock_guard lock(mu_);
        ++counters_.disconnects;
      }
      attempt = 0;
      Log()->warn("agent {}: connection to manager {} ended: {}", identity_.agent_id, manager,
                  ended.ToString());
    } else {
      {
        std::lock_guard lock(mu_);
        ++counters_.connect_failures;
      }
      if (limiter_.ShouldLog(manager + ended.message(), &suppressed)) {
        Log()->warn("agent {}: cannot connect to manager {}: {}{}", identity_.agent_id, manager,
                    ended.ToString(),
                    suppressed > 0 ? fmt::format(" ({} repeats suppressed)", suppressed) : "");
      }
      if (counters().connects == connects_before) index = (index + 1) % options_.managers.size();
      ++attempt;
    }
    // Exponential backoff with jitter: a random delay between half and all of the step, so
    // thousands of agents cut at once do not reconnect in lockstep.
    auto step = options_.backoff_initial * (int64_t{1} << std::min(attempt, 16));
    step = std::min<std::chrono::milliseconds>(step, options_.backoff_max);
    std::uniform_int_distribution<int64_t> jitter(step.count() / 2, step.count());
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(jitter(random)), [this] { return stop_.load(); });
  }
}

Status Agent::RunSession(const std::string& manager) {
  Expected<HostPort> target = ParseHostPort(manager);
  if (!target.ok()) return target.status();
  TlsClientConnection connection;
  Clock::time_point deadline = Clock::now() + options_.connect_timeout;
  Status connected = connection.Connect(ssl_ctx_.get(), *target, deadline);
  if (!connected.ok() && identity_.uses_psk() &&
      connected.code() == StatusCode::kPermissionDenied) {
    // The manager falls back to its certificate when it does not take the PSK.
    return Status::PermissionDenied(connected.message() +
                                    " (the manager did not accept this agent's pre-shared "
                                    "key: the agent is unknown or removed, or the key is wrong)");
  }
  VIGIL_RETURN_IF_ERROR(connected);

  HelloMessage hello;
  hello.agent_id = identity_.agent_id;
  hello.session_id = queue_->session_id();
  hello.status = CurrentStatus();
  VIGIL_RETURN_IF_ERROR(connection.WriteAll(EncodeMessage(hello), deadline));
  FrameDecoder decoder;
  Expected<Message> reply = connection.ReadMessage(&decoder, deadline);
  if (!reply.ok()) return reply.status();
  if (auto* error = std::get_if<ErrorMessage>(&*reply)) {
    if (error->code == ErrorCode::kSessionRetired) {
      VIGIL_RETURN_IF_ERROR(queue_->StartNewSession());
      highest_sent_seq_ = 0;
    }
    return Status::PermissionDenied("the manager rejected the hello: " + error->message);
  }
  auto* ack = std::get_if<HelloAckMessage>(&*reply);
  if (ack == nullptr) return Status::ParseError("the manager did not answer the hello");
  VIGIL_RETURN_IF_ERROR(queue_->Acknowledge(ack->last_delivered_seq));
  uint64_t sent_seq = std::max(ack->last_delivered_seq, queue_->acked_seq());
  connected_ = true;
  {
    std::lock_guard lock(mu_);
    ++counters_.connects;
  }
  Log()->info("agent {} connected to manager {}; resuming after batch {} of session {}",
              identity_.agent_id, manager, sent_seq, queue_->session_id());

  // Responses sent before a disconnect are resent by the manager. Every result the manager has
  // not acknowledged goes out again on this connection, and the manager records each once.
  {
    std::lock_guard lock(mu_);
    results_todo_.clear();
    for (const auto& [key, result] : unacked_) results_todo_.push_back(result);
    counters_.results_resent += results_todo_.size();
  }
  std::string out;
  size_t out_offset = 0;
  // The manager cuts agents silent for three of its intervals, so the shorter one applies.
  auto keepalive = std::chrono::duration_cast<std::chrono::milliseconds>(options_.keepalive);
  if (ack->keepalive_seconds > 0) {
    keepalive = std::min<std::chrono::milliseconds>(keepalive,
                                                    std::chrono::seconds(ack->keepalive_seconds));
  }
  Clock::time_point next_keepalive = Clock::now() + keepalive;
  Clock::time_point last_rx = Clock::now();
  std::chrono::milliseconds idle_limit = 3 * keepalive + std::chrono::seconds(30);
  if (options_.reconnect_after.count() > 0) idle_limit = options_.reconnect_after;
  char buf[16384];
  SSL* ssl = connection.ssl();

  while (!stop_) {
    // Fill the output with new batches, results and a due keepalive.
    if (out.size() - out_offset < kMaxPendingOutput) {
      uint64_t acked = queue_->acked_seq();
      uint64_t in_flight = sent_seq > acked ? sent_seq - acked : 0;
      if (in_flight < options_.max_in_flight_batches) {
        for (QueuedBatch& b : queue_->Peek(sent_seq, options_.max_in_flight_batches - in_flight)) {
          out += b.frame;
          sent_seq = b.seq;
          std::lock_guard lock(mu_);
          ++counters_.batches_sent;
          if (b.seq <= highest_sent_seq_) ++counters_.batches_resent;
          highest_sent_seq_ = std::max(highest_sent_seq_, b.seq);
        }
      }
    }
    {
      std::lock_guard lock(mu_);
      for (const ResponseResultMessage& r : results_todo_) out += EncodeMessage(r);
      results_todo_.clear();
    }
    Clock::time_point now = Clock::now();
    if (now >= next_keepalive) {
      out += EncodeMessage(StatusMessage{CurrentStatus()});
      next_keepalive = now + keepalive;
      std::lock_guard lock(mu_);
      ++counters_.keepalives_sent;
    }

    // Write what the socket takes now.
    bool want_write = false;
    while (out_offset < out.size()) {
      ERR_clear_error();
      int rc = SSL_write(ssl, out.data() + out_offset,
                         static_cast<int>(std::min<size_t>(out.size() - out_offset, 1 << 20)));
      if (rc > 0) {
        out_offset += static_cast<size_t>(rc);
        continue;
      }
      int error = SSL_get_error(ssl, rc);
      if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
        want_write = true;
        break;
      }
      return Status::IoError("writing to the manager failed: " + DrainOpenSslErrors());
    }
    if (out_offset == out.size()) {
      out.clear();
      out_offset = 0;
    }

    // Wait for input, room to write, a wake-up or the next keepalive.
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_keepalive - now);
    pollfd fds[2] = {{connection.fd(), static_cast<short>(POLLIN | (want_write ? POLLOUT : 0)), 0},
                     {wake_fd_, POLLIN, 0}};
    int timeout_ms = static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 1000));
    if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR) {
      return Status::IoError(std::string("poll failed: ") + std::strerror(errno));
    }
    if (fds[1].revents & POLLIN) {
      uint64_t count;
      (void)!read(wake_fd_, &count, sizeof(count));
    }

    // Read everything available.
    for (;;) {
      ERR_clear_error();
      int rc = SSL_read(ssl, buf, sizeof(buf));
      if (rc > 0) {
        decoder.Append(std::string_view(buf, static_cast<size_t>(rc)));
        last_rx = Clock::now();
        continue;
      }
      int error = SSL_get_error(ssl, rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) break;
      if (error == SSL_ERROR_ZERO_RETURN) return Status::IoError("the manager closed the link");
      std::string detail = DrainOpenSslErrors();
      return Status::IoError("reading from the manager failed: " +
                             (detail.empty() ? std::string("connection closed") : detail));
    }
    Frame frame;
    for (;;) {
      FrameDecoder::Result result = decoder.Next(&frame);
      if (result == FrameDecoder::Result::kNeedMore) break;
      if (result == FrameDecoder::Result::kError) return decoder.error();
      Expected<Message> message = DecodeFrame(frame);
      if (!message.ok()) return message.status();
      if (auto* m = std::get_if<AckMessage>(&*message)) {
        uint64_t before = queue_->acked_seq();
        VIGIL_RETURN_IF_ERROR(queue_->Acknowledge(m->seq));
        uint64_t after = queue_->acked_seq();
        std::lock_guard lock(mu_);
        counters_.batches_acked += after - before;
      } else if (auto* m = std::get_if<ResponseCommandMessage>(&*message)) {
        {
          std::lock_guard lock(mu_);
          ++counters_.responses_received;
          responses_todo_.push_back(std::move(*m));
        }
        cv_.notify_all();
      } else if (auto* m = std::get_if<ResultAckMessage>(&*message)) {
        bool erased = false;
        {
          std::lock_guard lock(mu_);
          erased = unacked_.erase({m->response_id, m->undo}) > 0;
          if (erased) ++counters_.results_acked;
        }
        if (erased) SaveResponseLog();
      } else if (auto* m = std::get_if<ErrorMessage>(&*message)) {
        return Status::PermissionDenied("the manager closed the link: " + m->message);
      }
    }
    if (Clock::now() - last_rx > idle_limit) {
      return Status::TimedOut("no message from the manager for " +
                              std::to_string(idle_limit.count() / 1000) + " s");
    }
  }
  return Status::Ok();
}

void Agent::RunResponses() {
  for (;;) {
    ResponseCommandMessage command;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stop_ || !responses_todo_.empty(); });
      if (stop_) return;
      command = std::move(responses_todo_.front());
      responses_todo_.pop_front();
      auto done = response_log_.find(command.response_id);
      if (done != response_log_.end()) {
        ++counters_.responses_duplicate;
        unacked_[{done->second.response_id, false}] = done->second;
        results_todo_.push_back(done->second);
        lock.unlock();
        Wake();
        continue;
      }
    }
    ResponseResultMessage result;
    if (options_.on_response) {
      result = options_.on_response(command);
    } else {
      result.outcome = ResponseOutcome::kSkipped;
      result.detail = "active response is disabled on this agent";
    }
    result.response_id = command.response_id;
    Log()->info("agent {}: response {} ('{}' {}) outcome {} exit status {}", identity_.agent_id,
                command.response_id, command.command, command.action,
                static_cast<int>(result.outcome), result.exit_status);
    {
      std::lock_guard lock(mu_);
      response_log_[result.response_id] = result;
      while (response_log_.size() > kMaxLoggedResponses) response_log_.erase(response_log_.begin());
    }
    Queue(std::move(result));
  }
}

void Agent::ReportResult(ResponseResultMessage result) {
  Log()->info("agent {}: response {} {} with exit status {}{}", identity_.agent_id,
              result.response_id,
              result.outcome == ResponseOutcome::kUndone ? "undone" : "reported",
              result.exit_status, result.detail.empty() ? "" : ": " + result.detail);
  Queue(std::move(result));
}

void Agent::Queue(ResponseResultMessage result) {
  {
    std::lock_guard lock(mu_);
    unacked_[{result.response_id, IsUndoOutcome(result.outcome)}] = result;
    while (unacked_.size() > kMaxUnackedResults) {
      Log()->error(
          "agent {}: more than {} results wait for the manager's ack; the result of "
          "response {} is dropped",
          identity_.agent_id, kMaxUnackedResults, unacked_.begin()->first.first);
      unacked_.erase(unacked_.begin());
    }
    results_todo_.push_back(std::move(result));
  }
  SaveResponseLog();
  Wake();
}

void Agent::LoadResponseLog() {
  std::string path = options_.state_dir + "/responses.json";
  if (!FileExists(path)) return;
  Expected<std::string> text = ReadFile(path);
  if (!text.ok()) return;
  nlohmann::json saved = nlohmann::json::parse(*text, nullptr, false);
  if (!saved.is_array()) {
    Log()->warn("{}: invalid JSON; responses resent by the manager may run again", path);
    return;
  }
  for (const nlohmann::json& j : saved) {
    if (!j.is_object() || !j.contains("id") || !j["id"].is_number_unsigned()) continue;
    ResponseResultMessage r;
    r.response_id = j["id"].get<uint64_t>();
    int outcome =
        j.contains("outcome") && j["outcome"].is_number_integer() ? j["outcome"].get<int>() : 1;
    r.outcome = static_cast<ResponseOutcome>(
        std::clamp(outcome, 1, static_cast<int>(ResponseOutcome::kUndoFailed)));
    if (j.contains("exit_status") && j["exit_status"].is_number_integer()) {
      r.exit_status = j["exit_status"].get<int64_t>();
    }
    if (j.contains("detail") && j["detail"].is_string()) r.detail = j["detail"].get<std::string>();
    if (j.contains("undo_at_ms") && j["undo_at_ms"].is_number_integer()) {
      r.undo_at_ms = j["undo_at_ms"].get<int64_t>();
    }
    const bool acked = !j.contains("acked") || !j["acked"].is_boolean() || j["acked"].get<bool>();
    if (!acked) unacked_[{r.response_id, IsUndoOutcome(r.outcome)}] = r;
    if (!IsUndoOutcome(r.outcome)) response_log_[r.response_id] = r;
  }
}

void Agent::SaveResponseLog() {
  nlohmann::json out = nlohmann::json::array();
  {
    std::lock_guard lock(mu_);
    auto add = [&out](const ResponseResultMessage& r, bool acked) {
      out.push_back({{"id", r.response_id},
                     {"outcome", static_cast<int>(r.outcome)},
                     {"exit_status", r.exit_status},
                     {"detail", r.detail},
                     {"undo_at_ms", r.undo_at_ms},
                     {"acked", acked}});
    };
    // Run results: one entry each, marked unacknowledged while the manager lacks them. Undo
    // reports are kept only until acknowledged.
    for (const auto& [id, r] : response_log_) add(r, unacked_.count({id, false}) == 0);
    for (const auto& [key, r] : unacked_) {
      if (key.second || response_log_.count(key.first) == 0) add(r, false);
    }
  }
  Status saved = WriteSecretFile(options_.state_dir + "/responses.json", out.dump() + "\n");
  if (!saved.ok()) Log()->error("saving the response log failed: {}", saved.ToString());
}

}  // namespace vigil::transport
