#include "collector/grouped_reader.h"

#include <cstring>

namespace vigil::collector {

bool AuditKeyExtractor::Extract(std::string_view line, std::string* key) {
  static constexpr std::string_view kMarker = "msg=audit(";
  key->clear();
  if (line.starts_with("node=")) {
    size_t space = line.find(' ');
    if (space == std::string_view::npos) return false;
    key->assign(line.substr(5, space - 5));
    key->push_back(' ');
  }
  size_t at = line.find(kMarker);
  if (at == std::string_view::npos) return false;
  size_t begin = at + kMarker.size();
  const void* close = std::memchr(line.data() + begin, ')', line.size() - begin);
  if (close == nullptr) return false;
  size_t end = static_cast<size_t>(static_cast<const char*>(close) - line.data());
  if (end == begin) return false;
  key->append(line.substr(begin, end - begin));
  return true;
}

bool AuditKeyExtractor::IsEndMarker(std::string_view line) const {
  if (line.starts_with("node=")) {
    size_t space = line.find(' ');
    if (space == std::string_view::npos) return false;
    line.remove_prefix(space + 1);
  }
  return line.starts_with("type=EOE ");
}

bool RegexKeyExtractor::Extract(std::string_view line, std::string* key) {
  if (!regex_->Match(line, &captures_)) return false;
  key->clear();
  for (size_t i = 0; i < captures_.size(); ++i) {
    if (i > 0) key->push_back('\0');
    key->append(captures_[i]);
  }
  return true;
}

GroupedReader::GroupedReader(ReaderOptions options, std::unique_ptr<KeyExtractor> keys,
                             GroupedOptions grouped)
    : LineBasedReader(std::move(options)), keys_(std::move(keys)), grouped_(grouped) {}

std::chrono::steady_clock::time_point GroupedReader::Deadline(const Group& group) const {
  if (grouped_.window.count() > 0) return group.record.first_time() + grouped_.window;
  return group.record.last_time() + grouped_.timeout;
}

void GroupedReader::EmitGroup(GroupList::iterator group, const RecordCallback& emit) {
  bool truncated = group->record.truncated();
  uint64_t end = group->record.end_offset();
  uint64_t start = group->record.start_offset();
  std::string text = group->record.Take();
  index_.erase(group->key);
  groups_.erase(group);
  if (AlreadyEmitted(start)) return;
  Emit(std::move(text), truncated, end, emit);
}

std::vector<uint64_t> GroupedReader::OpenRecordStarts() const {
  std::vector<uint64_t> starts;
  starts.reserve(groups_.size());
  for (const Group& group : groups_) starts.push_back(group.record.start_offset());
  return starts;
}

void GroupedReader::DropReplayedRecords() {
  for (auto it = groups_.begin(); it != groups_.end();) {
    auto next = std::next(it);
    if (AlreadyEmitted(it->record.start_offset())) {
      index_.erase(it->key);
      groups_.erase(it);
    }
    it = next;
  }
}

void GroupedReader::OnLine(std::string_view line, bool truncated, const RecordCallback& emit) {
  const size_t max = options_.max_record_bytes;
  if (!keys_->Extract(line, &key_)) {
    if (line.empty()) {
      ++counters_.skipped_lines;
      return;
    }
    if (grouped_.keyless_is_error) ++counters_.format_errors;
    if (grouped_.consecutive_only) FlushRecord(emit);
    if (!AlreadyEmitted(line_start())) Emit(std::string(line), truncated, line_end(), emit);
    return;
  }
  auto now = Now();
  // Most lines belong to the newest group; check it before hashing.
  GroupList::iterator group = groups_.end();
  if (!groups_.empty() && groups_.back().key == key_) {
    group = std::prev(groups_.end());
  } else if (grouped_.consecutive_only) {
    FlushRecord(emit);
  } else {
    auto found = index_.find(std::string_view(key_));
    if (found != index_.end()) group = found->second;
  }

  if (keys_->IsEndMarker(line)) {
    ++counters_.skipped_lines;
    if (group != groups_.end()) EmitGroup(group, emit);
    return;
  }
  if (group != groups_.end()) {
    group->record.Append(grouped_.separator, line, truncated, line_end(), now, max);
    return;
  }
  if (groups_.size() >= grouped_.max_open_groups) EmitGroup(groups_.begin(), emit);
  groups_.push_back(Group{key_, PendingRecord()});
  group = std::prev(groups_.end());
  group->record.Start(line, truncated, line_start(), line_end(), now, max);
  index_.emplace(group->key, group);
}

void GroupedReader::Expire(std::chrono::steady_clock::time_point now, const RecordCallback& emit) {
  for (auto it = groups_.begin(); it != groups_.end();) {
    auto next = std::next(it);
    if (Deadline(*it) <= now) {
      ++counters_.timeouts;
      EmitGroup(it, emit);
    } else if (grouped_.window.count() > 0) {
      break;  // windows end in the order groups started
    }
    it = next;
  }
}

std::chrono::steady_clock::time_point GroupedReader::NextExpiry() const {
  auto next = std::chrono::steady_clock::time_point::max();
  for (const Group& group : groups_) {
    next = std::min(next, Deadline(group));
    if (grouped_.window.count() > 0) break;
  }
  return next;
}

void GroupedReader::FlushRecord(const RecordCallback& emit) {
  while (!groups_.empty()) EmitGroup(groups_.begin(), emit);
}

bool GroupedReader::PendingRecordStart(uint64_t* offset) const {
  if (groups_.empty()) return false;
  *offset = groups_.front().record.start_offset();
  return true;
}

}  // namespace vigil::collector
