// AF_UNIX datagram sockets: execd's execq socket and its clients.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vigil::response {

// Returns `<state_dir>/queue/alerts/execq`, OSSEC's path for execd's socket.
std::string ExecqPath(const std::string& state_dir);

// The hint for SendTo() when the destination is execd's queue.
inline constexpr std::string_view kExecdNotRunningHint =
    " (is execd running? `vigil run` starts it)";

// An owned datagram socket; closes (and unlinks its bound path) on destruction.
class DatagramSocket {
 public:
  DatagramSocket() = default;
  DatagramSocket(DatagramSocket&& other) noexcept;
  DatagramSocket& operator=(DatagramSocket&& other) noexcept;
  ~DatagramSocket();

  // Creates a socket bound to `path` (replacing a stale socket file) with mode `mode`.
  static Expected<DatagramSocket> Bind(const std::string& path, int mode = 0660);
  // Creates an unbound socket for sending.
  static Expected<DatagramSocket> Unbound();

  // Sends one datagram to the socket at `path`. `unreachable_hint` is added to the error when
  // no socket listens there.
  Status SendTo(const std::string& path, std::string_view payload,
                std::string_view unreachable_hint = {}) const;
  // Waits up to `timeout` for one datagram. On success `*sender` is the sender's bound path
  // (empty for unbound senders). A datagram longer than `max_bytes` is reported as an error.
  Status Receive(std::string* payload, std::string* sender, size_t max_bytes,
                 std::chrono::milliseconds timeout) const;

  // Closes the socket and removes its bound path.
  void Close();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  std::string path_;
};

}  // namespace vigil::response
