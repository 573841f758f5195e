// Correlation over many lines with a manual clock: each case feeds a script of events, some
// separated by clock steps, and compares the rule chosen for every line with the expected
// sequence.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>
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

// The root rule and the failed-password rule that the correlation rules watch.
const std::string kFailureRules = R"(
<group name="base,">
  <rule id="1" level="0" noalert="1"><category>syslog</category><description>syslog</description></rule>
</group>
<group name="sshd,">
  <rule id="100" level="0"><decoded_as>sshd</decoded_as><description>sshd</description></rule>
  <rule id="101" level="5"><if_sid>100</if_sid><match>Failed password</match>
    <group>authentication_failed,</group><description>failed password</description></rule>
</group>
)";

const std::string kRules = kFailureRules + R"(
<group name="sshd,">
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

TEST_F(CorrelationTest, MarksDoNotCarryOverToReusedEvents) {
  // 103 (no same_* element) walks its whole list and stops at an event marked at its level.
  // After it fires, a 200-second gap ages every event out of the list, so the engine reuses
  // their storage for the next events. Those must start unmarked, or 103 never fires again.
  auto invalid = [](int n) {
    return "Dec  1 10:00:00 web1 sshd[9]: Invalid user u" + std::to_string(n) + " from 192.0.2." +
           std::to_string(n);
  };
  std::vector<Step> steps;
  for (int round = 0; round < 3; ++round) {
    for (int i = 1; i <= 6; ++i) steps.push_back({i == 1 ? 200 : 1, invalid(i), 106});
    steps.back().rule = 103;
  }
  Run(steps);
}

TEST_F(CorrelationTest, ResetStateEmptiesTheLists) {
  // Four failures from one address, then a reset: the fifth is a first failure again, and
  // 102 fires only on the fifth failure after the reset, from events stored in reused space.
  std::vector<Step> before;
  for (int i = 0; i < 4; ++i) {
    before.push_back({1, Failure("user" + std::to_string(i), "203.0.113.9"), 101});
  }
  Run(before);
  analyzer_->ResetState();
  std::vector<Step> after;
  for (int i = 4; i < 9; ++i) {
    after.push_back({1, Failure("user" + std::to_string(i), "203.0.113.9"), 101});
  }
  after.back().rule = 102;
  Run(after);
}

TEST_F(CorrelationTest, IndexedSearchesDecideAsFullWalks) {
  // A pseudo-random script of failures and requests from a few addresses and users, with
  // clock steps that age events out of the lists now and then. The engine with its
  // per-address and per-user indexes must choose the same rules, alerts and previous events
  // as the engine that walks every list in full.
  config::Config config;
  config.rules.decoder_files = {Write("decoders.xml", kDecoders)};
  config.rules.rule_files = {Write("rules.xml", kRules)};
  EngineOptions plain;
  plain.index_by_source = false;
  Expected<std::unique_ptr<Analyzer>> walking = Analyzer::Create(config, &clock_, plain);
  ASSERT_TRUE(walking.ok()) << walking.status().message();
  std::mt19937 random(7);
  auto pick = [&](int n) { return static_cast<int>(random() % static_cast<unsigned>(n)); };
  std::map<int, int> fired;  // correlation rule id -> times chosen
  // Failures also come from addresses and users longer than an index slot's inline bytes, and from
  // ones exactly as long.
  const char* failure_ips[] = {"2001:db8:85a3::8a2e:370:", "2001:db8::1:2:3"};
  const char* users[] = {"user", "a-user-name-longer-than-16-", "sixteen-byte-us"};
  for (int i = 0; i < 3000; ++i) {
    std::string ip = "198.51.100." + std::to_string(pick(3));
    std::string line;
    switch (pick(4)) {
      case 0:
      case 1: {
        int source = pick(4);
        std::string failure_ip =
            source < 2 ? ip : failure_ips[source - 2] + std::to_string(pick(3));
        line = Failure(users[pick(3)] + std::to_string(pick(8)), failure_ip);
        break;
      }
      case 2:
        line = "Dec  1 10:00:00 web1 sshd[9]: Invalid user x from " + ip;
        break;
      default:
        line = Request(ip, "/" + std::to_string(pick(3)), pick(4) == 0 ? 200 : 404);
        break;
    }
    SCOPED_TRACE("line " + std::to_string(i + 1) + ": " + line);
    clock_.Advance(std::chrono::seconds(pick(50) == 0 ? 61 + pick(100) : pick(2)));
    Event other;
    RuleMatch expected = (*walking)->Process("test.log", line, &other);
    RuleMatch match = Feed(line);
    ASSERT_EQ(match.rule != nullptr, expected.rule != nullptr);
    if (match.rule == nullptr) continue;
    ASSERT_EQ(match.rule->id, expected.rule->id);
    ASSERT_EQ(match.alert, expected.alert);
    ASSERT_EQ(match.previous.size(), expected.previous.size());
    for (size_t j = 0; j < match.previous.size(); ++j) {
      EXPECT_EQ(match.previous[j]->full_log, expected.previous[j]->full_log);
      EXPECT_EQ(match.previous[j]->time, expected.previous[j]->time);
    }
    if (!match.previous.empty()) ++fired[match.rule->id];
  }
  for (int id : {102, 103, 104, 202}) {
    EXPECT_GT(fired[id], 5) << "rule " << id << " should fire often in the script";
  }
}

