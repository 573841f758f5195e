#include "analysis/literal_scanner.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <map>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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

// The bytes after a text in its lowercased copy, all zero: enough for the 16-byte loads of
// FilterAvx2() at the last window and for the eight-byte loads of the other steps.
constexpr size_t kCopyPadding = 16;

// Returns this thread's buffer for a lowercased copy of `size` bytes: at least
// size + kCopyPadding bytes, rounded up to a multiple of 32. The buffer is valid until the
// thread's next call.
unsigned char* CopyBuffer(size_t size, size_t* buffer_size) {
  thread_local std::string buffer;
  // A copy of a very long line is not kept for the next one.
  constexpr size_t kKeptCopyBytes = 64 * 1024;
  *buffer_size = (size + kCopyPadding + 31) & ~size_t{31};
  if (buffer.capacity() > kKeptCopyBytes && *buffer_size <= kKeptCopyBytes) {
    std::string().swap(buffer);
  }
  if (buffer.size() < *buffer_size) buffer.resize(*buffer_size);
  return reinterpret_cast<unsigned char*>(buffer.data());
}

// Returns a copy of `text` with ASCII letters lowercased and zero bytes after it, as
// CopyBuffer() describes.
const unsigned char* LoweredCopy(std::string_view text) {
  size_t buffer_size;
  unsigned char* copy = CopyBuffer(text.size(), &buffer_size);
  LowerInto(text, reinterpret_cast<char*>(copy));
  std::memset(copy + text.size(), 0, buffer_size - text.size());
  return copy;
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

// Multipliers of the key hashes (odd, from xxHash's 32-bit primes). The filters use the top
// bits of the products, which depend on every bit of the key.
constexpr uint32_t kMultiplier3 = 0x9E3779B1u;
constexpr uint32_t kMultiplier4 = 0x85EBCA77u;
constexpr uint32_t kMultiplier8 = 0xC2B2AE3Du;

#if defined(__x86_64__)

__attribute__((target("avx2"))) const unsigned char* LoweredCopyAvx2(std::string_view text) {
  size_t buffer_size;
  unsigned char* copy = CopyBuffer(text.size(), &buffer_size);
  std::memcpy(copy, text.data(), text.size());
  std::memset(copy + text.size(), 0, buffer_size - text.size());
  const __m256i a = _mm256_set1_epi8('A');
  const __m256i letters = _mm256_set1_epi8('Z' - 'A');
  const __m256i case_bit = _mm256_set1_epi8(0x20);
  for (size_t i = 0; i < buffer_size; i += 32) {
    auto* at = reinterpret_cast<__m256i*>(copy + i);
    __m256i bytes = _mm256_loadu_si256(at);
    // A byte is an uppercase letter when byte - 'A', unsigned, is at most 'Z' - 'A'.
    __m256i from_a = _mm256_sub_epi8(bytes, a);
    __m256i upper = _mm256_cmpeq_epi8(_mm256_min_epu8(from_a, letters), from_a);
    _mm256_storeu_si256(at, _mm256_or_si256(bytes, _mm256_and_si256(upper, case_bit)));
  }
  return copy;
}

// Returns a mask with bit k set when bit bit_k of 32-bit lane k of `words` is set.
__attribute__((target("avx2"))) inline unsigned BitMaskAvx2(__m256i words, __m256i bits) {
  // Moves each lane's bit to its sign bit, which movemask collects: a shift left by
  // 31 - bit, which is ~bit & 31.
  __m256i shift = _mm256_andnot_si256(bits, _mm256_set1_epi32(31));
  return static_cast<unsigned>(
      _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_sllv_epi32(words, shift))));
}

#endif  // defined(__x86_64__)

// Returns a mask of the first `count` of 64 positions.
uint64_t FirstPositions(int64_t count) {
  if (count <= 0) return 0;
  return count >= 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1;
}

}  // namespace

template <LiteralScanner::KeyKind kind>
inline uint32_t LiteralScanner::KeyHash(const unsigned char* text) {
  uint32_t window = Load32(text);
  if constexpr (kind == kKey3) return (window & 0xFFFFFF) * kMultiplier3;
  if constexpr (kind == kKey4) return window * kMultiplier4;
  // The eight-byte hash adds the second half's product to the four-byte hash, as the SIMD
  // loop computes it from two windows.
  return window * kMultiplier4 + Load32(text + 4) * kMultiplier8;
}

