#include "analysis/event_list.h"

#include <gtest/gtest.h>

#include <deque>
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
  // A list as the engine keeps it: events join at the front and leave from the back, and
  // the index keeps the newest position of each address. Few distinct addresses and many
  // removals make long probe runs with holes in them, which a removal must close without
  // losing the addresses placed after them.
  PositionRing<ListEntry> events;
  std::deque<StoredEvent> stored;
  KeyIndex index(&StoredEvent::srcip);
  std::unordered_map<std::string, uint64_t> newest;
  std::mt19937 random(11);

  for (int step = 0; step < 20000; ++step) {
    if (random() % 5 < 3) {
      StoredEvent& event = stored.emplace_back();
      event.srcip = "198.51.100." + std::to_string(random() % 300);
      if (step % 7 == 3) event.srcip += "-an-address-longer-than-the-short-string-buffer";
      auto it = newest.find(event.srcip);
      uint64_t position = events.end();
      EXPECT_EQ(index.Exchange(event.srcip, position, events), it != newest.end() ? it->second : 0u)
          << event.srcip;
      events.push_front(ListEntry{&event});
      newest[event.srcip] = position;
    } else if (!events.empty()) {
      uint64_t position = events.begin();
      const std::string& key = events.oldest().event->srcip;
      index.EraseIf(key, position, events);
      if (newest[key] == position) newest.erase(key);
      events.pop_back();
    }
    ASSERT_EQ(index.size(), newest.size()) << "step " << step;
  }

  for (const auto& [key, position] : newest) EXPECT_EQ(index.Find(key, events), position) << key;
  EXPECT_EQ(index.Find("192.0.2.1", events), 0u);

  index.clear();
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.Find(newest.begin()->first, events), 0u);
}

}  // namespace
}  // namespace vigil::analysis
