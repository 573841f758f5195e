// The manager's event loops: accept, TLS handshakes, frame I/O and the per-message protocol.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "transport/manager_impl.h"
#include "transport/net.h"

namespace vigil::transport {
namespace {

// Epoll tags: the wake-up eventfd, then one per listener, then connection ids.
constexpr uint64_t kWakeTag = 0;
constexpr uint64_t kFirstListenTag = 1;
constexpr uint64_t kFirstConnectionTag = kFirstListenTag + kMaxListeners;
constexpr size_t kMaxOutputBytes = 16 << 20;  // a peer that reads nothing is cut past this
constexpr int kTickMs = 100;
// Sessions an agent left that are still rejected if they come back (a restored backup or a
// replay); older ones are forgotten.
constexpr size_t kRetiredSessions = 16;

int64_t NowSeconds() { return SystemClock::Get().NowSeconds(); }

bool IsFinishedState(const std::string& state) { return state != "pending" && state != "sent"; }

enum class ConnState {
  kHandshake,   // TLS handshake in progress
  kAwaitHello,  // client certificate verified; the first frame must be a hello
  kAgent,       // hello accepted
  kEnrollOnly,  // no client certificate; the only frame allowed is an enroll request
  kClosing,     // flushing the last frames, then closed
};

struct Connection {
  uint64_t id = 0;
  int fd = -1;
  SslPtr ssl;
  std::string peer_address;
  ConnState state = ConnState::kHandshake;
  FrameDecoder decoder;
  std::string out;
  size_t out_offset = 0;
  bool want_write = false;  // EPOLLOUT registered
  bool reading_paused = false;
  bool closed = false;  // closed and waiting to be freed at the end of the loop iteration
  std::string agent_id;
  std::string agent_name;
  std::string agent_address;  // for locations
  std::string session_id;
  std::chrono::steady_clock::time_point created;
  std::chrono::steady_clock::time_point last_rx;
  std::chrono::steady_clock::time_point retry_at;
  // A batch the events callback asked to retry.
  std::optional<EventBatchMessage> held_batch;
  // Verification failure recorded by the verify callback, for the log.
  std::string verify_error;
  // The agent id a PSK handshake offered and the manager found a key for.
  std::string psk_identity;
  // The reason the PSK lookup found no key, for the log and the counters.
  std::string psk_error;
  bool psk_removed = false;  // the identity belongs to a removed agent

  explicit Connection(size_t max_frame) : decoder(max_frame) {}
};

}  // namespace

class EventLoop {
 public:
  EventLoop(Manager::Impl* impl, int index) : impl_(impl), index_(index) {}
  ~EventLoop() {
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (wake_fd_ >= 0) close(wake_fd_);
  }

  void Start();
  void Stop();
  void Post(LoopCommand command);

 private:
  void Run();
  void Accept(size_t listener_index);
  void HandleEvent(Connection* c, uint32_t events);
  void ContinueHandshake(Connection* c);
  void ReadFrames(Connection* c);
  bool HandleFrame(Connection* c, const Frame& frame);
  bool HandleHello(Connection* c, const HelloMessage& hello);
  bool HandleBatch(Connection* c, EventBatchMessage batch);
  bool DeliverBatch(Connection* c, const EventBatchMessage& batch);
  void HandleStatus(Connection* c, const StatusMessage& status);
  void HandleResult(Connection* c, const ResponseResultMessage& result);
  void HandleEnroll(Connection* c, const EnrollRequestMessage& request);
  void FlushResponses(Connection* c);
  void Send(Connection* c, const Message& message);
  void TryWrite(Connection* c);
  void UpdateInterest(Connection* c);
  // Sends an error frame (when the session allows it) and closes after flushing.
  void Reject(Connection* c, const std::string& message, ErrorCode code = ErrorCode::kGeneric);
  void CloseConnection(Connection* c, const std::string& reason);
  void DrainCommands();
  void Tick();

