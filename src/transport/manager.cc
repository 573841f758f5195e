#include "transport/manager.h"

#include <unistd.h>

#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include "common/file.h"
#include "transport/control.h"
#include "transport/manager_impl.h"
#include "transport/net.h"
#include "transport/state_files.h"

namespace vigil::transport {
namespace {

using nlohmann::json;

constexpr size_t kKeptFinishedResponses = 1000;
// Result ids remembered to drop resent results. Agents keep at most 1024 unacknowledged
// results each, and resend them at every connection.
constexpr size_t kKeptResultIds = 8192;
// How long past its undo time a record waits for the agent's undo report before it may be
// dropped.
constexpr int64_t kUndoReportGraceMs = 86'400'000;

int64_t NowSeconds() { return SystemClock::Get().NowSeconds(); }

json ResponseToJson(const ResponseRecord& r) {
  return {
      {"id", r.response_id},        {"agent_id", r.agent_id},       {"command", r.command},
      {"action", r.action},         {"arguments", r.arguments},     {"timeout", r.timeout_seconds},
      {"payload", r.payload},       {"created_at", r.created_at},   {"expires_at", r.expires_at},
      {"state", r.state},           {"exit_status", r.exit_status}, {"detail", r.detail},
      {"updated_at", r.updated_at}, {"undo_at_ms", r.undo_at_ms},   {"undo_state", r.undo_state}};
}

ResponseRecord ResponseFromJson(const json& j) {
  ResponseRecord r;
  r.response_id = j.value("id", uint64_t{0});
  r.agent_id = j.value("agent_id", "");
  r.command = j.value("command", "");
  r.action = j.value("action", "");
  r.arguments = j.value("arguments", std::vector<std::string>{});
  r.timeout_seconds = j.value("timeout", uint32_t{0});
  r.payload = j.value("payload", "");
  r.created_at = j.value("created_at", int64_t{0});
  r.expires_at = j.value("expires_at", int64_t{0});
  r.state = j.value("state", "pending");
  r.exit_status = j.value("exit_status", int64_t{0});
  r.detail = j.value("detail", "");
  r.updated_at = j.value("updated_at", int64_t{0});
  r.undo_at_ms = j.value("undo_at_ms", int64_t{0});
  r.undo_state = j.value("undo_state", "");
  return r;
}

bool IsFinished(const ResponseRecord& r) { return r.state != "pending" && r.state != "sent"; }

// A finished record may be dropped unless the agent still owes its undo report.
bool MayDrop(const ResponseRecord& r, int64_t now_ms) {
  if (!IsFinished(r)) return false;
  const bool undo_owed = r.state == "executed" && r.undo_at_ms > 0 && r.undo_state.empty();
  return !undo_owed || r.undo_at_ms + kUndoReportGraceMs < now_ms;
}

}  // namespace

std::string FormatAgentLocation(std::string_view name, std::string_view address,
                                std::string_view path) {
  std::string out;
  out.reserve(name.size() + address.size() + path.size() + 5);
  out += '(';
  out += name;
  out += ") ";
  out += address;
  out += "->";
  out += path;
  return out;
}

Manager::Impl::~Impl() { Stop(); }

Status Manager::Impl::Init() {
  if (options_.state_dir.empty())
    return Status::InvalidArgument("the manager state folder is not set");
  if (options_.io_threads < 1 || options_.io_threads > 64) {
    return Status::InvalidArgument("io_threads " + std::to_string(options_.io_threads) +
                                   " is out of range; use 1 to 64");
  }
  Expected<std::unique_ptr<ManagerStore>> store = ManagerStore::Open(options_.state_dir);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  Expected<SslCtxPtr> ctx = MakeServerContext(store_->ca_certificate(),
                                              store_->server_certificate(), store_->server_key());
  if (!ctx.ok()) return ctx.status();
  ssl_ctx_ = std::move(*ctx);
  SSL_CTX_set_app_data(ssl_ctx_.get(), this);
  SSL_CTX_set_verify(ssl_ctx_.get(), SSL_VERIFY_PEER, VerifyClientCertificate);
  SSL_CTX_set_psk_find_session_callback(ssl_ctx_.get(), FindAgentPsk);
  if (options_.listeners.empty()) {
    ListenerOptions single;
    single.address = options_.listen_address;
    single.port = options_.port;
    options_.listeners.push_back(single);
  }
  if (options_.listeners.size() > kMaxListeners) {
    return Status::InvalidArgument("at most " + std::to_string(kMaxListeners) +
                                   " agent ports are supported");
  }
  for (const ListenerOptions& listener : options_.listeners) {
    Expected<PeerFilter> filter = PeerFilter::Create(listener.allowed_ips, listener.denied_ips);
    if (!filter.ok()) {
      return Status::InvalidArgument("agent port " + listener.address + ":" +
                                     std::to_string(listener.port) + ": " +
                                     filter.status().message());
    }
    listeners_.push_back(Listener{listener, std::move(*filter), -1, 0});
  }
  try {
    return LoadPersistentState();
  } catch (const json::exception& e) {
    return Status::ParseError(options_.state_dir +
                              ": invalid sessions.json or responses.json: " + e.what());
  }
}

Status Manager::Impl::LoadPersistentState() {
  std::lock_guard lock(mu_);
  std::string sessions_path = options_.state_dir + "/sessions.json";
  if (FileExists(sessions_path)) {
    Expected<std::string> text = ReadFile(sessions_path);
    if (!text.ok()) return text.status();
    json sessions = json::parse(*text, nullptr, false);
    if (sessions.is_discarded() || !sessions.is_object()) {
      return Status::ParseError(sessions_path +
                                ": invalid JSON; remove it to accept every agent's next batch");
    }
    for (const auto& [id, s] : sessions.items()) {
      SessionState& state = agents_[id].session;
      state.session_id = s.value("session", "");
      state.last_seq = s.value("last_seq", uint64_t{0});
      state.established = s.value("established", false);
      for (const json& r : s.value("retired", json::array())) {
        if (r.is_string()) state.retired.push_back(r.get<std::string>());
      }
    }
  }
  std::string responses_path = options_.state_dir + "/responses.json";
  // Agents skip response ids they already ran, so a manager without saved responses (a new
  // or wiped state folder) starts its ids from the clock instead of 1.
  next_response_id_ = static_cast<uint64_t>(NowSeconds()) << 20;
  if (FileExists(responses_path)) {
    Expected<std::string> text = ReadFile(responses_path);
    if (!text.ok()) return text.status();
    json saved = json::parse(*text, nullptr, false);
    if (saved.is_discarded() || !saved.is_object()) {
      return Status::ParseError(responses_path + ": invalid JSON");
    }
    next_response_id_ = saved.value("next_id", uint64_t{1});
    for (const json& j : saved.value("records", json::array())) {
      ResponseRecord r = ResponseFromJson(j);
      if (r.state == "sent") r.state = "pending";  // resent at the agent's next connection
      if (!IsFinished(r)) agents_[r.agent_id].pending_responses.push_back(r.response_id);
      next_response_id_ = std::max(next_response_id_, r.response_id + 1);
      responses_[r.response_id] = std::move(r);
    }
    for (const json& id : saved.value("seen_results", json::array())) {
      if (id.is_string()) MarkResultSeenLocked(id.get<std::string>());
    }
  }
  return Status::Ok();
}

Status Manager::Impl::SaveSessionsLocked() {
  json out = json::object();
  for (const auto& [id, rt] : agents_) {
    const SessionState& s = rt.session;
    if (s.session_id.empty() && s.retired.empty()) continue;
    out[id] = {{"session", s.session_id},
               {"last_seq", s.last_seq},
               {"established", s.established},
               {"retired", s.retired}};
  }
  sessions_dirty_ = false;
  return WriteSecretFile(options_.state_dir + "/sessions.json", out.dump() + "\n");
}

Status Manager::Impl::SaveResponsesLocked() {
  // Keep every unfinished response and the most recent finished ones.
  const int64_t now_ms = NowSeconds() * 1000;
  size_t finished = 0;
  for (const auto& [id, r] : responses_) finished += MayDrop(r, now_ms) ? 1 : 0;
  for (auto it = responses_.begin(); it != responses_.end() && finished > kKeptFinishedResponses;) {
    if (MayDrop(it->second, now_ms)) {
      it = responses_.erase(it);
      --finished;
    } else {
      ++it;
    }
  }
  json records = json::array();
  for (const auto& [id, r] : responses_) records.push_back(ResponseToJson(r));
  json out = {
      {"next_id", next_response_id_}, {"records", records}, {"seen_results", json(seen_results_)}};
  return WriteSecretFile(options_.state_dir + "/responses.json", out.dump(1) + "\n");
}

bool Manager::Impl::MarkResultSeenLocked(const std::string& id) {
  if (!seen_result_set_.insert(id).second) return false;
  seen_results_.push_back(id);
  while (seen_results_.size() > kKeptResultIds) {
    seen_result_set_.erase(seen_results_.front());
    seen_results_.pop_front();
  }
  return true;
}

Status Manager::Impl::Start() {
  if (running_) return Status::Ok();
  IgnoreSigpipe();
  for (Listener& listener : listeners_) {
    Expected<int> fd = ListenTcp(listener.options.address, listener.options.port, 4096);
    if (!fd.ok()) {
      CloseListeners();
      return fd.status();
    }
    listener.fd = *fd;
    listener.port = LocalPort(listener.fd);
  }
  running_ = true;
  for (int i = 0; i < options_.io_threads; ++i) loops_.push_back(MakeEventLoop(this, i));
  for (auto& loop : loops_) StartEventLoop(loop.get());
  if (options_.control_socket) {
    control_.reset(new ControlServer(this));
    Status status = control_->Start(ControlSocketPath(options_.state_dir));
    if (!status.ok()) {
      log_->error("control socket not available: {}", status.ToString());
      control_.reset();
    }
  }
  for (const Listener& listener : listeners_) {
    log_->info("manager listening on {}:{}, allowed-ips [{}], denied-ips [{}]",
               listener.options.address, listener.port,
               fmt::join(listener.options.allowed_ips, ","),
               fmt::join(listener.options.denied_ips, ","));
  }
  log_->info("manager running with {} event loop(s), state {}, CA fingerprint {}",
             options_.io_threads, options_.state_dir, store_->ca_fingerprint());
  return Status::Ok();
}

void Manager::Impl::Stop() {
  if (!running_.exchange(false)) return;
  if (control_) control_->Stop();
  for (auto& loop : loops_) StopEventLoop(loop.get());
  loops_.clear();
  CloseListeners();
  ManagerCounters c;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, rt] : agents_) rt.connection = ConnectionRef{};
    Status saved = SaveSessionsLocked();
    if (!saved.ok()) log_->error("saving sessions failed: {}", saved.ToString());
    saved = SaveResponsesLocked();
    if (!saved.ok()) log_->error("saving responses failed: {}", saved.ToString());
    c = counters_;
  }
  WriteAgentStateFile();
  log_->info(
      "manager stopped: connections={} batches={} events={} replayed={} reordered={} "
      "malformed={} oversize={} revoked={} psk_rejected={} denied={} unknown_agent={} "
      "responses_sent={} results={} duplicate_results={}",
      c.connections_accepted, c.batches_delivered, c.events_delivered, c.replayed_batches,
      c.reordered_batches, c.rejected_malformed, c.rejected_oversize, c.rejected_revoked,
      c.rejected_psk, c.connections_denied, c.rejected_unknown_agent, c.responses_sent,
      c.response_results, c.duplicate_results);
}

