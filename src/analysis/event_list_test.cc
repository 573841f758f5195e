#include "analysis/event_list.h"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace vigil::analysis {
namespace {

TEST(PositionRing, KeepsPositionsAcrossGrowthAndWrap) {
  PositionRing<int> ring;
  EXPECT_TRUE(ring.empty());
  EXPECT_FALSE(ring.Contains(0));
  // Remove from the back while adding, so that the live items wrap around the storage
  // before it grows.
  uint64_t first = 0;
  for (int i = 0; i < 100; ++i) {
    uint64_t position = ring.push_front(i);
    if (i == 0) first = position;
    EXPECT_EQ(position, first + static_cast<uint64_t>(i));
    if (i % 3 == 2) ring.pop_back();
  }
  EXPECT_EQ(ring.size(), 100u - 33u);
  EXPECT_EQ(ring.newest(), 99);
  EXPECT_EQ(ring.oldest(), 33);
  EXPECT_FALSE(ring.Contains(first + 32));
  for (uint64_t position = ring.begin(); position < ring.end(); ++position) {
    EXPECT_EQ(ring.at(position), static_cast<int>(position - first));
  }
  for (size_t i = 0; i < ring.size(); ++i) EXPECT_EQ(ring[i], 99 - static_cast<int>(i));
  ring.clear();
  EXPECT_TRUE(ring.empty());
  EXPECT_EQ(ring.push_front(7), first + 100);
}

// A fixed seed, so that a failure repeats.
constexpr uint64_t kSeed = 0x5eed;

TEST(KeyIndex, AgreesWithAMapUnderRandomChanges) {
  // A list as the engine keeps it: events join at the front and leave from the back, and
  // the index keeps the newest position of each address. Few distinct addresses and many
  // removals make long probe runs with holes in them, which a removal must close without
  // losing the addresses placed after them. Some keys are longer than a slot's inline bytes, and
  // their bytes live as long as their event, as in the engine.
  PositionRing<ListEntry> events;
  std::deque<std::string> keys;  // the key of each event in `events`, oldest first
  KeyIndex index(kSeed);
  std::unordered_map<std::string, uint64_t> newest;
  std::mt19937 random(11);

  for (int step = 0; step < 20000; ++step) {
    if (random() % 5 < 3) {
      std::string& key = keys.emplace_back("198.51.100." + std::to_string(random() % 300));
      if (step % 7 == 3) key += "-an-address-longer-than-the-inline-key-size";
      auto it = newest.find(key);
      uint64_t position = events.end();
      ListEntry entry;
      entry.srcip_hash = index.Hash(key);
      EXPECT_EQ(index.Exchange(key, entry.srcip_hash, position),
                it != newest.end() ? it->second : 0u)
          << key;
      events.push_front(entry);
      newest[key] = position;
    } else if (!events.empty()) {
      uint64_t position = events.begin();
      index.EraseIf(events.oldest().srcip_hash, position);
      if (newest[keys.front()] == position) newest.erase(keys.front());
      events.pop_back();
      keys.pop_front();
    }
    ASSERT_EQ(index.size(), newest.size()) << "step " << step;
  }

  for (const auto& [key, position] : newest) EXPECT_EQ(index.Find(key), position) << key;
  EXPECT_EQ(index.Find("192.0.2.1"), 0u);

  index.clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.Find(newest.begin()->first), 0u);
}

TEST(KeyIndex, KeysAroundTheInlineSize) {
  // Keys one byte shorter than, exactly as long as, and one byte longer than a slot's inline bytes,
  // sharing their first bytes, with an empty key among them.
  const size_t limit = KeyIndex::kInlineKeySize;
  const std::vector<std::string> keys = {std::string(limit - 1, 'a'), std::string(limit, 'a'),
                                         std::string(limit + 1, 'a'), std::string(limit, 'a') + "b",
                                         ""};
  KeyIndex index(kSeed);
  for (size_t i = 0; i < keys.size(); ++i) {
    EXPECT_EQ(index.Exchange(keys[i], index.Hash(keys[i]), i + 1), 0u) << "key " << i;
  }
  EXPECT_EQ(index.size(), keys.size());
  for (size_t i = 0; i < keys.size(); ++i) EXPECT_EQ(index.Find(keys[i]), i + 1) << "key " << i;
  EXPECT_EQ(index.Find(std::string(limit + 2, 'a')), 0u);
  EXPECT_EQ(index.Find(std::string(limit - 2, 'a')), 0u);
}