  Manager::Impl* impl_;
  int index_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  // Closed connections are freed only between events, so no handler sees a freed one.
  std::vector<uint64_t> dead_;
  std::mutex inbox_mu_;
  std::vector<LoopCommand> inbox_;
  std::chrono::steady_clock::time_point next_tick_{};
  std::chrono::steady_clock::time_point next_housekeeping_{};
};

void EventLoopDeleter::operator()(EventLoop* loop) const { delete loop; }

EventLoopPtr MakeEventLoop(Manager::Impl* impl, int index) {
  return EventLoopPtr(new EventLoop(impl, index));
}
void StartEventLoop(EventLoop* loop) { loop->Start(); }
void StopEventLoop(EventLoop* loop) { loop->Stop(); }
void PostEventLoop(EventLoop* loop, LoopCommand command) { loop->Post(std::move(command)); }

int VerifyClientCertificate(int preverify_ok, X509_STORE_CTX* store_ctx) {
  SSL* ssl = static_cast<SSL*>(
      X509_STORE_CTX_get_ex_data(store_ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* conn = static_cast<Connection*>(SSL_get_app_data(ssl));
  if (!preverify_ok) {
    if (conn != nullptr) {
      conn->verify_error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(store_ctx));
    }
    return 0;
  }
  if (X509_STORE_CTX_get_error_depth(store_ctx) != 0) return 1;
  auto* impl = static_cast<Manager::Impl*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  X509* cert = X509_STORE_CTX_get_current_cert(store_ctx);
  std::string id = CertificateCommonName(cert);
  Status status = impl->store_->CheckClientCertificate(id, CertificateSerial(cert));
  if (status.ok()) return 1;
  if (conn != nullptr) conn->verify_error = status.message();
  X509_STORE_CTX_set_error(store_ctx, X509_V_ERR_CERT_REVOKED);
  return 0;
}

int FindAgentPsk(SSL* ssl, const unsigned char* identity, size_t identity_len,
                 SSL_SESSION** session) {
  *session = nullptr;
  auto* conn = static_cast<Connection*>(SSL_get_app_data(ssl));
  auto* impl = static_cast<Manager::Impl*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  std::string id(reinterpret_cast<const char*>(identity), identity_len);
  bool valid_id = !id.empty() && id.size() <= 20 &&
                  std::all_of(id.begin(), id.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  std::optional<std::string> key;
  if (valid_id) key = impl->store_->FindPsk(id);
  if (!key) {
    // Returning no session makes OpenSSL continue with the certificate handshake, which a PSK
    // client cannot complete, so the connection fails there.
    if (conn != nullptr) {
      std::optional<AgentEntry> entry =
          valid_id ? impl->store_->FindAgent(id) : std::optional<AgentEntry>();
      conn->psk_removed = entry && entry->removed;
      conn->psk_error = !valid_id       ? "an invalid PSK identity"
                        : entry.has_value() && entry->removed ? "the PSK of removed agent " + id
                        : entry.has_value() ? "a PSK for agent " + id + ", which has no PSK"
                                            : "a PSK for unknown agent id " + id;
    }
    return 1;
  }
  SSL_SESSION* psk = NewPskSession(ssl, *key);
  OPENSSL_cleanse(key->data(), key->size());
  if (psk == nullptr) return 0;
  if (conn != nullptr) conn->psk_identity = id;
  *session = psk;
  return 1;
}

void EventLoop::Start() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event ev{};
  for (size_t i = 0; i < impl_->listeners_.size(); ++i) {
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = kFirstListenTag + i;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, impl_->listeners_[i].fd, &ev);
  }
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
  thread_ = std::thread([this] { Run(); });
}

void EventLoop::Stop() {
  stop_ = true;
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  for (auto& [id, c] : connections_) {
    if (c->closed) continue;
    if (c->ssl && c->state != ConnState::kHandshake) SSL_shutdown(c->ssl.get());
    close(c->fd);
  }
  connections_.clear();
}

void EventLoop::Post(LoopCommand command) {
  {
    std::lock_guard lock(inbox_mu_);
    inbox_.push_back(std::move(command));
  }
  uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

void EventLoop::Run() {
  std::vector<epoll_event> events(512);
  while (!stop_) {
    int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()), kTickMs);
    if (n < 0 && errno != EINTR) {
      impl_->log_->error("epoll_wait failed in loop {}: {}", index_, std::strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) {
      uint64_t tag = events[i].data.u64;
      if (tag >= kFirstListenTag && tag < kFirstConnectionTag) {
        Accept(tag - kFirstListenTag);
      } else if (tag == kWakeTag) {
        uint64_t count;
        (void)!read(wake_fd_, &count, sizeof(count));
        DrainCommands();
      } else {
        auto it = connections_.find(tag);
        if (it != connections_.end() && !it->second->closed) {
          HandleEvent(it->second.get(), events[i].events);
        }
      }
    }
    Tick();
    for (uint64_t id : dead_) connections_.erase(id);
    dead_.clear();
  }
}

void EventLoop::Accept(size_t listener_index) {
  const Listener& listener = impl_->listeners_[listener_index];
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage address{};
    socklen_t size = sizeof(address);
    int fd = accept4(listener.fd, reinterpret_cast<sockaddr*>(&address), &size,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        impl_->LogRejection("accept", "accepting a connection failed: {}", std::strerror(errno));
      }
      return;
    }
    std::string peer = AddressToString(address);
    // The filter runs before any TLS work, so a denied peer costs one accept and one close.
    if (!listener.filter.Allows(peer)) {
      close(fd);
      impl_->Count(&ManagerCounters::connections_denied);
      impl_->LogRejection("denied:" + peer,
                          "rejected a connection from {} to port {}: the address is not "
                          "allowed by allowed-ips/denied-ips",
                          peer, listener.port);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    auto c = std::make_unique<Connection>(impl_->options_.max_frame_bytes);
    c->id = impl_->next_connection_id_++ + kFirstConnectionTag;
    c->fd = fd;
    c->peer_address = std::move(peer);
    c->created = c->last_rx = std::chrono::steady_clock::now();
    c->ssl.reset(SSL_new(impl_->ssl_ctx_.get()));
    SSL_set_fd(c->ssl.get(), fd);
    SSL_set_app_data(c->ssl.get(), c.get());
    SSL_set_accept_state(c->ssl.get());
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c->id;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
    impl_->Count(&ManagerCounters::connections_accepted);
    impl_->Count(&ManagerCounters::connections_active);
    connections_[c->id] = std::move(c);
  }
}

