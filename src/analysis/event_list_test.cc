#include "analysis/event_list.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <unordered_map>

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

TEST(KeyIndex, AgreesWithAMapUnderRandomChanges) {
  // Few distinct keys and many removals make long probe runs with holes in them, which the
  // removal must close without losing keys placed after them.
  KeyIndex index;
  std::unordered_map<std::string, uint64_t> expected;
  std::mt19937 random(11);
  uint64_t next_position = 1;
  for (int step = 0; step < 20000; ++step) {
    std::string key = "198.51.100." + std::to_string(random() % 300);
    if (step % 7 == 3) key += "-a-key-longer-than-fifteen-bytes";
    auto it = expected.find(key);
    if (random() % 3 == 0) {
      // Removal succeeds only with the key's current position.
      uint64_t position = it != expected.end() && random() % 4 != 0 ? it->second : next_position;
      index.EraseIf(key, position);
      if (it != expected.end() && it->second == position) expected.erase(it);
    } else {
      uint64_t replaced = index.Exchange(key, next_position);
      EXPECT_EQ(replaced, it != expected.end() ? it->second : 0u) << key;
      expected[key] = next_position;
    }
    ++next_position;
    ASSERT_EQ(index.size(), expected.size());
  }
  for (const auto& [key, position] : expected) EXPECT_EQ(index.Find(key), position) << key;
  EXPECT_EQ(index.Find("192.0.2.1"), 0u);
  index.clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.Find(expected.begin()->first), 0u);
  EXPECT_EQ(index.Exchange("192.0.2.1", 5), 0u);
  EXPECT_EQ(index.Find("192.0.2.1"), 5u);
}

}  // namespace
}  // namespace vigil::analysis
