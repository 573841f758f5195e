#include "analysis/event_list.h"

#include <algorithm>
#include <cstring>
#include <random>
#include <utility>

namespace vigil::analysis {
namespace {

// Mixes 64 bits so that every input bit affects the low bits, which pick the slot.
uint64_t Mix(uint64_t value) {
  value ^= value >> 33;
  value *= 0xff51afd7ed558ccdULL;
  value ^= value >> 33;
  value *= 0xc4ceb9fe1a85ec53ULL;
  value ^= value >> 33;
  return value;
}

// A random value per process that every hash starts from. The logs come from outside, so a
// fixed hash would let their writer choose addresses or user names that share slots.
uint64_t ProcessSeed() {
  static const uint64_t seed = [] {
    std::random_device device;
    return (static_cast<uint64_t>(device()) << 32) ^ device();
  }();
  return seed;
}

uint64_t Load64(const char* data) {
  uint64_t word;
  std::memcpy(&word, data, sizeof(word));
  return word;
}

uint64_t Load32(const char* data) {
  uint32_t word;
  std::memcpy(&word, data, sizeof(word));
  return word;
}

// Compares `size` bytes, at most 16, with two possibly overlapping loads from each side. A call
// to memcmp costs more than these loads for keys this short.
bool EqualShortBytes(const char* a, const char* b, size_t size) {
  if (size >= 8) {
    return Load64(a) == Load64(b) && Load64(a + size - 8) == Load64(b + size - 8);
  }
  if (size >= 4) {
    return Load32(a) == Load32(b) && Load32(a + size - 4) == Load32(b + size - 4);
  }
  // Positions 0, size / 2 and size - 1 cover every byte of one to three.
  return size == 0 || (a[0] == b[0] && a[size / 2] == b[size / 2] && a[size - 1] == b[size - 1]);
}

// Hashes eight bytes at a time, the last eight overlapping the ones before, because the keys
// are short (addresses and user names).
size_t HashKey(uint64_t seed, std::string_view key) {
  const char* data = key.data();
  size_t size = key.size();
  uint64_t hash = seed ^ (size * 0x9e3779b97f4a7c15ULL);
  if (size >= 8) {
    for (size_t i = 0; i + 8 < size; i += 8) hash = Mix(hash ^ Load64(data + i));
    return static_cast<size_t>(Mix(hash ^ Load64(data + size - 8)));
  }
  uint64_t word = 0;
  if (size >= 4) {
    word = (Load32(data) << 32) | Load32(data + size - 4);
  } else if (size > 0) {
    word = (static_cast<uint64_t>(static_cast<unsigned char>(data[0])) << 16) |
           (static_cast<uint64_t>(static_cast<unsigned char>(data[size / 2])) << 8) |
           static_cast<unsigned char>(data[size - 1]);
  }
  return static_cast<size_t>(Mix(hash ^ word));
}

}  // namespace

void StoredEvent::AssignText(
    std::string_view new_full_log,
    std::initializer_list<std::pair<std::string_view, std::string_view*>> fields,
    size_t max_kept_capacity) {
  size_t size = new_full_log.size();
  for (const auto& [value, target] : fields) size += value.size();
  if (size > text_capacity_ || text_capacity_ > max_kept_capacity) {
    // The buffer at least doubles while it stays within `max_kept_capacity`, so that an
    // event reused for logs of varying length soon stops allocating.
    size_t capacity = size;
    if (text_capacity_ <= max_kept_capacity) {
      capacity = std::max(size, std::min(2 * text_capacity_, max_kept_capacity));
    }
    // Released before allocating, so that at the peak the event has one buffer.
    text_.reset();
    text_capacity_ = 0;
    text_ = std::make_unique_for_overwrite<char[]>(capacity);
    text_capacity_ = capacity;
  }
  char* next = text_.get();
  auto copy = [&](std::string_view value) {
    if (value.empty()) return std::string_view();
    std::memcpy(next, value.data(), value.size());
    std::string_view copied(next, value.size());
    next += value.size();
    return copied;
  };
  full_log = copy(new_full_log);
  for (const auto& [value, target] : fields) *target = copy(value);
}

KeyIndex::KeyIndex() : KeyIndex(ProcessSeed()) {}

KeyIndex::KeyIndex(uint64_t seed) : seed_(seed) {}

uint32_t KeyIndex::Hash(std::string_view key) const {
  return static_cast<uint32_t>(HashKey(seed_, key));
}

bool KeyIndex::Equals(const Slot& slot, std::string_view key) {
  if (slot.size != key.size()) return false;
  if (key.size() > kInlineKeySize) return std::memcmp(slot.key.data, key.data(), key.size()) == 0;
  return EqualShortBytes(slot.key.bytes, key.data(), key.size());
}

size_t KeyIndex::Probe(std::string_view key, uint32_t hash) const {
  size_t i = hash & mask_;
  while (slots_[i].position != 0 && (slots_[i].hash != hash || !Equals(slots_[i], key))) {
    i = (i + 1) & mask_;
  }
  return i;
}

uint64_t KeyIndex::Find(std::string_view key, uint32_t hash) const {
  if (used_ == 0) return 0;
  return slots_[Probe(key, hash)].position;
}

uint64_t KeyIndex::Exchange(std::string_view key, uint32_t hash, uint64_t position) {
  if ((used_ + 1) * 2 > slots_.size()) Grow();
  Slot& slot = slots_[Probe(key, hash)];
  if (key.size() > kInlineKeySize) {
    // The key stays the same, but the bytes of the event that `position` replaces may be
    // reused once that event leaves the list.
    slot.key.data = key.data();
  }
  if (slot.position != 0) return std::exchange(slot.position, position);
  slot.hash = hash;
  slot.size = static_cast<uint32_t>(key.size());
  if (key.size() <= kInlineKeySize) std::memcpy(slot.key.bytes, key.data(), key.size());
  slot.position = position;
  ++used_;
  return 0;
}

void KeyIndex::EraseIf(uint32_t hash, uint64_t position) {
  if (used_ == 0) return;
  // Positions name one event each, so the slot holding `position` is the one to erase, and
  // it lies in the run that starts at the home slot of `hash`.
  size_t i = hash & mask_;
  while (slots_[i].position != position) {
    if (slots_[i].position == 0) return;
    i = (i + 1) & mask_;
  }
  // Linear probing without tombstones: each later slot of the same run moves back into the
  // hole, unless that would put it before its home slot.
  for (size_t j = (i + 1) & mask_; slots_[j].position != 0; j = (j + 1) & mask_) {
    size_t home = slots_[j].hash & mask_;
    if (((j - home) & mask_) < ((j - i) & mask_)) continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i].position = 0;
  --used_;
}

void KeyIndex::clear() {
  for (Slot& slot : slots_) slot.position = 0;
  used_ = 0;
}

void KeyIndex::Grow() {
  std::vector<Slot> old(slots_.empty() ? 16 : slots_.size() * 2);
  old.swap(slots_);
  mask_ = slots_.size() - 1;
  for (const Slot& slot : old) {
    if (slot.position == 0) continue;
    size_t i = slot.hash & mask_;
    while (slots_[i].position != 0) i = (i + 1) & mask_;
    slots_[i] = slot;
  }
}

}  // namespace vigil::analysis
