#include "analysis/literal_scanner.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <map>

namespace vigil::analysis {
namespace {

// The masks below keep a number's first bytes in memory order in its low bits.
static_assert(std::endian::native == std::endian::little, "the scanner assumes little-endian");

constexpr std::array<unsigned char, 256> kLower = [] {
  std::array<unsigned char, 256> table{};
  for (int c = 0; c < 256; ++c) {
    table[static_cast<size_t>(c)] =
        static_cast<unsigned char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  }
  return table;
}();

// The four or eight bytes at `p` as one number: the keys and the windows.
uint32_t Load32(const void* p) {
  uint32_t key;
  std::memcpy(&key, p, sizeof key);
  return key;
}
uint64_t Load64(const void* p) {
  uint64_t key;
  std::memcpy(&key, p, sizeof key);
  return key;
}

// Writes `text` to `out` with ASCII letters lowercased, eight bytes at a time.
void LowerInto(std::string_view text, char* out) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHigh = 0x8080808080808080;
  size_t i = 0;
  for (; i + 8 <= text.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, text.data() + i, 8);
    uint64_t low7 = word & ~kHigh;
    // Per byte, the high bit of `from_a` is set for low7 >= 'A' and that of `past_z` for
    // low7 > 'Z'; bytes of 0x80 and above are left alone.
    uint64_t from_a = low7 + kOnes * (0x80 - 'A');
    uint64_t past_z = low7 + kOnes * (0x80 - 'Z' - 1);
    uint64_t upper = (from_a & ~past_z) & ~word & kHigh;
    word |= upper >> 2;
    std::memcpy(out + i, &word, 8);
  }
  for (; i < text.size(); ++i) {
    out[i] = static_cast<char>(kLower[static_cast<unsigned char>(text[i])]);
  }
}

// Returns this thread's copy of `text` with ASCII letters lowercased and eight zero bytes
// after it, so that every window can load eight bytes. The copy is valid until the thread's
// next call.
const unsigned char* LoweredCopy(std::string_view text) {
  thread_local std::string lowered;
  // A copy of a very long line is not kept for the next one.
  constexpr size_t kKeptCopyBytes = 64 * 1024;
  if (lowered.capacity() > kKeptCopyBytes && text.size() + 8 <= kKeptCopyBytes) {
    std::string().swap(lowered);
  }
  lowered.resize(text.size() + 8);
  LowerInto(text, lowered.data());
  std::memset(lowered.data() + text.size(), 0, 8);
  return reinterpret_cast<const unsigned char*>(lowered.data());
}

// The commonness of each byte in lowercased log text, from 2 (rare) to 10 (space). It follows
// English letter frequencies and puts digits and the punctuation of paths, times and
// key=value pairs in the middle.
constexpr std::array<unsigned char, 256> kCommonness = [] {
  std::array<unsigned char, 256> table{};
  table.fill(2);
  auto set = [&](std::string_view bytes, unsigned char commonness) {
    for (char c : bytes) table[static_cast<unsigned char>(c)] = commonness;
  };
  set("vk", 3);
  set("fgwyb0123456789.:-/=_", 5);
  set("hldcump", 6);
  set("etaoinsr", 8);
  set(" ", 10);
  return table;
}();

bool IsLowerAscii(std::string_view literal) {
  return std::all_of(literal.begin(), literal.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x80 && kLower[byte] == byte;
  });
}

}  // namespace