void Manager::Impl::CloseListeners() {
  for (Listener& listener : listeners_) {
    if (listener.fd >= 0) close(listener.fd);
    listener.fd = -1;
  }
}

void Manager::Impl::PostToLoop(int loop, LoopCommand command) {
  if (loop < 0 || loop >= static_cast<int>(loops_.size())) return;
  PostEventLoop(loops_[loop].get(), std::move(command));
}

Expected<std::vector<uint64_t>> Manager::Impl::SendResponse(const ResponseRequest& request) {
  if (request.command.empty()) return Status::InvalidArgument("the response has no command");
  std::vector<AgentEntry> targets;
  if (request.agent_id.empty()) {
    for (AgentEntry& e : store_->ListAgents()) {
      if (!e.removed) targets.push_back(std::move(e));
    }
  } else {
    std::optional<AgentEntry> e = store_->FindAgent(request.agent_id);
    if (!e || e->removed) return Status::NotFound("agent " + request.agent_id + " is not enrolled");
    targets.push_back(*e);
  }
  std::vector<uint64_t> ids;
  std::vector<ConnectionRef> wake;
  int64_t now = NowSeconds();
  {
    std::lock_guard lock(mu_);
    for (const AgentEntry& e : targets) {
      ResponseRecord r;
      r.response_id = next_response_id_++;
      r.agent_id = e.id;
      r.command = request.command;
      r.action = request.action;
      r.arguments = request.arguments;
      r.timeout_seconds = request.timeout_seconds;
      r.payload = request.payload;
      r.created_at = now;
      r.updated_at = now;
      r.expires_at = now + (request.timeout_seconds > 0 ? request.timeout_seconds
                                                        : options_.response_ttl_seconds);
      AgentRuntime& rt = agents_[e.id];
      rt.pending_responses.push_back(r.response_id);
      if (rt.connection.valid()) wake.push_back(rt.connection);
      ids.push_back(r.response_id);
      responses_[r.response_id] = std::move(r);
    }
    Status saved = SaveResponsesLocked();
    if (!saved.ok()) log_->error("saving responses failed: {}", saved.ToString());
  }
  for (const ConnectionRef& ref : wake) {
    PostToLoop(ref.loop, {LoopCommand::Kind::kFlushResponses, ref.connection_id, ""});
  }
  log_->info("queued response '{}' {} for {} agent(s)", request.command, request.action,
             ids.size());
  return ids;
}

