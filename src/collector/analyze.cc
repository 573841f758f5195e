#include "collector/analyze.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

namespace vigil::collector {

void WaitForInput(int fd, RecordReader* reader, std::chrono::steady_clock::time_point last_data,
                  const RecordCallback& emit, const std::function<void()>& after_emit,
                  const Clock* clock) {
  using SteadyClock = std::chrono::steady_clock;
  auto now = [&] { return clock != nullptr ? clock->SteadyNow() : SteadyClock::now(); };
  while (true) {
    SteadyClock::time_point deadline = reader->NextExpiry();
    if (reader->HasPending()) deadline = std::min(deadline, last_data + reader->flush_timeout());
    // With nothing timed, read() may block until input comes.
    if (deadline == SteadyClock::time_point::max()) return;
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(deadline - now()).count();
    pollfd ready{fd, POLLIN, 0};
    if (::poll(&ready, 1, static_cast<int>(std::clamp<int64_t>(wait, 0, 60'000))) != 0) return;
    SteadyClock::time_point at = now();
    reader->Expire(at, emit);
    if (reader->HasPending() && at - last_data >= reader->flush_timeout()) reader->Flush(emit);
    if (after_emit) after_emit();
  }
}

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
  auto last_data = now();
  while (true) {
    WaitForInput(fd, reader.get(), last_data, emit, nullptr, options.clock);
    ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError(std::string("read failed: ") + std::strerror(errno));
    if (n == 0) break;
    reader->Feed(std::string_view(buffer.data(), static_cast<size_t>(n)), emit);
    last_data = now();
    reader->Expire(last_data, emit);
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
