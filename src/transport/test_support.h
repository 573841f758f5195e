// Helpers for the transport tests: temporary folders, waiting for a condition, a TCP proxy
// that can cut every connection, and an event sink for the manager.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "transport/agent.h"
#include "transport/enrollment.h"
#include "transport/manager.h"
#include "transport/net.h"

namespace vigil::transport::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = "/tmp/vigil-transport-XXXXXX";
    char* made = mkdtemp(pattern.data());
    path_ = made == nullptr ? "" : made;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Polls `condition` every 10 ms until it is true or `timeout` passes.
inline bool WaitUntil(const std::function<bool()>& condition,
                      std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

struct ReceivedEvent {
  std::string agent_id;
  std::string agent_name;
  std::string location;
  std::string text;
};

// Collects every delivered event. set_refuse(true) makes it refuse batches until reset.
class EventSink {
 public:
  EventsCallback Callback() {
    return [this](const AgentEventBatch& batch) {
      if (refuse_) return false;
      std::lock_guard lock(mu_);
      for (size_t i = 0; i < batch.records.size(); ++i) {
        events_.push_back({std::string(batch.agent_id), std::string(batch.agent_name),
                           batch.Location(i), batch.records[i].text});
      }
      return true;
    };
  }
  std::vector<ReceivedEvent> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return events_.size();
  }
  size_t CountFrom(const std::string& agent_id) const {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const ReceivedEvent& e : events_) n += e.agent_id == agent_id ? 1 : 0;
    return n;
  }
  void set_refuse(bool refuse) { refuse_ = refuse; }

 private:
  mutable std::mutex mu_;
  std::vector<ReceivedEvent> events_;
  std::atomic<bool> refuse_{false};
};

// A TCP proxy on loopback that forwards to `target_port` and can cut every open connection.
class CuttableProxy {
 public:
  explicit CuttableProxy(uint16_t target_port) : target_port_(target_port) {
    Expected<int> fd = ListenTcp("127.0.0.1", 0, 64);
    listen_fd_ = fd.ok() ? *fd : -1;
    port_ = LocalPort(listen_fd_);
    thread_ = std::thread([this] { Run(); });
  }
  ~CuttableProxy() {
    stop_ = true;
    thread_.join();
    for (auto& [a, b] : pairs_) {
      close(a);
      close(b);
    }
    close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  // Closes every forwarded connection, as a network cut would.
  void CutAll() { cut_ = true; }
  // Stops or resumes forwarding while keeping connections open, as a silent network would.
  void SetStalled(bool stalled) { stalled_ = stalled; }
  int cuts() const { return cuts_done_; }

 private:
  void Run() {
    while (!stop_) {
      if (cut_.exchange(false)) {
        for (auto& [a, b] : pairs_) {
          close(a);
          close(b);
        }
        pairs_.clear();
        ++cuts_done_;
      }
      std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
      for (auto& [a, b] : pairs_) {
        fds.push_back({a, POLLIN, 0});
        fds.push_back({b, POLLIN, 0});
      }
      if (poll(fds.data(), fds.size(), 20) <= 0) continue;
      size_t polled_pairs = pairs_.size();
      if (fds[0].revents & POLLIN) {
        int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client >= 0) {
          Expected<int> upstream =
              ConnectTcp(HostPort{"127.0.0.1", target_port_}, std::chrono::milliseconds(1000));
          if (upstream.ok()) {
            pairs_.push_back({client, *upstream});
          } else {
            close(client);
          }
        }
      }
      std::vector<size_t> dead;
      if (stalled_) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      for (size_t i = 0; i < polled_pairs; ++i) {
        for (int side = 0; side < 2; ++side) {
          short revents = fds[1 + 2 * i + side].revents;
          if (!(revents & (POLLIN | POLLHUP | POLLERR))) continue;
          int from = side == 0 ? pairs_[i].first : pairs_[i].second;
          int to = side == 0 ? pairs_[i].second : pairs_[i].first;
          char buf[65536];
          ssize_t n = read(from, buf, sizeof(buf));
          if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
            dead.push_back(i);
            break;
          }
          if (n > 0) WriteFully(to, buf, static_cast<size_t>(n));
        }
      }
      for (auto it = dead.rbegin(); it != dead.rend(); ++it) {
        close(pairs_[*it].first);
        close(pairs_[*it].second);
        pairs_.erase(pairs_.begin() + static_cast<long>(*it));
      }
    }
  }
  static void WriteFully(int fd, const char* data, size_t size) {
    while (size > 0) {
      ssize_t n = write(fd, data, size);
      if (n < 0 && errno == EAGAIN) {
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, 100);
        continue;
      }
      if (n <= 0) return;
      data += n;
      size -= static_cast<size_t>(n);
    }
  }

  uint16_t target_port_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> cut_{false};
  std::atomic<bool> stalled_{false};
  std::atomic<int> cuts_done_{0};
  std::vector<std::pair<int, int>> pairs_;
};

