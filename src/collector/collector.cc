#include "collector/collector.h"

#include <errno.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cstring>
#include <utility>

#include "collector/command_runner.h"
#include "collector/journald_source.h"
#include "collector/queue_socket.h"
#include "common/file.h"

namespace vigil::collector {

struct Collector::CommandSource {
  config::LocalFileConfig config;
  std::string label;  // alias, or the command itself
  std::chrono::steady_clock::time_point next_run;
  SourceCounters counters;
};

CollectorOptions CollectorOptionsFromConfig(const config::Config& config) {
  CollectorOptions options;
  options.localfiles = config.localfiles;
  options.follower.loop_timeout = std::chrono::seconds(config.internal.loop_timeout_seconds);
  const std::string& state = config.paths.state_dir;
  if (!state.empty()) {
    options.follower.positions_file = state + "/collector.positions";
    options.status_file = state + "/collector-status.json";
    options.journald_cursor_file = state + "/journald.cursor";
    options.queue_socket = state + "/queue/ossec/queue";
  }
  return options;
}

Collector::Collector(CollectorOptions options, RecordCallback sink)
    : options_(std::move(options)), sink_(std::move(sink)), log_(GetLogger("collector")) {}

Expected<std::unique_ptr<Collector>> Collector::Create(CollectorOptions options,
                                                       RecordCallback sink) {
  std::unique_ptr<Collector> collector(new Collector(std::move(options), std::move(sink)));
  VIGIL_RETURN_IF_ERROR(collector->Init());
  return collector;
}

Status Collector::Init() {
  // Events read during a pass open new files at once; the names they changed are rescanned
  // at the start of the next pass.
  options_.follower.between_reads = [this] {
    if (ReadInotifyEvents()) rescan_due_ = true;
  };
  follower_ = std::make_unique<FileFollower>(options_.follower);
  VIGIL_RETURN_IF_ERROR(follower_->LoadPositions());
  for (const config::LocalFileConfig& localfile : options_.localfiles) {
    std::string where = localfile.source.file + ":" + std::to_string(localfile.source.line);
    if (IsCommandFormat(localfile.log_format)) {
      if (localfile.command.empty()) {
        return Status::InvalidArgument(where + ": log format '" + localfile.log_format +
                                       "' needs a <command>");
      }
      auto command = std::make_unique<CommandSource>();
      command->config = localfile;
      command->label = localfile.alias.empty() ? localfile.command : localfile.alias;
      commands_.push_back(std::move(command));
      continue;
    }
    if (localfile.log_format == "journald") {
      if (journald_ != nullptr) {
        return Status::InvalidArgument(where + ": only one journald <localfile> is supported");
      }
      auto journal = JournaldSource::Open(localfile.location, options_.journald_cursor_file,
                                          options_.follower.max_record_bytes);
      if (!journal.ok())
        return Status(journal.status().code(), where + ": " + journal.status().message());
      journald_ = std::move(journal).value();
      continue;
    }
    if (localfile.location.empty()) {
      return Status::InvalidArgument(where + ": <localfile> needs a <location>");
    }
    VIGIL_RETURN_IF_ERROR(follower_->AddSource(localfile));
  }
  if (!options_.queue_socket.empty()) {
    VIGIL_RETURN_IF_ERROR(MakeDirectories(DirName(options_.queue_socket), 0750));
    auto queue = QueueSocket::Bind(options_.queue_socket, options_.follower.max_record_bytes);
    if (!queue.ok()) return queue.status();
    queue_ = std::move(queue).value();
  }
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    log_->warn("inotify unavailable ({}); following files by polling every {} ms",
               std::strerror(errno), options_.follower.loop_timeout.count());
  }
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return Status::IoError(std::string("eventfd failed: ") + strerror(errno));
  return Status::Ok();
}

