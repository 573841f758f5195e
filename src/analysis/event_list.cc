#include "analysis/event_list.h"

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

KeyIndex::KeyIndex(std::string StoredEvent::*key) : key_(key), seed_(ProcessSeed()) {}

size_t KeyIndex::Probe(std::string_view key, size_t hash,
                       const PositionRing<ListEntry>& events) const {
  size_t i = hash & mask_;
  while (slots_[i].position != 0 &&
         (slots_[i].hash != hash || events.at(slots_[i].position).event->*key_ != key)) {
    i = (i + 1) & mask_;
  }
  return i;
}

uint64_t KeyIndex::Find(std::string_view key, const PositionRing<ListEntry>& events) const {
  if (used_ == 0) return 0;
  return slots_[Probe(key, HashKey(seed_, key), events)].position;
}

uint64_t KeyIndex::Exchange(std::string_view key, uint64_t position,
                            const PositionRing<ListEntry>& events) {
  if ((used_ + 1) * 2 > slots_.size()) Grow();
  size_t hash = HashKey(seed_, key);
  Slot& slot = slots_[Probe(key, hash, events)];
  if (slot.position != 0) return std::exchange(slot.position, position);
  slot.hash = hash;
  slot.position = position;
  ++used_;
  return 0;
}

void KeyIndex::EraseIf(std::string_view key, uint64_t position,
                       const PositionRing<ListEntry>& events) {
  if (used_ == 0) return;
  size_t i = Probe(key, HashKey(seed_, key), events);
  if (slots_[i].position != position) return;
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
