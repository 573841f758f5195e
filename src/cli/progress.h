// A progress bar for long inputs, drawn on a terminal.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace vigil::cli {

// Draws "name [=====>    ] 42%  120 MB/s" on one terminal line, at most ten times a second,
// and only for files of at least kMinBytes. Not thread-safe.
class Progress {
 public:
  static constexpr uint64_t kMinBytes = 8 << 20;

  explicit Progress(FILE* out) : out_(out) {}

  void StartFile(const std::string& name, int64_t size_bytes);
  void Advance(uint64_t bytes);
  void FinishFile();
  // Erases the bar so that later output starts on a clean line.
  void Clear();

 private:
  void Draw(bool force);

  FILE* out_;
  std::string name_;
  uint64_t total_ = 0;
  uint64_t done_ = 0;
  bool active_ = false;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace vigil::cli
