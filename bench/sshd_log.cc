#include "sshd_log.h"

#include <cstdio>

namespace vigil::bench {
namespace {

constexpr const char* kUsers[] = {"root",     "admin", "oracle", "test",   "git",   "ubuntu",
                                  "postgres", "pi",    "user",   "deploy", "alice", "bob"};
constexpr const char* kHosts[] = {"web1", "web2", "db1", "bastion"};

}  // namespace

uint64_t SshdLogGenerator::Random() {
  state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
  return state_ >> 33;
}

std::string SshdLogGenerator::Address() {
  uint64_t r = Random();
  char buffer[32];
  if (r % 10 < 6) {
    // A small set of busy attackers.
    std::snprintf(buffer, sizeof buffer, "203.0.113.%u", static_cast<unsigned>(r % 8 + 1));
  } else {
    std::snprintf(buffer, sizeof buffer, "198.51.%u.%u", static_cast<unsigned>((r >> 8) % 200),
                  static_cast<unsigned>((r >> 16) % 250 + 1));
  }
  return buffer;
}

std::string SshdLogGenerator::Next() {
  uint64_t r = Random();
  uint64_t n = line_++;
  unsigned second = static_cast<unsigned>(n % 60);
  unsigned minute = static_cast<unsigned>((n / 60) % 60);
  unsigned hour = static_cast<unsigned>((n / 3600) % 24);
  unsigned pid = static_cast<unsigned>(1000 + r % 60000);
  unsigned port = static_cast<unsigned>(1024 + (r >> 20) % 60000);
  const char* user = kUsers[(r >> 12) % (sizeof kUsers / sizeof *kUsers)];
  const char* host = kHosts[(r >> 4) % (sizeof kHosts / sizeof *kHosts)];
  std::string address = Address();
  char header[64];
  std::snprintf(header, sizeof header, "Dec %2u %02u:%02u:%02u %s sshd[%u]: ", 1 + hour % 28, hour,
                minute, second, host, pid);
  char body[256];
  switch (r % 20) {
    case 0 ... 6:
      std::snprintf(body, sizeof body, "Failed password for %s from %s port %u ssh2", user,
                    address.c_str(), port);
      break;
    case 7 ... 9:
      std::snprintf(body, sizeof body, "Failed password for invalid user %s from %s port %u ssh2",
                    user, address.c_str(), port);
      break;
    case 10 ... 11:
      std::snprintf(body, sizeof body, "Invalid user %s from %s port %u", user, address.c_str(),
                    port);
      break;
    case 12:
      std::snprintf(body, sizeof body, "Accepted publickey for %s from %s port %u ssh2", user,
                    address.c_str(), port);
      break;
    case 13:
      std::snprintf(body, sizeof body,
                    "Connection closed by authenticating user %s %s port %u [preauth]", user,
                    address.c_str(), port);
      break;
    case 14:
      std::snprintf(body, sizeof body, "Received disconnect from %s port %u:11: Bye Bye [preauth]",
                    address.c_str(), port);
      break;
    case 15:
      std::snprintf(body, sizeof body,
                    "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh "
                    "ruser= rhost=%s  user=%s",
                    address.c_str(), user);
      break;
    case 16:
      std::snprintf(body, sizeof body, "Connection reset by %s port %u [preauth]", address.c_str(),
                    port);
      break;
    case 17:
      std::snprintf(body, sizeof body, "Disconnected from user %s %s port %u", user,
                    address.c_str(), port);
      break;
    case 18:
      std::snprintf(body, sizeof body,
                    "pam_unix(sshd:session): session opened for user %s(uid=1000) by (uid=0)",
                    user);
      break;
    default:
      std::snprintf(body, sizeof body,
                    "error: maximum authentication attempts exceeded for %s from %s port %u ssh2 "
                    "[preauth]",
                    user, address.c_str(), port);
      break;
  }
  return std::string(header) + body;
}

}  // namespace vigil::bench
