#include "transport/syslog_server.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/ranges.h>

#include <cerrno>
#include <cstring>

#include "common/text.h"
#include "transport/net.h"

namespace vigil::transport {

std::string_view StripSyslogFraming(std::string_view message) {
  while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) {
    message.remove_suffix(1);
  }
  if (message.size() >= 3 && message.front() == '<') {
    size_t digits = 1;
    while (digits < message.size() && digits <= 3 && message[digits] >= '0' &&
           message[digits] <= '9') {
      ++digits;
    }
    if (digits > 1 && digits < message.size() && message[digits] == '>') {
      message.remove_prefix(digits + 1);
    }
  }
  return message;
}

void SyslogLineSplitter::Append(
    std::string_view data, const std::function<void(std::string_view, bool)>& emit) {
  while (!data.empty()) {
    size_t newline = data.find('\n');
    std::string_view piece = data.substr(0, newline);
    if (discarding_) {
      if (newline == std::string_view::npos) return;
      discarding_ = false;
    } else if (buffer_.size() + piece.size() > max_line_bytes_) {
      buffer_.append(piece.substr(0, max_line_bytes_ - buffer_.size()));
      emit(buffer_, true);
      buffer_.clear();
      discarding_ = newline == std::string_view::npos;
    } else if (newline == std::string_view::npos) {
      buffer_.append(piece);
    } else if (buffer_.empty()) {
      emit(piece, false);
    } else {
      buffer_.append(piece);
      emit(buffer_, false);
      buffer_.clear();
    }
    if (newline == std::string_view::npos) return;
    data.remove_prefix(newline + 1);
  }
}

void SyslogLineSplitter::Finish(const std::function<void(std::string_view, bool)>& emit) {
  if (!buffer_.empty()) emit(buffer_, false);
  buffer_.clear();
  discarding_ = false;
}

Expected<std::unique_ptr<SyslogServer>> SyslogServer::Create(SyslogServerOptions options) {
  std::string where = options.address + ":" + std::to_string(options.port);
  if (options.allowed_ips.empty()) {
    return Status::InvalidArgument("syslog port " + where +
                                   ": no allowed-ips; name the senders that may send syslog");
  }
  if (!options.udp && !options.tcp) {
    return Status::InvalidArgument("syslog port " + where + ": neither UDP nor TCP is enabled");
  }
  Expected<PeerFilter> filter = PeerFilter::Create(options.allowed_ips, options.denied_ips);
  if (!filter.ok()) {
    return Status::InvalidArgument("syslog port " + where + ": " + filter.status().message());
  }

  std::unique_ptr<SyslogServer> server(new SyslogServer(std::move(options), std::move(*filter)));
  const SyslogServerOptions& o = server->options_;
  if (o.udp) {
    Expected<int> fd = BindUdp(o.address, o.port);
    if (!fd.ok()) return fd.status();
    server->udp_fd_ = *fd;
    server->udp_port_ = LocalPort(*fd);
  }
  if (o.tcp) {
    Expected<int> fd = ListenTcp(o.address, o.port, 128);
    if (!fd.ok()) return fd.status();
    server->tcp_fd_ = *fd;
    server->tcp_port_ = LocalPort(*fd);
  }

  server->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (server->wake_fd_ < 0) {
    return Status::IoError(std::string("eventfd failed: ") + std::strerror(errno));
  }
  return server;
}

SyslogServer::~SyslogServer() {
  Stop();
  for (int fd : {udp_fd_, tcp_fd_, wake_fd_}) {
    if (fd >= 0) close(fd);
  }
}

Status SyslogServer::Start() {
  if (thread_.joinable()) return Status::Ok();
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
  std::vector<std::string> ports;
  if (options_.udp) ports.push_back("udp port " + std::to_string(udp_port_));
  if (options_.tcp) ports.push_back("tcp port " + std::to_string(tcp_port_));
  log_->info("receiving syslog on {} ({}), allowed-ips [{}], denied-ips [{}]", options_.address,
             fmt::join(ports, ", "), fmt::join(options_.allowed_ips, ","),
             fmt::join(options_.denied_ips, ","));
  return Status::Ok();
}

void SyslogServer::Stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  thread_.join();
  for (auto& peer : peers_) close(peer->fd);
  peers_.clear();
  SyslogCounters c = counters();
  log_->info(
      "syslog receiver on {} stopped: messages={} denied={} truncated={} empty={} "
      "escaped_bytes={} tcp_connections={} tcp_over_limit={} tcp_idle_closed={}",
      options_.address, c.messages, c.denied, c.truncated, c.empty, c.escaped_bytes,
      c.tcp_connections, c.tcp_over_limit, c.tcp_idle_closed);
}

SyslogCounters SyslogServer::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

void SyslogServer::Run() {
  while (!stop_) {
    std::vector<pollfd> fds;
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({udp_fd_, POLLIN, 0});  // poll(2) skips negative descriptors
    fds.push_back({tcp_fd_, POLLIN, 0});
    for (const auto& peer : peers_) fds.push_back({peer->fd, POLLIN, 0});
    int n = poll(fds.data(), fds.size(), 1000);
    if (n < 0) {
      if (errno == EINTR) continue;
      log_->error("poll failed in the syslog receiver: {}", std::strerror(errno));
      return;
    }
    if (fds[1].revents & POLLIN) ReceiveDatagrams();
    if (fds[2].revents & POLLIN) AcceptConnections();
    // Peers accepted just now are polled in the next round; the ones polled are in front.
    std::vector<size_t> ended;
    auto now = std::chrono::steady_clock::now();
    for (size_t i = 3; i < fds.size(); ++i) {
      TcpPeer* peer = peers_[i - 3].get();
      bool open = fds[i].revents == 0 ? !ExpireIdlePeer(peer, now) : ReadPeer(peer);
      if (!open) ended.push_back(i - 3);
    }
    for (auto it = ended.rbegin(); it != ended.rend(); ++it) {
      close(peers_[*it]->fd);
      peers_.erase(peers_.begin() + static_cast<long>(*it));
    }
  }
}

