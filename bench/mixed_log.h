// A deterministic generator of a mixed host log for benchmarks: sshd, PAM, sudo, Apache
// access and kernel firewall lines, interleaved as a busy server writes them.
#pragma once

#include <cstdint>
#include <string>

#include "sshd_log.h"

namespace vigil::bench {

// Produces the same sequence of lines for the same seed. About a third of the lines are
// sshd (from SshdLogGenerator), a quarter Apache access records, and the rest PAM, sudo and
// iptables lines from the kernel.
class MixedLogGenerator {
 public:
  explicit MixedLogGenerator(uint64_t seed = 42)
      : sshd_(seed), state_(seed * 2862933555777941757ULL + 3037000493ULL) {}

  // Returns the next line, without a newline.
  std::string Next();

 private:
  uint64_t Random();
  std::string Header(const char* program, unsigned pid);

  SshdLogGenerator sshd_;
  uint64_t state_;
  uint64_t line_ = 0;
};

}  // namespace vigil::bench
