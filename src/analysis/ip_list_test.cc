#include "analysis/ip_list.h"

#include <gtest/gtest.h>

namespace vigil::analysis {
namespace {

TEST(IpList, MatchesCidrAndExactAddresses) {
  IpList list;
  ASSERT_TRUE(list.Add("10.0.0.0/8").ok());
  ASSERT_TRUE(list.Add("192.168.1.7").ok());
  ASSERT_TRUE(list.Add("2001:db8::/32").ok());
  EXPECT_TRUE(list.Matches("10.200.3.4"));
  EXPECT_TRUE(list.Matches("192.168.1.7"));
  EXPECT_FALSE(list.Matches("192.168.1.8"));
  EXPECT_TRUE(list.Matches("2001:db8:1::5"));
  EXPECT_TRUE(list.Matches("::ffff:10.1.1.1"));
  EXPECT_FALSE(list.Matches("not an address"));
}

TEST(IpList, NegationFollowsOssecRules) {
  IpList list;
  ASSERT_TRUE(list.Add("!192.168.0.0/16").ok());
  // No entry contains 8.8.8.8, so the result is the opposite of the last entry's polarity.
  EXPECT_TRUE(list.Matches("8.8.8.8"));
  EXPECT_FALSE(list.Matches("192.168.3.3"));
}

TEST(IpList, RejectsInvalidEntries) {
  IpList list;
  EXPECT_FALSE(list.Add("10.0.0.0/255.0.0.0").ok());
  EXPECT_FALSE(list.Add("10.0.0.0/33").ok());
  EXPECT_FALSE(list.Add("host.example").ok());
  EXPECT_TRUE(list.Add("any").ok());
  EXPECT_TRUE(list.Matches("1.2.3.4"));
}

}  // namespace
}  // namespace vigil::analysis