void EventLoop::HandleEvent(Connection* c, uint32_t events) {
  if (c->state == ConnState::kHandshake) {
    ContinueHandshake(c);
  } else {
    if (events & EPOLLOUT) TryWrite(c);
    if (!c->closed && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) ReadFrames(c);
  }
}

void EventLoop::ContinueHandshake(Connection* c) {
  ERR_clear_error();
  int rc = SSL_do_handshake(c->ssl.get());
  if (rc != 1) {
    int error = SSL_get_error(c->ssl.get(), rc);
    if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
      c->want_write = error == SSL_ERROR_WANT_WRITE;
      UpdateInterest(c);
      return;
    }
    std::string detail = DrainOpenSslErrors();
    if (!c->verify_error.empty()) {
      impl_->Count(&ManagerCounters::rejected_revoked);
      detail = c->verify_error;
    } else if (!c->psk_error.empty()) {
      impl_->Count(c->psk_removed ? &ManagerCounters::rejected_revoked
                                  : &ManagerCounters::rejected_psk);
      detail = "the client offered " + c->psk_error;
    } else if (!c->psk_identity.empty()) {
      impl_->Count(&ManagerCounters::rejected_psk);
      detail = "wrong pre-shared key for agent " + c->psk_identity +
               (detail.empty() ? "" : " (" + detail + ")");
    }
    impl_->Count(&ManagerCounters::handshakes_failed);
    impl_->LogRejection("handshake:" + c->peer_address, "TLS handshake with {} failed: {}",
                        c->peer_address, detail.empty() ? "connection closed" : detail);
    CloseConnection(c, "");
    return;
  }
  X509* cert = SSL_get0_peer_certificate(c->ssl.get());
  if (!c->psk_identity.empty() && SSL_session_reused(c->ssl.get()) == 1) {
    // A PSK handshake: the key proved the agent id, and no certificate was exchanged.
    c->agent_id = c->psk_identity;
    c->state = ConnState::kAwaitHello;
  } else if (cert == nullptr) {
    c->state = ConnState::kEnrollOnly;
  } else {
    c->agent_id = CertificateCommonName(cert);
    c->state = ConnState::kAwaitHello;
  }
  c->want_write = false;
  UpdateInterest(c);
  // Application data may have arrived with the handshake's last flight.
  ReadFrames(c);
}

