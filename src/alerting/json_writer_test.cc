#include "alerting/json_writer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace vigil::alerting {
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

TEST(JsonWriter, EscapesControlCharactersQuotesAndBackslashes) {
  std::string out;
  JsonWriter json(&out);
  std::string value = "q\"b\\n\nt\tc\x01 ä";
  json.String(value);
  EXPECT_EQ(out, "\"q\\\"b\\\\n\\nt\\tc\\u0001 ä\"");
  EXPECT_EQ(nlohmann::json::parse(out).get<std::string>(), value);
}

}  // namespace
}  // namespace vigil::alerting