bool SyslogServer::CheckPeer(const std::string& sender, const char* transport) {
  if (filter_.Allows(sender)) return true;
  {
    std::lock_guard lock(mu_);
    ++counters_.denied;
  }
  uint64_t suppressed = 0;
  if (limiter_.ShouldLog("denied:" + sender, &suppressed)) {
    log_->warn("rejected syslog over {} from {}: the address is not allowed by "
               "allowed-ips/denied-ips{}",
               transport, sender,
               suppressed > 0 ? fmt::format(" ({} similar messages suppressed)", suppressed) : "");
  }
  return false;
}

void SyslogServer::ReceiveDatagrams() {
  // One byte more than the maximum shows that a datagram was cut.
  std::string buffer(kMaxSyslogMessageBytes + 1, '\0');
  for (int i = 0; i < 256; ++i) {
    sockaddr_storage address{};
    socklen_t size = sizeof(address);
    ssize_t n = recvfrom(udp_fd_, buffer.data(), buffer.size(), MSG_TRUNC,
                         reinterpret_cast<sockaddr*>(&address), &size);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        log_->error("receiving syslog over UDP failed: {}", std::strerror(errno));
      }
      return;
    }
    std::string sender = AddressToString(address);
    if (!CheckPeer(sender, "UDP")) continue;
    bool truncated = static_cast<size_t>(n) > kMaxSyslogMessageBytes;
    size_t kept = truncated ? kMaxSyslogMessageBytes : static_cast<size_t>(n);
    Deliver(sender, std::string_view(buffer.data(), kept), truncated);
  }
}

void SyslogServer::AcceptConnections() {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage address{};
    socklen_t size = sizeof(address);
    int fd = accept4(tcp_fd_, reinterpret_cast<sockaddr*>(&address), &size,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        log_->error("accepting a syslog connection failed: {}", std::strerror(errno));
      }
      return;
    }
    std::string sender = AddressToString(address);
    if (!CheckPeer(sender, "TCP")) {
      close(fd);
      continue;
    }
    if (peers_.size() >= options_.max_tcp_connections) {
      close(fd);
      {
        std::lock_guard lock(mu_);
        ++counters_.tcp_over_limit;
      }
      uint64_t suppressed = 0;
      if (limiter_.ShouldLog("limit", &suppressed)) {
        log_->warn("closed a syslog connection from {}: {} connections are open already",
                   sender, peers_.size());
      }
      continue;
    }
    auto peer = std::make_unique<TcpPeer>();
    peer->fd = fd;
    peer->address = std::move(sender);
    peer->last_rx = std::chrono::steady_clock::now();
    peers_.push_back(std::move(peer));
    std::lock_guard lock(mu_);
    ++counters_.tcp_connections;
  }
}

bool SyslogServer::ReadPeer(TcpPeer* peer) {
  auto emit = [&](std::string_view line, bool truncated) {
    Deliver(peer->address, line, truncated);
  };
  char buffer[16384];
  for (;;) {
    ssize_t n = read(peer->fd, buffer, sizeof(buffer));
    if (n > 0) {
      peer->last_rx = std::chrono::steady_clock::now();
      peer->splitter.Append(std::string_view(buffer, static_cast<size_t>(n)), emit);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n < 0 && errno == EINTR) continue;
    peer->splitter.Finish(emit);
    return false;
  }
}

bool SyslogServer::ExpireIdlePeer(TcpPeer* peer, std::chrono::steady_clock::time_point now) {
  if (now - peer->last_rx < options_.tcp_idle_timeout) return false;
  peer->splitter.Finish([&](std::string_view line, bool truncated) {
    Deliver(peer->address, line, truncated);
  });
  {
    std::lock_guard lock(mu_);
    ++counters_.tcp_idle_closed;
  }
  uint64_t suppressed = 0;
  if (limiter_.ShouldLog("idle:" + peer->address, &suppressed)) {
    log_->info("closed the syslog connection from {}: nothing received for {} ms",
               peer->address, options_.tcp_idle_timeout.count());
  }
  return true;
}

void SyslogServer::Deliver(const std::string& sender, std::string_view message, bool truncated) {
  std::string text(StripSyslogFraming(message));
  SanitizeCounts escaped;
  SanitizeText(&text, &escaped);
  // A line break inside a datagram would otherwise start a forged block in alerts.log.
  uint64_t controls = EscapeControlCharacters(&text);
  {
    std::lock_guard lock(mu_);
    counters_.truncated += truncated ? 1 : 0;
    counters_.escaped_bytes += escaped.nul_bytes + escaped.invalid_bytes + controls;
    if (text.empty()) {
      ++counters_.empty;
      return;
    }
    ++counters_.messages;
  }
  if (truncated) {
    uint64_t suppressed = 0;
    if (limiter_.ShouldLog("truncated:" + sender, &suppressed)) {
      log_->warn("a syslog message from {} was longer than {} bytes and was cut", sender,
                 kMaxSyslogMessageBytes);
    }
  }
  if (options_.on_message) options_.on_message(sender, std::move(text));
}

}  // namespace vigil::transport