LiteralScanner::LiteralScanner(const std::vector<std::string>& literals)
    : literal_count_(literals.size()),
      filter_(size_t{1} << kFilterWordBits, 0),
      prefix_filter_((size_t{1} << 16) / 64, 0) {
  std::vector<uint32_t> ids;
  for (size_t i = 0; i < literals.size(); ++i) {
    if (literals[i].size() >= kMinLiteralBytes && IsLowerAscii(literals[i])) {
      ids.push_back(static_cast<uint32_t>(i));
    }
  }
  // Shorter literals have fewer keys to choose from, so they choose first. Each takes the key
  // that the fewest literals have so far. Among those it takes the key of the rarest bytes
  // (kCommonness), because each time the text contains the key without the rest of the
  // literal, a compare is wasted. On further ties it takes the last one: the ends of words are
  // more telling than their beginnings ("failed" and "failure" share "fail").
  std::stable_sort(ids.begin(), ids.end(),
                   [&](uint32_t a, uint32_t b) { return literals[a].size() < literals[b].size(); });
  std::map<uint64_t, std::vector<Entry>> by_key[kKeyKinds];
  auto choose = [](const std::string& literal, size_t width, const auto& by_key) {
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
    Entry entry{{0, 0},
                {0, 0},
                id,
                0,
                static_cast<uint32_t>(literal_text_.size()),
                static_cast<uint32_t>(literal.size())};
    size_t head_bytes = std::min<size_t>(literal.size(), sizeof entry.head);
    std::memcpy(entry.head, literal.data(), head_bytes);
    std::memset(entry.head_mask, 0xFF, head_bytes);
    literal_text_ += literal;
    literal_text_.append((8 - literal.size() % 8) % 8, '\0');
    if (literal.size() == 3) {
      by_key[kKey3][Load32(literal_text_.data() + entry.text_offset) & 0xFFFFFF].push_back(entry);
    } else if (literal.size() < 8) {
      entry.offset = static_cast<uint32_t>(choose(literal, 4, by_key[kKey4]));
      by_key[kKey4][Load32(literal.data() + entry.offset)].push_back(entry);
    } else {
      entry.offset = static_cast<uint32_t>(choose(literal, 8, by_key[kKey8]));
      by_key[kKey8][Load64(literal.data() + entry.offset)].push_back(entry);
    }
  }
  for (int kind = 0; kind < kKeyKinds; ++kind) {
    size_t size = std::bit_ceil(std::max<size_t>(16, by_key[kind].size() * 2));
    tables_[kind].buckets.resize(size);
    tables_[kind].shift = 32 - static_cast<unsigned>(std::countr_zero(size));
    tables_[kind].mask = static_cast<uint32_t>(size - 1);
    for (const auto& [key, entries] : by_key[kind]) {
      // The key as Scan() reads it: its bytes followed by zeros.
      unsigned char bytes[8];
      std::memcpy(bytes, &key, sizeof key);
      uint32_t hash = kind == kKey3   ? KeyHash<kKey3>(bytes)
                      : kind == kKey4 ? KeyHash<kKey4>(bytes)
                                      : KeyHash<kKey8>(bytes);
      Bucket* bucket = Insert(static_cast<KeyKind>(kind), key, hash);
      ++key_count_;
      size_t key_bytes = 8;
      if (kind == kKey3) key_bytes = 3;
      if (kind == kKey4) key_bytes = 4;
      if (entries.size() == 1 && entries[0].length == key_bytes) {
        bucket->begin = entries[0].id;
        bucket->end = kExactKey;
      } else {
        bucket->begin = static_cast<uint32_t>(entries_.size());
        entries_.insert(entries_.end(), entries.begin(), entries.end());
        bucket->end = static_cast<uint32_t>(entries_.size());
      }
      uint32_t bit = kind == kKey3   ? FilterBit<kKey3>(hash)
                     : kind == kKey4 ? FilterBit<kKey4>(hash)
                                     : FilterBit<kKey8>(hash);
      filter_[FilterWord(KeyHash<kKey3>(bytes))] |= uint32_t{1} << bit;
      // A three-byte literal can be followed by any byte, or by the zero after the text.
      for (int next = 0; next < (kind == kKey3 ? 256 : 1); ++next) {
        if (kind == kKey3) bytes[3] = static_cast<unsigned char>(next);
        uint32_t prefix = KeyHash<kKey4>(bytes) >> 16;
        prefix_filter_[prefix >> 6] |= uint64_t{1} << (prefix & 63);
      }
    }
  }
}

inline const LiteralScanner::Bucket* LiteralScanner::Find(KeyKind kind, uint64_t key,
                                                          uint32_t hash) const {
  const Table& table = tables_[kind];
  const Bucket* buckets = table.buckets.data();
  for (uint32_t at = hash >> table.shift;; at = (at + 1) & table.mask) {
    const Bucket& bucket = buckets[at];
    if (bucket.key == key) return bucket.begin == bucket.end ? nullptr : &bucket;
    if (bucket.begin == bucket.end) return nullptr;
  }
}

