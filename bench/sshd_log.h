// A deterministic generator of realistic sshd syslog lines for benchmarks.
#pragma once

#include <cstdint>
#include <string>

namespace vigil::bench {

// Produces the same sequence of lines for the same seed: failed passwords and public keys,
// invalid users, accepted logins, closed and reset connections, PAM failures, with addresses
// from a few hundred hosts, some of them repeat offenders.
class SshdLogGenerator {
 public:
  explicit SshdLogGenerator(uint64_t seed = 42) : state_(seed * 6364136223846793005ULL + 1) {}

  // Returns the next line, without a newline.
  std::string Next();

 private:
  uint64_t Random();
  std::string Address();

  uint64_t state_;
  uint64_t line_ = 0;
};

}  // namespace vigil::bench
