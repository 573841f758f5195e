// The main() of the log generators: writes N lines of a generator to stdout.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

namespace vigil::bench {

// Parses `[LINES] [SEED]` from the command line (defaults 200000 and 42) and writes that many
// lines of `Generator(seed).Next()` to stdout, one per line. Returns the exit status.
template <typename Generator>
int WriteGeneratedLines(int argc, char** argv, const char* program) {
  long lines = argc > 1 ? std::strtol(argv[1], nullptr, 10) : 200000;
  unsigned long seed = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 42;
  if (lines <= 0) {
    std::fprintf(stderr, "usage: %s [LINES] [SEED]\n", program);
    return 2;
  }
  Generator generator(seed);
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

}  // namespace vigil::bench
