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

std::vector<bool> Scanned(const LiteralScanner& scanner, std::string_view text) {
  std::vector<uint64_t> bits((scanner.literal_count() + 63) / 64, 0);
  scanner.Scan(text, bits.data());
  std::vector<bool> found;
  for (size_t i = 0; i < scanner.literal_count(); ++i)
    found.push_back((bits[i / 64] >> (i % 64)) & 1);
  return found;
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
  const std::string alphabet = "abAB c";
  auto random_text = [&](size_t min, size_t max) {
    std::string text(std::uniform_int_distribution<size_t>(min, max)(random), ' ');
    for (char& c : text) c = alphabet[random() % alphabet.size()];
    return text;
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

}  // namespace
}  // namespace vigil::analysis
