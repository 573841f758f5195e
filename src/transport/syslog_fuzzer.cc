// Feeds arbitrary bytes to the TCP syslog line splitter in two chunks, and each line to the
// framing stripper. Every emitted line must be within the maximum and contain no newline.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "transport/syslog_server.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::transport;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t split = size == 0 ? 0 : data[0] % (size + 1);
  constexpr size_t kMax = 64;
  SyslogLineSplitter splitter(kMax);
  size_t emitted_bytes = 0;
  auto check = [&](std::string_view line, bool truncated) {
    if (line.size() > kMax || line.find('\n') != std::string_view::npos) abort();
    if (truncated && line.size() != kMax) abort();
    emitted_bytes += line.size();
    std::string_view stripped = StripSyslogFraming(line);
    if (stripped.size() > line.size()) abort();
  };
  splitter.Append(input.substr(0, split), check);
  splitter.Append(input.substr(split), check);
  splitter.Finish(check);
  if (emitted_bytes > size || splitter.buffered() != 0) abort();
  return 0;
}
