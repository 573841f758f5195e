// Correlation storage: the earlier events that if_matched_* rules search.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analysis/event.h"

namespace vigil::analysis {

struct EventList;

// One earlier event kept for correlation: its log, and the fields that same_* and
// different_* compare. The strings are views into one buffer that the event owns, so a
// stored event takes one allocation, which the engine reuses with the event.
struct alignas(64) StoredEvent {
  StoredEvent() = default;
  StoredEvent(const StoredEvent&) = delete;
  StoredEvent& operator=(const StoredEvent&) = delete;

  // Copies `full_log` and the other fields into the buffer, which grows when it is too small.
  // A buffer of more than `max_kept_capacity` bytes is replaced by one sized to the copy. The
  // views must not point into this event's own buffer.
  void AssignText(std::string_view new_full_log,
                  std::initializer_list<std::pair<std::string_view, std::string_view*>> fields,
                  size_t max_kept_capacity);
  std::string_view log() const { return full_log.substr(log_offset, log_length); }
  // Prefetches the event for writing, without reading it, when it is about to be reused.
  void PrefetchMembers() const {
    const char* members = reinterpret_cast<const char*>(this);
    for (size_t offset = 0; offset < sizeof(StoredEvent); offset += 64) {
      __builtin_prefetch(members + offset, 1);
    }
  }

  // The members up to `full_log` share the first cache line, the only one that releasing the
  // event reads.
  int64_t time = 0;
  uint64_t sequence = 0;  // order of storing, engine-wide; larger is newer
  // Level of the correlation rule this event last helped fire. Later searches by rules at or
  // below that level stop at this event, so a rule does not fire again on the same events.
  int matched = 0;
  // The number of lists, plus the history, that contain this event. The engine reuses the
  // event when the number drops to zero.
  int holders = 0;
  Category category = Category::kSyslog;
  bool has_srcip = false, has_srcport = false, has_dstport = false, has_dstuser = false;
  bool has_id = false, has_url = false;

 private:
  size_t text_capacity_ = 0;
  std::unique_ptr<char[]> text_;

 public:
  // Views into `text_`. A field that no search of the event's lists compares stays empty.
  std::string_view full_log;
  size_t log_offset = 0;                       // the event's log is full_log from this offset
  size_t log_length = std::string_view::npos;  // npos: to the end of full_log
  std::string_view srcip;
  std::string_view srcport;
  std::string_view dstport;
  std::string_view dstuser;
  std::string_view hostname;
  std::string_view id;
  std::string_view url;
  std::string_view srcgeoip;  // empty when the event had none
  // The lists this event was stored in (Rule::store_lists of the rule that alerted), which
  // outlive the event.
  std::span<EventList* const> lists;
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
  // Prefetches the storage of `position`, which need not be in the queue.
  void Prefetch(uint64_t position) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[position & mask_]);
  }
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

// The hashes of an event's source address and user in the indexes of one EventList, 0 for a
// key that the list does not index or the event lacks.
struct KeyHashes {
  uint32_t srcip = 0;
  uint32_t dstuser = 0;
};

// An event of an EventList, with the positions in the list of the next older events with
// the same source address and with the same user. A position is 0 when the list does not
// index that key or the key had no older event. The entry repeats the event's time and
// sequence, and keeps the hashes of its keys as the list's indexes compute them, so that
// trimming the list and walking a key's events read the event only when they need more.
struct ListEntry {
  StoredEvent* event = nullptr;
  int64_t time = 0;
  uint64_t sequence = 0;
  uint64_t older_srcip = 0;
  uint64_t older_dstuser = 0;
  uint32_t srcip_hash = 0;
  uint32_t dstuser_hash = 0;
};

// An alerted event in the engine's history of the most recent alerts, which bounds what the
// lists remember. `event` is set only when rules search the history itself (if_matched_regex
// alone), and the history then keeps the event alive. `sequence` is the event's sequence in
// `lists`, the lists it went into, which outlive the entry.
struct HistoryEntry {
  StoredEvent* event = nullptr;
  int64_t time = 0;
  uint64_t sequence = 0;
  std::span<EventList* const> lists;
};

// Maps keys (source addresses or user names) to the position of the newest event of each
// key in a list. The table allocates only when it grows. A slot keeps a key of up to
// kInlineKeySize bytes in itself, so a probe reads one slot and nothing else. For a longer
// key it keeps a pointer to the key's bytes, which the caller keeps alive.
class KeyIndex {
 public:
  static constexpr size_t kInlineKeySize = 16;

  // `seed` is where every hash starts. The keys come from logs that outsiders write, so the
  // default is random per process, which keeps them from choosing keys that share slots.
  KeyIndex();
  explicit KeyIndex(uint64_t seed);

  // Returns the hash of `key` that the other members take.
  uint32_t Hash(std::string_view key) const;
  // Prefetches the slot where a search for `hash` starts.
  void Prefetch(uint32_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash & mask_]);
  }

  // Returns the position of the newest event whose key is `key`, or 0.
  uint64_t Find(std::string_view key) const { return Find(key, Hash(key)); }
  // REQUIRES: hash == Hash(key).
  uint64_t Find(std::string_view key, uint32_t hash) const;
  // Records `position` (not 0) as the newest for `key` and returns the position it replaces,
  // or 0. A key longer than kInlineKeySize is not copied: its bytes must stay valid and
  // unchanged until EraseIf removes `position` or a later Exchange replaces it.
  // REQUIRES: hash == Hash(key).
  uint64_t Exchange(std::string_view key, uint32_t hash, uint64_t position);
  // Removes the key whose hash is `hash` when its newest event is at `position`.
  void EraseIf(uint32_t hash, uint64_t position);
  void clear();
  size_t size() const { return used_; }

 private:
  struct Slot {
    uint64_t position = 0;  // 0 when the slot is free
    uint32_t hash = 0;
    uint32_t size = 0;  // of the key
    union {
      char bytes[kInlineKeySize];  // when size <= kInlineKeySize
      const char* data;            // otherwise
    } key;
  };
  static_assert(sizeof(Slot) == 32);

  static bool Equals(const Slot& slot, std::string_view key);
  // Returns the slot of `key`, or the free slot where it would go.
  size_t Probe(std::string_view key, uint32_t hash) const;
  void Grow();

  // A power of two in size, at most half used. The home slot of a key is its hash & mask_,
  // so the table may have at most 2^32 slots, far more than a list of events reaches.
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t used_ = 0;
  uint64_t seed_;
};

// Earlier events that matched a rule (for if_matched_sid) or a group (for if_matched_group),
// newest first. An event leaves the list when it is older than every search of the list
// reaches, or when it leaves the engine's history of recent alerts. The RuleEngine owns the
// events, and a list refers to them until they leave it.
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
  KeyIndex by_srcip;
  // The same for rules with same_user (and without same_source_ip), by dstuser.
  bool index_dstuser = false;
  KeyIndex by_dstuser;
  // Events of this list marked by a correlation rule (matched > 0), by sequence.
  std::map<uint64_t, StoredEvent*> marked;
  // The same_* and different_* bits (SameField) of the rules that search this list: the
  // fields of a stored event that some search compares. RuleEngine sets it.
  uint32_t compared_fields = 0;
  // True when the events of this list are in no other list and not in the history, so the
  // list releases each event it removes. RuleEngine sets it.
  bool sole_holder = false;
};

}  // namespace vigil::analysis
