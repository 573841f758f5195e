// Correlation over many lines with a manual clock: each case feeds a script of events, some
// separated by clock steps, and compares the rule chosen for every line with the expected
// sequence.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "analysis/test_fixture.h"

namespace vigil::analysis {
namespace {

const char* kDecoders = R"(
<decoder name="sshd">
  <program_name>^sshd</program_name>
</decoder>
<decoder name="sshd-failed">
  <parent>sshd</parent>
  <prematch>^Failed password for </prematch>
  <regex offset="after_prematch">^(\S+) from (\S+) port (\d+)</regex>
  <order>user, srcip, srcport</order>
</decoder>
<decoder name="web">
  <prematch>^\d+.\d+.\d+.\d+ - </prematch>
  <regex>^(\S+) \.+"GET (\S+) \S+" (\d+)</regex>
  <order>srcip, url, id</order>
</decoder>
)";

const char* kRules = R"(
<group name="base,">
  <rule id="1" level="0" noalert="1"><category>syslog</category><description>syslog</description></rule>
</group>
<group name="sshd,">
  <rule id="100" level="0"><decoded_as>sshd</decoded_as><description>sshd</description></rule>
  <rule id="101" level="5"><if_sid>100</if_sid><match>Failed password</match>
    <group>authentication_failed,</group><description>failed password</description></rule>
  <rule id="102" level="10" frequency="3" timeframe="60">
    <if_matched_sid>101</if_matched_sid><same_source_ip />
    <description>brute force from one address</description></rule>
  <rule id="106" level="6"><if_sid>100</if_sid><match>Invalid user</match>
    <group>authentication_failed,</group><description>invalid user</description></rule>
  <rule id="103" level="12" frequency="4" timeframe="120">
    <if_matched_group>authentication_failed</if_matched_group>
    <description>failures from anywhere</description></rule>
  <rule id="104" level="11" frequency="2" timeframe="60" ignore="30">
    <if_matched_sid>101</if_matched_sid><same_user />
    <description>one user attacked</description></rule>
</group>
<group name="web,">
  <rule id="200" level="0"><decoded_as>web</decoded_as><description>web</description></rule>
  <rule id="201" level="5"><if_sid>200</if_sid><id>^404$</id><description>not found</description></rule>
  <rule id="202" level="9" frequency="2" timeframe="30">
    <if_matched_sid>201</if_matched_sid><same_source_ip /><different_url />
    <description>scan: different missing URLs</description></rule>
</group>
)";

// One scripted event: seconds to advance first, the line, and the expected rule (0: none).
struct Step {
  int advance;
  std::string line;
  int rule;
  bool alert = true;
};

std::string Failure(const std::string& user, const std::string& ip) {
  return "Dec  1 10:00:00 web1 sshd[9]: Failed password for " + user + " from " + ip +
         " port 4000 ssh2";
}

std::string Request(const std::string& ip, const std::string& url, int status) {
  return ip + " - - [01/Dec/2023:10:00:00 +0000] \"GET " + url + " HTTP/1.1\" " +
         std::to_string(status) + " 10";
}

class CorrelationTest : public AnalyzerFixture {
 protected:
  void SetUp() override {
    AnalyzerFixture::SetUp();
    ASSERT_EQ(Load(kDecoders, kRules), "");
  }

  void Run(const std::vector<Step>& steps) {
    for (size_t i = 0; i < steps.size(); ++i) {
      const Step& step = steps[i];
      SCOPED_TRACE("line " + std::to_string(i + 1) + ": " + step.line);
      clock_.Advance(std::chrono::seconds(step.advance));
      RuleMatch match = Feed(step.line);
      int id = match.rule != nullptr ? match.rule->id : 0;
      EXPECT_EQ(id, step.rule);
      if (step.rule != 0) {
        EXPECT_EQ(match.alert, step.alert);
      }
    }
  }
};