void EventLoop::ReadFrames(Connection* c) {
  if (c->reading_paused || c->closed) return;
  char buf[16384];
  bool eof = false;
  for (;;) {
    ERR_clear_error();
    int rc = SSL_read(c->ssl.get(), buf, sizeof(buf));
    if (rc > 0) {
      c->decoder.Append(std::string_view(buf, static_cast<size_t>(rc)));
      c->last_rx = std::chrono::steady_clock::now();
      // Process as data arrives so a large burst does not sit in the decoder.
      if (c->decoder.buffered() < (256 << 10)) continue;
    } else {
      int error = SSL_get_error(c->ssl.get(), rc);
      if (error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE) {
        if (error == SSL_ERROR_WANT_WRITE && !c->want_write) {
          c->want_write = true;
          UpdateInterest(c);
        }
      } else {
        eof = true;
        // A peer that vanishes without close_notify (a cut link, a killed agent) is an
        // ordinary disconnect; only other TLS errors are counted as malformed input.
        unsigned long code = ERR_peek_error();
        bool vanished = error == SSL_ERROR_SYSCALL ||
                        ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
        if (error != SSL_ERROR_ZERO_RETURN && !vanished && c->state != ConnState::kClosing) {
          std::string detail = DrainOpenSslErrors();
          if (!detail.empty()) {
            impl_->Count(&ManagerCounters::rejected_malformed);
            impl_->LogRejection("tls:" + c->peer_address,
                                "TLS error on the connection of agent '{}' from {}: {}",
                                c->agent_id, c->peer_address, detail);
          }
        }
        DrainOpenSslErrors();
      }
    }
    Frame frame;
    for (;;) {
      FrameDecoder::Result result = c->decoder.Next(&frame);
      if (result == FrameDecoder::Result::kNeedMore) break;
      if (result == FrameDecoder::Result::kError) {
        bool oversize = c->decoder.error().code() == StatusCode::kResourceExhausted;
        impl_->Count(oversize ? &ManagerCounters::rejected_oversize
                              : &ManagerCounters::rejected_malformed);
        impl_->LogRejection("frame:" + c->peer_address,
                            "rejected a frame from agent '{}' at {}: {}", c->agent_id,
                            c->peer_address, c->decoder.error().message());
        Reject(c, c->decoder.error().message());
        return;
      }
      if (!HandleFrame(c, frame)) return;  // closed or paused
      if (c->closed || c->reading_paused) return;
    }
    if (eof || rc <= 0) break;
  }
  if (eof) {
    if (c->decoder.buffered() > 0 && c->state != ConnState::kClosing) {
      impl_->Count(&ManagerCounters::rejected_truncated);
      impl_->LogRejection("truncated:" + c->peer_address,
                          "agent '{}' at {} closed the connection in the middle of a frame "
                          "({} bytes dropped)",
                          c->agent_id, c->peer_address, c->decoder.buffered());
    }
    CloseConnection(c, "");
  }
}

bool EventLoop::HandleFrame(Connection* c, const Frame& frame) {
  if (c->state == ConnState::kClosing) return true;  // ignore input after an error
  Expected<Message> decoded = DecodeFrame(frame, impl_->options_.max_body_bytes);
  if (!decoded.ok()) {
    bool oversize = decoded.status().code() == StatusCode::kResourceExhausted;
    impl_->Count(oversize ? &ManagerCounters::rejected_oversize
                          : &ManagerCounters::rejected_malformed);
    impl_->LogRejection("message:" + c->peer_address, "rejected a {} from agent '{}' at {}: {}",
                        FrameTypeName(frame.type), c->agent_id, c->peer_address,
                        decoded.status().message());
    Reject(c, decoded.status().message());
    return false;
  }
  Message& message = *decoded;
  auto out_of_place = [&] {
    impl_->Count(&ManagerCounters::rejected_protocol);
    impl_->LogRejection("protocol:" + c->peer_address,
                        "rejected an out-of-place {} message from agent '{}' at {}",
                        FrameTypeName(frame.type), c->agent_id, c->peer_address);
    Reject(c, std::string("unexpected ") + FrameTypeName(frame.type) + " message");
    return false;
  };
  switch (c->state) {
    case ConnState::kEnrollOnly:
      if (auto* m = std::get_if<EnrollRequestMessage>(&message)) {
        HandleEnroll(c, *m);
        return false;
      }
      return out_of_place();
    case ConnState::kAwaitHello:
      if (auto* m = std::get_if<HelloMessage>(&message)) return HandleHello(c, *m);
      return out_of_place();
    case ConnState::kAgent:
      if (auto* m = std::get_if<EventBatchMessage>(&message)) {
        return HandleBatch(c, std::move(*m));
      }
      if (auto* m = std::get_if<StatusMessage>(&message)) {
        HandleStatus(c, *m);
        return true;
      }
      if (auto* m = std::get_if<ResponseResultMessage>(&message)) {
        HandleResult(c, *m);
        return true;
      }
      if (std::holds_alternative<ErrorMessage>(message)) {
        impl_->log_->warn("agent {} reported an error: {}", c->agent_id,
                          std::get<ErrorMessage>(message).message);
        return true;
      }
      return out_of_place();
    default:
      return out_of_place();
  }
}

