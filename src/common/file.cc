#include "common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/bundled.h"

namespace vigil {
namespace {

bool IsBundled(const std::string& path) { return path.starts_with(kBundledPrefix); }

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

Expected<std::string> ReadFile(const std::string& path) {
  if (IsBundled(path)) {
    const std::string_view* content = FindBundledFile(path.substr(kBundledPrefix.size()));
    if (content == nullptr) return Status::NotFound(path + ": no such bundled file");
    return std::string(*content);
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(path + ": file not found");
    if (errno == EACCES) return Status::PermissionDenied(path + ": permission denied");
    return Status::IoError(path + ": cannot open: " + ErrnoText());
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument(path + ": is a directory, expected a file");
  }
  std::string content;
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string error = ErrnoText();
      ::close(fd);
      return Status::IoError(path + ": read failed: " + error);
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

Expected<std::vector<std::string>> ListDirectory(const std::string& path) {
  std::vector<std::string> names;
  if (IsBundled(path)) {
    std::string dir = path.substr(kBundledPrefix.size());
    if (!dir.empty() && dir.back() != '/') dir += '/';
    for (const auto& [name, content] : BundledFiles()) {
      std::string_view n = name;
      if (n.starts_with(dir) && n.find('/', dir.size()) == std::string_view::npos) {
        names.emplace_back(n.substr(dir.size()));
      }
    }
  } else {
    std::error_code ec;
    std::filesystem::directory_iterator it(path, ec);
    if (ec) return Status::IoError(path + ": cannot list directory: " + ec.message());
    for (const auto& entry : it) {
      if (entry.is_regular_file(ec)) names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool FileExists(const std::string& path) {
  if (IsBundled(path)) return FindBundledFile(path.substr(kBundledPrefix.size())) != nullptr;
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status WriteAll(int fd, std::string_view data, const std::string& name) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(name + ": write failed: " + ErrnoText());
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view content, int mode) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Status::IoError(tmp + ": cannot create: " + ErrnoText());
  if (Status written = WriteAll(fd, content, tmp); !written.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return written;
  }
  if (::fsync(fd) != 0) {
    std::string error = ErrnoText();
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status::IoError(tmp + ": fsync failed: " + error);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string error = ErrnoText();
    ::unlink(tmp.c_str());
    return Status::IoError(path + ": rename failed: " + error);
  }
  return Status::Ok();
}

Status MakeDirectories(const std::string& path, int mode) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return Status::IoError(path + ": cannot create directory: " + ec.message());
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
  return Status::Ok();
}

std::string ResolvePath(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/' || IsBundled(path) || base_dir.empty()) return path;
  if (base_dir.back() == '/') return base_dir + path;
  return base_dir + "/" + path;
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace vigil
