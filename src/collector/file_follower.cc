#include "collector/file_follower.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <tuple>

#include "common/file.h"

namespace vigil::collector {
namespace {

constexpr size_t kMaxReadEnds = 64;

bool HasGlob(std::string_view text) { return text.find_first_of("*?[") != std::string::npos; }

bool AllDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Returns the name a rotated file had before rotation tools renamed it: `app.log` for
// `app.log.1`, `app.log-20240102`, `app.log.2024-01-02` or `app.log_2024010203`. Compressed
// files (`.gz` and the like) are not logs to read and return false.
bool RotatedStem(std::string_view name, std::string* stem) {
  for (std::string_view packed : {".gz", ".bz2", ".xz", ".zst", ".lz4", ".zip", ".Z"}) {
    if (name.ends_with(packed)) return false;
  }
  size_t separator = name.find_last_of(".-_");
  if (separator == std::string_view::npos || separator == 0) return false;
  std::string_view suffix = name.substr(separator + 1);
  bool rotated = AllDigits(suffix) && suffix.size() <= 14;
  // A date with dashes, YYYY-MM-DD, ends in `-DD`: step back over the year and month.
  if (!rotated && name.size() > 11) {
    std::string_view date = name.substr(name.size() - 10);
    if (date[4] == '-' && date[7] == '-' && AllDigits(date.substr(0, 4)) &&
        AllDigits(date.substr(5, 2)) && AllDigits(date.substr(8, 2))) {
      separator = name.size() - 11;
      rotated = name[separator] == '.' || name[separator] == '-' || name[separator] == '_';
    }
  }
  if (!rotated) return false;
  stem->assign(name.substr(0, separator));
  return !stem->empty();
}

// Returns a key that sorts the rotated files of one stem oldest first by their names alone,
// from the suffix after the stem (`.2`, `-20240102`). Small numbers are logrotate's counters,
// where `.2` is older than `.1`, and come before other suffixes (dates or timestamps), which
// sort as text. An empty suffix, a file whose rotated name is not known, comes last.
std::tuple<int, int, std::string> RotatedNameKey(std::string_view suffix) {
  if (suffix.empty()) return {2, 0, ""};
  std::string_view digits = suffix.substr(1);
  if (AllDigits(digits) && digits.size() <= 3) return {0, -std::stoi(std::string(digits)), ""};
  return {1, 0, std::string(suffix)};
}

std::string ErrnoText(int error) { return std::strerror(error); }

// Returns true when the file at `path` starts with the bytes of `first` and has the bytes of
// `before` just before `offset`, as a copy of the file they were taken from does.
bool IsCopyOf(const std::string& path, const Fingerprint& first, uint64_t offset,
              const Fingerprint& before) {
  if (first.length == 0 || offset == 0 || before.length == 0) return false;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  Fingerprint print;
  bool same = ReadFingerprint(fd, first.length, &print) && print == first &&
              ReadFingerprintBefore(fd, offset, &print) && print == before;
  close(fd);
  return same;
}

// Offsets where reads ended and the fingerprints of the bytes just before them, oldest first.
using ReadEnds = std::deque<std::pair<uint64_t, Fingerprint>>;

// Returns true when the file at `path` is shorter than `offset` and is a copy of the file
// read up to `offset`, taken before its last bytes were written, so every byte of it was read
// already. With an open file `fd` of the original, the copy's first and last bytes are
// compared with the original's at the same offsets. Without one (the original was
// truncated), the copy must have the bytes recorded before the latest of `read_ends` that it
// reaches.
// NOTE: when that read end is within a fixed header that every file starts with, another file
// with that header matches too, and its bytes are not read.
bool IsShorterCopyOf(const std::string& path, uint64_t offset, int fd, const ReadEnds& read_ends) {
  int copy_fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (copy_fd < 0) return false;
  struct stat st = {};
  uint64_t size = fstat(copy_fd, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  Fingerprint copy_print;
  Fingerprint original_print;
  bool same = false;
  if (size == 0 || size >= offset) {
    same = false;
  } else if (fd >= 0) {
    uint64_t length = std::min<uint64_t>(size, Fingerprint::kFingerprintBytes);
    same = ReadFingerprint(copy_fd, length, &copy_print) &&
           ReadFingerprint(fd, length, &original_print) && copy_print == original_print &&
           ReadFingerprintBefore(copy_fd, size, &copy_print) &&
           ReadFingerprintBefore(fd, size, &original_print) && copy_print == original_print;
  } else {
    for (auto it = read_ends.rbegin(); it != read_ends.rend(); ++it) {
      if (it->first == 0 || it->first > size) continue;
      same = ReadFingerprintBefore(copy_fd, it->first, &copy_print) && copy_print == it->second;
      break;
    }
  }
  close(copy_fd);
  return same;
}

// Returns true when the open file `fd` of `size` bytes starts with the bytes that `known`
// recorded. A file recorded empty matches only while it is empty, because no byte of it was
// read or listed. `start` is the file's fingerprint as read, and is reused when it covers the
// same bytes as the recorded one.
bool StartsAsRecorded(int fd, uint64_t size, const Fingerprint& start, const KnownFile& known) {
  if (!known.fingerprint_known) return true;
  if (known.fingerprint.length == 0) return size == 0;
  if (start.length == known.fingerprint.length) return start == known.fingerprint;
  Fingerprint print;
  return size >= known.fingerprint.length &&
         ReadFingerprint(fd, known.fingerprint.length, &print) && print == known.fingerprint;
}

bool SameTime(const timespec& a, const timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

}  // namespace

struct FileFollower::Source {
  config::LocalFileConfig config;
  SourceCounters counters;  // reader counters of closed files plus the follower's own counters
  // Problems already logged per path ("missing", "directory", ...), so each is logged once
  // until it clears.
  std::map<std::string, std::string> reported;
};

struct FileFollower::Tail {
  Source* source = nullptr;
  std::string path;
  int fd = -1;
  dev_t device = 0;
  ino_t inode = 0;
  uint64_t offset = 0;  // next byte to read
  Fingerprint fingerprint;
  Fingerprint before_offset;  // of the bytes just before `offset`
  off_t last_size = -1;
  timespec last_mtime = {};
  std::unique_ptr<RecordReader> reader;
  std::chrono::steady_clock::time_point last_data;
  bool draining = false;
  // The files that had the same name form a chain, ordered by creation time (statx btime,
  // see ComesBefore()). A file created later at a name took it over from the older one.
  timespec born = {};  // zero where the file system does not record creation times
  // The name after the location's name (`.1`, `-20240102`) where the last scan listed the
  // file under a rotated name, else empty.
  std::string rotated_suffix;
  uint64_t open_order = 0;
  std::chrono::steady_clock::time_point drain_deadline;
  bool fresh = true;  // no byte read yet, so a predecessor's pending records can move here
  // Set when the reader came from a closed predecessor with pending records, which start at
  // `inherited_at` in this file's offsets but were read from the predecessor. Until they are
  // emitted, the saved positions keep those of the closed files in `inherited_from`, so a
  // restart after a crash reads them again from there.
  bool inherited_pending = false;
  uint64_t inherited_at = 0;
  std::vector<Key> inherited_from;
  size_t last_chunk = 0;  // bytes of the last read(), still at the start of buffer_
  // End offsets of the latest kMaxReadEnds reads, to recognise a copy made between two reads.
  ReadEnds read_ends;
  std::string head;  // the first bytes read, up to kFingerprintBytes, when read from offset 0
};

FileFollower::FileFollower(FollowerOptions options)
    : options_(std::move(options)),
      log_(GetLogger("collector")),
      positions_(options_.positions_file),
      buffer_(256 * 1024) {
  if (options_.drain_grace.count() == 0) options_.drain_grace = options_.loop_timeout;
}

FileFollower::~FileFollower() {
  for (auto& [key, tail] : tails_) close(tail->fd);
}

std::chrono::steady_clock::time_point FileFollower::SteadyNow() const {
  return options_.clock != nullptr ? options_.clock->SteadyNow() : std::chrono::steady_clock::now();
}

Status FileFollower::LoadPositions() {
  std::vector<std::string> warnings;
  Status status = positions_.Load(&warnings);
  for (const std::string& warning : warnings) log_->warn("{}", warning);
  if (!status.ok()) return status;
  if (!positions_.path().empty()) {
    log_->info("loaded {} read positions from {}", positions_.all().size(), positions_.path());
  }
  return Status::Ok();
}

Status FileFollower::AddSource(const config::LocalFileConfig& config) {
  // Build one reader now, so a bad format or attribute fails at start-up with its line.
  ReaderOptions reader_options;
  reader_options.location = config.location;
  reader_options.loop_timeout = options_.loop_timeout;
  auto reader = MakeReader(config.log_format, config.format_options, reader_options);
  if (!reader.ok()) {
    return Status::InvalidArgument(config.source.file + ":" + std::to_string(config.source.line) +
                                   ": " + reader.status().message());
  }
  auto source = std::make_unique<Source>();
  source->config = config;
  sources_.push_back(std::move(source));
  return Status::Ok();
}

std::vector<std::string> FileFollower::Expand(const std::string& location) const {
  std::string pattern = location;
  if (location.find('%') != std::string::npos) {
    auto now = options_.clock != nullptr ? options_.clock->Now() : std::chrono::system_clock::now();
    time_t seconds = std::chrono::system_clock::to_time_t(now);
    struct tm local = {};
    localtime_r(&seconds, &local);
    char expanded[4096];
    size_t length = strftime(expanded, sizeof(expanded), location.c_str(), &local);
    if (length > 0) pattern.assign(expanded, length);
  }
  if (!HasGlob(pattern)) return {pattern};
  std::vector<std::string> paths;
  glob_t matches = {};
  if (glob(pattern.c_str(), GLOB_ERR, nullptr, &matches) == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) paths.emplace_back(matches.gl_pathv[i]);
  }
  globfree(&matches);
  return paths;
}

void FileFollower::Report(Source* source, const std::string& path, const std::string& problem,
                          spdlog::level::level_enum level) {
  auto [it, inserted] = source->reported.try_emplace(path, problem);
  if (!inserted && it->second == problem) return;
  it->second = problem;
  log_->log(level, "{} ({}): {}", path, source->config.log_format, problem);
}

bool FileFollower::FollowsFileAt(const std::string& path) const {
  for (const auto& [key, tail] : tails_) {
    if (tail->path == path) return true;
  }
  return false;
}

void FileFollower::ClearReport(Source* source, const std::string& path) {
  auto it = source->reported.find(path);
  if (it == source->reported.end()) return;
  log_->info("{}: readable again after: {}", path, it->second);
  source->reported.erase(it);
}

std::unique_ptr<RecordReader> FileFollower::MakeTailReader(const Source& source,
                                                           const std::string& path,
                                                           uint64_t offset) {
  ReaderOptions reader_options;
  reader_options.location = path;
  reader_options.start_offset = offset;
  reader_options.max_record_bytes = options_.max_record_bytes;
  reader_options.loop_timeout = options_.loop_timeout;
  reader_options.default_flush_timeout = options_.flush_timeout;
  reader_options.clock = options_.clock;
  auto reader = MakeReader(source.config.log_format, source.config.format_options, reader_options);
  // AddSource() built the same reader successfully; only djb-multilog depends on the path.
  if (!reader.ok()) {
    log_->error("{}: {}", path, reader.status().message());
    return nullptr;
  }
  return std::move(reader).value();
}

FileFollower::Tail* FileFollower::OpenTail(Source* source, const std::string& path, bool at_startup,
                                           const FilePosition* resume,
                                           const std::string* open_path) {
  int fd =
      open((open_path != nullptr ? *open_path : path).c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    ++source->counters.open_errors;
    Report(source, path, "cannot open: " + ErrnoText(errno) + "; retrying at each scan",
           spdlog::level::err);
    return nullptr;
  }
  struct stat st = {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return nullptr;
  }
  Key key{st.st_dev, st.st_ino};
  if (tails_.count(key) != 0) {
    close(fd);
    return nullptr;
  }
  ClearReport(source, path);

  const FilePosition* saved = resume != nullptr ? resume : positions_.Find(st.st_dev, st.st_ino);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t offset = 0;
  ReplayMark replay;
  const char* origin = "its first byte";
  if (at_startup && source->config.only_future_events && resume == nullptr) {
    offset = size;
    origin = "its end (only-future-events)";
  } else if (saved != nullptr) {
    Fingerprint now_print;
    Fingerprint now_before;
    bool same = saved->offset <= size &&
                (saved->fingerprint.length == 0 ||
                 (ReadFingerprint(fd, saved->fingerprint.length, &now_print) &&
                  now_print == saved->fingerprint)) &&
                (saved->before_offset.length == 0 ||
                 (ReadFingerprintBefore(fd, saved->offset, &now_before) &&
                  now_before == saved->before_offset));
    if (same) {
      offset = saved->offset;
      origin = "its saved position";
      replay.end = saved->replay_end;
      replay.open_starts = saved->open_starts;
    } else {
      log_->info("{}: replaced since its position was saved; reading from its first byte", path);
    }
  }
  if (lseek(fd, static_cast<off_t>(offset), SEEK_SET) < 0) {
    close(fd);
    return nullptr;
  }
  auto tail = std::make_unique<Tail>();
  tail->source = source;
  tail->path = path;
  tail->fd = fd;
  tail->device = st.st_dev;
  tail->inode = st.st_ino;
  tail->offset = offset;
  tail->last_size = st.st_size;
  tail->last_mtime = st.st_mtim;
  tail->last_data = SteadyNow();
  tail->open_order = ++open_sequence_;
  struct statx sx = {};
  if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &sx) == 0 && (sx.stx_mask & STATX_BTIME) != 0) {
    tail->born = {sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec};
  }
  ReadFingerprint(fd, std::min<uint64_t>(size, Fingerprint::kFingerprintBytes), &tail->fingerprint);
  if (ReadFingerprintBefore(fd, offset, &tail->before_offset) && offset > 0) {
    tail->read_ends.emplace_back(offset, tail->before_offset);
  }
  tail->reader = MakeTailReader(*source, path, offset);
  if (tail->reader == nullptr) {
    close(fd);
    return nullptr;
  }
  if (replay.end > offset) tail->reader->SetReplayMark(std::move(replay));
  ++source->counters.files_opened;
  log_->info("following {} ({}) from {}, offset {}", path, source->config.log_format, origin,
             offset);
  Tail* raw = tail.get();
  tails_.emplace(key, std::move(tail));
  positions_.EraseClosed(key);
  positions_dirty_ = true;
  return raw;
}