bool EventLoop::HandleHello(Connection* c, const HelloMessage& hello) {
  if (hello.agent_id != c->agent_id) {
    impl_->Count(&ManagerCounters::rejected_unknown_agent);
    impl_->LogRejection("unknown:" + c->peer_address,
                        "rejected a hello for agent id '{}' from {}: its credential is for "
                        "agent '{}'",
                        hello.agent_id, c->peer_address, c->agent_id);
    Reject(c, "agent id " + hello.agent_id + " is unknown on this connection");
    return false;
  }
  if (hello.protocol_version != kProtocolVersion) {
    impl_->Count(&ManagerCounters::rejected_protocol);
    impl_->LogRejection("version:" + c->peer_address,
                        "rejected agent {} at {}: protocol version {} is not supported",
                        c->agent_id, c->peer_address, hello.protocol_version);
    Reject(c, "protocol version " + std::to_string(hello.protocol_version) +
                  " is not supported; expected " + std::to_string(kProtocolVersion));
    return false;
  }
  if (hello.session_id.empty()) {
    impl_->Count(&ManagerCounters::rejected_protocol);
    Reject(c, "hello without a session id");
    return false;
  }
  std::optional<AgentEntry> entry = impl_->store_->FindAgent(c->agent_id);
  if (!entry || entry->removed) {
    impl_->Count(&ManagerCounters::rejected_unknown_agent);
    impl_->LogRejection("unknown:" + c->peer_address, "rejected unknown agent id '{}' from {}",
                        c->agent_id, c->peer_address);
    Reject(c, "agent id " + c->agent_id + " is unknown");
    return false;
  }
  if (entry->address != "any" && entry->address != c->peer_address) {
    impl_->Count(&ManagerCounters::rejected_unknown_agent);
    impl_->LogRejection("address:" + c->peer_address,
                        "rejected agent {} ({}): it connected from {} but is enrolled for {}",
                        entry->id, entry->name, c->peer_address, entry->address);
    Reject(c, "agent " + entry->id + " may not connect from " + c->peer_address);
    return false;
  }
  c->agent_name = entry->name;
  c->agent_address = entry->address == "any" ? c->peer_address : entry->address;

  ConnectionRef previous;
  bool retired_session = false;
  HelloAckMessage ack;
  ack.agent_id = c->agent_id;
  ack.keepalive_seconds = impl_->options_.keepalive_seconds;
  {
    std::lock_guard lock(impl_->mu_);
    AgentRuntime& rt = impl_->agents_[c->agent_id];
    SessionState& s = rt.session;
    if (hello.session_id != s.session_id) {
      for (const std::string& retired : s.retired) {
        if (retired == hello.session_id) retired_session = true;
      }
    }
    if (retired_session) {
      ++impl_->counters_.rejected_sessions;
    } else if (hello.session_id != s.session_id) {
      if (!s.session_id.empty()) {
        s.retired.push_back(s.session_id);
        if (s.retired.size() > kRetiredSessions) s.retired.pop_front();
        impl_->log_->info("agent {} ({}) started session {} (previous {} ended at batch {})",
                          c->agent_id, entry->name, hello.session_id, s.session_id, s.last_seq);
      }
      s.session_id = hello.session_id;
      s.last_seq = 0;
      s.established = false;
      impl_->sessions_dirty_ = true;
    }
    ack.last_delivered_seq = s.established ? s.last_seq : 0;
    if (!retired_session) {
      previous = rt.connection;
      if (!previous.valid()) ++impl_->counters_.agents_connected;
      rt.connection = ConnectionRef{index_, c->id};
      rt.peer_address = c->peer_address;
      rt.status = hello.status;
      rt.last_keepalive = NowSeconds();
    }
  }
  if (retired_session) {
    impl_->LogRejection("session:" + c->agent_id,
                        "rejected agent {}: session {} was already replaced by a newer one",
                        c->agent_id, hello.session_id);
    Reject(c, "session " + hello.session_id + " was replaced by a newer one",
           ErrorCode::kSessionRetired);
    return false;
  }
  if (previous.valid() && previous.connection_id != c->id) {
    impl_->PostToLoop(previous.loop, {LoopCommand::Kind::kClose, previous.connection_id,
                                      "replaced by a new connection of the same agent"});
  }
  c->session_id = hello.session_id;
  c->state = ConnState::kAgent;
  impl_->log_->info(
      "agent {} ({}) connected from {}: version {}, host {}, session {}, "
      "resuming after batch {}",
      c->agent_id, c->agent_name, c->peer_address, hello.status.version, hello.status.hostname,
      hello.session_id, ack.last_delivered_seq);
  Send(c, ack);
  FlushResponses(c);
  return !c->closed;
}

