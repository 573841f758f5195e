// File helpers: whole-file reads, atomic replacement and the bundled (compiled-in) files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vigil {

// Path prefix of files compiled into the binary from the repository's rules/ folder, such as
// "<bundled>/rules/sshd.xml". ReadFile and ListDirectory accept it like a real path.
inline constexpr std::string_view kBundledPrefix = "<bundled>/";

// Reads the whole file. Errors name the path and the system error.
Expected<std::string> ReadFile(const std::string& path);

// Lists the regular files (names only, sorted by byte order) of a directory.
Expected<std::vector<std::string>> ListDirectory(const std::string& path);

// Returns true when the path names an existing regular file or bundled file.
bool FileExists(const std::string& path);

// Writes all of `data` to `fd`, retrying after short writes and EINTR. An error message starts
// with `name`, the file's name.
Status WriteAll(int fd, std::string_view data, const std::string& name);

// Writes `content` to a temporary file beside `path`, flushes it to disk and renames it over
// `path`, so readers see either the old or the new content. `mode` applies to the new file.
Status WriteFileAtomic(const std::string& path, std::string_view content, int mode = 0644);

// Creates a directory and its parents; an existing directory is fine.
Status MakeDirectories(const std::string& path, int mode = 0755);

// Joins `path` to `base_dir` unless it is absolute or bundled.
std::string ResolvePath(const std::string& base_dir, const std::string& path);

// Returns the folder part of a path ("." when there is none).
std::string DirName(const std::string& path);

}  // namespace vigil
