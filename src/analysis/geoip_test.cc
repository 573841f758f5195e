// GeoIP lookups against a real libmaxminddb reading a database written by MmdbTestWriter: the
// country codes, the srcgeoip, dstgeoip and different_srcgeoip rule elements, logtest's lines
// and the errors for a missing or damaged database.
#include "analysis/geoip.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "analysis/mmdb_test_writer.h"
#include "analysis/test_fixture.h"

namespace vigil::analysis {
namespace {

class GeoIpTest : public AnalyzerFixture {
 protected:
  void SetUp() override {
    AnalyzerFixture::SetUp();
    testing::MmdbTestWriter writer;
    writer.Add("192.0.2.0/24", "NL");
    writer.Add("198.51.100.0/24", "BR");
    writer.Add("203.0.113.0/25", "JP");
    writer.Add("2001:db8:1::/48", "DE");
    geoip_db_ = dir_ + "/country.mmdb";
    writer.Write(geoip_db_);
  }
};

const char* kDecoders = R"(
<decoder name="fw">
  <prematch>^fw: </prematch>
  <regex offset="after_prematch">^(\S+) -> (\S+) user (\S+)</regex>
  <order>srcip, dstip, user</order>
</decoder>)";

std::string Rules(const std::string& body) {
  return std::string(kTemplateRules) + "<group name=\"fw,\">\n" + body + "\n</group>\n";
}

TEST_F(GeoIpTest, CountryCodes) {
  Expected<std::unique_ptr<GeoIpDatabase>> database = GeoIpDatabase::Open(geoip_db_);
  ASSERT_TRUE(database.ok()) << database.status().message();
  EXPECT_EQ((*database)->CountryCode("192.0.2.77"), "NL");
  EXPECT_EQ((*database)->CountryCode("198.51.100.1"), "BR");
  EXPECT_EQ((*database)->CountryCode("203.0.113.5"), "JP");
  EXPECT_EQ((*database)->CountryCode("203.0.113.200"), "");  // outside the /25
  EXPECT_EQ((*database)->CountryCode("2001:db8:1:2::9"), "DE");
  EXPECT_EQ((*database)->CountryCode("2001:db8:2::1"), "");
  EXPECT_EQ((*database)->invalid_addresses(), 0u);
  EXPECT_EQ((*database)->CountryCode("host.example"), "");
  EXPECT_EQ((*database)->CountryCode("[192.0.2.1]"), "");
  EXPECT_EQ((*database)->invalid_addresses(), 2u);
}

TEST_F(GeoIpTest, MmdblookupReadsTestDatabase) {
  // Cross-checks the test writer with libmaxminddb's own command-line tool.
  if (std::system("command -v mmdblookup >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "mmdblookup is not installed (scripts/setup installs mmdb-bin)";
  }
  std::string output = dir_ + "/lookup.txt";
  std::string command =
      "mmdblookup --file '" + geoip_db_ + "' --ip 198.51.100.9 country iso_code > '" + output + "'";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(output);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("\"BR\""), std::string::npos) << text;
}

TEST_F(GeoIpTest, EventGetsCountries) {
  ASSERT_EQ(Load(kDecoders, Rules(R"(<rule id="100" level="3"><decoded_as>fw</decoded_as>
    <description>fw</description></rule>)")),
            "");
  Feed("fw: 192.0.2.4 -> 2001:db8:1::5 user alice");
  EXPECT_EQ(event_.srcgeoip, "NL");
  EXPECT_EQ(event_.dstgeoip, "DE");
  Feed("fw: 10.0.0.1 -> 198.51.100.3 user alice");
  EXPECT_EQ(event_.srcgeoip, "");
  EXPECT_EQ(event_.dstgeoip, "BR");
}

TEST_F(GeoIpTest, LogtestOrderListsCountryAfterAddress) {
  ASSERT_EQ(Load(kDecoders, Rules(R"(<rule id="100" level="3"><decoded_as>fw</decoded_as>
    <description>fw</description></rule>)")),
            "");
  analyzer_->set_record_decoded_order(true);
  Feed("fw: 192.0.2.4 -> 198.51.100.3 user alice");
  ASSERT_EQ(event_.decoded_order.size(), 5u);
  EXPECT_EQ(event_.decoded_order[0].first, "srcip");
  EXPECT_EQ(event_.decoded_order[1], (std::pair<std::string, std::string>{"srcgeoip", "NL"}));
  EXPECT_EQ(event_.decoded_order[2].first, "dstip");
  EXPECT_EQ(event_.decoded_order[3], (std::pair<std::string, std::string>{"dstgeoip", "BR"}));
  EXPECT_EQ(event_.decoded_order[4].first, "dstuser");
}

TEST_F(GeoIpTest, RuleElements) {
  ASSERT_EQ(Load(kDecoders, Rules(R"(
  <rule id="100" level="3"><decoded_as>fw</decoded_as><description>fw</description></rule>
  <rule id="101" level="6"><if_sid>100</if_sid><srcgeoip>NL|BR</srcgeoip>
    <description>from NL or BR</description></rule>
  <rule id="102" level="7"><if_sid>100</if_sid><dstgeoip_pcre2>^D[EK]$</dstgeoip_pcre2>
    <description>to DE or DK</description></rule>
)")),
            "");
  EXPECT_EQ(Feed("fw: 192.0.2.4 -> 10.0.0.1 user a").rule->id, 101);
  EXPECT_EQ(Feed("fw: 198.51.100.4 -> 10.0.0.1 user a").rule->id, 101);
  EXPECT_EQ(Feed("fw: 203.0.113.4 -> 10.0.0.1 user a").rule->id, 100);
  EXPECT_EQ(Feed("fw: 10.0.0.2 -> 2001:db8:1::1 user a").rule->id, 102);
  // No country: the condition fails, as in OSSEC.
  EXPECT_EQ(Feed("fw: 10.0.0.2 -> 10.0.0.1 user a").rule->id, 100);
}

TEST_F(GeoIpTest, DifferentSrcGeoIpCountsOtherCountries) {
  ASSERT_EQ(Load(kDecoders, Rules(R"(
  <rule id="100" level="3"><decoded_as>fw</decoded_as><description>fw</description></rule>
  <rule id="110" level="10" frequency="2" timeframe="60"><if_matched_sid>100</if_matched_sid>
    <same_user /><different_srcgeoip /><description>one user from several countries</description>
  </rule>
)")),
            "");
  // frequency 2 fires on the 4th event: three earlier events of the same user, each from
  // another country than the current one.
  EXPECT_EQ(Feed("fw: 192.0.2.1 -> 10.0.0.1 user bob").rule->id, 100);
  EXPECT_EQ(Feed("fw: 192.0.2.2 -> 10.0.0.1 user bob").rule->id, 100);
  EXPECT_EQ(Feed("fw: 198.51.100.1 -> 10.0.0.1 user bob").rule->id, 100);
  // Current NL: only one earlier event (BR) is from elsewhere, so no alert.
  EXPECT_EQ(Feed("fw: 192.0.2.3 -> 10.0.0.1 user bob").rule->id, 100);
  // Current JP: four earlier events, all from other countries.
  EXPECT_EQ(Feed("fw: 203.0.113.1 -> 10.0.0.1 user bob").rule->id, 110);
}

TEST_F(GeoIpTest, MissingDatabaseIsLoadError) {
  geoip_db_ = dir_ + "/absent.mmdb";
  std::string error = Load(kDecoders, Rules(R"(<rule id="100" level="3"><decoded_as>fw</decoded_as>
    <description>fw</description></rule>)"));
  EXPECT_NE(error.find("<geoipdb>: " + dir_ + "/absent.mmdb: failed to open the GeoIP database"),
            std::string::npos)
      << error;
}

TEST_F(GeoIpTest, DamagedDatabaseIsLoadError) {
  geoip_db_ = Write("damaged.mmdb", "not a MaxMind database");
  std::string error = Load(kDecoders, Rules(R"(<rule id="100" level="3"><decoded_as>fw</decoded_as>
    <description>fw</description></rule>)"));
  EXPECT_NE(error.find("failed to open the GeoIP database"), std::string::npos) << error;
}

}  // namespace
}  // namespace vigil::analysis