void FileFollower::Rescan(std::chrono::steady_clock::time_point now) {
  bool at_startup = !scanned_;
  std::set<Key> seen;
  // New files at a location are opened last, after the older files of their chains that this
  // scan finds under rotated names, so the open order follows the chain order.
  std::vector<std::pair<Source*, std::string>> to_open;
  std::map<Key, size_t> to_open_index;
  for (auto& source_ptr : sources_) {
    Source* source = source_ptr.get();
    const std::string& location = source->config.location;
    std::vector<std::string> paths = Expand(location);
    if (paths.empty() && HasGlob(location)) {
      Report(source, location, "no file matches yet; waiting", spdlog::level::info);
    } else if (HasGlob(location)) {
      ClearReport(source, location);
    }
    for (const std::string& path : paths) {
      struct stat st = {};
      if (stat(path.c_str(), &st) != 0) {
        int error = errno;
        if (error == ENOENT) {
          // Right after a rename rotation the name stays free until the writer creates the
          // new file. The followed file that left it is logged as rotated, so only a name
          // that stays missing once that file has drained gets the warning.
          if (!FollowsFileAt(path)) {
            Report(source, path, "not found; waiting for it to appear", spdlog::level::warn);
          }
        } else {
          ++source->counters.open_errors;
          Report(source, path, "cannot stat: " + ErrnoText(error), spdlog::level::err);
        }
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        Report(source, path, "is a directory, not a log file; skipped", spdlog::level::err);
        continue;
      }
      if (!S_ISREG(st.st_mode)) {
        Report(source, path, "is not a regular file; skipped", spdlog::level::err);
        continue;
      }
      Key key{st.st_dev, st.st_ino};
      auto pending = to_open_index.find(key);
      if (pending != to_open_index.end()) {
        const auto& [first_source, first_path] = to_open[pending->second];
        if (first_source != source) {
          Report(source, path, "already read through " + first_path + "; read once",
                 spdlog::level::info);
        }
        continue;
      }
      auto found = tails_.find(key);
      if (found != tails_.end()) {
        Tail* tail = found->second.get();
        if (tail->source != source) {
          Report(source, path, "already read through " + tail->path + "; read once",
                 spdlog::level::info);
          continue;
        }
        seen.insert(key);
        if (tail->draining) {
          tail->draining = false;
          log_->info("{}: back in its location as {}", tail->path, path);
        }
        if (tail->path != path) {
          log_->info("{}: renamed to {}; keeping its position", tail->path, path);
          tail->path = path;
          positions_dirty_ = true;
        }
        continue;
      }
      to_open_index.emplace(key, to_open.size());
      to_open.emplace_back(source, path);
    }
  }
  for (auto& [key, tail] : tails_) {
    if (seen.count(key) != 0 || tail->draining) continue;
    tail->draining = true;
    tail->drain_deadline = now + options_.drain_grace;
    log_->info("{}: left its location (rotated or deleted); reading the rest", tail->path);
    ++tail->source->counters.rotations;
  }
  std::set<Key> at_location = seen;
  for (const auto& [key, index] : to_open_index) at_location.insert(key);
  if (at_startup) ResumeRotatedWhileStopped(now, at_location);
  ReadNewRotatedFiles(now, at_location);
  for (const auto& [source, path] : to_open) OpenTail(source, path, at_startup, nullptr);
  scanned_ = true;
}

