#include "transport/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "transport/manager_impl.h"

namespace vigil::transport {
namespace {

using nlohmann::json;

constexpr size_t kMaxRequestBytes = 1 << 20;
constexpr int kIoTimeoutMs = 5000;

Expected<sockaddr_un> SocketAddress(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return Status::InvalidArgument("control socket path " + path + " is longer than " +
                                   std::to_string(sizeof(address.sun_path) - 1) + " bytes");
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// Reads up to a newline (or EOF) with a per-call timeout.
bool ReadLine(int fd, std::string* line) {
  char buf[4096];
  for (;;) {
    size_t newline = line->find('\n');
    if (newline != std::string::npos) {
      line->resize(newline);
      return true;
    }
    if (line->size() > kMaxRequestBytes) return false;
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, kIoTimeoutMs) <= 0) return false;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return !line->empty();
    line->append(buf, static_cast<size_t>(n));
  }
}

bool WriteAllFd(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

json AgentToJson(const AgentInfo& a) {
  return {{"id", a.id},
          {"name", a.name},
          {"address", a.address},
          {"peer_address", a.peer_address},
          {"version", a.version},
          {"hostname", a.hostname},
          {"os", a.os},
          {"config_checksum", a.config_checksum},
          {"status", a.status},
          {"last_keepalive", a.last_keepalive},
          {"events_received", a.events_received},
          {"batches_received", a.batches_received},
          {"duplicate_batches", a.duplicate_batches},
          {"queue_records", a.queue_records},
          {"queue_bytes", a.queue_bytes},
          {"pending_responses", a.pending_responses}};
}

AgentInfo AgentFromJson(const json& j) {
  AgentInfo a;
  a.id = j.value("id", "");
  a.name = j.value("name", "");
  a.address = j.value("address", "");
  a.peer_address = j.value("peer_address", "");
  a.version = j.value("version", "");
  a.hostname = j.value("hostname", "");
  a.os = j.value("os", "");
  a.config_checksum = j.value("config_checksum", "");
  a.status = j.value("status", "");
  a.last_keepalive = j.value("last_keepalive", int64_t{0});
  a.events_received = j.value("events_received", uint64_t{0});
  a.batches_received = j.value("batches_received", uint64_t{0});
  a.duplicate_batches = j.value("duplicate_batches", uint64_t{0});
  a.queue_records = j.value("queue_records", uint64_t{0});
  a.queue_bytes = j.value("queue_bytes", uint64_t{0});
  a.pending_responses = j.value("pending_responses", uint64_t{0});
  return a;
}

json ResponseToJson(const ResponseRecord& r) {
  return {
      {"id", r.response_id},          {"agent_id", r.agent_id},     {"command", r.command},
      {"action", r.action},           {"arguments", r.arguments},   {"timeout", r.timeout_seconds},
      {"created_at", r.created_at},   {"expires_at", r.expires_at}, {"state", r.state},
      {"exit_status", r.exit_status}, {"detail", r.detail},         {"updated_at", r.updated_at},
      {"undo_at_ms", r.undo_at_ms},         {"payload", r.payload}};
}

ResponseRecord ResponseFromJson(const json& j) {
  ResponseRecord r;
  r.response_id = j.value("id", uint64_t{0});
  r.agent_id = j.value("agent_id", "");
  r.command = j.value("command", "");
  r.action = j.value("action", "");
  r.arguments = j.value("arguments", std::vector<std::string>{});
  r.timeout_seconds = j.value("timeout", uint32_t{0});
  r.created_at = j.value("created_at", int64_t{0});
  r.expires_at = j.value("expires_at", int64_t{0});
  r.state = j.value("state", "");
  r.exit_status = j.value("exit_status", int64_t{0});
  r.detail = j.value("detail", "");
  r.updated_at = j.value("updated_at", int64_t{0});
  r.undo_at_ms = j.value("undo_at_ms", int64_t{0});
  r.payload = j.value("payload", "");
  return r;
}

// The counters by name; the same table serves both directions.
#define VIGIL_MANAGER_COUNTERS(X)                                                            \
  X(connections_accepted)                                                                    \
  X(connections_active)                                                                      \
  X(agents_connected)                                                                        \
  X(handshakes_failed)                                                                       \
  X(handshake_timeouts)                                                                      \
  X(enrollments)                                                                             \
  X(enrollments_rejected) X(rejected_oversize) X(rejected_malformed) X(rejected_truncated)   \
      X(rejected_unknown_agent) X(rejected_revoked) X(rejected_protocol) X(replayed_batches) \
          X(reordered_batches) X(rejected_sessions) X(batches_delivered) X(events_delivered) \
              X(callback_refusals) X(responses_sent) X(response_results) X(responses_expired)

json CountersToJson(const ManagerCounters& c) {
  json out = json::object();
#define VIGIL_COUNTER_TO_JSON(name) out[#name] = c.name;
  VIGIL_MANAGER_COUNTERS(VIGIL_COUNTER_TO_JSON)
#undef VIGIL_COUNTER_TO_JSON
  return out;
}

ManagerCounters CountersFromJson(const json& j) {
  ManagerCounters c;
#define VIGIL_COUNTER_FROM_JSON(name) c.name = j.value(#name, uint64_t{0});
  VIGIL_MANAGER_COUNTERS(VIGIL_COUNTER_FROM_JSON)
#undef VIGIL_COUNTER_FROM_JSON
  return c;
}

json Error(const std::string& message) { return {{"ok", false}, {"error", message}}; }

// Sends `request` and parses the reply; a reply with "ok": false becomes an error status.
Expected<json> CallUnguarded(const std::string& state_dir, const json& request);

// Runs `parse` on the reply to `request`; JSON type errors become a parse error status.
template <typename T, typename Parse>
Expected<T> CallAndParse(const std::string& state_dir, const json& request, Parse parse) {
  Expected<json> reply = CallUnguarded(state_dir, request);
  if (!reply.ok()) return reply.status();
  try {
    return parse(*reply);
  } catch (const json::exception& e) {
    return Status::ParseError(std::string("the manager sent an invalid control reply: ") +
                              e.what());
  }
}

Expected<json> CallUnguarded(const std::string& state_dir, const json& request) {
  Expected<std::string> reply = ControlRequest(ControlSocketPath(state_dir), request.dump());
  if (!reply.ok()) return reply.status();
  json parsed = json::parse(*reply, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return Status::ParseError("the manager sent an invalid control reply");
  }
  if (!parsed.contains("ok") || !parsed["ok"].is_boolean() || !parsed["ok"].get<bool>()) {
    std::string error = "the manager rejected the request";
    if (parsed.contains("error") && parsed["error"].is_string()) error = parsed["error"];
    return Status::InvalidArgument(error);
  }
  return parsed;
}

}  // namespace

void ControlServerDeleter::operator()(ControlServer* server) const { delete server; }

std::string ControlSocketPath(const std::string& state_dir) { return state_dir + "/control.sock"; }

Expected<std::string> ControlRequest(const std::string& socket_path, const std::string& request) {
  Expected<sockaddr_un> address = SocketAddress(socket_path);
  if (!address.ok()) return address.status();
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError(std::string("socket failed: ") + std::strerror(errno));
  if (connect(fd, reinterpret_cast<sockaddr*>(&*address), sizeof(sockaddr_un)) != 0) {
    std::string error = std::strerror(errno);
    close(fd);
    return Status::NotFound("cannot reach the manager at " + socket_path + ": " + error +
                            "; is `vigil run` with a <remote> section running?");
  }
  std::string line;
  bool ok = WriteAllFd(fd, request + "\n") && ReadLine(fd, &line);
  close(fd);
  if (!ok) return Status::IoError("no reply from the manager at " + socket_path);
  return line;
}

Expected<std::vector<AgentInfo>> ControlListAgents(const std::string& state_dir) {
  return CallAndParse<std::vector<AgentInfo>>(state_dir, {{"command", "list"}}, [](const json& r) {
    std::vector<AgentInfo> out;
    for (const json& j : r.value("agents", json::array())) out.push_back(AgentFromJson(j));
    return out;
  });
}

Status ControlRemoveAgent(const std::string& state_dir, const std::string& id) {
  if (access(ControlSocketPath(state_dir).c_str(), F_OK) != 0) {
    // No manager runs on this folder: revoke in the files, which a manager reads at start.
    Expected<std::unique_ptr<ManagerStore>> store = ManagerStore::Open(state_dir);
    if (!store.ok()) return store.status();
    return (*store)->RemoveAgent(id);
  }
  Expected<json> reply = CallUnguarded(state_dir, {{"command", "remove"}, {"id", id}});
  return reply.ok() ? Status::Ok() : reply.status();
}

Expected<std::vector<uint64_t>> ControlSendResponse(const std::string& state_dir,
                                                    const ResponseRequest& request) {
  json j = {{"command", "response"},          {"agent_id", request.agent_id},
            {"name", request.command},        {"action", request.action},
            {"arguments", request.arguments}, {"timeout", request.timeout_seconds},
            {"payload", request.payload}};
  return CallAndParse<std::vector<uint64_t>>(
      state_dir, j, [](const json& r) { return r.value("ids", std::vector<uint64_t>{}); });
}

Expected<ManagerCounters> ControlCounters(const std::string& state_dir) {
  return CallAndParse<ManagerCounters>(state_dir, {{"command", "counters"}}, [](const json& r) {
    return CountersFromJson(r.value("counters", json::object()));
  });
}

Expected<std::vector<ResponseRecord>> ControlListResponses(const std::string& state_dir) {
  return CallAndParse<std::vector<ResponseRecord>>(
      state_dir, {{"command", "responses"}}, [](const json& r) {
        std::vector<ResponseRecord> out;
        for (const json& j : r.value("responses", json::array())) {
          out.push_back(ResponseFromJson(j));
        }
        return out;
      });
}

Status ControlServer::Start(const std::string& path) {
  Expected<sockaddr_un> address = SocketAddress(path);
  if (!address.ok()) return address.status();
  unlink(path.c_str());
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) return Status::IoError(std::string("socket failed: ") + std::strerror(errno));
  // The socket is created 0600 because the umask is narrowed around bind().
  mode_t old_umask = umask(0177);
  int rc = bind(fd_, reinterpret_cast<sockaddr*>(&*address), sizeof(sockaddr_un));
  umask(old_umask);
  if (rc != 0 || listen(fd_, 16) != 0) {
    std::string error = std::strerror(errno);
    close(fd_);
    fd_ = -1;
    return Status::IoError("binding the control socket " + path + " failed: " + error);
  }
  path_ = path;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void ControlServer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
    unlink(path_.c_str());
  }
}

