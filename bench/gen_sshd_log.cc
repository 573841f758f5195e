// Writes N generated sshd syslog lines to stdout: gen_sshd_log [LINES] [SEED].
#include "sshd_log.h"
#include "write_lines.h"

int main(int argc, char** argv) {
  return vigil::bench::WriteGeneratedLines<vigil::bench::SshdLogGenerator>(argc, argv,
                                                                           "gen_sshd_log");
}