TEST_F(CorrelationTest, FiresOnFrequencyPlusTwo) {
  // Different users keep the same_user rule 104 out. frequency 3: the fifth failure from one
  // address fires 102. The fired event and the events it counted are marked, so the next
  // ones go back to 101 until frequency+1 unmarked events accumulate again.
  std::vector<Step> steps;
  for (int i = 0; i < 10; ++i) {
    steps.push_back({1, Failure("user" + std::to_string(i), "203.0.113.1"), 101});
  }
  steps[4].rule = 102;
  steps[9].rule = 102;
  Run(steps);
}

TEST_F(CorrelationTest, SameUserMarksBlockLowerLevels) {
  std::string a = Failure("alice", "203.0.113.1");
  // 104 (level 11, same user, frequency 2) fires on the fourth failure. Its marks stop the
  // search of 102 (level 10) as well, because a mark at or above a rule's level ends it.
  // The second time, 104 is inside its ignore="30" window and does not alert.
  Run({{1, a, 101},
       {1, a, 101},
       {1, a, 101},
       {1, a, 104},
       {1, a, 101},
       {1, a, 101},
       {1, a, 101},
       {1, a, 104, false}});
}

TEST_F(CorrelationTest, TimeframeDropsOldEvents) {
  std::string a = Failure("u1", "203.0.113.2");
  std::string b = Failure("u2", "203.0.113.2");
  std::string c = Failure("u3", "203.0.113.2");
  std::string d = Failure("u4", "203.0.113.2");
  // Different users keep 104 out. Three failures, a gap longer than the 60 s timeframe,
  // then three more: 102 needs four earlier events inside the window, so it fires only on
  // the fifth failure after the gap.
  Run({{0, a, 101},
       {10, b, 101},
       {10, c, 101},
       {61, d, 101},
       {5, a, 101},
       {5, b, 101},
       {5, c, 101},
       {5, d, 102}});
}

TEST_F(CorrelationTest, SameSourceIpSeparatesAttackers) {
  // Alternating sources: the first address reaches its fifth failure on line 9 and fires
  // 102. Line 10 is the fifth failure of the second address, but line 9 is stored with
  // 102's mark and ends the search: no immediate second alert.
  std::vector<Step> steps;
  for (int i = 0; i < 10; ++i) {
    std::string ip = i % 2 == 0 ? "198.51.100.1" : "198.51.100.2";
    steps.push_back({1, Failure("user" + std::to_string(i), ip), 101});
  }
  steps[8].rule = 102;
  Run(steps);
}

TEST_F(CorrelationTest, IfMatchedGroupCountsGroupEvents) {
  // 103 counts events of rules in group authentication_failed that no if_matched_sid rule
  // watches: 106 (invalid user) qualifies; 101 does not, because 102 and 104 watch it and
  // its events go to its own list instead.
  auto invalid = [](int n) {
    return "Dec  1 10:00:00 web1 sshd[9]: Invalid user u" + std::to_string(n) + " from 192.0.2." +
           std::to_string(n);
  };
  Run({{2, invalid(1), 106},
       {2, invalid(2), 106},
       {2, Failure("x", "192.0.2.50"), 101},
       {2, invalid(3), 106},
       {2, invalid(4), 106},
       {2, invalid(5), 106},
       {2, invalid(6), 103}});
}

TEST_F(CorrelationTest, IgnoreWindowSuppressesRepeatAlerts) {
  std::string a = Failure("root", "192.0.2.10");
  std::string b = Failure("root", "192.0.2.11");
  std::string c = Failure("root", "192.0.2.12");
  // 104 (same user, frequency 2) fires on the fourth failure for root. When it matches
  // again within its ignore="30" window, the decision is 104 without an alert and the event
  // is not stored. After the window it alerts again.
  Run({{1, a, 101},
       {1, b, 101},
       {1, c, 101},
       {1, a, 104},
       {1, b, 101},
       {1, c, 101},
       {1, a, 101},
       {1, b, 104, false},
       {31, c, 101},
       {1, a, 101},
       {1, b, 101},
       {1, c, 104}});
}

