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

// One version of a file, to notice that another process replaced it. File times on Linux can
// be as coarse as a few milliseconds, but WriteSecretFile() renames a new file into place, so a
// rewrite within one tick still changes the inode (or the size, when the inode is reused).
struct FileStamp {
  int64_t mtime_ns = -1;  // -1: the file does not exist
  uint64_t inode = 0;
  int64_t size = -1;
  bool operator==(const FileStamp&) const = default;
};
FileStamp GetFileStamp(const std::string& path);

// Returns `bytes` random bytes from OpenSSL's CSPRNG as lower-case hex.
std::string RandomHex(size_t bytes);

// Returns the lower-case hex SHA-256 of `data`.
std::string Sha256Hex(std::string_view data);

// Compares two strings in time that depends only on their lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace vigil::transport
