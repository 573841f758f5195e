#include "collector/modsec_reader.h"

#include "common/text.h"

namespace vigil::collector {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

}  // namespace

bool ParseModsecBoundary(std::string_view line, ModsecBoundary* boundary) {
  // The shortest form is `--<id>-A--` with a one-character id.
  if (line.size() < 7 || !line.starts_with("--") || !line.ends_with("--")) return false;
  bool v3 = line[2] == '-';
  size_t id_begin = v3 ? 3 : 2;
  size_t id_end = id_begin;
  while (id_end < line.size() && IsAlnum(line[id_end])) ++id_end;
  size_t id_length = id_end - id_begin;
  if (id_length == 0 || id_length > 64) return false;
  std::string_view rest = line.substr(id_end);
  // rest is `-X--` (2.x) or `---X--` (3.x).
  size_t dashes = v3 ? 3 : 1;
  if (rest.size() != dashes + 3) return false;
  for (size_t i = 0; i < dashes; ++i) {
    if (rest[i] != '-') return false;
  }
  char section = rest[dashes];
  if (section < 'A' || section > 'Z') return false;
  boundary->id = line.substr(id_begin, id_length);
  boundary->section = section;
  return true;
}

ModsecAuditReader::ModsecAuditReader(ReaderOptions options, std::string separator)
    : LineBasedReader(std::move(options)),
      separator_(std::move(separator)),
      current_(open_.end()) {}

ModsecAuditReader::TransactionList::iterator ModsecAuditReader::Find(std::string_view id) {
  for (auto it = open_.begin(); it != open_.end(); ++it) {
    if (it->id == id) return it;
  }
  return open_.end();
}

void ModsecAuditReader::EmitTransaction(TransactionList::iterator transaction,
                                        const RecordCallback& emit) {
  if (transaction == current_) current_ = open_.end();
  bool truncated = transaction->record.truncated();
  uint64_t end = transaction->record.end_offset();
  uint64_t start = transaction->record.start_offset();
  std::string text = transaction->record.Take();
  open_.erase(transaction);
  if (AlreadyEmitted(start)) return;
  Emit(std::move(text), truncated, end, emit);
}

std::vector<uint64_t> ModsecAuditReader::OpenRecordStarts() const {
  std::vector<uint64_t> starts;
  for (const Transaction& transaction : open_) starts.push_back(transaction.record.start_offset());
  return starts;
}

void ModsecAuditReader::DropReplayedRecords() {
  for (auto it = open_.begin(); it != open_.end();) {
    auto next = std::next(it);
    if (AlreadyEmitted(it->record.start_offset())) {
      if (it == current_) current_ = open_.end();
      open_.erase(it);
    }
    it = next;
  }
}

void ModsecAuditReader::OnLine(std::string_view line, bool truncated, const RecordCallback& emit) {
  const size_t max = options_.max_record_bytes;
  ModsecBoundary boundary;
  if (ParseModsecBoundary(line, &boundary)) {
    auto transaction = Find(boundary.id);
    if (transaction != open_.end() && boundary.section != 'A') {
      transaction->record.Append(separator_, line, truncated, line_end(), Now(), max);
      current_ = transaction;
      if (boundary.section == 'Z') EmitTransaction(transaction, emit);
      return;
    }
    if (transaction == open_.end() && boundary.section == 'A') {
      if (open_.size() >= kMaxOpenTransactions) EmitTransaction(open_.begin(), emit);
      open_.push_back(Transaction{std::string(boundary.id), PendingRecord()});
      current_ = std::prev(open_.end());
      current_->record.Start(line, truncated, line_start(), line_end(), Now(), max);
      return;
    }
    // Any other boundary-like line is body data of the current transaction.
  }
  if (current_ != open_.end()) {
    current_->record.Append(separator_, line, truncated, line_end(), Now(), max);
    return;
  }
  if (Trim(line).empty()) {
    ++counters_.skipped_lines;
    return;
  }
  if (!line.starts_with('{')) ++counters_.format_errors;
  if (!AlreadyEmitted(line_start())) Emit(std::string(line), truncated, line_end(), emit);
}

void ModsecAuditReader::FlushRecord(const RecordCallback& emit) {
  while (!open_.empty()) EmitTransaction(open_.begin(), emit);
}

bool ModsecAuditReader::PendingRecordStart(uint64_t* offset) const {
  if (open_.empty()) return false;
  *offset = open_.front().record.start_offset();
  return true;
}

}  // namespace vigil::collector
