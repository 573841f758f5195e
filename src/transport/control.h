// The local control interface of a running manager: a Unix stream socket at
// <state_dir>/control.sock (mode 0600) that `vigil control` uses to list agents, remove one and
// send active responses. A request is one line of JSON, the reply one line of JSON.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "transport/manager.h"

namespace vigil::transport {

// Returns <state_dir>/control.sock.
std::string ControlSocketPath(const std::string& state_dir);

// Lists the agents of the manager running on `state_dir`.
Expected<std::vector<AgentInfo>> ControlListAgents(const std::string& state_dir);
// Removes (revokes) an agent. When no manager is running, changes the state folder directly.
Status ControlRemoveAgent(const std::string& state_dir, const std::string& id);
// Queues an active response; returns the response ids created.
Expected<std::vector<uint64_t>> ControlSendResponse(const std::string& state_dir,
                                                    const ResponseRequest& request);
// Lists the responses the manager keeps, with each agent's result.
Expected<std::vector<ResponseRecord>> ControlListResponses(const std::string& state_dir);

// Returns the manager's counters.
Expected<ManagerCounters> ControlCounters(const std::string& state_dir);

// Sends one raw request line and returns the raw reply line.
Expected<std::string> ControlRequest(const std::string& socket_path, const std::string& request);

// Serves the control socket for a manager on its own thread.
class ControlServer {
 public:
  explicit ControlServer(Manager::Impl* impl) : impl_(impl) {}
  ~ControlServer() { Stop(); }

  Status Start(const std::string& path);
  void Stop();

 private:
  void Run();
  // Returns the reply line; JSON type errors in the request become error replies.
  std::string Handle(const std::string& request);
  std::string HandleJson(const std::string& request);

  Manager::Impl* impl_;
  std::string path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace vigil::transport