LiteralScanner::LiteralScanner(const std::vector<std::string>& literals)
    : literal_count_(literals.size()),
      window_filter_((size_t{1} << kFilterBits) / 32, 0),
      long_filter_((size_t{1} << kFilterBits) / 64, 0) {
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < literals.size(); ++i) {
    if (literals[i].size() >= kMinLiteralBytes && IsLowerAscii(literals[i])) {
      ids.push_back(static_cast<uint32_t>(i));
    }
  }
  // Shorter literals have fewer keys to choose from, so they choose first. Each takes the key
  // that the fewest literals hold so far. Among those it takes the key of the rarest bytes
  // (kCommonness), because each time the text contains the key without the rest of the
  // literal, a compare is wasted. On further ties it takes the last one: the ends of words are
  // more telling than their beginnings ("failed" and "failure" share "fail").
  std::stable_sort(ids.begin(), ids.end(),
                   [&](uint32_t a, uint32_t b) { return literals[a].size() < literals[b].size(); });
  std::map<uint32_t, std::vector<Entry>> by_short_key;
  std::map<uint64_t, std::vector<Entry>> by_long_key;
  auto choose = [](const std::string& literal, size_t width, auto& by_key) {
    size_t best = 0;
    // The literals already under a key, then the sum of its bytes' kCommonness.
    std::pair<size_t, unsigned> best_cost(SIZE_MAX, 0);
    for (size_t offset = 0; offset + width <= literal.size(); ++offset) {
      auto it = by_key.find(width == 8 ? Load64(literal.data() + offset)
                                       : Load32(literal.data() + offset));
      std::pair<size_t, unsigned> cost(it == by_key.end() ? 0 : it->second.size(), 0);
      for (size_t j = offset; j < offset + width; ++j) {
        cost.second += kCommonness[static_cast<unsigned char>(literal[j])];
      }
      if (cost <= best_cost) {
        best = offset;
        best_cost = cost;
      }
    }
    return best;
  };
  for (uint32_t id : ids) {
    const std::string& literal = literals[id];
    Entry entry{id, 0, static_cast<uint32_t>(literal_text_.size()),
                static_cast<uint32_t>(literal.size())};
    literal_text_ += literal;
    literal_text_.append((8 - literal.size() % 8) % 8, '\0');
    if (literal.size() == 3) {
      // Every byte that can follow in lowercased text completes a key.
      for (int next = 0; next < 256; ++next) {
        if (kLower[static_cast<size_t>(next)] != next) continue;
        std::string window = literal + static_cast<char>(next);
        by_short_key[Load32(window.data())].push_back(entry);
      }
      short_entries_.push_back(entry);
    } else if (literal.size() < 8) {
      entry.offset = static_cast<uint32_t>(choose(literal, 4, by_short_key));
      by_short_key[Load32(literal.data() + entry.offset)].push_back(entry);
    } else {
      entry.offset = static_cast<uint32_t>(choose(literal, 8, by_long_key));
      by_long_key[Load64(literal.data() + entry.offset)].push_back(entry);
    }
  }
  short_keys_.resize(std::bit_ceil(std::max<size_t>(16, by_short_key.size() * 2)));
  long_keys_.resize(std::bit_ceil(std::max<size_t>(16, by_long_key.size() * 2)));
  auto file = [&](const auto& by_key, auto* table) {
    for (const auto& [key, entries] : by_key) {
      auto* bucket = Insert(table, key);
      bucket->begin = static_cast<uint32_t>(entries_.size());
      entries_.insert(entries_.end(), entries.begin(), entries.end());
      bucket->end = static_cast<uint32_t>(entries_.size());
    }
  };
  file(by_short_key, &short_keys_);
  file(by_long_key, &long_keys_);
  for (const auto& [key, entries] : by_short_key) {
    uint32_t slot = FilterSlot(key);
    window_filter_[slot >> 5] |= uint64_t{kShortKeyBit} << ((slot & 31) * 2);
  }
  for (const auto& [key, entries] : by_long_key) {
    // The window that starts the key: its first four bytes, read the way Scan() reads them.
    char first[sizeof key];
    std::memcpy(first, &key, sizeof key);
    uint32_t slot = FilterSlot(Load32(first));
    window_filter_[slot >> 5] |= uint64_t{kLongKeyBit} << ((slot & 31) * 2);
    slot = FilterSlot(key);
    long_filter_[slot >> 6] |= uint64_t{1} << (slot & 63);
  }
}

