// Read positions of followed files, saved so that a restart resumes where the last run
// stopped.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace vigil::collector {

// Identity of a file's first bytes: the length hashed and an FNV-1a hash of them. A file whose
// first bytes changed is a new file even when it kept its inode.
struct Fingerprint {
  uint64_t length = 0;  // bytes hashed, at most kFingerprintBytes
  uint64_t hash = 0;

  static constexpr uint64_t kFingerprintBytes = 512;
  bool operator==(const Fingerprint&) const = default;
};

// Computes the fingerprint of `bytes` (the first min(size, kFingerprintBytes) bytes of a file).
Fingerprint ComputeFingerprint(std::string_view bytes);

// Reads the fingerprint of the first `length` bytes of an open file. Returns false when the
// file is shorter or cannot be read.
bool ReadFingerprint(int fd, uint64_t length, Fingerprint* fingerprint);

// Reads the fingerprint of the min(offset, kFingerprintBytes) bytes just before `offset` of an
// open file. Returns false when the file is shorter or cannot be read.
bool ReadFingerprintBefore(int fd, uint64_t offset, Fingerprint* fingerprint);

struct FilePosition {
  dev_t device = 0;
  ino_t inode = 0;
  uint64_t offset = 0;  // resume offset: the end of the last record emitted in full
  Fingerprint fingerprint;
  // Fingerprint of the bytes just before `offset`, so a file rewritten with the same first
  // bytes is not taken for the same file. Zero length when unknown (v1 files).
  Fingerprint before_offset;
  // Records a grouping reader had emitted past `offset` (see ReplayMark).
  uint64_t replay_end = 0;
  std::vector<uint64_t> open_starts;
  std::string path;  // the name the file had when saved
};

// The set of saved positions, keyed by device and inode. Not thread-safe.
class PositionStore {
 public:
  using Key = std::pair<dev_t, ino_t>;

  // Uses `path` as the state file; an empty path keeps positions in memory only.
  explicit PositionStore(std::string path) : path_(std::move(path)) {}

  // Loads the state file. A missing file is an empty store. A malformed line is skipped and
  // described in `warnings`, and the rest still loads.
  Status Load(std::vector<std::string>* warnings);

  // Replaces the file atomically with the current positions.
  Status Save() const;

  const FilePosition* Find(dev_t device, ino_t inode) const;
  void Set(const FilePosition& position);
  void Erase(dev_t device, ino_t inode);
  const std::map<Key, FilePosition>& all() const { return positions_; }
  const std::string& path() const { return path_; }

  // Text saved with the positions, in the same atomic write: the consumer's own mark of what
  // it had written when the positions were taken (see FollowerOptions::checkpoint). One line,
  // so a newline in it is replaced by a space.
  const std::string& checkpoint() const { return checkpoint_; }
  void set_checkpoint(std::string checkpoint);

  // Files with a rotated name (`app.log.1`) beside the locations at the last scan. A file
  // found there later that is not listed was created and rotated between two scans.
  // listed_loaded() is false until a scan or the state file set the list.
  const std::set<Key>& listed() const { return listed_; }
  bool listed_loaded() const { return listed_loaded_; }
  void set_listed(std::set<Key> listed) {
    listed_ = std::move(listed);
    listed_loaded_ = true;
  }

 private:
  std::string path_;
  std::map<Key, FilePosition> positions_;
  std::string checkpoint_;
  std::set<Key> listed_;
  bool listed_loaded_ = false;
};

}  // namespace vigil::collector
