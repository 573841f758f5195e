#include "collector/positions.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "common/file.h"

namespace vigil::collector {
namespace {

// v2 adds the fingerprint of the bytes before the offset and the replay mark. v3 replaces the
// `@listed` line of <device> <inode> pairs with `@rotated` and `@closed` lines that add each
// file's fingerprint. v1 and v2 files still load.
constexpr std::string_view kHeader = "# vigil collector positions v3";
constexpr std::string_view kCheckpointPrefix = "@checkpoint ";
constexpr std::string_view kListedPrefix = "@listed";
constexpr std::string_view kRotatedPrefix = "@rotated";
constexpr std::string_view kClosedPrefix = "@closed";

// Parses the entries of a `@rotated` line (<device> <inode> <length> <hash> each) or of a
// `@closed` line (the same, then <offset>). Returns false on a malformed entry.
bool ParseKnownFiles(std::string_view text, bool with_offset,
                     std::vector<std::pair<PositionStore::Key, KnownFile>>* files) {
  std::istringstream fields{std::string(text)};
  unsigned long long device = 0, inode = 0;
  while (fields >> device) {
    KnownFile file;
    fields >> inode >> file.fingerprint.length >> file.fingerprint.hash;
    if (with_offset) fields >> file.offset;
    if (!fields || file.fingerprint.length > Fingerprint::kFingerprintBytes) return false;
    // Length 0 with hash 0 marks an entry whose first bytes are unknown, because the FNV-1a
    // hash of no bytes is the offset basis, not 0.
    file.fingerprint_known = file.fingerprint.length != 0 || file.fingerprint.hash != 0;
    files->push_back({{static_cast<dev_t>(device), static_cast<ino_t>(inode)}, file});
  }
  return fields.eof();
}

void AppendKnownFile(const PositionStore::Key& key, const KnownFile& file, bool with_offset,
                     std::string* out) {
  Fingerprint print = file.fingerprint_known ? file.fingerprint : Fingerprint();
  *out += ' ' + std::to_string(static_cast<unsigned long long>(key.first)) + ' ' +
          std::to_string(static_cast<unsigned long long>(key.second)) + ' ' +
          std::to_string(print.length) + ' ' + std::to_string(print.hash);
  if (with_offset) *out += ' ' + std::to_string(file.offset);
}

}  // namespace

Fingerprint ComputeFingerprint(std::string_view bytes) {
  if (bytes.size() > Fingerprint::kFingerprintBytes) {
    bytes = bytes.substr(0, Fingerprint::kFingerprintBytes);
  }
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return Fingerprint{bytes.size(), hash};
}

bool ReadFingerprint(int fd, uint64_t length, Fingerprint* fingerprint) {
  char buffer[Fingerprint::kFingerprintBytes];
  if (length > sizeof(buffer)) length = sizeof(buffer);
  size_t done = 0;
  while (done < length) {
    ssize_t n = pread(fd, buffer + done, length - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  *fingerprint = ComputeFingerprint(std::string_view(buffer, length));
  return true;
}

bool ReadFingerprintBefore(int fd, uint64_t offset, Fingerprint* fingerprint) {
  char buffer[Fingerprint::kFingerprintBytes];
  uint64_t length = std::min<uint64_t>(offset, sizeof(buffer));
  uint64_t start = offset - length;
  size_t done = 0;
  while (done < length) {
    ssize_t n = pread(fd, buffer + done, length - done, static_cast<off_t>(start + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  *fingerprint = ComputeFingerprint(std::string_view(buffer, length));
  return true;
}

Status PositionStore::Load(std::vector<std::string>* warnings) {
  positions_.clear();
  checkpoint_.clear();
  listed_.clear();
  listed_loaded_ = false;
  closed_.clear();
  if (path_.empty() || access(path_.c_str(), F_OK) != 0) return Status::Ok();
  auto content = ReadFile(path_);
  if (!content.ok()) return content.status();
  std::istringstream in(*content);
  std::string line;
  int number = 0;
  // Files without the v2 header (older Vigil versions) have the v1 fields.
  bool version1 = true;
  while (std::getline(in, line)) {
    ++number;
    if (line == kHeader) version1 = false;
    if (line.empty() || line[0] == '#') continue;
    if (line.starts_with(kCheckpointPrefix)) {
      checkpoint_ = line.substr(kCheckpointPrefix.size());
      continue;
    }
    if (line.starts_with(kListedPrefix)) {
      // v2: pairs of <device> <inode>, without fingerprints.
      std::istringstream fields(line.substr(kListedPrefix.size()));
      unsigned long long device = 0, inode = 0;
      while (fields >> device >> inode) {
        KnownFile file;
        file.fingerprint_known = false;
        listed_[{static_cast<dev_t>(device), static_cast<ino_t>(inode)}] = file;
      }
      listed_loaded_ = true;
      continue;
    }
    bool rotated = line.starts_with(kRotatedPrefix);
    if (rotated || line.starts_with(kClosedPrefix)) {
      std::vector<std::pair<Key, KnownFile>> files;
      std::string_view text(line);
      text.remove_prefix(rotated ? kRotatedPrefix.size() : kClosedPrefix.size());
      if (!ParseKnownFiles(text, /*with_offset=*/!rotated, &files)) {
        if (warnings != nullptr) {
          warnings->push_back(path_ + ":" + std::to_string(number) + ": malformed " +
                              std::string(rotated ? kRotatedPrefix : kClosedPrefix) +
                              " line skipped");
        }
        continue;
      }
      for (const auto& [key, file] : files) {
        if (rotated) {
          listed_[key] = file;
        } else {
          AddClosed(key, file);
        }
      }
      if (rotated) listed_loaded_ = true;
      continue;
    }
    // <device> <inode> <offset> <fingerprint length> <fingerprint hash>, then in v2 only
    // <before-offset length> <before-offset hash> <replay end> <count> <count open starts>,
    // then <path>.
    std::istringstream fields(line);
    FilePosition position;
    unsigned long long device = 0, inode = 0;
    fields >> device >> inode >> position.offset >> position.fingerprint.length >>
        position.fingerprint.hash;
    size_t open_count = 0;
    if (!version1) {
      fields >> position.before_offset.length >> position.before_offset.hash >>
          position.replay_end >> open_count;
    }
    // Readers keep at most a few thousand records open; a larger count is a corrupt line.
    if (open_count > 1'000'000) fields.setstate(std::ios::failbit);
    for (size_t i = 0; fields && i < open_count; ++i) {
      uint64_t start = 0;
      fields >> start;
      position.open_starts.push_back(start);
    }
    if (!fields || fields.get() != ' ') {
      if (warnings != nullptr) {
        warnings->push_back(path_ + ":" + std::to_string(number) +
                            ": malformed position line skipped");
      }
      continue;
    }
    std::getline(fields, position.path);
    position.device = static_cast<dev_t>(device);
    position.inode = static_cast<ino_t>(inode);
    positions_[{position.device, position.inode}] = position;
  }
  return Status::Ok();
}

Status PositionStore::Save() const {
  if (path_.empty()) return Status::Ok();
  std::string content(kHeader);
  content += '\n';
  if (listed_loaded_) {
    // An entry loaded from a v2 file has no fingerprint and is saved with length 0 and hash 0.
    content += kRotatedPrefix;
    for (const auto& [key, file] : listed_) {
      AppendKnownFile(key, file, /*with_offset=*/false, &content);
    }
    content += '\n';
  }
  if (!closed_.empty()) {
    std::vector<std::pair<Key, const KnownFile*>> oldest_first;
    for (const auto& [key, file] : closed_) oldest_first.emplace_back(key, &file);
    std::sort(oldest_first.begin(), oldest_first.end(),
              [](const auto& a, const auto& b) { return a.second->sequence < b.second->sequence; });
    content += kClosedPrefix;
    for (const auto& [key, file] : oldest_first) {
      AppendKnownFile(key, *file, /*with_offset=*/true, &content);
    }
    content += '\n';
  }
  if (!checkpoint_.empty()) {
    content += kCheckpointPrefix;
    content += checkpoint_;
    content += '\n';
  }
  for (const auto& [key, position] : positions_) {
    if (position.path.find('\n') != std::string::npos) continue;
    content += std::to_string(static_cast<unsigned long long>(position.device)) + ' ' +
               std::to_string(static_cast<unsigned long long>(position.inode)) + ' ' +
               std::to_string(position.offset) + ' ' + std::to_string(position.fingerprint.length) +
               ' ' + std::to_string(position.fingerprint.hash) + ' ' +
               std::to_string(position.before_offset.length) + ' ' +
               std::to_string(position.before_offset.hash) + ' ' +
               std::to_string(position.replay_end) + ' ' +
               std::to_string(position.open_starts.size());
    for (uint64_t start : position.open_starts) content += ' ' + std::to_string(start);
    content += ' ' + position.path + '\n';
  }
  return WriteFileAtomic(path_, content, 0640);
}

const FilePosition* PositionStore::Find(dev_t device, ino_t inode) const {
  auto it = positions_.find({device, inode});
  return it == positions_.end() ? nullptr : &it->second;
}

void PositionStore::Set(const FilePosition& position) {
  positions_[{position.device, position.inode}] = position;
}

void PositionStore::set_checkpoint(std::string checkpoint) {
  std::replace(checkpoint.begin(), checkpoint.end(), '\n', ' ');
  checkpoint_ = std::move(checkpoint);
}

void PositionStore::Erase(dev_t device, ino_t inode) { positions_.erase({device, inode}); }

void PositionStore::AddClosed(const Key& key, const KnownFile& file) {
  KnownFile& entry = closed_[key];
  entry = file;
  entry.sequence = ++closed_sequence_;
  if (closed_.size() <= kMaxClosed) return;
  auto oldest = closed_.begin();
  for (auto it = closed_.begin(); it != closed_.end(); ++it) {
    if (it->second.sequence < oldest->second.sequence) oldest = it;
  }
  closed_.erase(oldest);
}

}  // namespace vigil::collector
