#include "common/text.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(IsCleanUtf8, AcceptsAsciiAndMultibyte) {
  EXPECT_TRUE(IsCleanUtf8(""));
  EXPECT_TRUE(IsCleanUtf8("plain ascii line that is longer than eight bytes"));
  EXPECT_TRUE(IsCleanUtf8("Käse \xE2\x82\xAC \xF0\x9F\x98\x80"));
}

TEST(IsCleanUtf8, RejectsNulAndInvalidBytes) {
  EXPECT_FALSE(IsCleanUtf8(std::string("a\0b", 3)));
  EXPECT_FALSE(IsCleanUtf8("abc\xff"));
  EXPECT_FALSE(IsCleanUtf8("\xC0\xAF"));                  // overlong slash
  EXPECT_FALSE(IsCleanUtf8("\xED\xA0\x80"));              // surrogate
  EXPECT_FALSE(IsCleanUtf8("\xE2\x82"));                  // cut sequence
  EXPECT_FALSE(IsCleanUtf8("12345678\xF5\x80\x80\x80"));  // above U+10FFFF
}

// The checks read blocks of 16 and words of 8 bytes, then a tail: each bad byte is put at
// every position of texts from 1 to 49 bytes, which covers every block, word and tail.
TEST(IsCleanUtf8, FindsBadByteAtEveryOffset) {
  for (size_t length = 1; length < 50; ++length) {
    EXPECT_TRUE(IsCleanUtf8(std::string(length, 'a'))) << "length " << length;
    for (size_t position = 0; position < length; ++position) {
      for (char bad : {'\0', '\xff', '\x80'}) {
        std::string text(length, 'a');
        text[position] = bad;
        EXPECT_FALSE(IsCleanUtf8(text))
            << "length " << length << ", byte " << position << " = " << int{bad};
      }
      // A valid two-byte sequence that fits is accepted wherever it starts.
      if (position + 1 < length) {
        std::string text(length, 'a');
        text.replace(position, 2, "\xC3\xA4");
        EXPECT_TRUE(IsCleanUtf8(text)) << "length " << length << ", sequence at " << position;
      }
    }
  }
}

TEST(IsAsciiText, FindsHighByteAtEveryOffset) {
  EXPECT_TRUE(IsAsciiText(""));
  EXPECT_TRUE(IsAsciiText("plain text of more than eight bytes"));
  // Blocks of 16 bytes, words of eight and a shorter tail: put one high byte at every
  // position of each.
  for (size_t length = 1; length < 50; ++length) {
    EXPECT_TRUE(IsAsciiText(std::string(length, 'a'))) << "length " << length;
    for (size_t position = 0; position < length; ++position) {
      std::string text(length, 'a');
      text[position] = '\xc3';
      EXPECT_FALSE(IsAsciiText(text)) << "length " << length << ", byte " << position;
    }
  }
}

TEST(SanitizeText, EscapesAndCountsWithoutDropping) {
  std::string text("ok\0\xff\xC3\xA4 end", 10);
  SanitizeCounts counts;
  SanitizeText(&text, &counts);
  EXPECT_EQ(text, "ok\\x00\\xff\xC3\xA4 end");
  EXPECT_EQ(counts.nul_bytes, 1u);
  EXPECT_EQ(counts.invalid_bytes, 1u);
  EXPECT_TRUE(IsCleanUtf8(text));
}

TEST(SanitizeText, LeavesCleanTextAlone) {
  std::string text = "Dec  1 10:00:00 host sshd[1]: ok";
  SanitizeCounts counts;
  SanitizeText(&text, &counts);
  EXPECT_EQ(text, "Dec  1 10:00:00 host sshd[1]: ok");
  EXPECT_EQ(counts.nul_bytes + counts.invalid_bytes, 0u);
}

TEST(EscapeControlCharacters, EscapesAllButTab) {
  std::string text = "a\tb\nc\rd\x1b[0m\x7f" + std::string(1, '\x01') + "\xC3\xA4";
  EXPECT_EQ(EscapeControlCharacters(&text), 5u);
  EXPECT_EQ(text, "a\tb\\x0ac\\x0dd\\x1b[0m\\x7f\\x01\xC3\xA4");
}

TEST(EscapeControlCharacters, LeavesPlainTextAlone) {
  std::string text = "Dec  1 10:00:00 host sshd[1]: ok\tfine";
  EXPECT_EQ(EscapeControlCharacters(&text), 0u);
  EXPECT_EQ(text, "Dec  1 10:00:00 host sshd[1]: ok\tfine");
}

TEST(SplitList, TrimsAndDropsEmptyParts) {
  std::vector<std::string> parts = SplitList(" a, b ,,c d", ", ");
  ASSERT_EQ(parts.size(), 4u);
  EXPECT_EQ(parts[0], "a");
  EXPECT_EQ(parts[1], "b");
  EXPECT_EQ(parts[2], "c");
  EXPECT_EQ(parts[3], "d");
}

TEST(ParseUint, RejectsSignsAndTrailingText) {
  uint64_t value = 0;
  EXPECT_TRUE(ParseUint("360", &value));
  EXPECT_EQ(value, 360u);
  EXPECT_FALSE(ParseUint("", &value));
  EXPECT_FALSE(ParseUint("-1", &value));
  EXPECT_FALSE(ParseUint("12s", &value));
}

}  // namespace
}  // namespace vigil