bool EventLoop::HandleBatch(Connection* c, EventBatchMessage batch) {
  enum class Verdict { kDeliver, kDuplicate, kGap, kStale } verdict;
  uint64_t last = 0;
  {
    std::lock_guard lock(impl_->mu_);
    AgentRuntime& rt = impl_->agents_[c->agent_id];
    SessionState& s = rt.session;
    last = s.last_seq;
    if (rt.connection.connection_id != c->id || s.session_id != c->session_id) {
      verdict = Verdict::kStale;
    } else if (!s.established || batch.seq == s.last_seq + 1) {
      verdict = Verdict::kDeliver;
    } else if (batch.seq <= s.last_seq) {
      verdict = Verdict::kDuplicate;
      ++rt.duplicate_batches;
      ++impl_->counters_.replayed_batches;
    } else {
      verdict = Verdict::kGap;
      ++impl_->counters_.reordered_batches;
    }
  }
  if (verdict == Verdict::kStale) {
    CloseConnection(c, "replaced by a newer connection");
    return false;
  }
  if (verdict == Verdict::kDuplicate) {
    impl_->LogRejection("replay:" + c->agent_id,
                        "agent {}: dropped batch {} of session {}, already delivered up to {}",
                        c->agent_id, batch.seq, c->session_id, last);
    Send(c, AckMessage{last});
    return true;
  }
  if (verdict == Verdict::kGap) {
    impl_->LogRejection("gap:" + c->agent_id,
                        "agent {}: rejected batch {} of session {}: expected batch {}", c->agent_id,
                        batch.seq, c->session_id, last + 1);
    Reject(c, "batch " + std::to_string(batch.seq) + " is out of order; expected " +
                  std::to_string(last + 1));
    return false;
  }
  if (!DeliverBatch(c, batch)) {
    impl_->Count(&ManagerCounters::callback_refusals);
    c->held_batch = std::move(batch);
    c->reading_paused = true;
    c->retry_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
    UpdateInterest(c);
    return false;
  }
  return true;
}

bool EventLoop::DeliverBatch(Connection* c, const EventBatchMessage& batch) {
  if (impl_->options_.on_events) {
    AgentEventBatch delivered{c->agent_id, c->agent_name, c->agent_address, batch.records};
    if (!impl_->options_.on_events(delivered)) return false;
  }
  {
    std::lock_guard lock(impl_->mu_);
    AgentRuntime& rt = impl_->agents_[c->agent_id];
    rt.session.last_seq = batch.seq;
    rt.session.established = true;
    rt.events_received += batch.records.size();
    ++rt.batches_received;
    ++impl_->counters_.batches_delivered;
    impl_->counters_.events_delivered += batch.records.size();
    impl_->sessions_dirty_ = true;
  }
  Send(c, AckMessage{batch.seq});
  return true;
}

void EventLoop::HandleStatus(Connection* c, const StatusMessage& status) {
  uint64_t last = 0;
  {
    std::lock_guard lock(impl_->mu_);
    AgentRuntime& rt = impl_->agents_[c->agent_id];
    rt.status = status.status;
    rt.last_keepalive = NowSeconds();
    last = rt.session.established ? rt.session.last_seq : 0;
  }
  // The reply tells the agent the link is alive.
  Send(c, AckMessage{last});
}

void EventLoop::HandleResult(Connection* c, const ResponseResultMessage& result) {
  const bool undo = IsUndoOutcome(result.outcome);
  const std::string result_id = ResultId(result);
  std::optional<ResponseRecord> report;
  bool foreign = false;
  {
    std::lock_guard lock(impl_->mu_);
    auto it = impl_->responses_.find(result.response_id);
    foreign = it == impl_->responses_.end() || it->second.agent_id != c->agent_id;
    if (foreign) {
      impl_->LogRejection("result:" + c->agent_id,
                          "agent {} sent a result for response {}, which is not its own",
                          c->agent_id, result.response_id);
    } else {
      ResponseRecord& r = it->second;
      // A result is new when its id was not seen and its record still waits for it.
      const bool waiting = undo ? r.undo_state.empty() : !IsFinishedState(r.state);
      if (!waiting || !impl_->MarkResultSeenLocked(result_id)) {
        ++impl_->counters_.duplicate_results;
      } else if (undo) {
        r.undo_state = result.outcome == ResponseOutcome::kUndone ? "undone" : "failed";
        r.updated_at = NowSeconds();
        report = r;
        report->action = "delete";
        report->state = r.undo_state;
        report->exit_status = result.exit_status;
        report->detail = result.detail;
        report->undo_at_ms = result.undo_at_ms;
      } else {
        r.state = result.outcome == ResponseOutcome::kExecuted  ? "executed"
                  : result.outcome == ResponseOutcome::kSkipped ? "skipped"
                                                                : "failed";
        r.exit_status = result.exit_status;
        r.detail = result.detail;
        r.undo_at_ms = result.undo_at_ms;
        r.updated_at = NowSeconds();
        std::erase(impl_->agents_[c->agent_id].pending_responses, result.response_id);
        ++impl_->counters_.response_results;
        report = r;
      }
    }
  }
  if (foreign) {
    // Acknowledged all the same, so that the agent stops sending it.
    Send(c, ResultAckMessage{result.response_id, undo});
    return;
  }
  if (!report) {
    impl_->log_->debug("agent {}: result {} was already recorded", c->agent_id, result_id);
    Send(c, ResultAckMessage{result.response_id, undo});
    return;
  }
  impl_->log_->info("agent {}: response {} ('{}' {}) {} with exit status {}{}", c->agent_id,
                    report->response_id, report->command, report->action, report->state,
                    report->exit_status, report->detail.empty() ? "" : ": " + report->detail);
  // The result is recorded before the seen id is saved, so a crash in between can repeat a
  // record but never lose one. The ack goes out only once both are written.
  if (impl_->options_.on_response_result) impl_->options_.on_response_result(*report);
  {
    std::lock_guard lock(impl_->mu_);
    Status saved = impl_->SaveResponsesLocked();
    if (!saved.ok()) impl_->log_->error("saving responses failed: {}", saved.ToString());
  }
  Send(c, ResultAckMessage{result.response_id, undo});
}

