// Writes N generated mixed host log lines (sshd, PAM, sudo, Apache access, kernel firewall)
// to stdout: gen_mixed_log [LINES] [SEED].
#include "mixed_log.h"
#include "write_lines.h"

int main(int argc, char** argv) {
  return vigil::bench::WriteGeneratedLines<vigil::bench::MixedLogGenerator>(argc, argv,
                                                                            "gen_mixed_log");
}
