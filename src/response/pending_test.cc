#include "response/pending.h"

#include <gtest/gtest.h>

namespace vigil::response {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;

TableEntry Entry(int timeout, std::vector<int> repeated = {}) {
  TableEntry entry;
  entry.name = "firewall-drop" + std::to_string(timeout);
  entry.executable = "firewall-drop";
  entry.timeout_seconds = timeout;
  entry.options.repeated_offenders_minutes = std::move(repeated);
  return entry;
}

ExecRequest Request(const std::string& srcip, const std::string& name) {
  ExecRequest request;
  request.name = name;
  request.srcip = srcip;
  return request;
}

TEST(PendingStore, RunsOnceThenExtends) {
  PendingStore store;
  TableEntry entry = Entry(600);
  AddDecision first = store.OnAdd(entry, Request("1.2.3.4", entry.name), kStart);
  EXPECT_EQ(first.outcome, AddOutcome::kRun);
  EXPECT_EQ(first.timeout_seconds, 600);
  ASSERT_EQ(store.NextDue(), kStart + 600'000);

  AddDecision repeat = store.OnAdd(entry, Request("1.2.3.4", entry.name), kStart + 100'000);
  EXPECT_EQ(repeat.outcome, AddOutcome::kExtend);
  EXPECT_EQ(store.NextDue(), kStart + 700'000);
  EXPECT_EQ(store.size(), 1u);

  AddDecision other = store.OnAdd(entry, Request("5.6.7.8", entry.name), kStart + 100'000);
  EXPECT_EQ(other.outcome, AddOutcome::kRun);
  EXPECT_EQ(store.size(), 2u);
}

TEST(PendingStore, HandsOutDeletesWhenDue) {
  PendingStore store;
  TableEntry entry = Entry(2);
  store.OnAdd(entry, Request("1.2.3.4", entry.name), kStart);
  store.OnAdd(entry, Request("5.6.7.8", entry.name), kStart + 500);
  EXPECT_TRUE(store.TakeDue(kStart + 1999).empty());
  auto due = store.TakeDue(kStart + 2000);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].request.srcip, "1.2.3.4");
  EXPECT_EQ(store.NextDue(), kStart + 2500);
  due = store.TakeDue(kStart + 2500);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_FALSE(store.NextDue().has_value());
}

TEST(PendingStore, EscalatesRepeatedOffenders) {
  PendingStore store;
  TableEntry entry = Entry(60, {5, 30});
  const std::string ip = "1.2.3.4";
  EXPECT_EQ(store.OnAdd(entry, Request(ip, entry.name), kStart).timeout_seconds, 60);
  ASSERT_EQ(store.TakeDue(kStart + 60'000).size(), 1u);

  AddDecision second = store.OnAdd(entry, Request(ip, entry.name), kStart + 70'000);
  EXPECT_EQ(second.outcome, AddOutcome::kRun);
  EXPECT_EQ(second.offence, 2);
  EXPECT_EQ(second.timeout_seconds, 300);

  AddDecision third = store.OnAdd(entry, Request(ip, entry.name), kStart + 80'000);
  EXPECT_EQ(third.outcome, AddOutcome::kEscalate);
  EXPECT_EQ(third.timeout_seconds, 1800);
  EXPECT_EQ(store.NextDue(), kStart + 80'000 + 1'800'000);

  AddDecision fourth = store.OnAdd(entry, Request(ip, entry.name), kStart + 90'000);
  EXPECT_EQ(fourth.timeout_seconds, 1800);
}

TEST(PendingStore, ZeroTimeoutLeavesNothingPending) {
  PendingStore store;
  TableEntry entry = Entry(0);
  EXPECT_EQ(store.OnAdd(entry, Request("1.2.3.4", entry.name), kStart).outcome, AddOutcome::kRun);
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.OnAdd(entry, Request("1.2.3.4", entry.name), kStart).outcome, AddOutcome::kRun);
}

TEST(PendingStore, TakesByAddressAcrossResponses) {
  PendingStore store;
  store.OnAdd(Entry(60), Request("1.2.3.4", "firewall-drop60"), kStart);
  store.OnAdd(Entry(600), Request("1.2.3.4", "firewall-drop600"), kStart);
  store.OnAdd(Entry(60), Request("5.6.7.8", "firewall-drop60"), kStart);
  EXPECT_EQ(store.TakeByAddress("1.2.3.4").size(), 2u);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_TRUE(store.Take("firewall-drop60", "5.6.7.8").has_value());
  EXPECT_EQ(store.size(), 0u);
}

TEST(PendingStore, SerializesAndParsesBack) {
  PendingStore store;
  TableEntry entry = Entry(60, {10});
  ExecRequest request = Request("2001:db8::1", entry.name);
  request.location = "(web1) 10.0.0.5->/var/log/secure";
  request.rule_groups = {"sshd"};
  store.OnAdd(entry, request, kStart);
  store.OnAdd(entry, request, kStart + 1000);
  std::vector<std::string> errors;
  auto parsed = PendingStore::Parse(store.Serialize(), &errors);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(parsed->size(), 1u);
  const PendingEntry* restored = parsed->Find(entry.name, "2001:db8::1");
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(restored->due_ms, kStart + 1000 + 600'000);
  EXPECT_EQ(restored->request.location, request.location);
  EXPECT_EQ(restored->executable, "firewall-drop");
  // The offence count survived: the next add is the third offence.
  EXPECT_EQ(parsed->OnAdd(entry, request, kStart + 2000).offence, 3);
}

TEST(PendingStore, DropsEntriesThatFailValidation) {
  std::vector<std::string> errors;
  auto parsed = PendingStore::Parse(
      R"({"version":1,"pending":[{"name":"x","srcip":"1.2.3.4;reboot","due_ms":1},
          {"name":"y","srcip":"1.2.3.4","due_ms":2}]})",
      &errors);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->size(), 1u);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_FALSE(PendingStore::Parse("not json", &errors).ok());
  EXPECT_FALSE(PendingStore::Parse(R"({"pending":[{"name":"x"}]})", &errors).ok());
}

// nlohmann's own conversion casts a float such as 1e300 to int with undefined behaviour, so
// numbers out of range or with a fraction must be rejected first.
TEST(PendingStore, RejectsNumbersOutOfRange) {
  std::vector<std::string> errors;
  for (const char* text : {
           R"({"pending":[{"name":"x","due_ms":1e300}]})",
           R"({"pending":[{"name":"x","due_ms":1,"rule_level":2.44e20}]})",
           R"({"pending":[{"name":"x","due_ms":1,"rule_level":4294967296}]})",
           R"({"pending":[{"name":"x","due_ms":1,"origin_id":-1}]})",
           R"({"pending":[{"name":"x","due_ms":1.5}]})",
           R"({"offences":[{"name":"x","key":"k","count":1e20}]})",
           R"({"pending":[5]})",
       }) {
    SCOPED_TRACE(text);
    auto parsed = PendingStore::Parse(text, &errors);
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.status().message().find("pending responses file"), std::string::npos);
  }
  auto parsed = PendingStore::Parse(
      R"({"pending":[{"name":"y","srcip":"1.2.3.4","due_ms":2,"origin_id":18446744073709551615}],
          "offences":[{"name":"y","key":"k","count":3}]})",
      &errors);
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_EQ(parsed->size(), 1u);
}

}  // namespace
}  // namespace vigil::response