// Two if_matched_group rules over one group keep an event in two lists at once: 110 for 10
// seconds, 111 for 100. An event that leaves the short list must stay as it was in the long
// one.
TEST_F(AnalyzerFixture, EventStaysInTheLongerList) {
  ASSERT_EQ(Load(kDecoders, kFailureRules + R"(
<group name="sshd,">
  <rule id="110" level="8" frequency="5" timeframe="10">
    <if_matched_group>authentication_failed</if_matched_group>
    <description>burst of failures</description></rule>
  <rule id="111" level="9" frequency="2" timeframe="100">
    <if_matched_group>authentication_failed</if_matched_group><same_source_ip />
    <description>failures from one address</description></rule>
</group>)"),
            "");
  const std::string a = "203.0.113.7";
  const std::string b = "203.0.113.8";
  // Each failure comes 20 s after the last, so storing it drops the previous ones from 110's
  // list while 111's list keeps them.
  const std::vector<std::pair<std::string, std::string>> script = {{"u1", a}, {"u2", b}, {"u3", a},
                                                                   {"u4", b}, {"u5", a}, {"u6", a}};
  RuleMatch match;
  for (size_t i = 0; i < script.size(); ++i) {
    clock_.Advance(std::chrono::seconds(20));
    match = Feed(Failure(script[i].first, script[i].second));
    ASSERT_NE(match.rule, nullptr);
    EXPECT_EQ(match.rule->id, i + 1 == script.size() ? 111 : 101) << "line " << i + 1;
  }
  ASSERT_EQ(match.previous.size(), 3u);
  const char* users[] = {"u5", "u3", "u1"};
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(match.previous[i]->full_log, Failure(users[i], a)) << "previous event " << i;
  }
}

// Rule 120 fires on the fourth failure from one address. Rule 130 alerts on accepted logins,
// which go into no list.
const std::string kHistoryRules = kFailureRules + R"(
<group name="sshd,">
  <rule id="120" level="10" frequency="2" timeframe="600">
    <if_matched_sid>101</if_matched_sid><same_source_ip />
    <description>failures from one address</description></rule>
  <rule id="130" level="3"><if_sid>100</if_sid><match>Accepted password</match>
    <description>login</description></rule>
</group>)";

// The `index`-th line from its own address: a failure (rule 101) or a login (rule 130).
std::string Other(size_t index, bool failure) {
  std::string address = "10." + std::to_string(index / 65536) + "." +
                        std::to_string(index / 256 % 256) + "." + std::to_string(index % 256);
  if (failure) return Failure("user" + std::to_string(index), address);
  return "Dec  1 10:00:00 web1 sshd[9]: Accepted password for user" + std::to_string(index) +
         " from " + address + " port 4000 ssh2";
}

