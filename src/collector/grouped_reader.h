// Readers that group lines by a key, even when the lines of different keys interleave:
// grouped (key_regex), linux_auditd and OSSEC's audit.
#pragma once

#include <algorithm>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "collector/line_reader.h"
#include "collector/regex.h"
#include "common/text.h"

namespace vigil::collector {

// Finds the grouping key of a line.
class KeyExtractor {
 public:
  virtual ~KeyExtractor() = default;
  // Writes the key of `line` to `*key` and returns true, or returns false for a line without
  // a key.
  virtual bool Extract(std::string_view line, std::string* key) = 0;
  // Returns true for a line that ends its group and carries no data (auditd's EOE).
  virtual bool IsEndMarker(std::string_view line) const { return false; }
};

// The auditd key: the `node=` value when the line starts with one, plus the event id
// `<seconds>.<millis>:<serial>` of `msg=audit(...)`. A `type=EOE` line ends its event.
class AuditKeyExtractor final : public KeyExtractor {
 public:
  bool Extract(std::string_view line, std::string* key) override;
  bool IsEndMarker(std::string_view line) const override;
};

// The key of key_regex: the text of its capture groups joined with NUL bytes.
// REQUIRES: the pattern has at least one capture group.
class RegexKeyExtractor final : public KeyExtractor {
 public:
  explicit RegexKeyExtractor(std::unique_ptr<Regex> regex) : regex_(std::move(regex)) {}
  bool Extract(std::string_view line, std::string* key) override;

 private:
  std::unique_ptr<Regex> regex_;
  std::vector<std::string> captures_;
};

struct GroupedOptions {
  // A group ends when no line joined it for `timeout`, or `window` after its first line;
  // exactly one of the two is non-zero (milliseconds).
  std::chrono::milliseconds timeout{0};
  std::chrono::milliseconds window{0};
  // OSSEC's audit format: only consecutive lines with the same key form a group, so a line
  // with another key ends the open group at once.
  bool consecutive_only = false;
  // Groups open at the same time; past this the oldest group is emitted.
  size_t max_open_groups = 4096;
  std::string separator = " ";
  // Count lines without a key as format errors (they are emitted alone either way).
  bool keyless_is_error = false;
};

// Groups lines with equal keys into one record each. A group ends at its key's end marker, at
// its timeout or window (Expire()), when too many groups are open, or at Flush(). Lines
// without a key are records of their own. Records come out in the order their groups end.
class GroupedReader final : public LineBasedReader {
 public:
  GroupedReader(ReaderOptions options, std::unique_ptr<KeyExtractor> keys, GroupedOptions grouped);

  void Expire(std::chrono::steady_clock::time_point now, const RecordCallback& emit) override;
  std::chrono::steady_clock::time_point NextExpiry() const override;
  void PrepareStop(const RecordCallback& emit) override { FlushRecord(emit); }

  // Groups end through Expire() on their own timeout or window, so the idle flush (which ends
  // every group) waits at least that long and in practice only completes a partial line.
  std::chrono::milliseconds flush_timeout() const override {
    return std::max({flush_timeout_, grouped_.timeout, grouped_.window});
  }

  size_t open_groups() const { return groups_.size(); }

 protected:
  void OnLine(std::string_view line, bool truncated, const RecordCallback& emit) override;
  void FlushRecord(const RecordCallback& emit) override;
  bool PendingRecordStart(uint64_t* offset) const override;
  void RebaseRecords(uint64_t offset) override {
    for (Group& group : groups_) group.record.Rebase(offset);
  }
  std::vector<uint64_t> OpenRecordStarts() const override;
  void DropReplayedRecords() override;

 private:
  struct Group {
    std::string key;
    PendingRecord record;
  };
  using GroupList = std::list<Group>;

  void EmitGroup(GroupList::iterator group, const RecordCallback& emit);
  std::chrono::steady_clock::time_point Deadline(const Group& group) const;

  std::unique_ptr<KeyExtractor> keys_;
  GroupedOptions grouped_;
  GroupList groups_;  // in order of their first line
  // Heterogeneous lookup, so finding a key allocates nothing.
  std::unordered_map<std::string, GroupList::iterator, TransparentStringHash, std::equal_to<>>
      index_;
  std::string key_;  // scratch for the current line's key
};

}  // namespace vigil::collector