void FileFollower::ResumeRotatedWhileStopped(std::chrono::steady_clock::time_point now,
                                             const std::set<Key>& at_location) {
  // A saved file that is no longer at its path was rotated while Vigil was stopped. Look for
  // its inode beside its old name and read its rest before anything else.
  for (const auto& [key, saved] : positions_.all()) {
    if (tails_.count(key) != 0 || at_location.count(key) != 0) continue;
    Source* owner = OwnerOf(saved.path);
    // only-future-events skips what was written while stopped, rotated files included.
    if (owner == nullptr || owner->config.only_future_events) continue;
    std::string folder = DirName(saved.path);
    DIR* dir = opendir(folder.c_str());
    if (dir == nullptr) continue;
    std::string match;
    while (dirent* entry = readdir(dir)) {
      if (entry->d_ino != saved.inode) continue;
      std::string candidate = folder + "/" + entry->d_name;
      struct stat st = {};
      if (stat(candidate.c_str(), &st) == 0 && st.st_dev == saved.device &&
          st.st_ino == saved.inode && S_ISREG(st.st_mode)) {
        match = candidate;
        break;
      }
    }
    closedir(dir);
    if (match.empty()) {
      log_->warn(
          "{}: rotated while stopped and the old file is gone; lines written to it after "
          "offset {}, if any, are lost",
          saved.path, saved.offset);
      continue;
    }
    FilePosition resume = saved;
    // Records keep the location's name, as they do when a rotation happens while running.
    Tail* tail = OpenTail(owner, saved.path, /*at_startup=*/false, &resume, &match);
    if (tail == nullptr) continue;
    log_->info("{}: rotated to {} while stopped; reading its rest from offset {}", saved.path,
               match, tail->offset);
    ++owner->counters.rotations;
    tail->draining = true;
    tail->drain_deadline = now;
  }
}

std::set<std::string> FileFollower::RotatedFolders() const {
  std::set<std::string> folders;
  for (const auto& source : sources_) {
    std::string folder = DirName(source->config.location);
    if (!HasGlob(folder) && folder.find('%') == std::string::npos) folders.insert(folder);
  }
  return folders;
}

