// Small helpers for the transport's state files: 0600 JSON files replaced atomically, an
// inter-process lock, random identifiers and digests.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vigil::transport {

// Holds an exclusive flock(2) on `path` (created 0600) for its lifetime.
class FileLock {
 public:
  explicit FileLock(const std::string& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Writes `content` atomically with mode 0600.
Status WriteSecretFile(const std::string& path, std::string_view content);

// Creates `path` and its parents; the last folder gets mode 0700.
Status MakePrivateDirectory(const std::string& path);

// Returns the file's modification time in nanoseconds, or -1 when it does not exist.
int64_t FileMtimeNs(const std::string& path);

// Returns `bytes` random bytes from OpenSSL's CSPRNG as lower-case hex.
std::string RandomHex(size_t bytes);

// Returns the lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Compares two strings in time that depends only on their lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace vigil::transport
