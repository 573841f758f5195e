// Tests for the `vigil status` table.
#include "collector/source_status.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace vigil::collector {
namespace {

using ::testing::HasSubstr;

TEST(FormatStatusTest, ShowsEveryCounterColumn) {
  CollectorStatus status;
  SourceStatus source;
  source.location = "/var/log/app.log";
  source.log_format = "syslog";
  source.counters.reader.lines = 11;
  source.counters.reader.records = 10;
  source.counters.reader.truncated = 2;
  source.counters.reader.escaped_bytes = 5;
  source.counters.rotations = 1;
  source.counters.files_opened = 4;
  source.counters.open_errors = 3;
  source.counters.bytes_lost = 7;
  status.sources.push_back(source);

  std::string table = FormatStatus(status);
  std::string header = table.substr(0, table.find('\n'));
  EXPECT_THAT(header, HasSubstr("truncated"));
  EXPECT_THAT(header, HasSubstr("errors"));
  std::string row = table.substr(header.size() + 1);
  EXPECT_THAT(row, HasSubstr("/var/log/app.log"));
  EXPECT_THAT(row, HasSubstr("syslog"));
  // lines, records, truncated, escaped, rotated, files, errors and lost bytes, in that order.
  EXPECT_THAT(row,
              HasSubstr("11         10         2         5       1      4      3          7\n"));
}

}  // namespace
}  // namespace vigil::collector
