#include "mixed_log.h"

#include <cstdio>

namespace vigil::bench {
namespace {

constexpr const char* kUsers[] = {"root", "alice", "bob", "deploy", "www-data", "backup"};
constexpr const char* kPaths[] = {"/",
                                  "/index.html",
                                  "/login.php",
                                  "/wp-login.php",
                                  "/images/logo.png",
                                  "/api/v1/items?id=42",
                                  "/admin/",
                                  "/search?q=../../etc/passwd",
                                  "/favicon.ico",
                                  "/robots.txt"};
constexpr unsigned kStatuses[] = {200, 200, 200, 304, 404, 404, 403, 500};
constexpr const char* kCommands[] = {"/usr/bin/apt update", "/bin/systemctl restart nginx",
                                     "/usr/bin/tail /var/log/syslog", "/bin/bash"};

template <size_t N>
const char* Pick(const char* const (&items)[N], uint64_t r) {
  return items[r % N];
}

}  // namespace

uint64_t MixedLogGenerator::Random() {
  state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
  return state_ >> 33;
}

std::string MixedLogGenerator::Header(const char* program, unsigned pid) {
  uint64_t n = line_;
  char header[96];
  if (pid == 0) {
    std::snprintf(header, sizeof header,
                  "Dec %2u %02u:%02u:%02u web1 %s: ", static_cast<unsigned>(1 + (n / 86400) % 28),
                  static_cast<unsigned>(n / 3600 % 24), static_cast<unsigned>(n / 60 % 60),
                  static_cast<unsigned>(n % 60), program);
  } else {
    std::snprintf(header, sizeof header, "Dec %2u %02u:%02u:%02u web1 %s[%u]: ",
                  static_cast<unsigned>(1 + (n / 86400) % 28), static_cast<unsigned>(n / 3600 % 24),
                  static_cast<unsigned>(n / 60 % 60), static_cast<unsigned>(n % 60), program, pid);
  }
  return header;
}

std::string MixedLogGenerator::Next() {
  uint64_t r = Random();
  ++line_;
  unsigned kind = static_cast<unsigned>(r % 100);
  unsigned a = static_cast<unsigned>((r >> 8) % 250 + 1);
  unsigned b = static_cast<unsigned>((r >> 16) % 250 + 1);
  unsigned pid = static_cast<unsigned>(1000 + (r >> 24) % 60000);
  const char* user = Pick(kUsers, r >> 11);
  char body[512];
  if (kind < 35) return sshd_.Next();
  if (kind < 60) {
    // Apache combined log format, read by the web-accesslog decoder.
    std::snprintf(body, sizeof body,
                  "192.0.%u.%u - - [01/Dec/2023:10:%02u:%02u +0000] \"GET %s HTTP/1.1\" %u %u "
                  "\"-\" \"Mozilla/5.0 (X11; Linux x86_64)\"",
                  a % 4, b, static_cast<unsigned>(line_ / 60 % 60),
                  static_cast<unsigned>(line_ % 60), Pick(kPaths, r >> 5),
                  kStatuses[(r >> 13) % (sizeof kStatuses / sizeof *kStatuses)],
                  static_cast<unsigned>(200 + (r >> 20) % 9000));
    return body;
  }
  if (kind < 75) {
    std::snprintf(body, sizeof body,
                  "[%u.%06u] IN=eth0 OUT= MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 "
                  "SRC=198.51.100.%u DST=10.0.0.5 LEN=60 TOS=0x00 PREC=0x00 TTL=52 ID=%u DF "
                  "PROTO=TCP SPT=%u DPT=%u WINDOW=29200 RES=0x00 SYN URGP=0",
                  static_cast<unsigned>(line_ % 100000), pid, a, pid, 1024 + pid,
                  (r >> 3) % 2 == 0 ? 22u : 3306u);
    return Header("kernel", 0) + body;
  }
  if (kind < 88) {
    switch ((r >> 7) % 3) {
      case 0:
        std::snprintf(body, sizeof body,
                      "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 "
                      "tty=ssh ruser= rhost=198.51.100.%u  user=%s",
                      a, user);
        return Header("sshd", pid) + body;
      case 1:
        std::snprintf(body, sizeof body,
                      "pam_unix(cron:session): session opened for user %s by (uid=0)", user);
        return Header("CRON", pid) + body;
      default:
        std::snprintf(body, sizeof body, "pam_unix(su:session): session closed for user %s", user);
        return Header("su", pid) + body;
    }
  }
  if ((r >> 9) % 4 == 0) {
    std::snprintf(body, sizeof body,
                  "%8s : 3 incorrect password attempts ; TTY=pts/%u ; PWD=/home/%s ; USER=root "
                  "; COMMAND=%s",
                  user, a % 8, user, Pick(kCommands, r >> 17));
  } else {
    std::snprintf(body, sizeof body, "%8s : TTY=pts/%u ; PWD=/home/%s ; USER=root ; COMMAND=%s",
                  user, a % 8, user, Pick(kCommands, r >> 17));
  }
  return Header("sudo", 0) + body;
}

}  // namespace vigil::bench
