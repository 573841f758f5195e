// Read positions of followed files, saved so that a restart resumes where the last run
// stopped.
#pragma once

#include <sys/types.h>
#include <time.h>

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

// A file identified by device, inode and its first bytes, because a deleted file's inode can
// be given to a new file.
struct KnownFile {
  // Fingerprint of the first min(size, kFingerprintBytes) bytes when recorded.
  Fingerprint fingerprint;
  // False for entries loaded from positions files before v3, which have the inode only.
  bool fingerprint_known = true;
  uint64_t offset = 0;    // for a closed file, the offset where reading stopped
  timespec born = {};     // creation time where known; not saved
  uint64_t sequence = 0;  // order of AddClosed() calls, to drop the oldest closed files
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
  const std::map<Key, KnownFile>& listed() const { return listed_; }
  bool listed_loaded() const { return listed_loaded_; }
  void set_listed(std::map<Key, KnownFile> listed) {
    listed_ = std::move(listed);
    listed_loaded_ = true;
  }
  void AddListed(const Key& key, const KnownFile& file) { listed_[key] = file; }

  // Files read to their end and closed, the latest kMaxClosed of them, so that a closed file
  // that a scan missed under one rotated name is not read again under the next one.
  static constexpr size_t kMaxClosed = 1024;
  const std::map<Key, KnownFile>& closed() const { return closed_; }
  void AddClosed(const Key& key, const KnownFile& file);
  void EraseClosed(const Key& key) { closed_.erase(key); }

 private:
  std::string path_;
  std::map<Key, FilePosition> positions_;
  std::string checkpoint_;
  std::map<Key, KnownFile> listed_;
  bool listed_loaded_ = false;
  std::map<Key, KnownFile> closed_;
  uint64_t closed_sequence_ = 0;
};

}  // namespace vigil::collector