Status Manager::Impl::RemoveAgent(const std::string& id) {
  VIGIL_RETURN_IF_ERROR(store_->RemoveAgent(id));
  ConnectionRef ref;
  {
    std::lock_guard lock(mu_);
    auto it = agents_.find(id);
    if (it != agents_.end()) ref = it->second.connection;
  }
  if (ref.valid()) {
    PostToLoop(ref.loop, {LoopCommand::Kind::kClose, ref.connection_id, "agent removed"});
  }
  return Status::Ok();
}

std::vector<AgentInfo> Manager::Impl::ListAgents() const {
  std::vector<AgentEntry> entries = store_->ListAgents();
  std::vector<AgentInfo> out;
  std::lock_guard lock(mu_);
  for (const AgentEntry& e : entries) {
    AgentInfo info;
    info.id = e.id;
    info.name = e.name;
    info.address = e.address;
    auto it = agents_.find(e.id);
    if (it != agents_.end()) {
      const AgentRuntime& rt = it->second;
      info.peer_address = rt.peer_address;
      info.version = rt.status.version;
      info.hostname = rt.status.hostname;
      info.os = rt.status.os;
      info.config_checksum = rt.status.config_checksum;
      info.last_keepalive = rt.last_keepalive;
      info.events_received = rt.events_received;
      info.batches_received = rt.batches_received;
      info.duplicate_batches = rt.duplicate_batches;
      info.queue_records = rt.status.queue_records;
      info.queue_bytes = rt.status.queue_bytes;
      info.pending_responses = rt.pending_responses.size();
      info.status = rt.connection.valid()   ? "active"
                    : rt.last_keepalive > 0 ? "disconnected"
                                            : "never connected";
    } else {
      info.status = "never connected";
    }
    if (e.removed) info.status = "removed";
    out.push_back(std::move(info));
  }
  return out;
}