void EventLoop::FlushResponses(Connection* c) {
  if (c->state != ConnState::kAgent) return;
  std::vector<ResponseCommandMessage> to_send;
  {
    std::lock_guard lock(impl_->mu_);
    auto rt = impl_->agents_.find(c->agent_id);
    if (rt == impl_->agents_.end()) return;
    int64_t now = NowSeconds();
    for (uint64_t id : rt->second.pending_responses) {
      auto it = impl_->responses_.find(id);
      if (it == impl_->responses_.end()) continue;
      ResponseRecord& r = it->second;
      if (r.state == "sent") continue;
      if (r.state != "pending" || r.expires_at <= now) continue;
      r.state = "sent";
      r.updated_at = now;
      ++impl_->counters_.responses_sent;
      // The agent gets what is left of the timeout, so that a block that waited for it ends
      // when it would have ended had the agent been online. Times are whole seconds, so a
      // response sent within a second of its creation keeps its full timeout.
      uint32_t seconds_left = r.timeout_seconds;
      if (seconds_left > 0 && now - r.created_at > 1) {
        seconds_left =
            static_cast<uint32_t>(std::clamp<int64_t>(r.expires_at - now, 1, r.timeout_seconds));
      }
      to_send.push_back({r.response_id, r.command, r.action, r.arguments, seconds_left, r.payload});
    }
  }
  for (const ResponseCommandMessage& m : to_send) Send(c, m);
}

void EventLoop::HandleEnroll(Connection* c, const EnrollRequestMessage& request) {
  Expected<EnrollReplyMessage> reply = impl_->store_->Enroll(request, c->peer_address);
  if (reply.ok()) {
    impl_->Count(&ManagerCounters::enrollments);
    Send(c, *reply);
  } else {
    impl_->Count(&ManagerCounters::enrollments_rejected);
    impl_->LogRejection("enroll:" + c->peer_address, "rejected enrollment from {}: {}",
                        c->peer_address, reply.status().message());
    EnrollReplyMessage failure;
    failure.error = reply.status().message();
    Send(c, failure);
  }
  c->state = ConnState::kClosing;
  if (!c->closed && c->out_offset >= c->out.size()) CloseConnection(c, "");
}

void EventLoop::Send(Connection* c, const Message& message) {
  if (c->out_offset > 0 && c->out_offset == c->out.size()) {
    c->out.clear();
    c->out_offset = 0;
  }
  c->out += EncodeMessage(message);
  if (c->out.size() - c->out_offset > kMaxOutputBytes) {
    impl_->LogRejection("slow:" + c->peer_address,
                        "closing the connection of agent {} at {}: it reads nothing", c->agent_id,
                        c->peer_address);
    CloseConnection(c, "");
    return;
  }
  TryWrite(c);
}

void EventLoop::TryWrite(Connection* c) {
  while (c->out_offset < c->out.size()) {
    ERR_clear_error();
    size_t size = std::min<size_t>(c->out.size() - c->out_offset, 1 << 20);
    int rc = SSL_write(c->ssl.get(), c->out.data() + c->out_offset, static_cast<int>(size));
    if (rc > 0) {
      c->out_offset += static_cast<size_t>(rc);
      continue;
    }
    int error = SSL_get_error(c->ssl.get(), rc);
    if (error == SSL_ERROR_WANT_WRITE || error == SSL_ERROR_WANT_READ) {
      if (!c->want_write) {
        c->want_write = true;
        UpdateInterest(c);
      }
      return;
    }
    DrainOpenSslErrors();
    CloseConnection(c, "");
    return;
  }
  c->out.clear();
  c->out_offset = 0;
  if (c->want_write) {
    c->want_write = false;
    UpdateInterest(c);
  }
  if (c->state == ConnState::kClosing) CloseConnection(c, "");
}

void EventLoop::UpdateInterest(Connection* c) {
  epoll_event ev{};
  ev.events = (c->reading_paused ? 0u : static_cast<uint32_t>(EPOLLIN)) |
              (c->want_write ? static_cast<uint32_t>(EPOLLOUT) : 0u);
  ev.data.u64 = c->id;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev);
}