bool FileFollower::IsListedRotatedName(const std::string& path) const {
  std::string folder = DirName(path);
  std::string stem;
  if (path.size() <= folder.size() + 1 || RotatedFolders().count(folder) == 0 ||
      !RotatedStem(std::string_view(path).substr(folder.size() + 1), &stem)) {
    return false;
  }
  return OwnerOf(path) == nullptr && OwnerOf(folder + "/" + stem) != nullptr;
}

std::vector<FileFollower::RotatedFile> FileFollower::ListRotatedFiles() const {
  std::set<std::string> folders = RotatedFolders();
  // Globs and strftime names are expanded once for the whole listing.
  std::vector<std::vector<std::string>> expansions;
  for (const auto& source : sources_) expansions.push_back(Expand(source->config.location));
  std::vector<RotatedFile> files;
  for (const std::string& folder : folders) {
    DIR* dir = opendir(folder.c_str());
    if (dir == nullptr) continue;
    while (dirent* entry = readdir(dir)) {
      std::string stem;
      if (!RotatedStem(entry->d_name, &stem)) continue;
      RotatedFile file;
      file.path = folder + "/" + entry->d_name;
      file.stem_path = folder + "/" + stem;
      // A location that names the file itself reads it through the scan.
      if (OwnerOf(file.path, &expansions) != nullptr) continue;
      file.owner = OwnerOf(file.stem_path, &expansions);
      if (file.owner == nullptr) continue;
      struct statx sx = {};
      if (statx(AT_FDCWD, file.path.c_str(), 0, STATX_TYPE | STATX_INO | STATX_BTIME, &sx) != 0 ||
          !S_ISREG(sx.stx_mode)) {
        continue;
      }
      file.key = {makedev(sx.stx_dev_major, sx.stx_dev_minor), sx.stx_ino};
      file.born = {sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec};
      files.push_back(std::move(file));
    }
    closedir(dir);
  }
  return files;
}

