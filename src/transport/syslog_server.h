// The manager's remote syslog input: OSSEC's <remote><connection>syslog</connection>. Receives
// syslog messages over UDP (one message per datagram) and TCP (one message per line) from the
// addresses that <allowed-ips> admits, and hands each one on with the sender's address as its
// location, as OSSEC's remoted does.
//
// Threads: Start() runs one receive thread; the message callback runs on it. Start(), Stop()
// and the accessors may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/logging.h"
#include "common/status.h"
#include "transport/peer_filter.h"

namespace vigil::transport {

// The maximum message size kept, in bytes. Longer UDP datagrams and TCP lines are cut and
// counted. OSSEC 2.9 and 3.x read at most 1024 bytes per datagram and 6144 per TCP line. Vigil
// keeps more, because RFC 5424 section 6.1 asks receivers to accept at least 2048 bytes.
inline constexpr size_t kMaxSyslogMessageBytes = 64 * 1024;

// Returns `message` without trailing newlines and carriage returns and without a leading
// "<PRI>" (1 to 3 digits in angle brackets), the parts OSSEC strips before analysis.
std::string_view StripSyslogFraming(std::string_view message);

// Splits a TCP syslog stream into lines. A line longer than the maximum is cut: its first
// `max_line_bytes` are emitted with `truncated` set and the rest up to the next newline is
// dropped, so the splitter stays in step with the stream.
class SyslogLineSplitter {
 public:
  explicit SyslogLineSplitter(size_t max_line_bytes = kMaxSyslogMessageBytes)
      : max_line_bytes_(max_line_bytes) {}

  // Appends stream bytes and calls `emit(line, truncated)` for every line they complete. The
  // line excludes its newline.
  void Append(std::string_view data,
              const std::function<void(std::string_view line, bool truncated)>& emit);
  // Emits the unterminated rest at the end of the stream, when there is one.
  void Finish(const std::function<void(std::string_view line, bool truncated)>& emit);

  size_t buffered() const { return buffer_.size(); }

 private:
  size_t max_line_bytes_;
  std::string buffer_;
  bool discarding_ = false;  // inside the dropped rest of an over-long line
};

struct SyslogServerOptions {
  std::string address = "0.0.0.0";  // "::" for IPv6
  uint16_t port = 514;               // 0 picks a free port (tests)
  bool udp = true;
  bool tcp = false;
  std::vector<std::string> allowed_ips;  // required: at least one entry
  std::vector<std::string> denied_ips;
  size_t max_tcp_connections = 256;  // further connections are closed at once
  // A TCP sender silent for this long is disconnected, so idle senders cannot hold every slot.
  std::chrono::milliseconds tcp_idle_timeout{std::chrono::minutes(10)};
  // Called with the sender's numeric address and the message (valid UTF-8, no NUL, framing
  // stripped). Runs on the receive thread.
  std::function<void(const std::string& sender, std::string message)> on_message;
};

struct SyslogCounters {
  uint64_t messages = 0;           // messages handed to the callback
  uint64_t denied = 0;             // datagrams and connections from addresses not allowed
  uint64_t truncated = 0;          // messages cut at kMaxSyslogMessageBytes
  uint64_t empty = 0;              // messages empty after the framing was stripped, dropped
  uint64_t escaped_bytes = 0;      // NUL, invalid UTF-8 and control bytes written as \xHH
  uint64_t tcp_connections = 0;    // TCP connections accepted
  uint64_t tcp_over_limit = 0;     // TCP connections closed because of max_tcp_connections
  uint64_t tcp_idle_closed = 0;    // TCP connections closed after tcp_idle_timeout
};

class SyslogServer {
 public:
  // Validates the options and binds the sockets; does not receive yet.
  static Expected<std::unique_ptr<SyslogServer>> Create(SyslogServerOptions options);
  ~SyslogServer();

  Status Start();
  // Stops the receive thread and closes every socket. Idempotent.
  void Stop();

  uint16_t udp_port() const { return udp_port_; }
  uint16_t tcp_port() const { return tcp_port_; }
  SyslogCounters counters() const;

 private:
  struct TcpPeer {
    int fd = -1;
    std::string address;
    SyslogLineSplitter splitter;
    std::chrono::steady_clock::time_point last_rx;
  };

  SyslogServer(SyslogServerOptions options, PeerFilter filter)
      : options_(std::move(options)), filter_(std::move(filter)) {}
  void Run();
  void ReceiveDatagrams();
  void AcceptConnections();
  // Reads from one TCP peer; returns false when the connection ended.
  bool ReadPeer(TcpPeer* peer);
  // Returns true (after emitting its partial line) when a peer was silent for too long.
  bool ExpireIdlePeer(TcpPeer* peer, std::chrono::steady_clock::time_point now);
  void Deliver(const std::string& sender, std::string_view message, bool truncated);
  bool CheckPeer(const std::string& sender, const char* transport);

  SyslogServerOptions options_;
  PeerFilter filter_;
  int udp_fd_ = -1;
  int tcp_fd_ = -1;
  int wake_fd_ = -1;
  uint16_t udp_port_ = 0;
  uint16_t tcp_port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::vector<std::unique_ptr<TcpPeer>> peers_;  // receive thread only
  mutable std::mutex mu_;
  SyslogCounters counters_;
  std::shared_ptr<spdlog::logger> log_ = GetLogger("syslog");
  RepeatLimiter limiter_{std::chrono::seconds(10)};
};

}  // namespace vigil::transport
