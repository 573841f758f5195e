#include "response/socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/file.h"

namespace vigil::response {
namespace {

Expected<sockaddr_un> MakeAddress(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return Status::InvalidArgument("socket path " + path + " is longer than " +
                                   std::to_string(sizeof(address.sun_path) - 1) + " bytes");
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

}  // namespace

std::string ExecqPath(const std::string& state_dir) { return state_dir + "/queue/alerts/execq"; }

DatagramSocket::DatagramSocket(DatagramSocket&& other) noexcept
    : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
  other.path_.clear();
}

DatagramSocket& DatagramSocket::operator=(DatagramSocket&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
    other.path_.clear();
  }
  return *this;
}

DatagramSocket::~DatagramSocket() { Close(); }

void DatagramSocket::Close() {
  if (fd_ >= 0) ::close(fd_);
  if (!path_.empty()) ::unlink(path_.c_str());
  fd_ = -1;
  path_.clear();
}

Expected<DatagramSocket> DatagramSocket::Bind(const std::string& path, int mode) {
  auto address = MakeAddress(path);
  if (!address.ok()) return address.status();
  VIGIL_RETURN_IF_ERROR(MakeDirectories(DirName(path), 0750));
  DatagramSocket socket;
  socket.fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (socket.fd_ < 0) {
    return Status::IoError(std::string("cannot create a socket: ") + std::strerror(errno));
  }
  struct stat info;
  if (::lstat(path.c_str(), &info) == 0) {
    if (!S_ISSOCK(info.st_mode)) {
      return Status::AlreadyExists(path + " exists and is not a socket; remove it");
    }
    ::unlink(path.c_str());
  }
  if (::bind(socket.fd_, reinterpret_cast<const sockaddr*>(&*address), sizeof(*address)) != 0) {
    return Status::IoError("cannot bind " + path + ": " + std::strerror(errno));
  }
  socket.path_ = path;
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
  return socket;
}

Expected<DatagramSocket> DatagramSocket::Unbound() {
  DatagramSocket socket;
  socket.fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (socket.fd_ < 0) {
    return Status::IoError(std::string("cannot create a socket: ") + std::strerror(errno));
  }
  return socket;
}

Status DatagramSocket::SendTo(const std::string& path, std::string_view payload,
                              std::string_view unreachable_hint) const {
  auto address = MakeAddress(path);
  if (!address.ok()) return address.status();
  const ssize_t sent = ::sendto(fd_, payload.data(), payload.size(), MSG_NOSIGNAL,
                                reinterpret_cast<const sockaddr*>(&*address), sizeof(*address));
  if (sent < 0) {
    std::string hint(errno == ENOENT || errno == ECONNREFUSED ? unreachable_hint : "");
    return Status::IoError("cannot send to " + path + ": " + std::strerror(errno) + hint);
  }
  return Status::Ok();
}

Status DatagramSocket::Receive(std::string* payload, std::string* sender, size_t max_bytes,
                               std::chrono::milliseconds timeout) const {
  pollfd fds{fd_, POLLIN, 0};
  const int ready = ::poll(&fds, 1, static_cast<int>(timeout.count()));
  if (ready == 0)
    return Status::TimedOut("no datagram within " + std::to_string(timeout.count()) + " ms");
  if (ready < 0) return Status::IoError(std::string("poll failed: ") + std::strerror(errno));
  payload->resize(max_bytes + 1);
  sockaddr_un from{};
  socklen_t from_length = sizeof(from);
  const ssize_t n = ::recvfrom(fd_, payload->data(), payload->size(), MSG_TRUNC,
                               reinterpret_cast<sockaddr*>(&from), &from_length);
  if (n < 0) return Status::IoError(std::string("recvfrom failed: ") + std::strerror(errno));
  sender->clear();
  if (from_length > offsetof(sockaddr_un, sun_path) && from.sun_path[0] != '\0') {
    sender->assign(from.sun_path, strnlen(from.sun_path, sizeof(from.sun_path)));
  }
  if (static_cast<size_t>(n) > max_bytes) {
    payload->clear();
    return Status::ResourceExhausted("datagram of " + std::to_string(n) +
                                     " bytes is longer than the maximum " +
                                     std::to_string(max_bytes));
  }
  payload->resize(static_cast<size_t>(n));
  return Status::Ok();
}

}  // namespace vigil::response