TEST(KeyIndex, LongKeyReadsTheNewestBytes) {
  // A long key is read from the bytes that the last Exchange passed, so the bytes of an older
  // event may change once a newer one replaced it.
  const std::string value = "2001:db8:85a3::8a2e:370:7334";
  ASSERT_GT(value.size(), KeyIndex::kInlineKeySize);
  std::string older = value;
  std::string newer = value;
  KeyIndex index(kSeed);
  uint32_t hash = index.Hash(value);
  EXPECT_EQ(index.Exchange(older, hash, 1), 0u);
  EXPECT_EQ(index.Exchange(newer, hash, 2), 1u);
  older.assign(value.size(), 'x');  // the older event's buffer is reused
  EXPECT_EQ(index.Find(value), 2u);

  index.EraseIf(hash, 1);  // no longer the newest: nothing changes
  EXPECT_EQ(index.size(), 1u);
  EXPECT_EQ(index.Find(value), 2u);
  index.EraseIf(hash, 2);
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.Find(value), 0u);
}

// Returns two different keys from `make_key` with the same hash, or an empty pair when the
// first `limit` keys contain none.
std::pair<std::string, std::string> FindHashCollision(const KeyIndex& index,
                                                      std::string (*make_key)(int), int limit) {
  std::unordered_map<uint32_t, std::string> seen;
  for (int i = 0; i < limit; ++i) {
    std::string key = make_key(i);
    auto [it, inserted] = seen.try_emplace(index.Hash(key), key);
    if (!inserted) return {it->second, key};
  }
  return {};
}

TEST(KeyIndex, SeparatesKeysWithEqualHashes) {
  // The index keeps 32 bits of a key's hash, so among a few hundred thousand keys some share
  // one. Short and long keys compare their bytes in different ways, so both are tested.
  KeyIndex index(kSeed);
  std::string (*short_key)(int) = [](int i) { return "10." + std::to_string(i); };
  std::string (*long_key)(int) = [](int i) {
    return "a-user-name-longer-than-16-" + std::to_string(i);
  };
  for (auto make_key : {short_key, long_key}) {
    auto [first, second] = FindHashCollision(index, make_key, 2000000);
    SCOPED_TRACE("keys " + first + " and " + second);
    ASSERT_FALSE(first.empty());
    uint32_t hash = index.Hash(first);
    ASSERT_EQ(index.Hash(second), hash);

    EXPECT_EQ(index.Exchange(first, hash, 1), 0u);
    EXPECT_EQ(index.Exchange(second, hash, 2), 0u);
    EXPECT_EQ(index.Find(first), 1u);
    EXPECT_EQ(index.Find(second), 2u);
    index.EraseIf(hash, 1);
    EXPECT_EQ(index.Find(first), 0u);
    EXPECT_EQ(index.Find(second), 2u);
    index.EraseIf(hash, 2);
    EXPECT_EQ(index.size(), 0u);
  }
}

TEST(StoredEvent, AssignTextCopiesIntoOneBuffer) {
  StoredEvent event;
  std::string log = "Dec  1 00:00:01 host sshd[1]: Failed password for root from 192.0.2.1";
  std::string address = "192.0.2.1";
  event.AssignText(log, {{address, &event.srcip}, {"", &event.dstuser}}, 4096);
  EXPECT_EQ(event.full_log, log);
  EXPECT_EQ(event.srcip, address);
  EXPECT_TRUE(event.dstuser.empty());
  // The copies share one buffer: the address follows the log.
  EXPECT_EQ(event.srcip.data(), event.full_log.data() + log.size());
  const char* buffer = event.full_log.data();

  // A shorter text reuses the buffer, and a longer one within the kept size doubles it.
  event.AssignText("short", {{"root", &event.dstuser}, {"", &event.srcip}}, 4096);
  EXPECT_EQ(event.full_log, "short");
  EXPECT_EQ(event.dstuser, "root");
  EXPECT_TRUE(event.srcip.empty());
  EXPECT_EQ(event.full_log.data(), buffer);
  std::string longer = log + log;
  event.AssignText(longer, {}, 4096);
  EXPECT_EQ(event.full_log, longer);
  buffer = event.full_log.data();
  event.AssignText(log + "!", {}, 4096);
  EXPECT_EQ(event.full_log.data(), buffer);

  // A text larger than the kept size gets a buffer of its own size, which the next text
  // replaces.
  std::string huge(5000, 'x');
  event.AssignText(huge, {{address, &event.srcip}}, 4096);
  EXPECT_EQ(event.full_log, huge);
  EXPECT_EQ(event.srcip, address);
  event.AssignText(log, {}, 4096);
  EXPECT_EQ(event.full_log, log);
  EXPECT_EQ(event.log(), log);
  event.log_offset = 16;
  EXPECT_EQ(event.log(), log.substr(16));
}

}  // namespace
}  // namespace vigil::analysis
