// modsec_audit: ModSecurity audit logs in the serial and the JSON formats.
#pragma once

#include <list>
#include <string>

#include "collector/line_reader.h"

namespace vigil::collector {

// A section boundary of the serial format: ModSecurity 2.x writes `--<id>-<letter>--`
// (8 hex digits), libmodsecurity 3.x `---<id>---<letter>--` (8 letters and digits).
struct ModsecBoundary {
  std::string_view id;
  char section = 0;  // 'A' to 'Z'
};

// Parses a whole line as a boundary; returns false for any other line.
bool ParseModsecBoundary(std::string_view line, ModsecBoundary* boundary);

// One record per transaction, from its `A` boundary to the `Z` boundary with the same id,
// lines joined with the separator. Transactions whose sections interleave are kept apart by
// id: body lines belong to the transaction of the last boundary seen. A boundary line with an
// id that is not open (or an `A` of an open id) is body data, so a body that quotes a boundary
// cannot end the record. Outside a transaction each non-empty line is a record of its own,
// which makes the JSON format (one object per line) one record per line. Transactions still
// open at Flush() are emitted as they are.
class ModsecAuditReader final : public LineBasedReader {
 public:
  ModsecAuditReader(ReaderOptions options, std::string separator);

  void PrepareStop(const RecordCallback& emit) override { FlushRecord(emit); }

 protected:
  void OnLine(std::string_view line, bool truncated, const RecordCallback& emit) override;
  void FlushRecord(const RecordCallback& emit) override;
  bool PendingRecordStart(uint64_t* offset) const override;
  void RebaseRecords(uint64_t offset) override {
    for (Transaction& transaction : open_) transaction.record.Rebase(offset);
  }
  std::vector<uint64_t> OpenRecordStarts() const override;
  void DropReplayedRecords() override;

 private:
  struct Transaction {
    std::string id;
    PendingRecord record;
  };
  using TransactionList = std::list<Transaction>;

  TransactionList::iterator Find(std::string_view id);
  void EmitTransaction(TransactionList::iterator transaction, const RecordCallback& emit);

  // Transactions open at the same time; past this the oldest is emitted.
  static constexpr size_t kMaxOpenTransactions = 256;

  std::string separator_;
  TransactionList open_;               // in order of their `A` boundary
  TransactionList::iterator current_;  // owner of body lines, or open_.end()
};

}  // namespace vigil::collector
