// Socket helpers shared by the agent client, the manager server and enrollment.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <string>

#include "common/status.h"

namespace vigil::transport {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// The manager's agent port when an address names none, as OSSEC's <remote><port> default.
inline constexpr uint16_t kDefaultAgentPort = 1514;

// Parses "host:port", "1.2.3.4:port" or "[v6 address]:port"; "host" and "[v6 address]" alone
// get kDefaultAgentPort.
Expected<HostPort> ParseHostPort(const std::string& text);

// Resolves `target` and connects with a non-blocking TCP socket, waiting at most `timeout`.
// Returns the connected socket, still non-blocking, with TCP_NODELAY and close-on-exec set.
Expected<int> ConnectTcp(const HostPort& target, std::chrono::milliseconds timeout);

// Opens a non-blocking listening TCP socket on `address` ("" or "0.0.0.0" for all IPv4
// addresses, "::" for all IPv6 ones) and `port` (0 picks a free port). `backlog` is the
// listen(2) queue length.
Expected<int> ListenTcp(const std::string& address, uint16_t port, int backlog);

// Opens a non-blocking UDP socket bound to `address` and `port`, as ListenTcp does for TCP.
Expected<int> BindUdp(const std::string& address, uint16_t port);

// Returns the port a socket is bound to.
uint16_t LocalPort(int fd);

// Returns the numeric address of a peer ("127.0.0.1", "::1"); IPv4-mapped IPv6 addresses are
// returned as IPv4.
std::string AddressToString(const sockaddr_storage& address);

Status SetNonBlocking(int fd);

// Sets SIGPIPE to be ignored for the whole process, so a write to a connection the peer
// closed fails with EPIPE instead of killing the process. OpenSSL writes to sockets with
// write(2), which cannot pass MSG_NOSIGNAL.
void IgnoreSigpipe();

}  // namespace vigil::transport