void EventLoop::Reject(Connection* c, const std::string& message, ErrorCode code) {
  if (c->state == ConnState::kAgent || c->state == ConnState::kAwaitHello ||
      c->state == ConnState::kEnrollOnly) {
    c->state = ConnState::kClosing;
    Send(c, ErrorMessage{message, code});
    if (!c->closed && c->out_offset >= c->out.size()) CloseConnection(c, "");
  } else {
    CloseConnection(c, "");
  }
}

void EventLoop::CloseConnection(Connection* c, const std::string& reason) {
  if (c->closed) return;
  c->closed = true;
  uint64_t id = c->id;
  if (!c->agent_id.empty()) {
    std::lock_guard lock(impl_->mu_);
    auto it = impl_->agents_.find(c->agent_id);
    if (it != impl_->agents_.end() && it->second.connection.connection_id == id) {
      it->second.connection = ConnectionRef{};
      --impl_->counters_.agents_connected;
      // Responses sent on this connection without a result are sent again at reconnect.
      for (uint64_t rid : it->second.pending_responses) {
        auto r = impl_->responses_.find(rid);
        if (r != impl_->responses_.end() && r->second.state == "sent") r->second.state = "pending";
      }
    }
  }
  if (!reason.empty() || c->state == ConnState::kAgent) {
    impl_->log_->info("agent {} ({}) at {} disconnected{}", c->agent_id, c->agent_name,
                      c->peer_address, reason.empty() ? "" : ": " + reason);
  }
  if (c->ssl && c->state != ConnState::kHandshake) SSL_shutdown(c->ssl.get());
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  impl_->Count(&ManagerCounters::connections_active, static_cast<uint64_t>(-1));
  dead_.push_back(id);
}

void EventLoop::DrainCommands() {
  std::vector<LoopCommand> commands;
  {
    std::lock_guard lock(inbox_mu_);
    commands.swap(inbox_);
  }
  for (LoopCommand& command : commands) {
    auto it = connections_.find(command.connection_id);
    if (it == connections_.end()) continue;
    Connection* c = it->second.get();
    if (c->closed) continue;
    if (command.kind == LoopCommand::Kind::kClose) {
      if (c->state == ConnState::kAgent) {
        // Logged here, because Send() may close the connection once the error frame is out.
        impl_->log_->info("agent {} ({}) at {} disconnected: {}", c->agent_id, c->agent_name,
                          c->peer_address, command.reason);
        c->state = ConnState::kClosing;
        Send(c, ErrorMessage{command.reason});
        CloseConnection(c, "");
      } else {
        CloseConnection(c, command.reason);
      }
    } else {
      FlushResponses(c);
    }
  }
}

void EventLoop::Tick() {
  auto now = std::chrono::steady_clock::now();
  if (now < next_tick_) return;
  next_tick_ = now + std::chrono::milliseconds(kTickMs);
  auto handshake_timeout = std::chrono::milliseconds(impl_->options_.handshake_timeout_ms);
  auto idle_timeout = std::chrono::seconds(3 * impl_->options_.keepalive_seconds + 30);
  std::vector<Connection*> expired;
  std::vector<Connection*> retry;
  for (auto& [id, c] : connections_) {
    if (c->closed) continue;
    if (c->state == ConnState::kHandshake || c->state == ConnState::kAwaitHello ||
        c->state == ConnState::kEnrollOnly) {
      if (now - c->created > handshake_timeout) expired.push_back(c.get());
    } else if (now - c->last_rx > idle_timeout) {
      expired.push_back(c.get());
    } else if (c->held_batch && now >= c->retry_at) {
      retry.push_back(c.get());
    }
  }
  for (Connection* c : expired) {
    bool handshake = c->state != ConnState::kAgent;
    if (handshake) impl_->Count(&ManagerCounters::handshake_timeouts);
    impl_->LogRejection("timeout:" + c->peer_address, "closing the connection from {}: {}",
                        c->peer_address,
                        handshake ? "no hello before the handshake timeout"
                                  : "no message for three keepalive intervals");
    CloseConnection(c, "");
  }
  for (Connection* c : retry) {
    if (c->closed) continue;
    if (!DeliverBatch(c, *c->held_batch)) {
      c->retry_at = now + std::chrono::milliseconds(200);
      continue;
    }
    c->held_batch.reset();
    c->reading_paused = false;
    UpdateInterest(c);
    ReadFrames(c);
  }
  if (index_ == 0 && now >= next_housekeeping_) {
    next_housekeeping_ = now + std::chrono::seconds(1);
    impl_->Housekeeping();
  }
}

}  // namespace vigil::transport
