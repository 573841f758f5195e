#include "collector/positions.h"

#include <errno.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "common/file.h"

namespace vigil::collector {
namespace {

// v2 adds the fingerprint of the bytes before the offset and the replay mark; v1 files, which
// start with "# vigil collector positions v1", still load.
constexpr std::string_view kHeader = "# vigil collector positions v2";
constexpr std::string_view kCheckpointPrefix = "@checkpoint ";
constexpr std::string_view kListedPrefix = "@listed";

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
      // Pairs of <device> <inode>.
      std::istringstream fields(line.substr(kListedPrefix.size()));
      unsigned long long device = 0, inode = 0;
      while (fields >> device >> inode) {
        listed_.insert({static_cast<dev_t>(device), static_cast<ino_t>(inode)});
      }
      listed_loaded_ = true;
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
    content += kListedPrefix;
    for (const auto& [device, inode] : listed_) {
      content += ' ' + std::to_string(static_cast<unsigned long long>(device)) + ' ' +
                 std::to_string(static_cast<unsigned long long>(inode));
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

}  // namespace vigil::collector
