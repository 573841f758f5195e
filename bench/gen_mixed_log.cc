// Writes N generated mixed host log lines (sshd, PAM, sudo, Apache access, kernel firewall)
// to stdout: gen_mixed_log [LINES] [SEED].
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mixed_log.h"

int main(int argc, char** argv) {
  long lines = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 200000;
  unsigned long seed = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 42;
  if (lines <= 0) {
    std::fprintf(stderr, "usage: gen_mixed_log [LINES] [SEED]\n");
    return 2;
  }
  vigil::bench::MixedLogGenerator generator(seed);
  std::string out;
  for (long i = 0; i < lines; ++i) {
    out += generator.Next();
    out += '\n';
    if (out.size() > (1 << 20)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