class HistoryTest : public AnalyzerFixture {
 protected:
  void SetUp() override {
    AnalyzerFixture::SetUp();
    memory_size_ = 2048;
    ASSERT_EQ(Load(kDecoders, kHistoryRules), "");
  }

  // Feeds `count` lines from other addresses, numbered from *next, and expects each to alert
  // as 101 or 130.
  void FeedOthers(size_t count, bool failures, size_t* next) {
    for (size_t i = 0; i < count; ++i, ++*next) {
      RuleMatch match = Feed(Other(*next, failures));
      ASSERT_NE(match.rule, nullptr);
      ASSERT_EQ(match.rule->id, failures ? 101 : 130) << Other(*next, failures);
    }
  }

  void FeedAttacker(int expected_rule) {
    RuleMatch match = Feed(Failure("root", "203.0.113.7"));
    ASSERT_NE(match.rule, nullptr);
    EXPECT_EQ(match.rule->id, expected_rule);
  }
};

// As in OSSEC, an event leaves the lists when it leaves the history of the last memory_size
// alerts, and the history drops its 10 oldest events at once when it overflows. The
// attacker's failures are the 5th to 7th alerts: the 2,049th alert removes the 1st to 10th,
// so the fourth failure fires rule 120 after 2,048 alerts and not after 2,049. Logins count
// in the history although no list keeps them.
TEST_F(HistoryTest, ListsForgetEventsThatLeaveTheHistory) {
  for (size_t later : {2041u, 2042u}) {
    SCOPED_TRACE(std::to_string(later) + " alerts after the failures");
    analyzer_->ResetState();
    size_t next = 0;
    FeedOthers(4, /*failures=*/false, &next);
    for (int i = 0; i < 3; ++i) FeedAttacker(101);
    FeedOthers(later, /*failures=*/false, &next);
    FeedAttacker(later == 2041 ? 120 : 101);
  }
}

// Once the history overflows, every event older than the maximum timeframe (600 s) leaves it
// too, so it refills later. 1,005 old failures, then the attacker's three 700 s later: the
// 2,049th alert removes all 1,005, and the attacker's stay until the history overflows
// again, at the 3,054th alert. Removing only 10 at a time would drop them at the 3,049th.
TEST_F(HistoryTest, OverflowAlsoDropsEventsOlderThanEveryTimeframe) {
  size_t next = 0;
  FeedOthers(1005, /*failures=*/true, &next);
  clock_.Advance(std::chrono::seconds(700));
  for (int i = 0; i < 3; ++i) FeedAttacker(101);
  FeedOthers(3052 - 1008, /*failures=*/true, &next);
  FeedAttacker(120);
}

// The same with rules that search the history itself (if_matched_regex alone): an event that
// left the history no longer counts.
TEST_F(AnalyzerFixture, HistorySearchesSeeOnlyTheHistory) {
  memory_size_ = 2048;
  ASSERT_EQ(Load(kDecoders, kFailureRules + R"(
<group name="sshd,">
  <rule id="121" level="10" frequency="2" timeframe="600">
    <if_sid>101</if_sid><if_matched_regex>for root from</if_matched_regex><same_source_ip />
    <description>failures for root</description></rule>
</group>)"),
            "");
  for (size_t later : {2041u, 2042u}) {
    SCOPED_TRACE(std::to_string(later) + " alerts after the failures");
    analyzer_->ResetState();
    for (size_t i = 0; i < 4; ++i) ASSERT_EQ(Feed(Other(i, true)).rule->id, 101);
    for (int i = 0; i < 3; ++i) ASSERT_EQ(Feed(Failure("root", "203.0.113.7")).rule->id, 101);
    for (size_t i = 0; i < later; ++i) ASSERT_EQ(Feed(Other(4 + i, true)).rule->id, 101);
    RuleMatch match = Feed(Failure("root", "203.0.113.7"));
    ASSERT_NE(match.rule, nullptr);
    EXPECT_EQ(match.rule->id, later == 2041 ? 121 : 101);
  }
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