using namespace std::chrono_literals;

// A manager on loopback with a fresh state folder, and helpers to enroll and start agents.
class LinkFixture : public ::testing::Test {
 protected:
  void SetUp() override { StartManager(0); }

  void StartManager(uint16_t port) {
    ManagerOptions options;
    options.state_dir = dir_.Sub("manager");
    options.listen_address = "127.0.0.1";
    options.port = port;
    options.keepalive_seconds = 2;
    options.handshake_timeout_ms = 2000;
    options.on_events = sink_.Callback();
    options.on_response_result = [this](const ResponseRecord& r) {
      std::lock_guard lock(results_mu_);
      results_.push_back(r);
    };
    Expected<std::unique_ptr<Manager>> manager = Manager::Create(options);
    ASSERT_TRUE(manager.ok()) << manager.status().ToString();
    manager_ = std::move(*manager);
    ASSERT_TRUE(manager_->Start().ok());
  }

  std::string ManagerAddress() const { return "127.0.0.1:" + std::to_string(manager_->port()); }

  // Enrolls a new agent into its own state folder and returns the folder.
  std::string Enroll(const std::string& name, bool force = false) {
    EnrollTokenOptions token_options;
    token_options.name = name;
    token_options.force = force;
    Expected<IssuedToken> token = manager_->store().CreateEnrollToken(token_options);
    EXPECT_TRUE(token.ok()) << token.status().ToString();
    EnrollOptions options;
    options.manager = ManagerAddress();
    options.token = token->token;
    options.state_dir = dir_.Sub("agent-" + name);
    Expected<AgentIdentity> identity = EnrollAgent(options);
    EXPECT_TRUE(identity.ok()) << identity.status().ToString();
    return options.state_dir;
  }

  std::unique_ptr<Agent> StartAgent(const std::string& state_dir,
                                    std::vector<std::string> managers = {},
                                    ResponseHandler handler = nullptr,
                                    std::chrono::seconds reconnect_after = 0s) {
    AgentOptions options;
    options.state_dir = state_dir;
    options.managers = managers.empty() ? std::vector<std::string>{ManagerAddress()} : managers;
    options.version = "0.1.0";
    options.config_checksum = "abc123";
    options.keepalive = 1s;
    options.connect_timeout = 2000ms;
    options.backoff_initial = 20ms;
    options.backoff_max = 200ms;
    options.on_response = std::move(handler);
    options.reconnect_after = reconnect_after;
    Expected<std::unique_ptr<Agent>> agent = Agent::Create(options);
    EXPECT_TRUE(agent.ok()) << agent.status().ToString();
    if (!agent.ok()) return nullptr;
    EXPECT_TRUE((*agent)->Start().ok());
    return std::move(*agent);
  }

  std::vector<ResponseRecord> results() {
    std::lock_guard lock(results_mu_);
    return results_;
  }

  TempDir dir_;
  EventSink sink_;
  std::unique_ptr<Manager> manager_;
  std::mutex results_mu_;
  std::vector<ResponseRecord> results_;
};

}  // namespace vigil::transport::testing
