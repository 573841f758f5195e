#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace vigil {
namespace {

TEST(JsonWriter, WritesNestedObjectsWithCommas) {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject();
  json.MemberInt("a", -1);
  json.Key("b");
  json.BeginArray();
  json.String("x");
  json.String("y");
  json.EndArray();
  json.Key("c");
  json.BeginObject();
  json.Member("d", "e");
  json.EndObject();
  json.Key("n");
  json.UInt(18446744073709551615ULL);
  json.EndObject();
  EXPECT_EQ(out, R"({"a":-1,"b":["x","y"],"c":{"d":"e"},"n":18446744073709551615})");
}

TEST(JsonWriter, ContinuesAfterRawText) {
  std::string out;
  JsonWriter json(&out);
  json.BeginObject();
  json.Key("a");
  json.Raw("{\"b\":");
  json.Raw("1}");
  json.Member("c", "d");
  json.EndObject();
  EXPECT_EQ(out, R"({"a":{"b":1},"c":"d"})");
  EXPECT_NO_THROW(nlohmann::json::parse(out));
}

TEST(JsonWriter, MembersShortLongEscapedAndEmpty) {
  // Short members without escapes take the one-append path, and the others the general one.
  std::string long_value(300, 'v');
  std::string out;
  JsonWriter json(&out);
  json.BeginObject();
  json.Member("first", "1");
  json.Member("", "");
  json.Member("long", long_value);
  json.Member("quote\"d", "tab\there");
  json.Member("after", "2");
  json.Key("nested");
  json.BeginObject();
  json.Member("inner", "3");
  json.EndObject();
  json.EndObject();
  EXPECT_EQ(out,
            "{\"first\":\"1\",\"\":\"\",\"long\":\"" + long_value +
                "\",\"quote\\\"d\":\"tab\\there\",\"after\":\"2\",\"nested\":{\"inner\":\"3\"}}");
  nlohmann::json parsed = nlohmann::json::parse(out);
  EXPECT_EQ(parsed["quote\"d"], "tab\there");
  EXPECT_EQ(parsed["long"], long_value);
  EXPECT_EQ(parsed[""], "");
}

TEST(JsonWriter, MembersAroundStackBufferSize) {
  // Members of up to 256 bytes with their comma are put together in a 256-byte stack buffer.
  for (size_t length = 240; length < 260; ++length) {
    std::string value(length, 'v');
    std::string out;
    JsonWriter json(&out);
    json.BeginObject();
    json.Member("a", "1");
    json.Member("k", value);
    json.EndObject();
    SCOPED_TRACE(testing::Message() << "value of " << length << " bytes");
    EXPECT_EQ(out, "{\"a\":\"1\",\"k\":\"" + value + "\"}");
  }
}

TEST(JsonWriter, EscapesControlCharactersQuotesAndBackslashes) {
  std::string out;
  JsonWriter json(&out);
  std::string value = "q\"b\\n\nt\tc\x01 ä";
  json.String(value);
  EXPECT_EQ(out, "\"q\\\"b\\\\n\\nt\\tc\\u0001 ä\"");
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), value);
}

TEST(JsonWriter, EscapesAtEveryOffsetOfLongText) {
  // Long text is scanned eight bytes at a time, so put each special byte at every position
  // of a 24-byte string and compare with nlohmann::json's output.
  for (char special : {'"', '\\', '\n', '\x1f', '\x7f'}) {
    for (size_t position = 0; position < 24; ++position) {
      std::string value(24, 'a');
      value[position] = special;
      value += " ä tail";
      std::string out;
      JsonWriter json(&out);
      json.String(value);
      SCOPED_TRACE(testing::Message() << "byte " << int(special) << " at " << position);
      EXPECT_EQ(out, nlohmann::json(value).dump());
    }
  }
}

TEST(JsonWriter, EscapesInShortTextAndTails) {
  // Text under four bytes is tested byte by byte, four to seven bytes by two overlapping
  // words, and the bytes after the last whole word of longer text by one overlapping word:
  // put each special byte in all of them.
  for (size_t length = 1; length < 20; ++length) {
    for (size_t position = 0; position < length; ++position) {
      for (char special : {'"', '\\', '\x01', '\x1f'}) {
        std::string value(length, 'a');
        value[position] = special;
        std::string out;
        JsonWriter json(&out);
        json.String(value);
        SCOPED_TRACE(testing::Message()
                     << "length " << length << ", byte " << int(special) << " at " << position);
        EXPECT_EQ(out, nlohmann::json(value).dump());
      }
    }
  }
}

}  // namespace
}  // namespace vigil