std::vector<ResponseRecord> Manager::Impl::ExpireResponsesLocked(int64_t now) {
  std::vector<ResponseRecord> expired;
  for (auto& [id, rt] : agents_) {
    for (auto it = rt.pending_responses.begin(); it != rt.pending_responses.end();) {
      auto r = responses_.find(*it);
      if (r == responses_.end()) {
        it = rt.pending_responses.erase(it);
        continue;
      }
      if (r->second.state == "pending" && r->second.expires_at <= now) {
        r->second.state = "expired";
        r->second.updated_at = now;
        ++counters_.responses_expired;
        r->second.detail = "the agent did not connect before the response's timeout";
        log_->warn("response {} ('{}' for agent {}) expired before the agent connected",
                   r->second.response_id, r->second.command, id);
        it = rt.pending_responses.erase(it);
        expired.push_back(r->second);
        continue;
      }
      ++it;
    }
  }
  if (!expired.empty()) {
    Status saved = SaveResponsesLocked();
    if (!saved.ok()) log_->error("saving responses failed: {}", saved.ToString());
  }
  return expired;
}

void Manager::Impl::WriteAgentStateFile() {
  json out = json::array();
  for (const AgentInfo& a : ListAgents()) {
    out.push_back({{"id", a.id},
                   {"name", a.name},
                   {"address", a.address},
                   {"peer_address", a.peer_address},
                   {"version", a.version},
                   {"status", a.status},
                   {"last_keepalive", a.last_keepalive},
                   {"events_received", a.events_received},
                   {"queue_records", a.queue_records}});
  }
  Status saved = WriteSecretFile(options_.state_dir + "/agents-state.json", out.dump(1) + "\n");
  if (!saved.ok()) log_->error("writing the agent state file failed: {}", saved.ToString());
}

