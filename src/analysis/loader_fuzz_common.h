// Helpers shared by the rule and decoder loader fuzzers.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "analysis/analyzer.h"
#include "common/clock.h"
#include "common/text.h"

namespace vigil::analysis::fuzz {

// Returns a path in /tmp private to this process, for one input file. The files are removed
// when the process exits normally.
inline std::string ScratchPath(const char* name) {
  struct Cleanup {
    std::vector<std::string> paths;
    ~Cleanup() {
      for (const std::string& path : paths) std::remove(path.c_str());
    }
  };
  static Cleanup cleanup;
  std::string path = "/tmp/vigil-fuzz-" + std::to_string(::getpid()) + "-" + name;
  if (std::find(cleanup.paths.begin(), cleanup.paths.end(), path) == cleanup.paths.end()) {
    cleanup.paths.push_back(path);
  }
  return path;
}

inline void WriteFile(const std::string& path, const uint8_t* data, size_t size) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
}

// Feeds log lines that reach the usual decoder and rule paths through a loaded analyzer.
inline void FeedSamples(Analyzer* analyzer) {
  static const char* kLines[] = {
      "Dec  1 10:00:00 web1 sshd[9]: Failed password for root from 203.0.113.5 port 22 ssh2",
      "Dec  1 10:00:00 web1 app: user=alice src=192.0.2.1 action=deny id=42",
      "2007-06-14T15:48:55-04:00 web1 su: FAILED su for root by alice",
      "10.0.0.1 - - [01/Dec/2023:10:00:00 +0000] \"GET /a?b=1 HTTP/1.1\" 404 10",
  };
  Event event;
  for (const char* line : kLines) analyzer->Process("fuzz", line, &event);
}

}  // namespace vigil::analysis::fuzz