Collector::~Collector() {
  Stop();
  if (!started_) Finish();
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

Status Collector::Start() {
  if (started_) return Status::Internal("collector already started");
  started_ = true;
  log_->info(
      "collector starting: {} file sources, {} commands, journald {}, queue socket {}, "
      "loop_timeout {} ms",
      options_.localfiles.size() - commands_.size() - (journald_ ? 1 : 0), commands_.size(),
      journald_ ? "on" : "off", queue_ ? queue_->path() : std::string("off"),
      options_.follower.loop_timeout.count());
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void Collector::Stop() {
  if (!started_ || !thread_.joinable()) return;
  stopping_ = true;
  uint64_t increment = 1;
  (void)!write(wake_fd_, &increment, sizeof(increment));
  thread_.join();
}

bool Collector::PollOnce(bool rescan) {
  if (std::exchange(rescan_due_, false)) rescan = true;
  if (ReadInotifyEvents()) rescan = true;
  return Pass(rescan);
}

const std::string& Collector::SavedCheckpoint() const { return follower_->saved_checkpoint(); }

std::set<std::string> Collector::SavedPaths() const { return follower_->SavedPaths(); }

bool Collector::ReadInotifyEvents() {
  if (inotify_fd_ < 0) return false;
  bool rescan = false;
  alignas(inotify_event) char events[16384];
  ssize_t n;
  while ((n = read(inotify_fd_, events, sizeof(events))) > 0) {
    for (char* at = events; at < events + n;) {
      auto* event = reinterpret_cast<inotify_event*>(at);
      at += sizeof(inotify_event) + event->len;
      // A change of content only needs a read; names coming and going need a rescan.
      if ((event->mask & ~(IN_MODIFY | IN_CLOSE_WRITE)) != 0) rescan = true;
      if (event->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
        for (auto it = watches_.begin(); it != watches_.end(); ++it) {
          if (it->second == event->wd) {
            watches_.erase(it);
            break;
          }
        }
        continue;
      }
      if ((event->mask & (IN_CREATE | IN_MOVED_FROM | IN_MOVED_TO)) == 0 || event->len == 0) {
        continue;
      }
      std::string folder;
      for (const auto& [watched, wd] : watches_) {
        if (wd == event->wd) folder = watched;
      }
      if (folder.empty()) continue;
      std::string path = folder + "/" + event->name;
      if (event->mask & (IN_CREATE | IN_MOVED_TO)) follower_->NoteCreate(path);
      if (event->mask & IN_CREATE) continue;
      if (event->mask & IN_MOVED_FROM) {
        // A rename inside the watched folders comes as a FROM and a TO with the same cookie.
        if (moves_.size() > 1024) moves_.clear();
        moves_[event->cookie] = path;
        continue;
      }
      auto from = moves_.find(event->cookie);
      if (from == moves_.end()) continue;
      follower_->NoteRename(from->second, path);
      moves_.erase(from);
    }
  }
  return rescan;
}

void Collector::Close() { Finish(); }

void Collector::UpdateWatches() {
  if (inotify_fd_ < 0) return;
  constexpr uint32_t kEvents = IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                               IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  for (const std::string& folder : follower_->WatchDirectories()) {
    if (watches_.count(folder) != 0) continue;
    int wd = inotify_add_watch(inotify_fd_, folder.c_str(), kEvents);
    if (wd < 0) {
      // A missing folder is watched once it exists. Until then, and when the watch limit is
      // reached, the periodic rescan finds its changes.
      if (errno != ENOENT && unwatched_.insert(folder).second) {
        log_->warn("cannot watch {} with inotify ({}); its files are polled every {} ms", folder,
                   std::strerror(errno), options_.follower.loop_timeout.count());
      }
      continue;
    }
    unwatched_.erase(folder);
    watches_[folder] = wd;
  }
}

void Collector::RunDueCommands() {
  // NOTE: commands run on the collector thread, so a slow command delays file reading by up
  // to command_timeout.
  auto now = std::chrono::steady_clock::now();
  for (auto& command : commands_) {
    if (now < command->next_run) continue;
    command->next_run = now + std::chrono::seconds(std::max(1, command->config.frequency_seconds));
    auto result = RunCommand(command->config.command, options_.command_timeout,
                             options_.follower.max_record_bytes * 16);
    ++command->counters.command_runs;
    if (!result.ok()) {
      ++command->counters.open_errors;
      log_->error("{}", result.status().message());
      continue;
    }
    if (result->timed_out) {
      log_->warn("command '{}' ran longer than {} ms and was killed; its output so far is used",
                 command->config.command, options_.command_timeout.count());
    }
    ReaderOptions reader_options;
    reader_options.location = command->label;
    reader_options.max_record_bytes = options_.follower.max_record_bytes;
    auto reader =
        MakeReader(command->config.log_format, command->config.format_options, reader_options);
    if (!reader.ok()) {
      log_->error("command '{}': {}", command->config.command, reader.status().message());
      continue;
    }
    command->counters.bytes_read += result->output.size();
    (*reader)->Feed(result->output, sink_);
    (*reader)->Flush(sink_);
    command->counters.reader += (*reader)->counters();
  }
}

bool Collector::Pass(bool rescan) {
  // Watch before reading, so a write that lands during the read still wakes the next pass.
  if (rescan) UpdateWatches();
  bool more = follower_->Poll(rescan, sink_);
  if (rescan) UpdateWatches();
  if (queue_ != nullptr) queue_->Receive(sink_);
  if (journald_ != nullptr) journald_->Read(sink_);
  RunDueCommands();
  auto now = std::chrono::steady_clock::now();
  bool write_file = now - last_status_write_ >= options_.follower.loop_timeout;
  PublishStatus(write_file);
  return more;
}

void Collector::Run() {
  bool more = false;
  bool rescan = true;
  last_rescan_ = std::chrono::steady_clock::now();
  while (!stopping_) {
    more = Pass(rescan);
    rescan = false;

    auto now = std::chrono::steady_clock::now();
    auto next = std::min(follower_->NextDeadline(), last_rescan_ + options_.follower.loop_timeout);
    for (const auto& command : commands_) next = std::min(next, command->next_run);
    int timeout_ms = 0;
    if (!more && next > now) {
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count() + 1;
      timeout_ms =
          static_cast<int>(std::min<int64_t>(wait, options_.follower.loop_timeout.count()));
    }
    pollfd fds[4];
    int count = 0;
    fds[count++] = {wake_fd_, POLLIN, 0};
    if (inotify_fd_ >= 0) fds[count++] = {inotify_fd_, POLLIN, 0};
    if (queue_ != nullptr) fds[count++] = {queue_->fd(), POLLIN, 0};
    if (journald_ != nullptr && journald_->fd() >= 0) fds[count++] = {journald_->fd(), POLLIN, 0};
    int ready = poll(fds, count, timeout_ms);
    if (ready < 0 && errno != EINTR) {
      log_->error("poll failed: {}", std::strerror(errno));
    }
    if (std::exchange(rescan_due_, false)) rescan = true;
    if (ReadInotifyEvents()) rescan = true;
    now = std::chrono::steady_clock::now();
    if (now - last_rescan_ >= options_.follower.loop_timeout) rescan = true;
    if (rescan) last_rescan_ = now;
  }
  Finish();
}

void Collector::PublishStatus(bool write_file) {
  CollectorStatus status;
  status.updated_unix_seconds = std::chrono::duration_cast<std::chrono::seconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
  status.sources = follower_->Statuses();
  for (const auto& command : commands_) {
    SourceStatus source;
    source.location = command->label;
    source.log_format = command->config.log_format;
    source.counters = command->counters;
    status.sources.push_back(std::move(source));
  }
  if (journald_ != nullptr) {
    status.sources.push_back(
        SourceStatus{"journald:" + journald_->unit(), "journald", {}, journald_->counters()});
  }
  if (queue_ != nullptr) {
    status.sources.push_back(SourceStatus{queue_->path(), "queue", {}, queue_->counters()});
  }
  if (write_file && !options_.status_file.empty()) {
    last_status_write_ = std::chrono::steady_clock::now();
    Status written = WriteStatusFile(options_.status_file, status);
    if (!written.ok()) log_->error("writing the status file failed: {}", written.message());
  }
  std::lock_guard<std::mutex> lock(status_mu_);
  status_ = std::move(status);
}

void Collector::Finish() {
  if (finished_) return;
  finished_ = true;
  follower_->Close(sink_);
  if (journald_ != nullptr) journald_->SaveCursor();
  PublishStatus(/*write_file=*/true);
  CollectorStatus status = Snapshot();
  log_->info("collector stopped");
  for (const SourceStatus& source : status.sources) {
    log_->info("  {} ({}): {}", source.location, source.log_format,
               FormatCounters(source.counters));
  }
}

CollectorStatus Collector::Snapshot() const {
  std::lock_guard<std::mutex> lock(status_mu_);
  return status_;
}

}  // namespace vigil::collector
