// Correlation storage: the earlier events that if_matched_* rules search.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/event.h"

namespace vigil::analysis {

// One earlier event kept for correlation: the fields that same_* and different_* compare.
struct EventList;

struct StoredEvent {
  int64_t time = 0;
  uint64_t sequence = 0;  // order of storing, engine-wide; larger is newer
  std::string full_log;
  size_t log_offset = 0;  // the event's log is full_log from this offset
  std::string_view log() const { return std::string_view(full_log).substr(log_offset); }
  std::string srcip;
  std::string srcport;
  std::string dstport;
  std::string dstuser;
  std::string hostname;
  std::string id;
  std::string url;
  std::string srcgeoip;  // empty when the event had none
  Category category = Category::kSyslog;
  bool has_srcip = false, has_srcport = false, has_dstport = false, has_dstuser = false;
  bool has_id = false, has_url = false;
  // Level of the correlation rule this event last helped fire. Later searches by rules at or
  // below that level stop at this event, so a rule does not fire again on the same events.
  int matched = 0;
  // The lists this event was stored in: `own_list`, or the group lists of the rule that
  // alerted. Either outlives the event.
  std::span<EventList* const> lists;
  EventList* own_list = nullptr;
  // The number of lists, plus the history, that contain this event. The engine reuses the
  // event when the number drops to zero.
  int holders = 0;
};

// A queue that numbers its items in the order they are added and keeps the newest at the
// front. Positions start at 1, so 0 never names an item. Adding allocates only when the
// queue is full, and removing never frees.
template <typename T>
class PositionRing {
 public:
  bool empty() const { return begin_ == end_; }
  size_t size() const { return static_cast<size_t>(end_ - begin_); }
  // The position of the oldest item, and one past the newest.
  uint64_t begin() const { return begin_; }
  uint64_t end() const { return end_; }
  bool Contains(uint64_t position) const { return position >= begin_ && position < end_; }
  // REQUIRES: Contains(position).
  const T& at(uint64_t position) const { return slots_[position & mask_]; }
  // The i-th item counted from the newest. REQUIRES: i < size().
  const T& operator[](size_t i) const { return at(end_ - 1 - i); }
  // REQUIRES: !empty().
  const T& newest() const { return at(end_ - 1); }
  const T& oldest() const { return at(begin_); }

  // Adds `item` as the newest and returns its position.
  uint64_t push_front(const T& item) {
    if (size() == slots_.size()) Grow();
    slots_[end_ & mask_] = item;
    return end_++;
  }
  // REQUIRES: !empty().
  void pop_back() { ++begin_; }
  void clear() { begin_ = end_; }

 private:
  void Grow() {
    std::vector<T> grown(slots_.empty() ? 16 : slots_.size() * 2);
    size_t mask = grown.size() - 1;
    for (uint64_t position = begin_; position < end_; ++position) {
      grown[position & mask] = at(position);
    }
    slots_.swap(grown);
    mask_ = mask;
  }

  std::vector<T> slots_;  // a power of two in size
  uint64_t mask_ = 0;
  uint64_t begin_ = 1;
  uint64_t end_ = 1;
};

// An event of an EventList, with the positions in the list of the next older events with
// the same source address and with the same user. A position is 0 when the list does not
// index that key or the key had no older event.
struct ListEntry {
  StoredEvent* event = nullptr;
  uint64_t older_srcip = 0;
  uint64_t older_dstuser = 0;
};

// Maps the keys (source addresses or user names) of the events in a list to the position of
// the newest event of each key. A slot keeps a hash and a position, and reads the key from
// the event at that position, so the table allocates only when it grows.
class KeyIndex {
 public:
  // Indexes events by their member `key`.
  explicit KeyIndex(std::string StoredEvent::*key);

  // Returns the position in `events` of the newest event whose key is `key`, or 0.
  uint64_t Find(std::string_view key, const PositionRing<ListEntry>& events) const;
  // Records `position` (not 0) as the newest for `key` and returns the position it replaces,
  // or 0. The event at `position` may join `events` after the call.
  uint64_t Exchange(std::string_view key, uint64_t position, const PositionRing<ListEntry>& events);
  // Forgets `key` when its newest event is the one at `position`. Call this before that event
  // leaves `events`.
  void EraseIf(std::string_view key, uint64_t position, const PositionRing<ListEntry>& events);
  void clear();
  size_t size() const { return used_; }

 private:
  struct Slot {
    size_t hash = 0;
    uint64_t position = 0;  // 0 when the slot is free
  };
  // Returns the slot of `key`, or the free slot where it would go.
  size_t Probe(std::string_view key, size_t hash, const PositionRing<ListEntry>& events) const;
  void Grow();

  std::string StoredEvent::*key_;
  std::vector<Slot> slots_;  // a power of two in size, at most half used
  size_t mask_ = 0;
  size_t used_ = 0;
  uint64_t seed_;  // where hashes start, random per process
};

// Earlier events that matched a rule (for if_matched_sid) or a group (for if_matched_group),
// newest first, trimmed by age and count. The RuleEngine owns the events, and a list refers
// to them until they leave it.
struct EventList {
  using Entry = ListEntry;
  PositionRing<Entry> events;
  int max_age_seconds = 0;  // the maximum timeframe of the rules that search this list
  // An index maps each key (a source address or a user) to the position of its newest event.
  // The older events of a key chain from there through Entry::older_*, and a position that
  // has left the list ends the chain. A key leaves the index with its newest event.
  //
  // Set when a rule with same_source_ip searches this list: `by_srcip` then indexes the
  // events by source address, so the search skips other addresses.
  bool index_srcip = false;
  KeyIndex by_srcip{&StoredEvent::srcip};
  // The same for rules with same_user (and without same_source_ip), by dstuser.
  bool index_dstuser = false;
  KeyIndex by_dstuser{&StoredEvent::dstuser};
  // Events of this list marked by a correlation rule (matched > 0), by sequence.
  std::map<uint64_t, StoredEvent*> marked;
  // The same_* and different_* bits (SameField) of the rules that search this list: the
  // fields of a stored event that some search compares. RuleEngine sets it.
  uint32_t compared_fields = 0;
};

}  // namespace vigil::analysis