void ControlServer::Run() {
  while (!stop_) {
    pollfd pfd{fd_, POLLIN, 0};
    if (poll(&pfd, 1, 200) <= 0) continue;
    int client = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::string line;
    if (ReadLine(client, &line)) {
      std::string reply = Handle(line) + "\n";
      if (!WriteAllFd(client, reply)) impl_->log_->warn("control client left before the reply");
    }
    close(client);
  }
}

std::string ControlServer::Handle(const std::string& request) {
  try {
    return HandleJson(request);
  } catch (const json::exception& e) {
    return Error(std::string("invalid control request: ") + e.what()).dump();
  }
}

std::string ControlServer::HandleJson(const std::string& request) {
  json j = json::parse(request, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error("the request is not a JSON object").dump();
  std::string command = j.value("command", "");
  if (command == "list") {
    json agents = json::array();
    for (const AgentInfo& a : impl_->ListAgents()) agents.push_back(AgentToJson(a));
    return json({{"ok", true}, {"agents", agents}}).dump();
  }
  if (command == "remove") {
    std::string id = j.value("id", "");
    Status status = impl_->RemoveAgent(id);
    if (!status.ok()) return Error(status.message()).dump();
    return json({{"ok", true}}).dump();
  }
  if (command == "response") {
    ResponseRequest r;
    r.agent_id = j.value("agent_id", "");
    r.command = j.value("name", "");
    r.action = j.value("action", "add");
    if (j.contains("arguments") && j["arguments"].is_array()) {
      for (const json& a : j["arguments"]) {
        if (a.is_string()) r.arguments.push_back(a.get<std::string>());
      }
    }
    r.timeout_seconds = j.value("timeout", uint32_t{0});
    r.payload = j.value("payload", "");
    Expected<std::vector<uint64_t>> ids = impl_->SendResponse(r);
    if (!ids.ok()) return Error(ids.status().message()).dump();
    return json({{"ok", true}, {"ids", *ids}}).dump();
  }
  if (command == "counters") {
    ManagerCounters c;
    {
      std::lock_guard lock(impl_->mu_);
      c = impl_->counters_;
    }
    return json({{"ok", true}, {"counters", CountersToJson(c)}}).dump();
  }
  if (command == "responses") {
    json out = json::array();
    {
      std::lock_guard lock(impl_->mu_);
      for (const auto& [id, r] : impl_->responses_) out.push_back(ResponseToJson(r));
    }
    return json({{"ok", true}, {"responses", out}}).dump();
  }
  return Error("unknown control command '" + command +
               "'; expected list, remove, response, responses or counters")
      .dump();
}

}  // namespace vigil::transport
