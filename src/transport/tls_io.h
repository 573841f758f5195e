// Helpers that drive OpenSSL over a non-blocking socket with poll(2) and deadlines, for the
// client side (enrollment and the agent). The manager has its own event loop.
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "transport/frame.h"
#include "transport/message.h"
#include "transport/net.h"

namespace vigil::transport {

struct SslDeleter {
  void operator()(SSL* p) const { SSL_free(p); }
};
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

using Deadline = std::chrono::steady_clock::time_point;

// One client TLS connection over a non-blocking socket that it owns.
class TlsClientConnection {
 public:
  TlsClientConnection() = default;
  ~TlsClientConnection();
  TlsClientConnection(const TlsClientConnection&) = delete;
  TlsClientConnection& operator=(const TlsClientConnection&) = delete;

  // Connects to `target` and completes the TLS handshake before `deadline`.
  Status Connect(SSL_CTX* ctx, const HostPort& target, Deadline deadline);

  // Writes all of `data` before `deadline`.
  Status WriteAll(std::string_view data, Deadline deadline);

  // Reads until `decoder` has a complete frame or `deadline` passes, and decodes it.
  Expected<Message> ReadMessage(FrameDecoder* decoder, Deadline deadline);

  // Sends a TLS close_notify (without waiting for the reply) and closes the socket.
  void Close();

  SSL* ssl() const { return ssl_.get(); }
  int fd() const { return fd_; }

 private:
  // Waits for the socket to be readable or writable as OpenSSL's last error `ssl_error`
  // requires. Returns false when the deadline passed.
  bool WaitFor(int ssl_error, Deadline deadline);

  int fd_ = -1;
  SslPtr ssl_;
  std::string peer_;
};

}  // namespace vigil::transport
