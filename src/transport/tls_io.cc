#include "transport/tls_io.h"

#include <openssl/err.h>
#include <poll.h>
#include <unistd.h>

#include "transport/tls.h"

namespace vigil::transport {

TlsClientConnection::~TlsClientConnection() { Close(); }

void TlsClientConnection::Close() {
  if (ssl_) {
    SSL_shutdown(ssl_.get());
    ssl_.reset();
  }
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
}

bool TlsClientConnection::WaitFor(int ssl_error, Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0) return false;
  pollfd pfd{fd_, static_cast<short>(ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN), 0};
  return poll(&pfd, 1, static_cast<int>(left.count())) > 0;
}

Status TlsClientConnection::Connect(SSL_CTX* ctx, const HostPort& target, Deadline deadline) {
  Close();
  peer_ = target.host + ":" + std::to_string(target.port);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  Expected<int> fd = ConnectTcp(target, std::max(left, std::chrono::milliseconds(1)));
  if (!fd.ok()) return fd.status();
  fd_ = *fd;
  ssl_.reset(SSL_new(ctx));
  if (!ssl_) return Status::Internal("SSL_new failed: " + DrainOpenSslErrors());
  SSL_set_fd(ssl_.get(), fd_);
  for (;;) {
    ERR_clear_error();
    int rc = SSL_connect(ssl_.get());
    if (rc == 1) return Status::Ok();
    int error = SSL_get_error(ssl_.get(), rc);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
      std::string detail = DrainOpenSslErrors();
      long verify = SSL_get_verify_result(ssl_.get());
      if (verify != X509_V_OK) {
        detail += std::string(detail.empty() ? "" : "; ") +
                  "certificate verification: " + X509_verify_cert_error_string(verify);
      }
      return Status::PermissionDenied("TLS handshake with " + peer_ + " failed: " +
                                      (detail.empty() ? "connection closed" : detail));
    }
    if (!WaitFor(error, deadline)) {
      return Status::TimedOut("TLS handshake with " + peer_ + " timed out");
    }
  }
}

Status TlsClientConnection::WriteAll(std::string_view data, Deadline deadline) {
  while (!data.empty()) {
    ERR_clear_error();
    int rc = SSL_write(ssl_.get(), data.data(), static_cast<int>(data.size()));
    if (rc > 0) {
      data.remove_prefix(static_cast<size_t>(rc));
      continue;
    }
    int error = SSL_get_error(ssl_.get(), rc);
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
      return Status::IoError("writing to " + peer_ + " failed: " + DrainOpenSslErrors());
    }
    if (!WaitFor(error, deadline)) return Status::TimedOut("writing to " + peer_ + " timed out");
  }
  return Status::Ok();
}

Expected<Message> TlsClientConnection::ReadMessage(FrameDecoder* decoder, Deadline deadline) {
  char buf[16384];
  for (;;) {
    Frame frame;
    FrameDecoder::Result result = decoder->Next(&frame);
    if (result == FrameDecoder::Result::kFrame) return DecodeFrame(frame);
    if (result == FrameDecoder::Result::kError) return decoder->error();
    ERR_clear_error();
    int rc = SSL_read(ssl_.get(), buf, sizeof(buf));
    if (rc > 0) {
      decoder->Append(std::string_view(buf, static_cast<size_t>(rc)));
      continue;
    }
    int error = SSL_get_error(ssl_.get(), rc);
    if (error == SSL_ERROR_ZERO_RETURN) {
      return Status::IoError(peer_ + " closed the connection");
    }
    if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
      std::string detail = DrainOpenSslErrors();
      return Status::IoError("reading from " + peer_ +
                             " failed: " + (detail.empty() ? "connection closed" : detail));
    }
    if (!WaitFor(error, deadline)) return Status::TimedOut("reading from " + peer_ + " timed out");
  }
}

}  // namespace vigil::transport
