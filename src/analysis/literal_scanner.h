// A multi-literal search tuned for log lines: a few hundred bytes of text against a few
// thousand short literals, with ASCII case ignored.
//
// Each literal is filed under one of its substrings, its key: the whole literal for a literal
// of three bytes, four bytes for literals of four to seven bytes, eight for longer ones. The
// key is chosen so that few literals share it and its bytes are rare in logs. The scan hashes
// the window at every position of the lowercased text. The hash of its first three bytes
// chooses a 32-bit word of a filter, and the hashes of the three-, four- and eight-byte keys
// that may start there each test one bit of that word. Only positions whose bit is set are
// looked up, and only the literals filed under the key found there are compared. The AVX2
// filter loop hashes eight positions at once and loads their words with one gather. The
// scalar loop first tests each position's four bytes against a second filter of the keys'
// first four bytes. Scan() takes the AVX2 loop when the CPU has it.
//
// With the 1,017 literals of OSSEC's stock rules and decoders it reports the same literals as
// Hyperscan in less time per log line (engine_bench's BM_LiteralScan* and BM_Hyperscan*). It
// also needs no compile step, where Hyperscan's took about 130 million instructions, half of
// the start-up of `vigil analyze`.
//
// NOTE: the scalar loop, which CPUs without AVX2 and other architectures run, takes about 1.3
// times as long per log line as the AVX2 loop (engine_bench's BM_LiteralScanScalar*).
//
// NOTE: a long line made mostly of the literals themselves (crafted input) makes most windows
// candidates. On 8 and 60 KB lines of stock literals the scan takes about 4.2 ns per byte
// with the AVX2 loop and 6.9 with the scalar one, against 2.4 on sshd logs. A scan of 5.5 ns
// per byte made the whole analysis of 8 to 60 KB lines of stock rule fragments take 20 to 40 %
// longer than with Hyperscan. Real logs, 5 KB ModSecurity JSON lines included, run faster.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::analysis {

class LiteralScanner {
 public:
  // The smallest literal the scanner takes, in bytes.
  static constexpr size_t kMinLiteralBytes = 3;

  // The instruction sets of the filter loop. Scan() takes the fastest one the CPU supports.
  enum class Isa { kScalar, kAvx2 };

  LiteralScanner() = default;

  // Prepares the search for `literals`, which must be lowercase ASCII of at least
  // kMinLiteralBytes bytes each (checked: others are ignored and never reported). Literal i
  // is reported as bit i.
  explicit LiteralScanner(const std::vector<std::string>& literals);

  // Sets bit i of `bits` for each literal i that occurs in `text`, comparing ASCII letters
  // without regard to case. `bits` must hold at least literal_count() bits; bits already set
  // stay set. Thread-safe: the scanner is not modified.
  void Scan(std::string_view text, uint64_t* bits) const;

  // Scan() with the filter loop for `isa`, which reports the same bits as the others.
  // REQUIRES: Supports(isa).
  void ScanWith(Isa isa, std::string_view text, uint64_t* bits) const;

  // Returns whether this CPU runs the filter loop for `isa` (kScalar always does).
  static bool Supports(Isa isa);

  size_t literal_count() const { return literal_count_; }

 private:
  // One literal filed under a key, with its first 16 bytes and a mask of those that belong to
  // it, so that most literals are compared without reading literal_text_.
  struct Entry {
    uint64_t head[2];
    uint64_t head_mask[2];
    uint32_t id;
    uint32_t offset;       // of the key in the literal
    uint32_t text_offset;  // of the literal in literal_text_
    uint32_t length;
  };
  // The entries of one key, entries_[begin, end). A slot with begin == end is empty. A key
  // whose only literal is the key itself has end == kExactKey and that literal's id in
  // `begin`, so that finding the key reports the literal without reading an entry.
  static constexpr uint32_t kExactKey = UINT32_MAX;
  struct Bucket {
    uint64_t key = 0;
    uint32_t begin = 0;
    uint32_t end = 0;
  };
  // An open-addressing hash table whose home slot for a key is the top bits of its KeyHash().
  struct Table {
    std::vector<Bucket> buckets;  // a power of two long
    unsigned shift = 28;          // 32 - log2(buckets.size())
    uint32_t mask = 15;           // buckets.size() - 1
  };
  // The key kinds, each with its own table: the three-byte literals themselves, four-byte keys
  // of literals of four to seven bytes, and eight-byte keys of longer ones.
  enum KeyKind { kKey3 = 0, kKey4 = 1, kKey8 = 2, kKeyKinds = 3 };

  // log2 of the number of 32-bit words of filter_.
  static constexpr unsigned kFilterWordBits = 11;

  // Returns the 32-bit hash of the key of `kind` at `text`, which has eight readable bytes.
  template <KeyKind kind>
  static uint32_t KeyHash(const unsigned char* text);
  // Returns the word of filter_ for a window whose first three bytes hash (as a kKey3) to
  // `hash3`.
  static uint32_t FilterWord(uint32_t hash3) { return hash3 >> (32 - kFilterWordBits); }
  // Returns the bit, in that word, of a key of `kind` with hash `hash`. Bit 0 is the
  // three-byte literals' own, so that the four- and eight-byte keys of common prefixes do not
  // make every window with that prefix a candidate for them.
  template <KeyKind kind>
  static uint32_t FilterBit(uint32_t hash) {
    return kind == kKey3 ? 0 : std::max<uint32_t>(1, hash >> 27);
  }
  const Bucket* Find(KeyKind kind, uint64_t key, uint32_t hash) const;
  Bucket* Insert(KeyKind kind, uint64_t key, uint32_t hash);
  // Reports the literals filed under the key of `kind` at text[start].
  template <KeyKind kind>
  void VerifyCandidate(const unsigned char* text, size_t start, size_t size, uint64_t* bits) const;
  // Reports literal `entry` when it occurs at text[start] (start may be out of range).
  void VerifyAt(const Entry& entry, const unsigned char* text, int64_t start, size_t size,
                uint64_t* bits) const;
  // Verifies the candidates at text[chunk + k] for each bit k of found3, found4 and found8,
  // keys of kKey3, kKey4 and kKey8, that end within the text.
  void VerifyCandidates(const unsigned char* text, size_t size, size_t chunk, uint64_t found3,
                        uint64_t found4, uint64_t found8, uint64_t* bits) const;
  // Sets the bits of the literals in the lowercased copy `text` of `size` bytes, with the
  // filter loop in plain C++ or in AVX2.
  void FilterScalar(const unsigned char* text, size_t size, uint64_t* bits) const;
  void FilterAvx2(const unsigned char* text, size_t size, uint64_t* bits) const;

  size_t literal_count_ = 0;
  size_t key_count_ = 0;  // in all tables
  // A filter of the windows that may start a key: the key's first three bytes choose a word
  // (FilterWord()) and the key's kind and hash a bit in it (FilterBit()). Words of 32 bits let
  // the AVX2 loop look up eight windows with one gather.
  std::vector<uint32_t> filter_;
  // One bit per top 16 bits of the kKey4 KeyHash() of four bytes, set for the first four bytes
  // of every four- and eight-byte key and for each three-byte literal followed by any byte.
  // FilterScalar() tests it first, so that most windows cost one hash and one load.
  std::vector<uint64_t> prefix_filter_;
  Table tables_[kKeyKinds];
  std::vector<Entry> entries_;
  std::string literal_text_;  // each literal padded with NUL bytes to a multiple of 8
};

}  // namespace vigil::analysis