bool FileFollower::ListRotatedFile(const RotatedFile& file, std::map<Key, KnownFile>* listed,
                                   FilePosition* resume) {
  // A listed file keeps its identity while its creation time is unchanged and its whole
  // fingerprint is known, so most scans do not open it.
  auto previous = positions_.listed().find(file.key);
  bool born_known = file.born.tv_sec != 0 || file.born.tv_nsec != 0;
  if (previous != positions_.listed().end() && born_known &&
      SameTime(previous->second.born, file.born) && previous->second.fingerprint_known &&
      previous->second.fingerprint.length == Fingerprint::kFingerprintBytes) {
    listed->emplace(file.key, previous->second);
    return false;
  }
  // The inode alone does not identify a file: a deleted file's inode goes to a new file.
  int fd = open(file.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    if (previous != positions_.listed().end()) listed->emplace(*previous);
    return false;
  }
  struct stat st = {};
  if (fstat(fd, &st) != 0 || st.st_dev != file.key.first || st.st_ino != file.key.second) {
    // The file was renamed or replaced since the listing, so the next scan lists it.
    if (previous != positions_.listed().end()) listed->emplace(*previous);
    close(fd);
    return false;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  KnownFile now;
  now.born = file.born;
  ReadFingerprint(fd, std::min<uint64_t>(size, Fingerprint::kFingerprintBytes), &now.fingerprint);
  bool was_listed = previous != positions_.listed().end() &&
                    StartsAsRecorded(fd, size, now.fingerprint, previous->second);
  listed->emplace(file.key, now);
  bool is_new = positions_.listed_loaded() && !was_listed && tails_.count(file.key) == 0 &&
                !file.owner->config.only_future_events;
  const FilePosition* saved = positions_.Find(file.key.first, file.key.second);
  if (is_new && saved != nullptr) {
    KnownFile saved_start;
    saved_start.fingerprint = saved->fingerprint;
    is_new = !StartsAsRecorded(fd, size, now.fingerprint, saved_start);
  }
  auto closed = positions_.closed().find(file.key);
  if (is_new && closed != positions_.closed().end() &&
      StartsAsRecorded(fd, size, now.fingerprint, closed->second)) {
    // Read to its end and closed already. Lines that a late writer appended since then are
    // read from the closed offset.
    is_new = size > closed->second.offset;
    if (is_new) {
      resume->device = file.key.first;
      resume->inode = file.key.second;
      resume->offset = closed->second.offset;
      resume->fingerprint = closed->second.fingerprint;
      resume->path = file.stem_path;
    }
  }
  close(fd);
  return is_new;
}

void FileFollower::ReadNewRotatedFiles(std::chrono::steady_clock::time_point now,
                                       const std::set<Key>& at_location) {
  // A file created and renamed to a rotated name between two scans (or while Vigil was
  // stopped) was never followed. Every scan lists the rotated names beside the locations. A
  // file there that the last scan did not list and that no position covers is read from its
  // first byte, before the file that now has the location's name. The first scan of a first
  // run only lists them, because those files are older than Vigil.
  std::vector<RotatedFile> files = ListRotatedFiles();
  std::map<Key, KnownFile> listed;
  std::vector<const RotatedFile*> unseen;
  // Closed files found again with lines appended after they were closed, read from there.
  std::map<const RotatedFile*, FilePosition> resume_closed;
  for (const RotatedFile& file : files) {
    auto followed = tails_.find(file.key);
    if (followed != tails_.end() && followed->second->path == file.stem_path) {
      followed->second->rotated_suffix = file.path.substr(file.stem_path.size());
    }
    FilePosition resume;
    if (!ListRotatedFile(file, &listed, &resume)) continue;
    unseen.push_back(&file);
    if (resume.offset > 0) resume_closed.emplace(&file, resume);
  }
  // The first listing is saved even when empty. Once the positions file contains a listing,
  // the next run reads the rotated files missing from it as new, also after a crash.
  if (!positions_.listed_loaded() || listed.size() != positions_.listed().size() ||
      !std::equal(listed.begin(), listed.end(), positions_.listed().begin(),
                  [](const auto& a, const auto& b) {
                    return a.first == b.first && a.second.fingerprint == b.second.fingerprint;
                  })) {
    positions_dirty_ = true;
  }
  positions_.set_listed(std::move(listed));
  // File systems take creation times from the kernel's coarse clock (one tick, 4 ms at
  // HZ=250), so the files of a burst of rotations can share one. Their names decide then.
  std::sort(unseen.begin(), unseen.end(), [](const RotatedFile* a, const RotatedFile* b) {
    if (a->born.tv_sec != b->born.tv_sec || a->born.tv_nsec != b->born.tv_nsec) {
      return std::tie(a->born.tv_sec, a->born.tv_nsec) < std::tie(b->born.tv_sec, b->born.tv_nsec);
    }
    return RotatedNameKey(std::string_view(a->path).substr(a->stem_path.size())) <
           RotatedNameKey(std::string_view(b->path).substr(b->stem_path.size()));
  });

  for (const RotatedFile* file : unseen) {
    // A copy made by copytruncate contains the copied file's bytes at the same offsets. A copy
    // of a file being read is skipped. A copy made while Vigil was stopped is read from the
    // copied file's saved position, so the lines the truncation removed are not lost.
    bool copy_of_followed = false;
    for (const auto& [key, tail] : tails_) {
      if (tail->path != file->stem_path) continue;
      // A copy of a file that was truncated since the last read can only be compared with
      // the fingerprints. Its unread rest is read when this pass finds the truncation.
      struct stat st = {};
      bool truncated =
          fstat(tail->fd, &st) == 0 && static_cast<uint64_t>(st.st_size) < tail->offset;
      if (IsCopyOf(file->path, tail->fingerprint, tail->offset, tail->before_offset) ||
          IsShorterCopyOf(file->path, tail->offset, truncated ? -1 : tail->fd, tail->read_ends)) {
        copy_of_followed = true;
        break;
      }
    }
    const FilePosition* copied = nullptr;
    for (const auto& [key, saved] : positions_.all()) {
      if (saved.path != file->stem_path ||
          !IsCopyOf(file->path, saved.fingerprint, saved.offset, saved.before_offset)) {
        continue;
      }
      copied = &saved;
      // The copied file, still at its location and unchanged up to its saved position, is
      // read from there once this scan opens it, so the copy adds nothing.
      if (at_location.count(key) != 0 &&
          IsCopyOf(saved.path, saved.fingerprint, saved.offset, saved.before_offset)) {
        copy_of_followed = true;
      }
    }
    if (copy_of_followed) continue;

    auto closed = resume_closed.find(file);
    const FilePosition* resume = copied;
    const char* origin = copied != nullptr ? "the copied file's position" : "its first byte";
    if (closed != resume_closed.end()) {
      resume = &closed->second;
      origin = "the offset where it was closed";
    }
    Tail* tail = OpenTail(file->owner, file->stem_path, /*at_startup=*/false, resume, &file->path);
    if (tail == nullptr) continue;
    tail->rotated_suffix = file->path.substr(file->stem_path.size());
    // A copy was created after the file it copies, but its lines are older than the lines
    // written to that file after the truncation. Without a creation time, a draining file
    // comes before the file at the location (see ComesBefore()).
    if (closed == resume_closed.end() && copied != nullptr) tail->born = {};
    // The same holds for a copy of a followed file that was truncated before Vigil read any
    // byte written since its previous truncation, because no read offset matches the copy.
    for (const auto& [key, live] : tails_) {
      if (live.get() != tail && live->path == file->stem_path && !live->draining && !live->fresh &&
          live->offset == 0) {
        tail->born = {};
      }
    }
    log_->info("{}: new file {} (created and rotated between two scans); reading it from {}",
               file->stem_path, file->path, origin);
    ++file->owner->counters.rotations;
    tail->draining = true;
    tail->drain_deadline = scanned_ ? now + options_.drain_grace : now;
  }
}

std::set<std::string> FileFollower::SavedPaths() const {
  std::set<std::string> paths;
  for (const auto& [key, position] : positions_.all()) paths.insert(position.path);
  return paths;
}

FileFollower::Source* FileFollower::OwnerOf(
    const std::string& path, const std::vector<std::vector<std::string>>* expansions) const {
  for (size_t i = 0; i < sources_.size(); ++i) {
    const Source* source = sources_[i].get();
    std::vector<std::string> own;
    if (expansions == nullptr) own = Expand(source->config.location);
    const std::vector<std::string>& expanded = expansions != nullptr ? (*expansions)[i] : own;
    if (std::find(expanded.begin(), expanded.end(), path) != expanded.end()) {
      return sources_[i].get();
    }
    if (fnmatch(source->config.location.c_str(), path.c_str(), FNM_PATHNAME) == 0) {
      return sources_[i].get();
    }
  }
  return nullptr;
}

void FileFollower::NoteRename(const std::string& old_path, const std::string& new_path) {
  Source* owner = OwnerOf(old_path);
  // A new name inside the location is found by the next scan, which keeps the position.
  if (owner == nullptr || OwnerOf(new_path) != nullptr) return;
  // The scan that follows the event also finds rotated names beside the location and orders
  // them. The file at `new_path` may have been replaced by a later rotation already, so
  // opening it here could open a newer file before an older one.
  if (IsListedRotatedName(new_path)) return;
  struct stat st = {};
  if (stat(new_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  if (tails_.count({st.st_dev, st.st_ino}) != 0) return;  // followed already; a scan handles it
  Tail* tail = OpenTail(owner, old_path, /*at_startup=*/false, nullptr, &new_path);
  if (tail == nullptr) return;
  log_->info("{}: renamed to {} before any scan read it; reading it from its first byte", old_path,
             new_path);
  ++owner->counters.rotations;
  tail->draining = true;
  tail->drain_deadline = SteadyNow() + options_.drain_grace;
}

void FileFollower::NoteCreate(const std::string& path) {
  if (!scanned_) return;
  Source* owner = OwnerOf(path);
  if (owner == nullptr) return;
  struct stat st = {};
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  if (tails_.count({st.st_dev, st.st_ino}) != 0) return;
  OpenTail(owner, path, /*at_startup=*/false, nullptr);
}

void FileFollower::ReleaseInherited(Tail* tail) {
  for (const Key& key : tail->inherited_from) {
    if (tails_.count(key) == 0) positions_.Erase(key.first, key.second);
  }
  tail->inherited_from.clear();
  tail->inherited_pending = false;
  positions_dirty_ = true;
}

void FileFollower::FoldCounters(Tail* tail) {
  if (tail->reader != nullptr) tail->source->counters.reader += tail->reader->counters();
}

void FileFollower::RestartTail(Tail* tail, const char* reason, const RecordCallback& emit) {
  log_->info("{}: {}; reading it again from its first byte", tail->path, reason);
  ++tail->source->counters.rotations;
  // The bytes already read are real lines that no longer exist in the file: emit them.
  if (tail->reader != nullptr) {
    tail->reader->Flush(emit);
    FoldCounters(tail);
  }
  tail->offset = 0;
  lseek(tail->fd, 0, SEEK_SET);
  tail->fingerprint = Fingerprint();
  tail->before_offset = Fingerprint();
  tail->read_ends.clear();
  tail->head.clear();
  tail->reader = MakeTailReader(*tail->source, tail->path, 0);
  positions_dirty_ = true;
}

bool FileFollower::FindTruncatedCopy(const Tail& tail, RotatedFile* copy, uint64_t* copy_size) {
  // copytruncate copies the file to a rotated name, then truncates it. The copy contains the
  // bytes the truncation removed at the same offsets, the unread ones included, so it starts
  // with the same bytes and has the same bytes just before the read offset. A copy shorter
  // than the read offset was read in full already.
  bool found = false;
  for (const RotatedFile& file : ListRotatedFiles()) {
    if (file.owner != tail.source || file.stem_path != tail.path) continue;
    struct stat st = {};
    if (stat(file.path.c_str(), &st) != 0) continue;
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (IsShorterCopyOf(file.path, tail.offset, /*fd=*/-1, tail.read_ends)) {
      MarkCopyRead(file.key, file.path, size);
      continue;
    }
    if (!IsCopyOf(file.path, tail.fingerprint, tail.offset, tail.before_offset)) continue;
    // The newest copy is the largest one.
    if (!found || size > *copy_size) {
      *copy = file;
      *copy_size = size;
      found = true;
    }
  }
  return found;
}

void FileFollower::ReadTruncatedRest(Tail* tail, off_t size_before, const RecordCallback& emit) {
  uint64_t read_end = tail->offset;
  RotatedFile copy;
  uint64_t copy_size = 0;
  int fd = FindTruncatedCopy(*tail, &copy, &copy_size)
               ? open(copy.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY)
               : -1;
  if (fd >= 0) {
    log_->info("{}: truncated; reading its unread bytes from its copy {}, offset {} to {}",
               tail->path, copy.path, tail->offset, copy_size);
    while (tail->reader != nullptr) {
      ssize_t n = pread(fd, buffer_.data(), buffer_.size(), static_cast<off_t>(read_end));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      read_end += static_cast<uint64_t>(n);
      FeedChunk(tail, static_cast<size_t>(n), emit);
    }
    close(fd);
    MarkCopyRead(copy.key, copy.path, read_end);
  }

  // Bytes written after the copy was made and before the truncation are in neither file. Only
  // those that the last check saw are known.
  uint64_t lost = size_before > 0 && static_cast<uint64_t>(size_before) > read_end
                      ? static_cast<uint64_t>(size_before) - read_end
                      : 0;
  if (lost == 0) return;
  tail->source->counters.bytes_lost += lost;
  log_->warn(
      "{}: truncated before {} byte(s) after offset {} were read, and no copy under a rotated "
      "name contains them; those bytes are lost",
      tail->path, lost, read_end);
}

void FileFollower::MarkCopyRead(const Key& key, const std::string& path, uint64_t size) {
  // A later scan must not take the copy for a new file, and a restart must not either.
  KnownFile copy;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd >= 0) {
    ReadFingerprint(fd, std::min<uint64_t>(size, Fingerprint::kFingerprintBytes),
                    &copy.fingerprint);
    close(fd);
  }
  copy.offset = size;
  positions_.AddListed(key, copy);
  positions_.AddClosed(key, copy);
  positions_dirty_ = true;
}

void FileFollower::CheckRewritten(Tail* tail, const RecordCallback& emit) {
  struct stat st = {};
  if (fstat(tail->fd, &st) != 0) return;
  off_t size_before = tail->last_size;
  bool changed = st.st_size != tail->last_size || st.st_mtim.tv_sec != tail->last_mtime.tv_sec ||
                 st.st_mtim.tv_nsec != tail->last_mtime.tv_nsec;
  tail->last_size = st.st_size;
  tail->last_mtime = st.st_mtim;
  if (static_cast<uint64_t>(st.st_size) < tail->offset) {
    ReadTruncatedRest(tail, size_before, emit);
    RestartTail(tail, "truncated", emit);
    return;
  }
  if (!changed || tail->fingerprint.length == 0) return;
  Fingerprint current;
  if (!ReadFingerprint(tail->fd, tail->fingerprint.length, &current) ||
      !(current == tail->fingerprint)) {
    ReadTruncatedRest(tail, size_before, emit);
    RestartTail(tail, "rewritten (its first bytes changed)", emit);
    return;
  }
  // A file truncated and rewritten to at least the old size with the same first bytes (a
  // fixed header) shows itself in the bytes before the read offset.
  // NOTE: a rewrite that also repeats the 512 bytes before the read offset still looks like
  // an append, and its new bytes before that offset are not read.
  if (tail->before_offset.length > 0 && (!ReadFingerprintBefore(tail->fd, tail->offset, &current) ||
                                         !(current == tail->before_offset))) {
    // This is also copytruncate when new lines passed the old read offset before this check.
    ReadTruncatedRest(tail, size_before, emit);
    RestartTail(tail, "rewritten (its bytes before the read offset changed)", emit);
  }
}

bool FileFollower::ReadTail(Tail* tail, std::chrono::steady_clock::time_point now,
                            const RecordCallback& emit) {
  if (tail->reader == nullptr) return false;
  size_t budget = options_.read_budget_bytes;
  while (budget > 0) {
    ssize_t n = read(tail->fd, buffer_.data(), std::min(buffer_.size(), budget));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ++tail->source->counters.open_errors;
      Report(tail->source, tail->path, "read failed: " + ErrnoText(errno), spdlog::level::err);
      return false;
    }
    if (n == 0) break;
    tail->last_chunk = static_cast<size_t>(n);
    tail->fresh = false;
    // The first bytes are fingerprinted from what was read, because a truncation right after
    // this read would leave nothing to fingerprint in the file.
    if (tail->offset < Fingerprint::kFingerprintBytes && tail->head.size() == tail->offset) {
      size_t take =
          std::min<size_t>(static_cast<size_t>(n), Fingerprint::kFingerprintBytes - tail->offset);
      tail->head.append(buffer_.data(), take);
      if (tail->head.size() > tail->fingerprint.length) {
        tail->fingerprint = ComputeFingerprint(tail->head);
      }
    }
    tail->offset += static_cast<uint64_t>(n);
    budget -= static_cast<size_t>(n);
    FeedChunk(tail, static_cast<size_t>(n), emit);
    tail->last_data = now;
    positions_dirty_ = true;
    if (polling_ && options_.between_reads) options_.between_reads();
  }
  size_t last_read = options_.read_budget_bytes - budget;
  if (last_read > 0) {
    // The buffer still contains the last chunk read. A short chunk needs the bytes before it,
    // which `head` contains when the file was read from its first byte.
    if (tail->last_chunk >= Fingerprint::kFingerprintBytes) {
      tail->before_offset = ComputeFingerprint(
          std::string_view(buffer_.data() + tail->last_chunk - Fingerprint::kFingerprintBytes,
                           Fingerprint::kFingerprintBytes));
    } else if (tail->head.size() == tail->offset) {
      tail->before_offset = ComputeFingerprint(tail->head);
    } else {
      ReadFingerprintBefore(tail->fd, tail->offset, &tail->before_offset);
    }
    tail->read_ends.emplace_back(tail->offset, tail->before_offset);
    if (tail->read_ends.size() > kMaxReadEnds) tail->read_ends.pop_front();
  }
  if (tail->fingerprint.length < Fingerprint::kFingerprintBytes &&
      tail->offset > tail->fingerprint.length) {
    ReadFingerprint(tail->fd, std::min<uint64_t>(tail->offset, Fingerprint::kFingerprintBytes),
                    &tail->fingerprint);
  }
  return budget == 0;
}

void FileFollower::FeedChunk(Tail* tail, size_t size, const RecordCallback& emit) {
  tail->source->counters.bytes_read += size;
  ReaderCounters before = tail->reader->counters();
  tail->reader->Feed(std::string_view(buffer_.data(), size), emit);
  ReportBadInput(*tail, before);
}

void FileFollower::ReportBadInput(const Tail& tail, const ReaderCounters& before) {
  const ReaderCounters& after = tail.reader->counters();
  auto suppressed_note = [](uint64_t suppressed) {
    return suppressed == 0 ? std::string()
                           : " (" + std::to_string(suppressed) + " similar reports suppressed)";
  };
  uint64_t suppressed = 0;
  if (after.truncated > before.truncated &&
      bad_input_limiter_.ShouldLog("truncated " + tail.path, &suppressed)) {
    log_->warn(
        "{}: {} record(s) over the maximum record size truncated before offset {}{}; raise "
        "the format's max_size to keep them whole",
        tail.path, after.truncated - before.truncated, tail.offset, suppressed_note(suppressed));
  }
  suppressed = 0;
  if (after.escaped_bytes > before.escaped_bytes &&
      bad_input_limiter_.ShouldLog("escaped " + tail.path, &suppressed)) {
    log_->warn("{}: {} NUL or invalid UTF-8 byte(s) escaped as \\xHH before offset {}{}", tail.path,
               after.escaped_bytes - before.escaped_bytes, tail.offset,
               suppressed_note(suppressed));
  }
}

bool FileFollower::ComesBefore(const Tail& a, const Tail& b) {
  bool both_born =
      (a.born.tv_sec != 0 || a.born.tv_nsec != 0) && (b.born.tv_sec != 0 || b.born.tv_nsec != 0);
  if (both_born && (a.born.tv_sec != b.born.tv_sec || a.born.tv_nsec != b.born.tv_nsec)) {
    return std::tie(a.born.tv_sec, a.born.tv_nsec) < std::tie(b.born.tv_sec, b.born.tv_nsec);
  }
  // Creation times can be equal (see ReadNewRotatedFiles()) or missing. The file still at its
  // location is the newest of its chain, then the rotated names decide, then the open order.
  // NOTE: without creation times or rotated names, as for a file renamed into another
  // folder, the open order can put a file before an older one that a later scan found.
  return std::make_tuple(!a.draining, RotatedNameKey(a.rotated_suffix), a.open_order) <
         std::make_tuple(!b.draining, RotatedNameKey(b.rotated_suffix), b.open_order);
}

bool FileFollower::SameChain(const Tail& a, const Tail& b) {
  return &a != &b && a.source == b.source && a.path == b.path;
}

FileFollower::Tail* FileFollower::FindSuccessor(const Tail& old) {
  Tail* next = nullptr;
  for (auto& [key, tail] : tails_) {
    if (!SameChain(old, *tail) || !ComesBefore(old, *tail)) continue;
    if (next == nullptr || ComesBefore(*tail, *next)) next = tail.get();
  }
  return next != nullptr && next->fresh ? next : nullptr;
}

bool FileFollower::HasDrainingPredecessor(const Tail& tail) const {
  for (const auto& [key, other] : tails_) {
    if (SameChain(tail, *other) && other->draining && ComesBefore(*other, tail)) return true;
  }
  return false;
}

void FileFollower::CloseTail(const Key& key, const RecordCallback& emit) {
  auto it = tails_.find(key);
  if (it == tails_.end()) return;
  Tail* tail = it->second.get();
  Tail* successor = FindSuccessor(*tail);
  bool keep_position = false;
  if (tail->reader != nullptr && successor != nullptr && tail->reader->HasPending()) {
    // The next file of the chain continues the old one: its first lines may complete a
    // record the old file started, so the reader moves over with its pending records.
    tail->reader->EndOfFile(emit);
    if (tail->reader->HasPending()) {
      // A restart rebuilds the pending records from this file's position, which stays saved
      // until they are emitted.
      positions_.Set(PositionOf(*tail));
      keep_position = true;
      successor->inherited_pending = true;
      successor->inherited_at = successor->offset;
      successor->inherited_from = tail->inherited_from;
      successor->inherited_from.push_back(key);
      tail->inherited_from.clear();
    }
    tail->reader->Rebase(successor->offset);
    successor->reader = std::move(tail->reader);
    log_->info("{}: records pending at the rotation continue in the new file", tail->path);
  }
  if (tail->reader != nullptr) {
    // The file left its location and no new file took its name, so its partial last line
    // and its pending records are final.
    tail->reader->Flush(emit);
    FoldCounters(tail);
  }
  ReleaseInherited(tail);
  KnownFile closed;
  closed.fingerprint = tail->fingerprint;
  closed.offset = tail->offset;
  closed.born = tail->born;
  positions_.AddClosed(key, closed);
  log_->info("{}: closed at offset {}", tail->path, tail->offset);
  if (!keep_position) positions_.Erase(key.first, key.second);
  close(tail->fd);
  tails_.erase(it);
  positions_dirty_ = true;
}

bool FileFollower::Poll(bool rescan, const RecordCallback& emit) {
  auto now = SteadyNow();
  if (rescan || !scanned_) Rescan(now);
  bool more = false;
  polling_ = true;

  // Each chain of files that had one name is read oldest first. A file that no byte was
  // read from yet waits while an older file of its chain drains, so the older file's rest
  // comes first and its pending records can continue into it. Closing a drained file lets
  // the next one of its chain be read in the same pass.
  for (const Key& key : KeysInChainOrder()) {
    auto found = tails_.find(key);
    if (found == tails_.end()) continue;
    Tail* tail = found->second.get();
    if (tail->fresh && HasDrainingPredecessor(*tail)) continue;
    CheckRewritten(tail, emit);
    if (!tail->draining) {
      if (ReadTail(tail, now, emit)) more = true;
      continue;
    }
    while (ReadTail(tail, now, emit)) {
    }
    if (now >= tail->drain_deadline) CloseTail(key, emit);
  }
  polling_ = false;

  for (auto& [key, tail] : tails_) {
    RecordReader* reader = tail->reader.get();
    if (reader == nullptr) continue;
    uint64_t records = reader->counters().records;
    reader->Expire(now, emit);
    // An expired group moves the resume offset or the replay mark.
    if (reader->counters().records != records) positions_dirty_ = true;
    if (reader->HasPending() && now - tail->last_data >= reader->flush_timeout()) {
      reader->Flush(emit);
      positions_dirty_ = true;
    }
    if (tail->inherited_pending &&
        (!reader->HasPending() || reader->ResumeOffset() > tail->inherited_at)) {
      ReleaseInherited(tail.get());
    }
  }

  if (positions_dirty_ && now - last_save_ >= options_.save_interval) {
    Status saved = SavePositions();
    if (!saved.ok()) log_->error("saving read positions failed: {}", saved.message());
  }
  return more;
}

void FileFollower::UpdatePositions() {
  for (auto& [key, tail] : tails_) positions_.Set(PositionOf(*tail));
}

FilePosition FileFollower::PositionOf(const Tail& tail) const {
  FilePosition position;
  position.device = tail.device;
  position.inode = tail.inode;
  position.offset = tail.reader != nullptr ? tail.reader->ResumeOffset() : tail.offset;
  position.fingerprint = tail.fingerprint;
  if (position.offset == tail.offset) {
    position.before_offset = tail.before_offset;
  } else {
    ReadFingerprintBefore(tail.fd, position.offset, &position.before_offset);
  }
  if (tail.reader != nullptr) {
    ReplayMark mark = tail.reader->GetReplayMark();
    position.replay_end = mark.end;
    position.open_starts = std::move(mark.open_starts);
  }
  position.path = tail.path;
  return position;
}

Status FileFollower::SavePositions() {
  // The mark comes first: every record emitted so far is covered by it, and the positions
  // taken next never reach past a record the consumer has not been handed.
  if (options_.checkpoint) positions_.set_checkpoint(options_.checkpoint());
  UpdatePositions();
  last_save_ = SteadyNow();
  positions_dirty_ = false;
  return positions_.Save();
}

void FileFollower::DrainUnlinkedChains(const RecordCallback& emit) {
  // A rotated file that was deleted or replaced by a later rotation cannot be found again
  // after a restart. It is read to its end now, and so is every older file of its chain
  // first, so the order and the records that continue from one file into the next hold.
  std::vector<Key> keys = KeysInChainOrder();
  std::set<Key> to_close;
  for (const Key& key : keys) {
    const Tail& tail = *tails_[key];
    struct stat st = {};
    if (!tail.draining || fstat(tail.fd, &st) != 0 || st.st_nlink != 0) continue;
    to_close.insert(key);
    for (const auto& [older_key, older] : tails_) {
      if (older->draining && SameChain(*older, tail) && ComesBefore(*older, tail)) {
        to_close.insert(older_key);
      }
    }
  }

  auto now = SteadyNow();
  for (const Key& key : keys) {
    if (to_close.count(key) == 0) continue;
    Tail* tail = tails_[key].get();
    log_->info("{}: deleted or replaced while draining; reading its rest before stopping",
               tail->path);
    CheckRewritten(tail, emit);
    while (ReadTail(tail, now, emit)) {
    }
    CloseTail(key, emit);
  }

  // A file that took over pending records is read up to its end too, so the records that
  // began in the closed files can complete. It keeps its position.
  for (const Key& key : keys) {
    auto found = tails_.find(key);
    if (found == tails_.end()) continue;
    Tail* tail = found->second.get();
    if (!tail->inherited_pending || !tail->fresh || HasDrainingPredecessor(*tail)) continue;
    CheckRewritten(tail, emit);
    while (ReadTail(tail, now, emit)) {
    }
  }
}

std::vector<FileFollower::Key> FileFollower::KeysInChainOrder() const {
  std::vector<const Tail*> order;
  for (const auto& [key, tail] : tails_) order.push_back(tail.get());
  // ComesBefore() orders the files of one chain, which share one file system, only.
  std::sort(order.begin(), order.end(), [](const Tail* a, const Tail* b) {
    if (a->source != b->source) return std::less<const Source*>()(a->source, b->source);
    if (a->path != b->path) return a->path < b->path;
    return ComesBefore(*a, *b);
  });
  std::vector<Key> keys;
  for (const Tail* tail : order) keys.emplace_back(tail->device, tail->inode);
  return keys;
}

void FileFollower::Close(const RecordCallback& emit) {
  DrainUnlinkedChains(emit);
  for (auto& [key, tail] : tails_) {
    if (tail->reader == nullptr) continue;
    // Records that began in a closed file are emitted as they are, because a restart could
    // rebuild them only while that file still exists.
    if (tail->inherited_pending && tail->reader->HasPending() &&
        tail->reader->ResumeOffset() <= tail->inherited_at) {
      tail->reader->Flush(emit);
    } else {
      tail->reader->PrepareStop(emit);
    }
    ReleaseInherited(tail.get());
  }
  Status saved = SavePositions();
  if (!saved.ok()) log_->error("saving read positions failed: {}", saved.message());
  for (auto& [key, tail] : tails_) {
    FoldCounters(tail.get());
    tail->reader.reset();
    close(tail->fd);
  }
  tails_.clear();
}

std::chrono::steady_clock::time_point FileFollower::NextDeadline() const {
  auto next = std::chrono::steady_clock::time_point::max();
  for (const auto& [key, tail] : tails_) {
    if (tail->draining) next = std::min(next, tail->drain_deadline);
    if (tail->reader == nullptr) continue;
    next = std::min(next, tail->reader->NextExpiry());
    if (tail->reader->HasPending()) {
      next = std::min(next, tail->last_data + tail->reader->flush_timeout());
    }
  }
  return next;
}

std::set<std::string> FileFollower::WatchDirectories() const {
  std::set<std::string> folders;
  for (const auto& source : sources_) {
    for (const std::string& path : Expand(source->config.location)) {
      std::string folder = DirName(path);
      if (!HasGlob(folder)) folders.insert(folder);
    }
    std::string folder = DirName(source->config.location);
    if (!HasGlob(folder) && folder.find('%') == std::string::npos) folders.insert(folder);
  }
  for (const auto& [key, tail] : tails_) folders.insert(DirName(tail->path));
  return folders;
}

std::vector<SourceStatus> FileFollower::Statuses() const {
  std::vector<SourceStatus> statuses;
  for (const auto& source : sources_) {
    SourceStatus status;
    status.location = source->config.location;
    status.log_format = source->config.log_format;
    status.counters = source->counters;
    for (const auto& [key, tail] : tails_) {
      if (tail->source != source.get()) continue;
      status.files.push_back(tail->path);
      if (tail->reader != nullptr) status.counters.reader += tail->reader->counters();
    }
    std::sort(status.files.begin(), status.files.end());
    statuses.push_back(std::move(status));
  }
  return statuses;
}

}  // namespace vigil::collector
