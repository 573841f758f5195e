#include "common/logging.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(RepeatLimiter, CountsSuppressedRepeats) {
  RepeatLimiter limiter(std::chrono::seconds(3600));
  uint64_t suppressed = 99;
  EXPECT_TRUE(limiter.ShouldLog("disk full", &suppressed));
  EXPECT_EQ(suppressed, 0u);
  EXPECT_FALSE(limiter.ShouldLog("disk full", &suppressed));
  EXPECT_FALSE(limiter.ShouldLog("disk full", &suppressed));
  EXPECT_TRUE(limiter.ShouldLog("other error", &suppressed));
  EXPECT_EQ(limiter.total_suppressed(), 2u);
}

TEST(RepeatLimiter, ReportsCountWhenWindowEnds) {
  RepeatLimiter limiter(std::chrono::seconds(0));
  uint64_t suppressed = 0;
  EXPECT_TRUE(limiter.ShouldLog("x", &suppressed));
  EXPECT_TRUE(limiter.ShouldLog("x", &suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(GetLogger, ReturnsOneLoggerPerName) {
  auto a = GetLogger("test-component");
  auto b = GetLogger("test-component");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a->name(), "test-component");
}

}  // namespace
}  // namespace vigil
