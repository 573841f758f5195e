// Follows the files of every <localfile> with a file location: globs, strftime names,
// rotation, truncation and restart.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "collector/positions.h"
#include "collector/reader.h"
#include "collector/source_status.h"
#include "common/clock.h"
#include "common/logging.h"
#include "config/config.h"

namespace vigil::collector {

struct FollowerOptions {
  // Interval of the periodic rescan, and the unit of timeouts written as plain numbers.
  std::chrono::milliseconds loop_timeout{2000};
  // Idle time after which a partial last line or a pending multi-line record is emitted,
  // unless the log format sets its own `timeout`.
  std::chrono::milliseconds flush_timeout{5000};
  // How long a file that left its location (renamed away or deleted) is still read, for
  // writers that have not reopened yet. Zero uses loop_timeout.
  std::chrono::milliseconds drain_grace{0};
  // Records longer than this are cut and marked truncated (bytes).
  size_t max_record_bytes = 64 * 1024;
  // State file of read positions; empty keeps positions in memory only.
  std::string positions_file;
  // Minimum time between two position saves while running (every stop saves).
  std::chrono::milliseconds save_interval{1000};
  // Bytes read from one file in one pass before the other files get their turn.
  size_t read_budget_bytes = 64 * 1024 * 1024;
  // Time source; null means the system clocks. Not owned.
  const Clock* clock = nullptr;
  // Called just before positions are saved, on the thread that calls Poll() and Close(). Its
  // text is saved in the same atomic write. The consumer returns a mark of what it has made
  // durable of the records emitted so far: for the daemon, the sizes of its output files
  // after a flush. After a crash the mark identifies which of the records read again it has
  // handled already. Null saves no mark.
  std::function<std::string()> checkpoint;
  // Called by Poll() after each chunk it reads, on the same thread, and may call NoteRename()
  // and NoteCreate(). The collector reads pending inotify events there, so a file created
  // and renamed during a long pass is opened before a later rotation can replace it.
  std::function<void()> between_reads;
};

// Reads every file a set of locations names, each file once, in order, from where the last
// run stopped. One thread drives it through Poll(); it is not thread-safe.
//
// A file is identified by device, inode and its first bytes. It is read from its first byte
// when it appears (or from its end at start-up when only_future_events is set) and from its
// saved position after a restart. Renaming a file within its location keeps its position. A
// file that leaves its location (rename rotation, deletion) is read to its end for
// drain_grace before it is closed. The files that had one name form a chain: a file not read
// yet waits until every older file of its chain is closed, and a multi-line record an old file
// left pending continues in the next one.
// A size below the read offset (copytruncate), changed first bytes or changed bytes just
// before the read offset (truncate, then regrow) restart the file from its first byte, after
// the unread rest is read from a copy under a rotated name if there is one. A file named by
// two locations, a symlink and its target, or two hard links is read once, by the first
// location that reaches it.
class FileFollower {
 public:
  explicit FileFollower(FollowerOptions options);
  ~FileFollower();
  FileFollower(const FileFollower&) = delete;
  FileFollower& operator=(const FileFollower&) = delete;

  // Loads the positions file. Call before the first Poll(). Malformed lines are logged and
  // skipped; an unreadable file is an error.
  Status LoadPositions();

  // Adds a <localfile> with a location. Errors (an invalid log format or attribute) name the
  // config file and line.
  Status AddSource(const config::LocalFileConfig& config);

  // Runs one pass: re-evaluates the locations when `rescan` is true (always on the first
  // pass), reads new bytes from every file, emits records through `emit`, flushes idle
  // partial records, expires groups and saves positions when due. Returns true when a file
  // still had bytes left after its read budget, so the caller should poll again at once.
  bool Poll(bool rescan, const RecordCallback& emit);

  // Emits what a restart could not rebuild (PrepareStop()), saves positions and closes every
  // file. Partial lines and incomplete records stay unread, so the next run reads them.
  void Close(const RecordCallback& emit);

  // Returns the earliest time at which Poll() has timed work: an idle flush or a group expiry.
  std::chrono::steady_clock::time_point NextDeadline() const;

  // Returns the folders to watch for new, renamed and changed files.
  std::set<std::string> WatchDirectories() const;

  // Returns one status per source, counters included.
  std::vector<SourceStatus> Statuses() const;

  // Writes the positions file now.
  Status SavePositions();

  // Returns the checkpoint text loaded with the positions (see FollowerOptions::checkpoint).
  const std::string& saved_checkpoint() const { return positions_.checkpoint(); }

  // Returns the paths of the saved positions, as loaded.
  std::set<std::string> SavedPaths() const;

  // Reports that `old_path` was renamed to `new_path` (inotify IN_MOVED_FROM and IN_MOVED_TO
  // with the same cookie). A file that a location names at `old_path` and that is not
  // followed yet was created and rotated away between two scans. It is read from its first
  // byte under its old name and closed after drain_grace, as a rotated file is.
  void NoteRename(const std::string& old_path, const std::string& new_path);

  // Reports that `path` was created or renamed into its folder (inotify IN_CREATE or
  // IN_MOVED_TO). A file at `path` that a location names and that is not followed yet is
  // opened now, so its descriptor keeps it readable even when a rotation replaces it before
  // the next scan. It is read from the next pass on, as a file that a scan found.
  void NoteCreate(const std::string& path);

 private:
  struct Source;
  struct Tail;
  using Key = std::pair<dev_t, ino_t>;

