// Tests for the list reader: compiled cdb files written by tinycdb's `cdb -c`, the fallback from a
// missing text list to its compiled form, and damaged cdb files.
#include "analysis/cdb_list.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "analysis/test_fixture.h"

namespace vigil::analysis {
namespace {

class CdbListTest : public AnalyzerFixture {
 protected:
  // Compiles `records` (tinycdb's `+klen,dlen:key->value` lines) into `name`; false when the
  // cdb tool is missing, so the caller can skip.
  bool Compile(const std::string& name, const std::string& records) {
    if (std::system("command -v cdb >/dev/null 2>&1") != 0) return false;
    std::string input = Write(name + ".input", records + "\n");
    std::string command = "cdb -c '" + dir_ + "/" + name + "' < '" + input + "'";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    return true;
  }

  static std::string Record(const std::string& key, const std::string& value) {
    return "+" + std::to_string(key.size()) + "," + std::to_string(value.size()) + ":" + key +
           "->" + value + "\n";
  }
};

constexpr char kSkipMessage[] = "tinycdb's cdb tool is not installed (scripts/setup installs it)";

TEST_F(CdbListTest, ReadsTinycdbOutput) {
  if (!Compile("users.cdb", Record("root", "admin account") + Record("guest", "") +
                                Record("a:b", "colon key") + Record("root", "second"))) {
    GTEST_SKIP() << kSkipMessage;
  }
  Expected<KeyValueList> list = KeyValueList::LoadCdb(dir_ + "/users.cdb");
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_EQ(list->size(), 3u);
  ASSERT_NE(list->Find("root"), nullptr);
  EXPECT_EQ(*list->Find("root"), "admin account");  // the first record wins
  ASSERT_NE(list->Find("guest"), nullptr);
  EXPECT_EQ(*list->Find("guest"), "");
  ASSERT_NE(list->Find("a:b"), nullptr);
  EXPECT_EQ(*list->Find("a:b"), "colon key");
  EXPECT_EQ(list->Find("alice"), nullptr);
}

TEST_F(CdbListTest, ReadsEmptyDatabase) {
  if (!Compile("empty.cdb", "")) GTEST_SKIP() << kSkipMessage;
  Expected<KeyValueList> list = KeyValueList::LoadCdb(dir_ + "/empty.cdb");
  ASSERT_TRUE(list.ok()) << list.status().message();
  EXPECT_EQ(list->size(), 0u);
}

TEST_F(CdbListTest, LoadPrefersTextThenCompiled) {
  if (!Compile("hosts.cdb", Record("10.1.2.", "compiled"))) GTEST_SKIP() << kSkipMessage;
  Expected<KeyValueList> compiled = KeyValueList::Load(dir_ + "/hosts");
  ASSERT_TRUE(compiled.ok()) << compiled.status().message();
  ASSERT_NE(compiled->Find("10.1.2."), nullptr);
  EXPECT_EQ(*compiled->Find("10.1.2."), "compiled");

  Write("hosts", "10.1.2.:text\n");
  Expected<KeyValueList> text = KeyValueList::Load(dir_ + "/hosts");
  ASSERT_TRUE(text.ok()) << text.status().message();
  EXPECT_EQ(*text->Find("10.1.2."), "text");
}

TEST_F(CdbListTest, LoadNamesBothMissingFiles) {
  Expected<KeyValueList> list = KeyValueList::Load(dir_ + "/absent");
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.status().message().find(dir_ + "/absent.cdb"), std::string::npos)
      << list.status().message();
}

TEST_F(CdbListTest, RuleUsesCompiledList) {
  if (!Compile("bad-users.cdb", Record("root", "admin account"))) GTEST_SKIP() << kSkipMessage;
  lists_ = {dir_ + "/bad-users"};  // declared by its text name, as OSSEC configs do
  ASSERT_EQ(Load(R"(<decoder name="login"><prematch>^login </prematch>
    <regex>^login (\S+) from (\S+)</regex><order>user, srcip</order></decoder>)",
                 R"(<group name="test,">
  <rule id="100" level="3"><decoded_as>login</decoded_as><description>login</description></rule>
  <rule id="101" level="9"><if_sid>100</if_sid>
    <list field="user" lookup="match_key_value" check_value="admin">bad-users</list>
    <description>admin account</description></rule>
</group>)"),
            "");
  EXPECT_EQ(Feed("login root from 192.0.2.1").rule->id, 101);
  EXPECT_EQ(Feed("login alice from 192.0.2.1").rule->id, 100);
}

TEST_F(CdbListTest, RejectsShortHeader) {
  Expected<KeyValueList> list = KeyValueList::ParseCdb(std::string(100, '\0'), "short.cdb");
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.status().message().find("short.cdb: invalid cdb file at byte 0"),
            std::string::npos)
      << list.status().message();
}

// Builds a header whose 256 tables all start at `table_position` with no slots.
std::string Header(uint32_t table_position) {
  std::string header;
  for (int table = 0; table < 256; ++table) {
    for (int shift = 0; shift < 32; shift += 8)
      header += static_cast<char>(table_position >> shift);
    header += std::string(4, '\0');
  }
  return header;
}

TEST_F(CdbListTest, RejectsTableOutsideFile) {
  Expected<KeyValueList> list = KeyValueList::ParseCdb(Header(999999), "tables.cdb");
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.status().message().find("hash table 0 at 999999"), std::string::npos)
      << list.status().message();
}

TEST_F(CdbListTest, RejectsRecordPastRecords) {
  // One record header that claims a 200-byte key, followed by only 4 bytes of key.
  std::string record = std::string("\xc8\0\0\0\0\0\0\0", 8) + "root";
  std::string bytes = Header(2048 + record.size()) + record;
  Expected<KeyValueList> list = KeyValueList::ParseCdb(bytes, "record.cdb");
  ASSERT_FALSE(list.ok());
  EXPECT_NE(list.status().message().find("at byte 2048: record of 200+0 bytes"), std::string::npos)
      << list.status().message();
}

}  // namespace
}  // namespace vigil::analysis
