// Pending deletes of active responses and the offence counts of repeated offenders.
//
// The store decides what an "add" request does: run the program, or extend or escalate a block
// that is still pending. It hands out the deletes that are due and converts itself to and from
// the JSON file kept in the state folder. It does no I/O and is not thread-safe, so execd uses
// it from its loop thread only. Times are wall-clock milliseconds since the Unix epoch, so a
// restart keeps every due time.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "response/message.h"
#include "response/table.h"

namespace vigil::response {

struct PendingEntry {
  ExecRequest request;  // the "add" request; the delete runs it with Action::kDelete
  std::string executable;
  int64_t added_ms = 0;
  int64_t due_ms = 0;
  int timeout_seconds = 0;  // of the latest add, extension or escalation
  bool simulated = false;
};

enum class AddOutcome {
  kRun,       // nothing pending: run the program
  kExtend,    // pending: move the due time to now + timeout
  kEscalate,  // pending, repeated offender: move the due time to now + the next timeout
};

struct AddDecision {
  AddOutcome outcome = AddOutcome::kRun;
  int timeout_seconds = 0;  // 0: never undone
  int offence = 1;          // how many adds this response and key have had, this one included
};

class PendingStore {
 public:
  // Decides what the add `request` for `entry` does at `now_ms` and records it: a new pending
  // delete (when the timeout is above 0), or the moved due time of the pending one.
  //
  // The timeout of offence 1 is the response's timeout. When the response has
  // repeated_offenders (minutes), offence N >= 2 uses the (N-1)th value, and the last value
  // once the list is used up. Offence counts never reset; they are kept across restarts.
  AddDecision OnAdd(const TableEntry& entry, const ExecRequest& request, int64_t now_ms);

  // Removes and returns the entries due at `now_ms`, earliest first.
  std::vector<PendingEntry> TakeDue(int64_t now_ms);

  // Removes and returns the entry of `name` and `key`, if any.
  std::optional<PendingEntry> Take(const std::string& name, const std::string& key);

  // Removes and returns every entry whose address is `srcip` (normalised).
  std::vector<PendingEntry> TakeByAddress(const std::string& srcip);

  // Returns the earliest due time, if anything is pending.
  std::optional<int64_t> NextDue() const;

  const PendingEntry* Find(const std::string& name, const std::string& key) const;
  std::vector<PendingEntry> Entries() const;
  size_t size() const { return entries_.size(); }

  // Returns the JSON document stored in the state folder.
  std::string Serialize() const;
  // Parses a document written by Serialize(). Entries that do not validate are dropped and
  // reported in `*errors`.
  static Expected<PendingStore> Parse(std::string_view text, std::vector<std::string>* errors);

 private:
  using Key = std::pair<std::string, std::string>;  // response name, request key

  std::map<Key, PendingEntry> entries_;
  std::map<Key, int> offences_;
};

// Returns the timeout of offence `offence` (1-based) for `entry`, in seconds.
int TimeoutForOffence(const TableEntry& entry, int offence);

}  // namespace vigil::response
