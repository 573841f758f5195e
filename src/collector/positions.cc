#include "collector/positions.h"

#include <errno.h>
#include <unistd.h>

#include <cstring>
#include <sstream>

#include "common/file.h"

namespace vigil::collector {
namespace {

constexpr std::string_view kHeader = "# vigil collector positions v1";

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

Status PositionStore::Load(std::vector<std::string>* warnings) {
  positions_.clear();
  if (path_.empty() || access(path_.c_str(), F_OK) != 0) return Status::Ok();
  auto content = ReadFile(path_);
  if (!content.ok()) return content.status();
  std::istringstream in(*content);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    // <device> <inode> <offset> <fingerprint length> <fingerprint hash> <path>
    std::istringstream fields(line);
    FilePosition position;
    unsigned long long device = 0, inode = 0;
    fields >> device >> inode >> position.offset >> position.fingerprint.length >>
        position.fingerprint.hash;
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
  for (const auto& [key, position] : positions_) {
    if (position.path.find('\n') != std::string::npos) continue;
    content += std::to_string(static_cast<unsigned long long>(position.device)) + ' ' +
               std::to_string(static_cast<unsigned long long>(position.inode)) + ' ' +
               std::to_string(position.offset) + ' ' + std::to_string(position.fingerprint.length) +
               ' ' + std::to_string(position.fingerprint.hash) + ' ' + position.path + '\n';
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

void PositionStore::Erase(dev_t device, ino_t inode) { positions_.erase({device, inode}); }

}  // namespace vigil::collector