LiteralScanner::Bucket* LiteralScanner::Insert(KeyKind kind, uint64_t key, uint32_t hash) {
  Table& table = tables_[kind];
  size_t mask = table.buckets.size() - 1;
  for (size_t at = hash >> table.shift;; at = (at + 1) & mask) {
    Bucket& bucket = table.buckets[at];
    if (bucket.begin == bucket.end || bucket.key == key) {
      bucket.key = key;
      return &bucket;
    }
  }
}

template <LiteralScanner::KeyKind kind>
inline void LiteralScanner::VerifyCandidate(const unsigned char* text, size_t start, size_t size,
                                            uint64_t* bits) const {
  const unsigned char* at = text + start;
  uint64_t key = kind == kKey8 ? Load64(at) : Load32(at);
  if constexpr (kind == kKey3) key &= 0xFFFFFF;
  // A miss means that another key shares the filter bit.
  const Bucket* bucket = Find(kind, key, KeyHash<kind>(at));
  if (bucket == nullptr) return;
  if (bucket->end == kExactKey) {
    // The filter masks keep the key within the text.
    bits[bucket->begin >> 6] |= uint64_t{1} << (bucket->begin & 63);
    return;
  }
  for (uint32_t e = bucket->begin; e < bucket->end; ++e) {
    const Entry& entry = entries_[e];
    VerifyAt(entry, text, static_cast<int64_t>(start) - entry.offset, size, bits);
  }
}

inline void LiteralScanner::VerifyAt(const Entry& entry, const unsigned char* text, int64_t start,
                                     size_t size, uint64_t* bits) const {
  if (start < 0 || static_cast<size_t>(start) + entry.length > size) return;
  // The text has kCopyPadding bytes after its end, so 16 bytes can be read at any start.
  const unsigned char* at = text + start;
  uint64_t head_difference = ((Load64(at) ^ entry.head[0]) & entry.head_mask[0]) |
                             ((Load64(at + 8) ^ entry.head[1]) & entry.head_mask[1]);
  if (head_difference != 0) return;
  uint32_t length = entry.length;
  if (length > sizeof entry.head) {
    // The literal is stored padded with zeros to whole words, so whole words can be compared
    // with the bytes past the literal masked.
    const char* literal = literal_text_.data() + entry.text_offset;
    uint32_t j = sizeof entry.head;
    for (; j + 8 <= length; j += 8) {
      if (Load64(at + j) != Load64(literal + j)) return;
    }
    if (j < length) {
      uint64_t mask = ~uint64_t{0} >> (8 * (8 - (length - j)));
      if ((Load64(at + j) ^ Load64(literal + j)) & mask) return;
    }
  }
  bits[entry.id >> 6] |= uint64_t{1} << (entry.id & 63);
}

void LiteralScanner::VerifyCandidates(const unsigned char* text, size_t size, size_t chunk,
                                      uint64_t found3, uint64_t found4, uint64_t found8,
                                      uint64_t* bits) const {
  if (chunk + 64 + 7 > size) {
    // Keys that would run past the text's end.
    int64_t left = static_cast<int64_t>(size) - static_cast<int64_t>(chunk);
    found3 &= FirstPositions(left - 2);
    found4 &= FirstPositions(left - 3);
    found8 &= FirstPositions(left - 7);
  }
  for (; found3 != 0; found3 &= found3 - 1) {
    VerifyCandidate<kKey3>(text, chunk + std::countr_zero(found3), size, bits);
  }
  for (; found4 != 0; found4 &= found4 - 1) {
    VerifyCandidate<kKey4>(text, chunk + std::countr_zero(found4), size, bits);
  }
  for (; found8 != 0; found8 &= found8 - 1) {
    VerifyCandidate<kKey8>(text, chunk + std::countr_zero(found8), size, bits);
  }
}

// The filter runs over 64 positions before the candidates among them are verified, as in
// FilterAvx2(), but with prefix_filter_ in front of filter_.
void LiteralScanner::FilterScalar(const unsigned char* text, size_t size, uint64_t* bits) const {
  const uint32_t* filter = filter_.data();
  const uint64_t* prefix_filter = prefix_filter_.data();
  for (size_t chunk = 0; chunk + 3 <= size; chunk += 64) {
    uint64_t found3 = 0;
    uint64_t found4 = 0;
    uint64_t found8 = 0;
    size_t positions = std::min<size_t>(64, size - 2 - chunk);
    for (size_t k = 0; k < positions; ++k) {
      const unsigned char* at = text + chunk + k;
      uint32_t hash4 = KeyHash<kKey4>(at);
      uint32_t prefix = hash4 >> 16;
      if (((prefix_filter[prefix >> 6] >> (prefix & 63)) & 1) == 0) continue;
      uint32_t word = filter[FilterWord(KeyHash<kKey3>(at))];
      found3 |= uint64_t{word & 1} << k;
      found4 |= uint64_t{(word >> FilterBit<kKey4>(hash4)) & 1} << k;
      found8 |= uint64_t{(word >> FilterBit<kKey8>(KeyHash<kKey8>(at))) & 1} << k;
    }
    VerifyCandidates(text, size, chunk, found3, found4, found8, bits);
  }
}

