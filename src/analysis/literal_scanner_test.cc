#include "analysis/literal_scanner.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/text.h"

namespace vigil::analysis {
namespace {

// The literals of `literals` that occur in `text`, by a plain search of the lowercased text.
std::vector<bool> Expected(const std::vector<std::string>& literals, std::string_view text) {
  std::string lower = ToLower(text);
  std::vector<bool> found;
  for (const std::string& literal : literals) {
    bool usable = literal.size() >= LiteralScanner::kMinLiteralBytes && IsAsciiText(literal) &&
                  ToLower(literal) == literal;
    found.push_back(usable && lower.find(literal) != std::string::npos);
  }
  return found;
}

std::vector<bool> ToBools(const std::vector<uint64_t>& bits, size_t count) {
  std::vector<bool> found;
  for (size_t i = 0; i < count; ++i) found.push_back((bits[i / 64] >> (i % 64)) & 1);
  return found;
}

std::vector<bool> Scanned(const LiteralScanner& scanner, std::string_view text) {
  std::vector<uint64_t> bits((scanner.literal_count() + 63) / 64, 0);
  scanner.Scan(text, bits.data());
  return ToBools(bits, scanner.literal_count());
}

std::vector<bool> ScannedWith(LiteralScanner::Isa isa, const LiteralScanner& scanner,
                              std::string_view text) {
  std::vector<uint64_t> bits((scanner.literal_count() + 63) / 64, 0);
  scanner.ScanWith(isa, text, bits.data());
  return ToBools(bits, scanner.literal_count());
}

// Returns min to max random bytes of `alphabet`.
std::string RandomText(std::mt19937* random, std::string_view alphabet, size_t min, size_t max) {
  std::string text(std::uniform_int_distribution<size_t>(min, max)(*random), ' ');
  for (char& c : text) c = alphabet[(*random)() % alphabet.size()];
  return text;
}

// The filter loops that this CPU runs.
std::vector<LiteralScanner::Isa> SupportedIsas() {
  std::vector<LiteralScanner::Isa> isas = {LiteralScanner::Isa::kScalar};
  if (LiteralScanner::Supports(LiteralScanner::Isa::kAvx2)) {
    isas.push_back(LiteralScanner::Isa::kAvx2);
  }
  return isas;
}

const char* IsaName(LiteralScanner::Isa isa) {
  return isa == LiteralScanner::Isa::kScalar ? "scalar" : "avx2";
}

TEST(LiteralScanner, FindsEachLiteralWhereverItIs) {
  std::vector<std::string> literals = {
      "failed password", "password", "for", "invalid user", " from ", "ssh2", "port",
      "accepted",        "xyz"};
  LiteralScanner scanner(literals);
  for (std::string_view text : {
           "Failed password for root from 203.0.113.4 port 22 ssh2", "Accepted PASSWORD for git",
           "for",                       // a three-byte literal that is the whole text
           "a for",                     // at the end
           "for a",                     // at the start
           "fo",                        // shorter than any literal
           "",                          // empty
           "Invalid User admin",        // case
           "invalid use",               // cut short at the end
           "portport ssh2ssh2",         // repeated, overlapping keys
           "failed passwor",            // one byte short of a long literal
           "\xC3\xA9password\xC3\xA9",  // non-ASCII bytes around a match
       }) {
    SCOPED_TRACE(text);
    EXPECT_EQ(Scanned(scanner, text), Expected(literals, text));
  }
}

TEST(LiteralScanner, IgnoresLiteralsItCannotTake) {
  LiteralScanner scanner({"ab", "Upper", "caf\xC3\xA9", "fine"});
  EXPECT_EQ(Scanned(scanner, "ab Upper upper caf\xC3\xA9 fine"),
            (std::vector<bool>{false, false, false, true}));
}

TEST(LiteralScanner, ReportsBitsAbove64) {
  std::vector<std::string> literals;
  for (int i = 0; i < 200; ++i) literals.push_back("lit" + std::to_string(i) + "x");
  LiteralScanner scanner(literals);
  std::vector<bool> found = Scanned(scanner, "LIT150X and lit7x");
  for (int i = 0; i < 200; ++i) EXPECT_EQ(found[i], i == 150 || i == 7) << i;
}

// Random literals and texts over a small alphabet, so that keys collide and literals
// overlap, compared with a plain search.
TEST(LiteralScanner, AgreesWithPlainSearchOnRandomInput) {
  std::mt19937 random(20261205);
  auto random_text = [&](size_t min, size_t max) {
    return RandomText(&random, "abAB c", min, max);
  };
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> literals;
    size_t count = 1 + random() % 40;
    for (size_t i = 0; i < count; ++i) literals.push_back(ToLower(random_text(3, 12)));
    LiteralScanner scanner(literals);
    for (int t = 0; t < 20; ++t) {
      std::string text = random_text(0, 40);
      ASSERT_EQ(Scanned(scanner, text), Expected(literals, text))
          << "round " << round << " text '" << text << "'";
    }
  }
}

// Literals of three, four and eight bytes are whole keys, which the scanner reports without
// comparing an entry, unless another literal shares the key.
TEST(LiteralScanner, WholeKeyLiterals) {
  std::vector<std::string> literals = {"sshd", "password", "for", "port", "port", "from"};
  LiteralScanner scanner(literals);
  for (LiteralScanner::Isa isa : SupportedIsas()) {
    for (std::string_view text : {"", "por", "sshd", "Failed PASSWORD for x FROM y PORT", "passwor",
                                  "fo", "xfor", "from", "sshpassword"}) {
      SCOPED_TRACE(std::string(IsaName(isa)) + " on '" + std::string(text) + "'");
      EXPECT_EQ(ScannedWith(isa, scanner, text), Expected(literals, text));
    }
  }
}

TEST(LiteralScanner, ScalarSupportedEverywhere) {
  EXPECT_TRUE(LiteralScanner::Supports(LiteralScanner::Isa::kScalar));
}

TEST(LiteralScanner, Avx2LoopRunsOnThisCpu) {
  if (!LiteralScanner::Supports(LiteralScanner::Isa::kAvx2)) {
    GTEST_SKIP() << "this CPU has no AVX2, so only the scalar filter loop is tested";
  }
  LiteralScanner scanner({"password", "ssh2"});
  EXPECT_EQ(ScannedWith(LiteralScanner::Isa::kAvx2, scanner, "Failed PASSWORD port 22 ssh2"),
            (std::vector<bool>{true, true}));
}

// Each filter loop on the places where a loop over blocks and chunks of positions goes
// wrong: the first and last bytes, three-byte literals at the end, keys across the 8-byte
// blocks and the 64-position chunks, literals longer than the 16 bytes compared first.
TEST(LiteralScanner, EachIsaFindsLiteralsAtEdges) {
  std::vector<std::string> literals = {
      "abc",
      "xyz",
      "for ",
      "sshd[",
      "password",
      "failed password for invalid user ",
      "0123456789abcdefghij0123456789abcdefghij0123456789abcdefghij0123456789",
      "] \"",
      "end"};
  LiteralScanner scanner(literals);
  std::vector<std::string> texts = {"",    "ab",  "abc",  "xyz",  "abcxyz", "xyzabc",  "ABC",
                                    "End", "for", "for ", "sshd", "sshd[",  "passwor", "PASSWORD"};
  for (size_t length = 0; length <= 140; ++length) {
    // A literal at the end of texts of every length, and one at the start.
    std::string filler(length, '.');
    texts.push_back(filler + "abc");
    texts.push_back(filler + "password");
    texts.push_back("password" + filler);
    texts.push_back("XYZ" + filler + "eNd");
    texts.push_back(filler + "Failed password for invalid user ");
    texts.push_back(filler + literals[6] + filler);
    texts.push_back(filler + "\xC3\xA9sshd[\xFF] \"" + filler);
  }
  for (LiteralScanner::Isa isa : SupportedIsas()) {
    for (const std::string& text : texts) {
      SCOPED_TRACE(std::string(IsaName(isa)) + " on '" + text + "'");
      EXPECT_EQ(ScannedWith(isa, scanner, text), Expected(literals, text));
    }
  }
}

// Random literals and texts of 0 to 70 bytes over a small alphabet with uppercase letters,
// a non-ASCII byte and NUL, compared with a plain search for each filter loop.
TEST(LiteralScanner, EachIsaAgreesWithPlainSearch) {
  std::mt19937 random(20261206);
  const std::string alphabet = std::string("abAB c.\xE9") + '\0';
  auto random_text = [&](size_t min, size_t max) {
    return RandomText(&random, alphabet, min, max);
  };
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> literals;
    size_t count = 1 + random() % 60;
    for (size_t i = 0; i < count; ++i) literals.push_back(ToLower(random_text(3, 20)));
    LiteralScanner scanner(literals);
    for (int t = 0; t < 30; ++t) {
      std::string text = random_text(0, 70);
      // Half the texts start or end with one of the literals.
      if (t % 4 == 1) text = literals[random() % count] + text;
      if (t % 4 == 2) text += literals[random() % count];
      for (LiteralScanner::Isa isa : SupportedIsas()) {
        ASSERT_EQ(ScannedWith(isa, scanner, text), Expected(literals, text))
            << IsaName(isa) << " round " << round << " text '" << text << "'";
      }
    }
  }
}

}  // namespace
}  // namespace vigil::analysis
