#include "transport/disk_queue.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "common/file.h"
#include "common/logging.h"
#include "transport/state_files.h"

namespace vigil::transport {
namespace {

constexpr size_t kEntryHeaderBytes = 8;

std::string SegmentPath(const std::string& dir, uint64_t first_seq) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020llu.seg", static_cast<unsigned long long>(first_seq));
  return dir + "/" + name;
}

void PutLe32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint32_t GetLe32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(p[i])} << (8 * i);
  return v;
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(path + ": write failed: " + std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Encodes one record's cost as the batch encoding counts it, near enough for sizing batches.
uint64_t RecordBytes(const EventRecord& r) { return r.location.size() + r.text.size() + 8; }

}  // namespace

uint32_t Crc32(std::string_view data) {
  static const std::array<uint32_t, 256> kTable = [] {
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return table;
  }();
  uint32_t crc = 0xffffffffu;
  for (char ch : data) crc = kTable[(crc ^ static_cast<uint8_t>(ch)) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

Expected<std::unique_ptr<DiskQueue>> DiskQueue::Open(const DiskQueueOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("the queue folder is not set");
  VIGIL_RETURN_IF_ERROR(MakePrivateDirectory(options.dir));
  std::unique_ptr<DiskQueue> queue(new DiskQueue(options));
  VIGIL_RETURN_IF_ERROR(queue->Load());
  return queue;
}

DiskQueue::~DiskQueue() {
  Close();
  if (write_fd_ >= 0) close(write_fd_);
}

Status DiskQueue::Load() {
  std::string session_path = options_.dir + "/session";
  if (FileExists(session_path)) {
    Expected<std::string> text = ReadFile(session_path);
    if (!text.ok()) return text.status();
    session_id_ = *text;
    while (!session_id_.empty() && session_id_.back() == '\n') session_id_.pop_back();
  }
  if (session_id_.size() != 32) {
    session_id_ = RandomHex(16);
    VIGIL_RETURN_IF_ERROR(WriteSecretFile(session_path, session_id_ + "\n"));
  }
  std::string acked_path = options_.dir + "/acked";
  if (FileExists(acked_path)) {
    Expected<std::string> text = ReadFile(acked_path);
    if (!text.ok()) return text.status();
    acked_seq_ = std::strtoull(text->c_str(), nullptr, 10);
  }
  saved_acked_seq_ = acked_seq_;
  next_seq_ = acked_seq_ + 1;

  Expected<std::vector<std::string>> names = ListDirectory(options_.dir);
  if (!names.ok()) return names.status();
  // Finish or drop a session change that a crash interrupted (see StartNewSession()).
  for (const std::string& name : *names) {
    if (!name.starts_with("renumbered-") || !name.ends_with(".tmp")) continue;
    std::string path = options_.dir + "/" + name;
    if (name != "renumbered-" + session_id_ + ".tmp") {
      unlink(path.c_str());
      continue;
    }
    for (const std::string& other : *names) {
      if (other.ends_with(".seg")) unlink((options_.dir + "/" + other).c_str());
    }
    std::string first = SegmentPath(options_.dir, 1);
    if (rename(path.c_str(), first.c_str()) != 0) {
      return Status::IoError(first + ": rename failed: " + std::strerror(errno));
    }
    acked_seq_ = saved_acked_seq_ = 0;
    next_seq_ = 1;
    VIGIL_RETURN_IF_ERROR(SaveAckedLocked());
    GetLogger("transport")
        ->warn("finished moving the queue to session {} after a restart", session_id_);
    names = ListDirectory(options_.dir);
    if (!names.ok()) return names.status();
    break;
  }
  for (const std::string& name : *names) {
    if (name.size() != 24 || name.substr(20) != ".seg") continue;
    uint64_t first = std::strtoull(name.c_str(), nullptr, 10);
    VIGIL_RETURN_IF_ERROR(LoadSegment(options_.dir + "/" + name, first));
  }
  return Status::Ok();
}

Status DiskQueue::LoadSegment(const std::string& path, uint64_t first_seq) {
  Expected<std::string> content = ReadFile(path);
  if (!content.ok()) return content.status();
  Segment segment{first_seq, 0, 0, path};
  size_t pos = 0;
  const std::string& data = *content;
  while (pos + kEntryHeaderBytes <= data.size()) {
    uint32_t size = GetLe32(data.data() + pos);
    uint32_t crc = GetLe32(data.data() + pos + 4);
    if (size > data.size() - pos - kEntryHeaderBytes) break;
    std::string_view payload(data.data() + pos + kEntryHeaderBytes, size);
    if (Crc32(payload) != crc) break;
    FrameDecoder decoder(SIZE_MAX);
    decoder.Append(payload);
    Frame frame;
    if (decoder.Next(&frame) != FrameDecoder::Result::kFrame) break;
    Expected<Message> message = DecodeFrame(frame);
    if (!message.ok() || !std::holds_alternative<EventBatchMessage>(*message)) break;
    const auto& batch = std::get<EventBatchMessage>(*message);
    pos += kEntryHeaderBytes + size;
    segment.last_seq = batch.seq;
    segment.bytes = pos;
    next_seq_ = std::max(next_seq_, batch.seq + 1);
    if (batch.seq <= acked_seq_) continue;
    if (!batches_.empty() && batch.seq <= batches_.back().seq) continue;
    depth_records_ += batch.records.size();
    depth_bytes_ += payload.size();
    batches_.push_back({batch.seq, batch.records.size(), std::string(payload)});
  }
  if (pos < data.size()) {
    counters_.dropped_corrupt_bytes += data.size() - pos;
    GetLogger("transport")
        ->warn("queue segment {}: cut {} bytes of a torn or corrupt tail at offset {}", path,
               data.size() - pos, pos);
    if (truncate(path.c_str(), static_cast<off_t>(pos)) != 0) {
      return Status::IoError(path + ": truncate failed: " + std::strerror(errno));
    }
  }
  if (segment.last_seq == 0 || segment.last_seq <= acked_seq_) {
    unlink(path.c_str());
    return Status::Ok();
  }
  segments_.push_back(segment);
  return Status::Ok();
}

Status DiskQueue::Append(const std::vector<EventRecord>& records) {
  if (records.empty()) return Status::Ok();
  // Split into batches before taking the lock; sequence numbers are set under it.
  std::vector<EventBatchMessage> batches(1);
  uint64_t batch_bytes = 0;
  uint64_t truncated = 0;
  for (const EventRecord& record : records) {
    EventRecord copy = record;
    if (copy.text.size() > kMaxEventBytes) {
      copy.text.resize(kMaxEventBytes);
      ++truncated;
    }
    if (copy.location.size() > kMaxFieldBytes) copy.location.resize(kMaxFieldBytes);
    uint64_t size = RecordBytes(copy);
    if (batch_bytes + size > options_.max_batch_bytes && !batches.back().records.empty()) {
      batches.emplace_back();
      batch_bytes = 0;
    }
    batch_bytes += size;
    batches.back().records.push_back(std::move(copy));
  }

  std::function<void()> notify;
  {
    std::lock_guard lock(mu_);
    if (closed_) return Status::Internal("the queue is closed");
    uint64_t first_seq = next_seq_;
    std::vector<QueuedBatch> encoded;
    uint64_t total = 0;
    for (EventBatchMessage& batch : batches) {
      batch.seq = first_seq + encoded.size();
      std::string frame = EncodeMessage(batch);
      total += frame.size() + kEntryHeaderBytes;
      encoded.push_back({batch.seq, batch.records.size(), std::move(frame)});
    }
    if (depth_bytes_ + total > options_.max_bytes) {
      ++counters_.rejected_full;
      return Status::ResourceExhausted("the agent queue is full (" + std::to_string(depth_bytes_) +
                                       " of " + std::to_string(options_.max_bytes) + " bytes)");
    }
    for (QueuedBatch& batch : encoded) {
      counters_.appended_records += batch.records;
      VIGIL_RETURN_IF_ERROR(WriteBatchLocked(std::move(batch)));
    }
    if (options_.fsync_each_append && write_fd_ >= 0) fdatasync(write_fd_);
    counters_.truncated_records += truncated;
    notify = notify_;
  }
  if (notify) notify();
  return Status::Ok();
}

Status DiskQueue::WriteBatchLocked(QueuedBatch batch) {
  if (write_fd_ < 0 || segments_.empty() || segments_.back().bytes >= options_.segment_bytes) {
    if (write_fd_ >= 0) close(write_fd_);
    Segment segment{batch.seq, 0, 0, SegmentPath(options_.dir, batch.seq)};
    // Reopen the last segment if it is still small, so restarts do not leave tiny files.
    if (!segments_.empty() && segments_.back().bytes < options_.segment_bytes) {
      segment = segments_.back();
      segments_.pop_back();
    }
    write_fd_ = open(segment.path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (write_fd_ < 0) {
      return Status::IoError(segment.path + ": cannot open: " + std::strerror(errno));
    }
    segments_.push_back(segment);
  }
  std::string entry;
  entry.reserve(kEntryHeaderBytes + batch.frame.size());
  PutLe32(&entry, static_cast<uint32_t>(batch.frame.size()));
  PutLe32(&entry, Crc32(batch.frame));
  entry += batch.frame;
  Segment& segment = segments_.back();
  Status written = WriteAll(write_fd_, entry, segment.path);
  if (!written.ok()) {
    // A partial entry would be cut at the next open; later entries must not follow it.
    close(write_fd_);
    write_fd_ = -1;
    return written;
  }
  segment.bytes += entry.size();
  segment.last_seq = batch.seq;
  next_seq_ = batch.seq + 1;
  depth_records_ += batch.records;
  depth_bytes_ += batch.frame.size();
  ++counters_.appended_batches;
  batches_.push_back(std::move(batch));
  return Status::Ok();
}

bool DiskQueue::WaitForSpace(uint64_t bytes, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return space_cv_.wait_for(lock, timeout, [&] {
    return closed_ || depth_bytes_ + bytes <= options_.max_bytes;
  }) && !closed_;
}

std::vector<QueuedBatch> DiskQueue::Peek(uint64_t after_seq, size_t max_batches) const {
  std::lock_guard lock(mu_);
  std::vector<QueuedBatch> out;
  for (const QueuedBatch& batch : batches_) {
    if (out.size() >= max_batches) break;
    if (batch.seq > after_seq) out.push_back(batch);
  }
  return out;
}

Status DiskQueue::Acknowledge(uint64_t seq) {
  std::lock_guard lock(mu_);
  if (seq <= acked_seq_) return Status::Ok();
  acked_seq_ = std::min(seq, next_seq_ - 1);
  while (!batches_.empty() && batches_.front().seq <= acked_seq_) {
    depth_records_ -= batches_.front().records;
    depth_bytes_ -= batches_.front().frame.size();
    batches_.pop_front();
    ++counters_.acknowledged_batches;
  }
  bool removed_segment = false;
  while (!segments_.empty() && segments_.front().last_seq <= acked_seq_ &&
         (segments_.size() > 1 || segments_.front().bytes >= options_.segment_bytes)) {
    unlink(segments_.front().path.c_str());
    segments_.pop_front();
    removed_segment = true;
  }
  if (segments_.size() == 1 && segments_.front().last_seq <= acked_seq_) {
    // Everything is acknowledged: restart the segment so the folder does not grow.
    if (write_fd_ >= 0) close(write_fd_);
    write_fd_ = -1;
    unlink(segments_.front().path.c_str());
    segments_.clear();
    removed_segment = true;
  }
  space_cv_.notify_all();
  // The acked file is written when a segment goes away and otherwise every 64 batches; after a
  // crash the agent resends at most those batches, and the manager drops them as duplicates.
  if (removed_segment || acked_seq_ - saved_acked_seq_ >= 64) return SaveAckedLocked();
  return Status::Ok();
}

Status DiskQueue::SaveAckedLocked() {
  VIGIL_RETURN_IF_ERROR(
      WriteSecretFile(options_.dir + "/acked", std::to_string(acked_seq_) + "\n"));
  saved_acked_seq_ = acked_seq_;
  return Status::Ok();
}

Status DiskQueue::StartNewSession() {
  std::lock_guard lock(mu_);
  std::deque<QueuedBatch> renumbered;
  uint64_t seq = 0;
  for (const QueuedBatch& batch : batches_) {
    FrameDecoder decoder(SIZE_MAX);
    decoder.Append(batch.frame);
    Frame frame;
    if (decoder.Next(&frame) != FrameDecoder::Result::kFrame) continue;
    Expected<Message> message = DecodeFrame(frame);
    if (!message.ok() || !std::holds_alternative<EventBatchMessage>(*message)) continue;
    auto& events = std::get<EventBatchMessage>(*message);
    events.seq = ++seq;
    renumbered.push_back({seq, events.records.size(), EncodeMessage(events)});
  }
  // The renumbered batches go to a file named after the new session. Writing the session file
  // commits the change. Load() finishes a committed change (old segments out, the file renamed
  // in) and drops an uncommitted one, so a crash at any step loses no batch.
  std::string new_session = RandomHex(16);
  std::string temporary = options_.dir + "/renumbered-" + new_session + ".tmp";
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError(temporary + ": cannot create: " + std::strerror(errno));
  std::string content;
  for (const QueuedBatch& batch : renumbered) {
    PutLe32(&content, static_cast<uint32_t>(batch.frame.size()));
    PutLe32(&content, Crc32(batch.frame));
    content += batch.frame;
  }
  Status written = WriteAll(fd, content, temporary);
  if (written.ok() && fsync(fd) != 0) {
    written = Status::IoError(temporary + ": fsync failed: " + std::strerror(errno));
  }
  close(fd);
  if (!written.ok()) return written;

  // A zero acknowledged number is harmless for the old session: the manager drops batches it
  // already delivered.
  acked_seq_ = 0;
  VIGIL_RETURN_IF_ERROR(SaveAckedLocked());
  std::string old_session = session_id_;
  session_id_ = new_session;
  VIGIL_RETURN_IF_ERROR(WriteSecretFile(options_.dir + "/session", session_id_ + "\n"));
  if (write_fd_ >= 0) close(write_fd_);
  write_fd_ = -1;
  for (const Segment& segment : segments_) unlink(segment.path.c_str());
  segments_.clear();
  std::string path = SegmentPath(options_.dir, 1);
  if (!renumbered.empty()) {
    if (rename(temporary.c_str(), path.c_str()) != 0) {
      return Status::IoError(path + ": rename failed: " + std::strerror(errno));
    }
    segments_.push_back({1, seq, content.size(), path});
  } else {
    unlink(temporary.c_str());
  }
  depth_bytes_ = 0;
  depth_records_ = 0;
  for (const QueuedBatch& batch : renumbered) {
    depth_bytes_ += batch.frame.size();
    depth_records_ += batch.records;
  }
  batches_ = std::move(renumbered);
  next_seq_ = seq + 1;
  GetLogger("transport")
      ->warn("queue session {} was retired by the manager; {} batches moved to new session {}",
             old_session, seq, session_id_);
  return Status::Ok();
}

void DiskQueue::SetAppendNotify(std::function<void()> notify) {
  std::lock_guard lock(mu_);
  notify_ = std::move(notify);
}

void DiskQueue::Close() {
  std::lock_guard lock(mu_);
  if (closed_) return;
  closed_ = true;
  space_cv_.notify_all();
  if (acked_seq_ != saved_acked_seq_) {
    Status status = SaveAckedLocked();
    if (!status.ok()) GetLogger("transport")->error("{}", status.ToString());
  }
}

std::string DiskQueue::session_id() const {
  std::lock_guard lock(mu_);
  return session_id_;
}

uint64_t DiskQueue::acked_seq() const {
  std::lock_guard lock(mu_);
  return acked_seq_;
}
uint64_t DiskQueue::last_seq() const {
  std::lock_guard lock(mu_);
  return next_seq_ - 1;
}
uint64_t DiskQueue::depth_records() const {
  std::lock_guard lock(mu_);
  return depth_records_;
}
uint64_t DiskQueue::depth_bytes() const {
  std::lock_guard lock(mu_);
  return depth_bytes_;
}
DiskQueueCounters DiskQueue::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

}  // namespace vigil::transport