TEST_F(CorrelationTest, DifferentUrlNeedsDistinctUrls) {
  std::string ip = "203.0.113.50";
  // frequency 2: three earlier events with another URL than the current one are needed.
  Run({{1, Request(ip, "/a", 404), 201},
       {1, Request(ip, "/a", 404), 201},
       {1, Request(ip, "/b", 404), 201},
       {1, Request(ip, "/b", 404), 201},
       {1, Request(ip, "/c", 404), 202}});
}

// same_id, same_src_port, same_dst_port and same_location each compare one stored field: a
// frequency="2" rule fires on the fourth event whose field repeats, and never while the
// field changes.
class SameFieldTest : public AnalyzerFixture {
 protected:
  void SetUp() override {
    AnalyzerFixture::SetUp();
    ASSERT_EQ(Load(R"(
<decoder name="fw"><program_name>^fw$</program_name>
  <regex>id=(\S+) spt=(\d+) dpt=(\d+)</regex><order>id, srcport, dstport</order></decoder>
)",
                   R"(
<group name="fw,">
  <rule id="300" level="0"><decoded_as>fw</decoded_as><description>fw</description></rule>
  <rule id="301" level="3"><if_sid>300</if_sid><match>^a </match><description>a</description></rule>
  <rule id="302" level="3"><if_sid>300</if_sid><match>^b </match><description>b</description></rule>
  <rule id="303" level="3"><if_sid>300</if_sid><match>^c </match><description>c</description></rule>
  <rule id="304" level="3"><if_sid>300</if_sid><match>^d </match><description>d</description></rule>
  <rule id="311" level="8" frequency="2" timeframe="60"><if_matched_sid>301</if_matched_sid>
    <same_id /><description>same id</description></rule>
  <rule id="312" level="8" frequency="2" timeframe="60"><if_matched_sid>302</if_matched_sid>
    <same_src_port /><description>same source port</description></rule>
  <rule id="313" level="8" frequency="2" timeframe="60"><if_matched_sid>303</if_matched_sid>
    <same_dst_port /><description>same destination port</description></rule>
  <rule id="314" level="8" frequency="2" timeframe="60"><if_matched_sid>304</if_matched_sid>
    <same_location /><description>same host</description></rule>
</group>)"),
              "");
  }

  // Feeds three events whose field changes, then four whose field stays the same, and
  // expects `base` for all but the last, which fires `correlated`.
  void ExpectFiresOnRepeat(const std::function<std::string(int value)>& line, int base,
                           int correlated) {
    std::vector<int> values = {1, 2, 3, 7, 7, 7, 7};
    for (size_t i = 0; i < values.size(); ++i) {
      SCOPED_TRACE(line(values[i]));
      clock_.Advance(std::chrono::seconds(1));
      RuleMatch match = Feed(line(values[i]));
      ASSERT_NE(match.rule, nullptr);
      EXPECT_EQ(match.rule->id, i + 1 == values.size() ? correlated : base);
    }
  }
};

TEST_F(SameFieldTest, SameId) {
  ExpectFiresOnRepeat(
      [](int v) {
        return "Dec  1 10:00:00 h1 fw: a id=x" + std::to_string(v) +
               " spt=" + std::to_string(1000 + v * 3 % 5) + " dpt=22";
      },
      301, 311);
}

TEST_F(SameFieldTest, SameSourcePort) {
  ExpectFiresOnRepeat(
      [](int v) {
        return "Dec  1 10:00:00 h1 fw: b id=z spt=" + std::to_string(1000 + v) + " dpt=22";
      },
      302, 312);
}

TEST_F(SameFieldTest, SameDestinationPort) {
  ExpectFiresOnRepeat(
      [](int v) { return "Dec  1 10:00:00 h1 fw: c id=z spt=1000 dpt=" + std::to_string(20 + v); },
      303, 313);
}

TEST_F(SameFieldTest, SameLocation) {
  ExpectFiresOnRepeat(
      [](int v) {
        return "Dec  1 10:00:00 host" + std::to_string(v) + " fw: d id=z spt=1000 dpt=22";
      },
      304, 314);
}

}  // namespace
}  // namespace vigil::analysis
