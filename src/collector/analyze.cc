#include "collector/analyze.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <nlohmann/json.hpp>

namespace vigil::collector {

Expected<ReaderCounters> FrameStream(int fd, const std::string& log_format,
                                     const std::map<std::string, std::string>& format_options,
                                     const ReaderOptions& options, const RecordCallback& emit) {
  auto created = MakeReader(log_format, format_options, options);
  if (!created.ok()) return created.status();
  std::unique_ptr<RecordReader> reader = std::move(created).value();
  std::vector<char> buffer(1 << 20);
  auto now = [&] {
    return options.clock != nullptr ? options.clock->SteadyNow() : std::chrono::steady_clock::now();
  };
  while (true) {
    // Wait no longer than the next group expiry, so a quiet pipe still ends its groups.
    auto next = reader->NextExpiry();
    if (next != std::chrono::steady_clock::time_point::max()) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now()).count();
      pollfd poll_fd = {fd, POLLIN, 0};
      if (poll(&poll_fd, 1, static_cast<int>(std::max<int64_t>(0, wait) + 1)) == 0) {
        reader->Expire(now(), emit);
        continue;
      }
    }
    ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError(std::string("read failed: ") + std::strerror(errno));
    if (n == 0) break;
    reader->Feed(std::string_view(buffer.data(), static_cast<size_t>(n)), emit);
    reader->Expire(now(), emit);
  }
  reader->Flush(emit);
  return reader->counters();
}

Expected<FramedInput> FrameFile(const std::string& path, const std::string& log_format,
                                const std::map<std::string, std::string>& format_options,
                                ReaderOptions options) {
  int fd = path == "-" ? STDIN_FILENO : open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(path + ": cannot open: " + std::strerror(errno));
  if (options.location.empty()) options.location = path == "-" ? "stdin" : path;
  FramedInput framed;
  auto counters = FrameStream(fd, log_format, format_options, options, [&](Record&& record) {
    framed.records.push_back(std::move(record));
  });
  if (fd != STDIN_FILENO) close(fd);
  if (!counters.ok()) {
    return Status(counters.status().code(), path + ": " + counters.status().message());
  }
  framed.counters = *counters;
  return framed;
}

std::string RecordToJson(const Record& record) {
  // Record text is valid UTF-8 (readers escape anything else), so dump() cannot throw.
  return nlohmann::json(record.text).dump();
}

}  // namespace vigil::collector