template <typename Key>
const LiteralScanner::Bucket<Key>* LiteralScanner::Find(const Table<Key>& table, Key key) {
  size_t mask = table.size() - 1;
  for (size_t at = TableSlot(key) & mask;; at = (at + 1) & mask) {
    const Bucket<Key>& bucket = table[at];
    if (!bucket.used) return nullptr;
    if (bucket.key == key) return &bucket;
  }
}

template <typename Key>
LiteralScanner::Bucket<Key>* LiteralScanner::Insert(Table<Key>* table, Key key) {
  size_t mask = table->size() - 1;
  for (size_t at = TableSlot(key) & mask;; at = (at + 1) & mask) {
    Bucket<Key>& bucket = (*table)[at];
    if (!bucket.used) {
      bucket.used = true;
      bucket.key = key;
      return &bucket;
    }
    if (bucket.key == key) return &bucket;
  }
}

template <typename Key>
inline void LiteralScanner::Verify(const Table<Key>& table, Key key, const unsigned char* text,
                                   size_t key_start, size_t size, uint64_t* bits) const {
  // A miss means that another key shares the filter bit.
  const Bucket<Key>* bucket = Find(table, key);
  if (bucket != nullptr) VerifyBucket(bucket->begin, bucket->end, text, key_start, size, bits);
}

inline void LiteralScanner::VerifyBucket(uint32_t begin, uint32_t end, const unsigned char* text,
                                         size_t key_start, size_t size, uint64_t* bits) const {
  for (uint32_t e = begin; e < end; ++e) {
    const Entry& entry = entries_[e];
    VerifyAt(entry, text, static_cast<int64_t>(key_start) - entry.offset, size, bits);
  }
}

inline void LiteralScanner::VerifyAt(const Entry& entry, const unsigned char* text, int64_t start,
                                     size_t size, uint64_t* bits) const {
  if (start < 0 || static_cast<size_t>(start) + entry.length > size) return;
  // The literal is stored padded with zeros to whole words, and the text has eight bytes
  // after its end, so whole words can be compared with the bytes past the literal masked.
  const unsigned char* at = text + start;
  const char* literal = literal_text_.data() + entry.text_offset;
  uint32_t length = entry.length;
  uint32_t j = 0;
  for (; j + 8 <= length; j += 8) {
    if (Load64(at + j) != Load64(literal + j)) return;
  }
  if (j < length) {
    uint64_t mask = ~uint64_t{0} >> (8 * (8 - (length - j)));
    if ((Load64(at + j) ^ Load64(literal + j)) & mask) return;
  }
  bits[entry.id >> 6] |= uint64_t{1} << (entry.id & 63);
}

void LiteralScanner::Scan(std::string_view text, uint64_t* bits) const {
  if (entries_.empty() || text.size() < kMinLiteralBytes) return;
  size_t size = text.size();
  const unsigned char* bytes = LoweredCopy(text);

  const uint64_t* window_filter = window_filter_.data();
  const uint64_t* long_filter = long_filter_.data();
  for (size_t i = 0; i + 4 <= size; ++i) {
    uint32_t short_key = Load32(bytes + i);
    uint32_t slot = FilterSlot(short_key);
    uint64_t kinds = (window_filter[slot >> 5] >> ((slot & 31) * 2)) & 3u;
    if (kinds == 0) continue;
    if (kinds & kShortKeyBit) Verify(short_keys_, short_key, bytes, i, size, bits);
    if (kinds & kLongKeyBit) {
      uint64_t window = Load64(bytes + i);
      slot = FilterSlot(window);
      if ((long_filter[slot >> 6] >> (slot & 63)) & 1u && i + 8 <= size) {
        Verify(long_keys_, window, bytes, i, size, bits);
      }
    }
  }

  // No four-byte window starts in the last three bytes, so three-byte literals are compared
  // with them here.
  uint32_t last = Load32(bytes + size - 3) & 0xFFFFFF;
  for (const Entry& entry : short_entries_) {
    if ((Load32(literal_text_.data() + entry.text_offset) & 0xFFFFFF) == last) {
      bits[entry.id >> 6] |= uint64_t{1} << (entry.id & 63);
    }
  }
}

}  // namespace vigil::analysis
