#include "collector/queue_socket.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "common/logging.h"
#include "common/text.h"

namespace vigil::collector {

bool ParseQueueMessage(std::string_view datagram, size_t max_bytes, Record* record,
                       uint64_t* escaped_bytes) {
  while (!datagram.empty() && datagram.back() == '\0') datagram.remove_suffix(1);
  if (datagram.size() < 2 || datagram[1] != ':') return false;
  char queue = datagram[0];
  std::string_view rest = datagram.substr(2);
  size_t search_from = 0;
  if (rest.starts_with('(')) {
    size_t arrow = rest.find("->");
    if (arrow != std::string_view::npos) search_from = arrow + 2;
  }
  size_t colon = rest.find(':', search_from);
  if (colon == std::string_view::npos) return false;
  record->queue = queue;
  record->location.assign(rest.substr(0, colon));
  std::string_view message = rest.substr(colon + 1);
  record->truncated = message.size() > max_bytes;
  record->text.assign(message.substr(0, max_bytes));
  SanitizeCounts counts;
  SanitizeText(&record->text, &counts);
  SanitizeText(&record->location, &counts);
  // A line break in a datagram would otherwise start a forged block in alerts.log.
  uint64_t controls = EscapeControlCharacters(&record->text);
  controls += EscapeControlCharacters(&record->location);
  *escaped_bytes += counts.nul_bytes + counts.invalid_bytes + controls;
  record->end_offset = 0;
  return true;
}

Expected<std::unique_ptr<QueueSocket>> QueueSocket::Bind(const std::string& path,
                                                         size_t max_record_bytes) {
  sockaddr_un address = {};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return Status::InvalidArgument("queue socket path '" + path + "' is longer than " +
                                   std::to_string(sizeof(address.sun_path) - 1) + " bytes");
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return Status::IoError("queue socket: socket failed: " + std::string(strerror(errno)));
  struct stat st = {};
  if (lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    int error = errno;
    close(fd);
    return Status::IoError("queue socket " + path + ": bind failed: " + strerror(error));
  }
  chmod(path.c_str(), 0660);
  // OSSEC sets at least 6656 bytes. A larger buffer absorbs bursts from scripts.
  int size = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  GetLogger("collector")->info("listening for events on the queue socket {}", path);
  return std::unique_ptr<QueueSocket>(new QueueSocket(fd, path, max_record_bytes));
}

QueueSocket::~QueueSocket() {
  close(fd_);
  unlink(path_.c_str());
}

void QueueSocket::Receive(const RecordCallback& emit) {
  static RepeatLimiter limiter;
  std::vector<char> buffer(max_record_bytes_ + 4096);
  while (true) {
    ssize_t n = recv(fd_, buffer.data(), buffer.size(), MSG_TRUNC);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // EAGAIN: nothing more waiting
    size_t length = std::min(static_cast<size_t>(n), buffer.size());
    counters_.bytes_read += length;
    ++counters_.reader.lines;
    Record record;
    if (!ParseQueueMessage(std::string_view(buffer.data(), length), max_record_bytes_, &record,
                           &counters_.reader.escaped_bytes)) {
      ++counters_.reader.format_errors;
      uint64_t suppressed = 0;
      if (limiter.ShouldLog("queue", &suppressed)) {
        GetLogger("collector")
            ->warn(
                "{}: datagram without '<queue>:<location>:' dropped ({} more since the last "
                "report)",
                path_, suppressed);
      }
      continue;
    }
    if (static_cast<size_t>(n) > buffer.size()) record.truncated = true;
    if (record.truncated) ++counters_.reader.truncated;
    ++counters_.reader.records;
    emit(std::move(record));
  }
}

}  // namespace vigil::collector
