// A multi-literal search tuned for log lines: a few hundred bytes of text against a few
// thousand short literals, with ASCII case ignored.
//
// Each literal is filed under one of its substrings, its key, chosen so that few literals
// share a key: eight bytes for literals of eight bytes or more, four bytes for shorter ones.
// The scan hashes every four-byte window of the lowercased text into a filter that marks
// whether the window is a four-byte key or the start of an eight-byte key. Only such windows
// are looked up, and only the literals filed under them are compared. A three-byte literal
// is filed under every four bytes it can begin, and is also tested against the last three
// bytes of the text.
//
// With the 1,017 literals of OSSEC's stock rules and decoders it reports the same literals as
// Hyperscan in a little less time per log line (engine_bench's BM_LiteralScan* and
// BM_Hyperscan*). It also needs no compile step, where Hyperscan's took about 130 million
// instructions, half of the start-up of `vigil analyze`.
//
// NOTE: a long line made mostly of the literals themselves (crafted input) makes most windows
// candidates. On 8 to 60 KB lines of stock rule fragments the whole analysis took 20 to 40 %
// longer than with Hyperscan. Real logs, 5 KB ModSecurity JSON lines included, run faster.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil::analysis {

class LiteralScanner {
 public:
  // The smallest literal the scanner takes, in bytes.
  static constexpr size_t kMinLiteralBytes = 3;

  LiteralScanner() = default;

  // Prepares the search for `literals`, which must be lowercase ASCII of at least
  // kMinLiteralBytes bytes each (checked: others are ignored and never reported). Literal i
  // is reported as bit i.
  explicit LiteralScanner(const std::vector<std::string>& literals);

  // Sets bit i of `bits` for each literal i that occurs in `text`, comparing ASCII letters
  // without regard to case. `bits` must hold at least literal_count() bits; bits already set
  // stay set. Thread-safe: the scanner is not modified.
  void Scan(std::string_view text, uint64_t* bits) const;

  size_t literal_count() const { return literal_count_; }

 private:
  // One literal filed under a key.
  struct Entry {
    uint32_t id;
    uint32_t offset;       // of the key in the literal
    uint32_t text_offset;  // of the literal in literal_text_
    uint32_t length;
  };
  // The entries of one key, entries_[begin, end).
  template <typename Key>
  struct Bucket {
    Key key = 0;
    uint32_t begin = 0;
    uint32_t end = 0;
    bool used = false;  // false marks an empty slot
  };
  template <typename Key>
  using Table = std::vector<Bucket<Key>>;  // open addressing, a power of two long

  static constexpr unsigned kFilterBits = 16;
  static constexpr unsigned kShortKeyBit = 1;
  static constexpr unsigned kLongKeyBit = 2;

  static uint32_t FilterSlot(uint32_t key) { return (key * 0x9E3779B1u) >> (32 - kFilterBits); }
  static uint32_t FilterSlot(uint64_t key) {
    return static_cast<uint32_t>((key * 0x9E3779B97F4A7C15u) >> (64 - kFilterBits));
  }
  static size_t TableSlot(uint64_t key) { return (key * 0x9E3779B97F4A7C15u) >> 40; }
  template <typename Key>
  static const Bucket<Key>* Find(const Table<Key>& table, Key key);
  template <typename Key>
  static Bucket<Key>* Insert(Table<Key>* table, Key key);
  // Reports the literals filed under `key`, which starts at text[key_start].
  template <typename Key>
  void Verify(const Table<Key>& table, Key key, const unsigned char* text, size_t key_start,
              size_t size, uint64_t* bits) const;
  void VerifyBucket(uint32_t begin, uint32_t end, const unsigned char* text, size_t key_start,
                    size_t size, uint64_t* bits) const;
  // Reports literal `entry` when it occurs at text[start] (start may be out of range).
  void VerifyAt(const Entry& entry, const unsigned char* text, int64_t start, size_t size,
                uint64_t* bits) const;

  size_t literal_count_ = 0;
  // Two bits per FilterSlot() of a four-byte window: kShortKeyBit when it is a four-byte
  // key, kLongKeyBit when it begins an eight-byte key.
  std::vector<uint64_t> window_filter_;
  std::vector<uint64_t> long_filter_;  // one bit per FilterSlot() of an eight-byte key
  Table<uint32_t> short_keys_;
  Table<uint64_t> long_keys_;
  std::vector<Entry> entries_;
  std::vector<Entry> short_entries_;  // the three-byte literals, for the text's end
  std::string literal_text_;          // each literal padded with NUL bytes to a multiple of 8
};

}  // namespace vigil::analysis