  std::chrono::steady_clock::time_point SteadyNow() const;
  std::vector<std::string> Expand(const std::string& location) const;
  void Rescan(std::chrono::steady_clock::time_point now);
  // `at_location` contains the files found at a location by the running scan.
  void ResumeRotatedWhileStopped(std::chrono::steady_clock::time_point now,
                                 const std::set<Key>& at_location);
  // A file with a rotated name beside a location (`app.log.1` beside `app.log`).
  struct RotatedFile {
    std::string path;
    std::string stem_path;  // the name before rotation
    Source* owner = nullptr;
    Key key;
    timespec born = {};  // creation time
  };
  std::vector<RotatedFile> ListRotatedFiles() const;
  // Returns the folders where ListRotatedFiles() looks for rotated names.
  std::set<std::string> RotatedFolders() const;
  // Returns true when ListRotatedFiles() lists a file at `path`.
  bool IsListedRotatedName(const std::string& path) const;
  // Adds `file` to `listed` and returns true when it is new: no earlier listing, followed
  // file, saved position or closed file matches it. A closed file that grew since it was
  // closed is new too, with `resume` set to its closed offset.
  bool ListRotatedFile(const RotatedFile& file, std::map<Key, KnownFile>* listed,
                       FilePosition* resume);
  // `at_location` contains the files found at a location by the running scan.
  void ReadNewRotatedFiles(std::chrono::steady_clock::time_point now,
                           const std::set<Key>& at_location);
  // Opens `path` (or `open_path` when given, for a file already renamed) as the file of
  // `source` named `path`.
  Tail* OpenTail(Source* source, const std::string& path, bool at_startup,
                 const FilePosition* resume, const std::string* open_path = nullptr);
  // Returns the source whose location names `path`, or null. `expansions`, when given, is
  // Expand() of every source's location, in the order of sources_.
  Source* OwnerOf(const std::string& path,
                  const std::vector<std::vector<std::string>>* expansions = nullptr) const;
  std::unique_ptr<RecordReader> MakeTailReader(const Source& source, const std::string& path,
                                               uint64_t offset);
  void CheckRewritten(Tail* tail, const RecordCallback& emit);
  // Feeds the bytes a truncation removed before they were read, from offset to end of a
  // copy under a rotated name, into `tail`'s reader. Without a copy, counts and logs the
  // bytes lost, known from `size_before` (the size at the last check).
  void ReadTruncatedRest(Tail* tail, off_t size_before, const RecordCallback& emit);
  // Finds the largest copy under a rotated name that contains the bytes after `tail`'s read
  // offset, and marks copies shorter than that offset as read. Returns false without one.
  bool FindTruncatedCopy(const Tail& tail, RotatedFile* copy, uint64_t* copy_size);
  // Records the copy at `path` as listed and read up to `size`.
  void MarkCopyRead(const Key& key, const std::string& path, uint64_t size);
  void RestartTail(Tail* tail, const char* reason, const RecordCallback& emit);
  bool ReadTail(Tail* tail, std::chrono::steady_clock::time_point now, const RecordCallback& emit);
  // Feeds the first `size` bytes of buffer_ to `tail`'s reader and counts them.
  void FeedChunk(Tail* tail, size_t size, const RecordCallback& emit);
  // Logs (rate-limited) the records a Feed() truncated and the bytes it escaped.
  void ReportBadInput(const Tail& tail, const ReaderCounters& before);
  // Closes a file that left its location. When a new file took its name and has not been
  // read yet, the old reader with its pending records moves to the new file.
  void CloseTail(const Key& key, const RecordCallback& emit);
  // Returns true when `a` had its name before `b`, two files of one chain (see Tail::born).
  static bool ComesBefore(const Tail& a, const Tail& b);
  // Returns true when two different files were followed under the same name of one source.
  static bool SameChain(const Tail& a, const Tail& b);
  // Returns the next file of `old`'s chain when no byte was read from it yet, else null.
  Tail* FindSuccessor(const Tail& old);
  // Reads and closes, oldest first, the draining files that no name links any more and the
  // older files of their chains.
  void DrainUnlinkedChains(const RecordCallback& emit);
  // Returns the keys of every followed file, each chain oldest first (see ComesBefore()).
  // Closing a file frees its Tail, so loops that close files iterate over keys.
  std::vector<Key> KeysInChainOrder() const;
  bool HasDrainingPredecessor(const Tail& tail) const;
  void FoldCounters(Tail* tail);
  // Forgets the pending records `tail` took over from closed files, and their saved
  // positions, once they are emitted.
  void ReleaseInherited(Tail* tail);
  void Report(Source* source, const std::string& path, const std::string& problem,
              spdlog::level::level_enum level);
  // Returns true when a file that had the name `path` is still followed, either still there
  // or rotated away and being read to its end.
  bool FollowsFileAt(const std::string& path) const;
  void ClearReport(Source* source, const std::string& path);
  void UpdatePositions();
  FilePosition PositionOf(const Tail& tail) const;

  FollowerOptions options_;
  std::shared_ptr<spdlog::logger> log_;
  PositionStore positions_;
  std::vector<std::unique_ptr<Source>> sources_;
  std::map<Key, std::unique_ptr<Tail>> tails_;
  bool scanned_ = false;
  bool polling_ = false;  // inside Poll(), where between_reads is called
  uint64_t open_sequence_ = 0;
  bool positions_dirty_ = false;
  std::chrono::steady_clock::time_point last_save_;
  std::vector<char> buffer_;
  RepeatLimiter bad_input_limiter_;
};

}  // namespace vigil::collector
