#include "transport/net.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

namespace vigil::transport {
namespace {

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

Expected<HostPort> ParseHostPort(const std::string& text) {
  HostPort out;
  std::string port_text;
  // A host alone, or a bracketed IPv6 address alone, gets the default agent port.
  bool bracketed_alone = text.size() > 2 && text.front() == '[' && text.back() == ']';
  if (bracketed_alone || (!text.empty() && text.find(':') == std::string::npos)) {
    out.host = bracketed_alone ? text.substr(1, text.size() - 2) : text;
    out.port = kDefaultAgentPort;
    return out;
  }
  if (!text.empty() && text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Status::InvalidArgument("invalid manager address '" + text +
                                     "'; expected [IPv6 address]:port");
    }
    out.host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return Status::InvalidArgument("invalid manager address '" + text + "'; expected HOST:PORT");
    }
    out.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  char* end = nullptr;
  unsigned long port = std::strtoul(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end != '\0' || port == 0 || port > 65535) {
    return Status::InvalidArgument("invalid port '" + port_text + "' in '" + text +
                                   "'; expected 1 to 65535");
  }
  out.port = static_cast<uint16_t>(port);
  return out;
}

Status SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return Status::IoError("setting O_NONBLOCK failed: " + ErrnoText());
  }
  return Status::Ok();
}

void IgnoreSigpipe() { std::signal(SIGPIPE, SIG_IGN); }

Expected<int> ConnectTcp(const HostPort& target, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  std::string port = std::to_string(target.port);
  int rc = getaddrinfo(target.host.c_str(), port.c_str(), &hints, &result);
  if (rc != 0) {
    return Status::NotFound("cannot resolve " + target.host + ": " + gai_strerror(rc));
  }
  std::string last_error = "no address";
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = ErrnoText();
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = ErrnoText();
      close(fd);
      continue;
    }
    pollfd pfd{fd, POLLOUT, 0};
    int n = poll(&pfd, 1, static_cast<int>(timeout.count()));
    int error = 0;
    socklen_t len = sizeof(error);
    if (n == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (n == 1 && error == 0) {
      freeaddrinfo(result);
      return fd;
    }
    last_error = n == 0 ? "timed out" : std::strerror(error != 0 ? error : errno);
    close(fd);
  }
  freeaddrinfo(result);
  return Status::IoError("connecting to " + target.host + ":" + port + " failed: " + last_error);
}

namespace {

// Opens a non-blocking socket of `type` (SOCK_STREAM or SOCK_DGRAM) bound to address:port.
Expected<int> OpenBoundSocket(const std::string& address, uint16_t port, int type) {
  bool v6 = address.find(':') != std::string::npos;
  int fd = socket(v6 ? AF_INET6 : AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IoError("socket failed: " + ErrnoText());
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_storage storage{};
  socklen_t size = 0;
  std::string host = address.empty() ? "0.0.0.0" : address;
  if (v6) {
    auto* sa = reinterpret_cast<sockaddr_in6*>(&storage);
    sa->sin6_family = AF_INET6;
    sa->sin6_port = htons(port);
    if (inet_pton(AF_INET6, host.c_str(), &sa->sin6_addr) != 1) {
      close(fd);
      return Status::InvalidArgument("invalid listen address '" + host + "'");
    }
    size = sizeof(sockaddr_in6);
  } else {
    auto* sa = reinterpret_cast<sockaddr_in*>(&storage);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &sa->sin_addr) != 1) {
      close(fd);
      return Status::InvalidArgument("invalid listen address '" + host + "'");
    }
    size = sizeof(sockaddr_in);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), size) != 0) {
    std::string error = ErrnoText();
    close(fd);
    return Status::IoError("binding " + host + ":" + std::to_string(port) + " failed: " + error);
  }
  return fd;
}

}  // namespace

Expected<int> BindUdp(const std::string& address, uint16_t port) {
  return OpenBoundSocket(address, port, SOCK_DGRAM);
}

Expected<int> ListenTcp(const std::string& address, uint16_t port, int backlog) {
  Expected<int> bound = OpenBoundSocket(address, port, SOCK_STREAM);
  if (!bound.ok()) return bound;
  int fd = *bound;
  std::string host = address.empty() ? "0.0.0.0" : address;
  if (listen(fd, backlog) != 0) {
    std::string error = ErrnoText();
    close(fd);
    return Status::IoError("listen on " + host + ":" + std::to_string(port) + " failed: " + error);
  }
  return fd;
}

uint16_t LocalPort(int fd) {
  sockaddr_storage storage{};
  socklen_t size = sizeof(storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &size) != 0) return 0;
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  }
  return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

std::string AddressToString(const sockaddr_storage& address) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (address.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, buf, sizeof(buf));
  } else if (address.ss_family == AF_INET6) {
    const auto& sa6 = reinterpret_cast<const sockaddr_in6&>(address);
    if (IN6_IS_ADDR_V4MAPPED(&sa6.sin6_addr)) {
      inet_ntop(AF_INET, &sa6.sin6_addr.s6_addr[12], buf, sizeof(buf));
    } else {
      inet_ntop(AF_INET6, &sa6.sin6_addr, buf, sizeof(buf));
    }
  }
  return buf;
}

}  // namespace vigil::transport
