#include <gtest/gtest.h>

#include "analysis/test_fixture.h"

namespace vigil::analysis {
namespace {

using DecoderTest = AnalyzerFixture;

const char* kDecoders = R"(
<decoder name="sshd">
  <program_name>^sshd</program_name>
</decoder>
<decoder name="sshd-invalid">
  <parent>sshd</parent>
  <prematch>^Invalid user </prematch>
  <regex offset="after_prematch">^(\S+) from (\S+)</regex>
  <order>srcuser, srcip</order>
</decoder>
<decoder name="sshd-own">
  <parent>sshd</parent>
  <use_own_name>true</use_own_name>
  <prematch>^Accepted </prematch>
  <regex offset="after_prematch">^\S+ for (\S+) from (\S+) port (\d+)</regex>
  <order>user, srcip, srcport</order>
</decoder>
<decoder name="kv">
  <prematch>^kv: </prematch>
</decoder>
<decoder name="kv-fields">
  <parent>kv</parent>
  <regex offset="after_parent">^a=(\w+) </regex>
  <order>exe</order>
</decoder>
<decoder name="kv-fields">
  <parent>kv</parent>
  <regex offset="after_regex">^b=(\w+)</regex>
  <order>id</order>
</decoder>
)";

TEST_F(DecoderTest, ChildDecodesFieldsAndReportsParentName) {
  ASSERT_EQ(Load(kDecoders, kTemplateRules), "");
  analyzer_->set_record_decoded_order(true);
  Feed("Dec  1 10:00:00 web1 sshd[1]: Invalid user admin from 203.0.113.9 port 22");
  ASSERT_NE(event_.decoder, nullptr);
  EXPECT_EQ(event_.decoder->ReportedName(), "sshd");
  EXPECT_EQ(event_.Get(Field::kSrcUser), "admin");
  EXPECT_EQ(event_.Get(Field::kSrcIp), "203.0.113.9");
  ASSERT_EQ(event_.decoded_order.size(), 2u);
  EXPECT_EQ(event_.decoded_order[0].first, "srcuser");
}

TEST_F(DecoderTest, DecodedOrderIsOnlyRecordedWhenAsked) {
  ASSERT_EQ(Load(kDecoders, kTemplateRules), "");
  Feed("Dec  1 10:00:00 web1 sshd[1]: Invalid user admin from 203.0.113.9 port 22");
  EXPECT_EQ(event_.Get(Field::kSrcUser), "admin");
  EXPECT_TRUE(event_.decoded_order.empty());
  analyzer_->set_record_decoded_order(true);
  Feed("Dec  1 10:00:00 web1 sshd[1]: Invalid user admin from 203.0.113.9 port 22");
  EXPECT_EQ(event_.decoded_order.size(), 2u);
}

TEST_F(DecoderTest, UseOwnNameReportsChildName) {
  ASSERT_EQ(Load(kDecoders, kTemplateRules), "");
  Feed("Dec  1 10:00:00 web1 sshd[1]: Accepted publickey for bob from 10.1.1.1 port 5555 ssh2");
  ASSERT_NE(event_.decoder, nullptr);
  EXPECT_EQ(event_.decoder->ReportedName(), "sshd-own");
  EXPECT_EQ(event_.Get(Field::kDstUser), "bob");
  EXPECT_EQ(event_.Get(Field::kSrcPort), "5555");
}

TEST_F(DecoderTest, ProgramNameDecodersOnlyForEventsWithProgram) {
  ASSERT_EQ(Load(kDecoders, kTemplateRules), "");
  Feed("kv: a=one b=two");
  ASSERT_NE(event_.decoder, nullptr);
  EXPECT_EQ(event_.decoder->ReportedName(), "kv");
  // A line with a program name never reaches the prematch-only decoder.
  Feed("Dec  1 10:00:00 web1 app: kv: a=one b=two");
  EXPECT_EQ(event_.decoder, nullptr);
}

// The roots matching a program name are kept per name, and names over 256 bytes are tested
// without that cache. Either way each name must get its own roots.
TEST_F(DecoderTest, LongProgramNamesPickTheirRoots) {
  ASSERT_EQ(Load(kDecoders, kTemplateRules), "");
  const std::string long_sshd = "sshd" + std::string(300, 'x');
  const std::string long_other = "app" + std::string(300, 'x');
  for (int round = 0; round < 2; ++round) {
    for (const std::string& program :
         {std::string("sshd"), std::string("app"), long_sshd, long_other}) {
      SCOPED_TRACE(program.substr(0, 8) + " of " + std::to_string(program.size()) + " bytes");
      Feed("Dec  1 10:00:00 web1 " + program + ": Invalid user admin from 203.0.113.9");
      bool sshd = program.rfind("sshd", 0) == 0;
      ASSERT_EQ(event_.decoder != nullptr, sshd);
      if (sshd) {
        EXPECT_EQ(event_.Get(Field::kSrcUser), "admin");
      }
    }
  }
}

// The cache of roots by program name is emptied once it has 4,096 names, and it remembers
// the last name looked up. Lines of one program between thousands of others, before and
// after the cache empties, must each get their own roots.
TEST_F(DecoderTest, ManyProgramNamesKeepTheirRoots) {
  ASSERT_EQ(Load(kDecoders, kTemplateRules), "");
  for (int i = 0; i < 10000; ++i) {
    std::string program = i % 3 == 0 ? "sshd" : "app" + std::to_string(i);
    SCOPED_TRACE(program);
    Feed("Dec  1 10:00:00 web1 " + program + ": Invalid user admin from 203.0.113.9");
    ASSERT_EQ(event_.decoder != nullptr, program == "sshd");
  }
}

TEST_F(DecoderTest, SameNameSiblingsContinueAfterRegex) {
  ASSERT_EQ(Load(kDecoders, kTemplateRules), "");
  Feed("kv: a=one b=two");
  const std::string* exe = event_.GetDynamic("exe");
  ASSERT_NE(exe, nullptr);
  EXPECT_EQ(*exe, "one");
  EXPECT_EQ(event_.Get(Field::kId), "two");
}

TEST_F(DecoderTest, ReportsEveryLoadErrorWithFileAndLine) {
  std::string error = Load(R"(
<decoder name="a">
  <parent>later</parent>
</decoder>
<decoder name="b">
  <prematch>x</prematch>
  <regex>(\d+</regex>
  <order>id</order>
</decoder>
<decoder name="c">
  <prematch>y</prematch>
  <regex>(\d+)</regex>
</decoder>
<decoder name="later"><prematch>z</prematch></decoder>
)",
                           kTemplateRules);
  EXPECT_NE(error.find("decoders.xml:2: decoder 'a': <parent> names decoder 'later', which is "
                       "not defined before it"),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("decoders.xml:7: <regex>"), std::string::npos) << error;
  EXPECT_NE(error.find("decoder 'c': has a <regex> but no <order>"), std::string::npos) << error;
}

TEST_F(DecoderTest, TooManyCaptureGroupsIsAnError) {
  std::string error = Load(R"(
<decoder name="many">
  <prematch>^m </prematch>
  <regex>(\w)(\w)(\w)(\w)(\w)(\w)(\w)(\w)(\w)(\w)(\w)</regex>
  <order>a,b,c,d,e,f,g,h,i,j,k</order>
</decoder>)",
                           kTemplateRules);
  EXPECT_NE(error.find("11 capture groups"), std::string::npos) << error;
}

}  // namespace
}  // namespace vigil::analysis