#if defined(__x86_64__)

// The windows at eight positions at once: their hashes in 32-bit lanes, and their words of
// filter_ in one gather. Only the positions whose filter bit is set are visited one by one.
__attribute__((target("avx2"))) void LiteralScanner::FilterAvx2(const unsigned char* text,
                                                                size_t size, uint64_t* bits) const {
  // Lane k of a 16-byte block broadcast to both halves gets the four bytes at k, or at k + 4
  // for the second half of the eight-byte keys.
  const __m256i windows_at_0 = _mm256_setr_epi8(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 4,
                                                5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10);
  const __m256i windows_at_4 =
      _mm256_setr_epi8(4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10, 8, 9, 10, 11, 9, 10, 11, 12,
                       10, 11, 12, 13, 11, 12, 13, 14);
  const __m256i low_3_bytes = _mm256_set1_epi32(0xFFFFFF);
  // Bit 0 of a filter word belongs to the three-byte keys, so the others start at bit 1.
  const __m256i lowest_long_key_bit = _mm256_set1_epi32(1);
  const __m256i multiplier3 = _mm256_set1_epi32(static_cast<int>(kMultiplier3));
  const __m256i multiplier4 = _mm256_set1_epi32(static_cast<int>(kMultiplier4));
  const __m256i multiplier8 = _mm256_set1_epi32(static_cast<int>(kMultiplier8));
  const auto* filter = reinterpret_cast<const int*>(filter_.data());
  // The filter runs over 64 positions before the candidates among them are verified, so that
  // the gathers of consecutive blocks overlap.
  for (size_t chunk = 0; chunk + 3 <= size; chunk += 64) {
    uint64_t found3 = 0;
    uint64_t found4 = 0;
    uint64_t found8 = 0;
    for (size_t block = 0; block < 64 && chunk + block + 3 <= size; block += 8) {
      const unsigned char* at = text + chunk + block;
      __m256i both =
          _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(at)));
      __m256i windows = _mm256_shuffle_epi8(both, windows_at_0);
      __m256i next_windows = _mm256_shuffle_epi8(both, windows_at_4);
      __m256i hashes3 = _mm256_mullo_epi32(_mm256_and_si256(windows, low_3_bytes), multiplier3);
      __m256i hashes4 = _mm256_mullo_epi32(windows, multiplier4);
      __m256i hashes8 = _mm256_add_epi32(hashes4, _mm256_mullo_epi32(next_windows, multiplier8));
      __m256i words = _mm256_i32gather_epi32(
          filter, _mm256_srli_epi32(hashes3, static_cast<int>(32 - kFilterWordBits)), 4);
      // FilterBit() of each kind.
      found3 |= uint64_t{BitMaskAvx2(words, _mm256_setzero_si256())} << block;
      __m256i bits4 = _mm256_max_epu32(_mm256_srli_epi32(hashes4, 27), lowest_long_key_bit);
      found4 |= uint64_t{BitMaskAvx2(words, bits4)} << block;
      __m256i bits8 = _mm256_max_epu32(_mm256_srli_epi32(hashes8, 27), lowest_long_key_bit);
      found8 |= uint64_t{BitMaskAvx2(words, bits8)} << block;
    }
    VerifyCandidates(text, size, chunk, found3, found4, found8, bits);
  }
}

#else

void LiteralScanner::FilterAvx2(const unsigned char* text, size_t size, uint64_t* bits) const {
  FilterScalar(text, size, bits);
}

#endif  // defined(__x86_64__)

bool LiteralScanner::Supports(Isa isa) {
  if (isa == Isa::kScalar) return true;
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

void LiteralScanner::Scan(std::string_view text, uint64_t* bits) const {
  static const Isa fastest = Supports(Isa::kAvx2) ? Isa::kAvx2 : Isa::kScalar;
  ScanWith(fastest, text, bits);
}

void LiteralScanner::ScanWith(Isa isa, std::string_view text, uint64_t* bits) const {
  if (key_count_ == 0 || text.size() < kMinLiteralBytes) return;
#if defined(__x86_64__)
  if (isa == Isa::kAvx2) {
    FilterAvx2(LoweredCopyAvx2(text), text.size(), bits);
    return;
  }
#endif
  FilterScalar(LoweredCopy(text), text.size(), bits);
}

}  // namespace vigil::analysis