void Manager::Impl::Housekeeping() {
  store_->Refresh();
  std::vector<ConnectionRef> cut;
  std::vector<ResponseRecord> expired;
  {
    std::lock_guard lock(mu_);
    if (sessions_dirty_) {
      Status saved = SaveSessionsLocked();
      if (!saved.ok()) log_->error("saving sessions failed: {}", saved.ToString());
    }
    expired = ExpireResponsesLocked(NowSeconds());
    for (auto& [id, rt] : agents_) {
      if (!rt.connection.valid()) continue;
      std::optional<AgentEntry> e = store_->FindAgent(id);
      if (!e || e->removed) cut.push_back(rt.connection);
    }
  }
  for (const ConnectionRef& ref : cut) {
    PostToLoop(ref.loop, {LoopCommand::Kind::kClose, ref.connection_id, "agent removed"});
  }
  if (options_.on_response_result) {
    for (const ResponseRecord& record : expired) options_.on_response_result(record);
  }
  auto now = std::chrono::steady_clock::now();
  if (now - last_state_file_ >= std::chrono::seconds(10)) {
    last_state_file_ = now;
    WriteAgentStateFile();
  }
}

Manager::Manager(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Manager::~Manager() { impl_->Stop(); }

Expected<std::unique_ptr<Manager>> Manager::Create(ManagerOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  VIGIL_RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Manager>(new Manager(std::move(impl)));
}

Status Manager::Start() { return impl_->Start(); }
void Manager::Stop() { impl_->Stop(); }
uint16_t Manager::port() const {
  return impl_->listeners_.empty() ? 0 : impl_->listeners_.front().port;
}
std::vector<uint16_t> Manager::ports() const {
  std::vector<uint16_t> out;
  for (const Listener& listener : impl_->listeners_) out.push_back(listener.port);
  return out;
}
Expected<std::vector<uint64_t>> Manager::SendResponse(const ResponseRequest& request) {
  return impl_->SendResponse(request);
}
Status Manager::RemoveAgent(const std::string& id) { return impl_->RemoveAgent(id); }
std::vector<AgentInfo> Manager::ListAgents() const { return impl_->ListAgents(); }
std::vector<ResponseRecord> Manager::ListResponses() const {
  std::lock_guard lock(impl_->mu_);
  std::vector<ResponseRecord> out;
  for (const auto& [id, r] : impl_->responses_) out.push_back(r);
  return out;
}
ManagerCounters Manager::counters() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->counters_;
}
ManagerStore& Manager::store() { return *impl_->store_; }

}  // namespace vigil::transport
