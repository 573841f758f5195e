#include "cli/progress.h"

#include <fmt/format.h>

namespace vigil::cli {

void Progress::StartFile(const std::string& name, int64_t size_bytes) {
  name_ = name;
  total_ = size_bytes > 0 ? static_cast<uint64_t>(size_bytes) : 0;
  done_ = 0;
  active_ = total_ >= kMinBytes;
  started_ = std::chrono::steady_clock::now();
  last_draw_ = {};
}

void Progress::Advance(uint64_t bytes) {
  done_ += bytes;
  if (active_) Draw(false);
}

void Progress::FinishFile() {
  if (active_) Draw(true);
  active_ = false;
}

void Progress::Clear() {
  if (drawn_) {
    std::fputs("\r\033[K", out_);
    std::fflush(out_);
    drawn_ = false;
  }
}

void Progress::Draw(bool force) {
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  constexpr int kWidth = 30;
  double fraction = total_ > 0 ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  if (fraction > 1.0) fraction = 1.0;
  int filled = static_cast<int>(fraction * kWidth);
  std::string bar(static_cast<size_t>(filled), '=');
  if (filled < kWidth) bar += '>';
  bar.resize(kWidth, ' ');
  double seconds = std::chrono::duration<double>(now - started_).count();
  double rate = seconds > 0 ? static_cast<double>(done_) / seconds / 1e6 : 0.0;
  std::string name = name_.size() > 40 ? "..." + name_.substr(name_.size() - 37) : name_;
  std::fputs(
      fmt::format("\r\033[K{} [{}] {:3.0f}%  {:.0f} MB/s", name, bar, fraction * 100, rate).c_str(),
      out_);
  std::fflush(out_);
  drawn_ = true;
}

}  // namespace vigil::cli
