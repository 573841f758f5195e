#include "collector/reader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "collector/grouped_reader.h"
#include "collector/modsec_reader.h"
#include "common/clock.h"

namespace vigil::collector {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Options = std::map<std::string, std::string>;

struct Framed {
  std::vector<Record> records;
  ReaderCounters counters;
  std::vector<std::string> Texts() const {
    std::vector<std::string> texts;
    for (const Record& record : records) texts.push_back(record.text);
    return texts;
  }
};

std::unique_ptr<RecordReader> Make(const std::string& format, const Options& options,
                                   ReaderOptions reader_options = {}) {
  auto reader = MakeReader(format, options, reader_options);
  EXPECT_TRUE(reader.ok()) << reader.status().message();
  return reader.ok() ? std::move(reader).value() : nullptr;
}

// Runs a reader over `input` fed in chunks of `chunk` bytes, then flushes it.
Framed Frame(const std::string& format, const Options& options, std::string_view input,
             size_t chunk = 0, ReaderOptions reader_options = {}) {
  Framed framed;
  auto reader = Make(format, options, reader_options);
  if (reader == nullptr) return framed;
  auto emit = [&](Record&& record) { framed.records.push_back(std::move(record)); };
  if (chunk == 0) chunk = input.size() + 1;
  for (size_t at = 0; at < input.size(); at += chunk) reader->Feed(input.substr(at, chunk), emit);
  reader->Flush(emit);
  framed.counters = reader->counters();
  return framed;
}

// Frames `input` whole and byte by byte, checks both agree and returns the texts.
std::vector<std::string> Texts(const std::string& format, const Options& options,
                               std::string_view input) {
  std::vector<std::string> whole = Frame(format, options, input).Texts();
  std::vector<std::string> bytewise = Frame(format, options, input, 1).Texts();
  EXPECT_EQ(whole, bytewise) << "framing depends on how the input was split";
  return whole;
}

std::string Sample(const std::string& relative) {
  return std::string(VIGIL_SOURCE_DIR) + "/../shared/samples/" + relative;
}

bool ReadSample(const std::string& relative, std::string* content) {
  std::ifstream in(Sample(relative), std::ios::binary);
  if (!in) return false;
  std::ostringstream out;
  out << in.rdbuf();
  *content = out.str();
  return true;
}

#define REQUIRE_SAMPLE(relative, content)                                                 \
  if (!ReadSample(relative, content)) {                                                   \
    GTEST_SKIP() << "sample " << Sample(relative) << " is absent; the samples folder is " \
                 << "optional";                                                           \
  }

TEST(OneLineReader, StripsCrlfAndSkipsEmptyLines) {
  EXPECT_THAT(Texts("syslog", {}, "a\r\n\nb\nc"), ElementsAre("a", "b", "c"));
}

TEST(OneLineReader, KeepsPartialLineUntilFlush) {
  auto reader = Make("syslog", {});
  std::vector<std::string> texts;
  auto emit = [&](Record&& record) { texts.push_back(record.text); };
  reader->Feed("one\ntw", emit);
  EXPECT_THAT(texts, ElementsAre("one"));
  EXPECT_TRUE(reader->HasPending());
  EXPECT_EQ(reader->ResumeOffset(), 4u);
  reader->Feed("o\n", emit);
  EXPECT_THAT(texts, ElementsAre("one", "two"));
  EXPECT_FALSE(reader->HasPending());
  EXPECT_EQ(reader->ResumeOffset(), 8u);
}

TEST(OneLineReader, TruncatesHugeLineAndStaysInSync) {
  ReaderOptions options;
  options.max_record_bytes = 10;
  std::string input = std::string(100, 'x') + "\nnext\n";
  for (size_t chunk : {size_t{0}, size_t{1}, size_t{7}}) {
    SCOPED_TRACE(chunk);
    Framed framed = Frame("syslog", {}, input, chunk, options);
    ASSERT_EQ(framed.records.size(), 2u);
    EXPECT_EQ(framed.records[0].text, std::string(10, 'x'));
    EXPECT_TRUE(framed.records[0].truncated);
    EXPECT_EQ(framed.records[1].text, "next");
    EXPECT_FALSE(framed.records[1].truncated);
    EXPECT_EQ(framed.counters.truncated, 1u);
  }
}

TEST(OneLineReader, EscapesBinaryDataAndKeepsIt) {
  Framed framed = Frame("syslog", {}, std::string("a\0b\xff\n", 5));
  ASSERT_EQ(framed.records.size(), 1u);
  EXPECT_EQ(framed.records[0].text, "a\\x00b\\xff");
  EXPECT_EQ(framed.counters.escaped_bytes, 2u);
}

TEST(OneLineReader, RecordOffsetsCountFromStartOffset) {
  ReaderOptions options;
  options.start_offset = 100;
  Framed framed = Frame("syslog", {}, "ab\ncd\n", 0, options);
  ASSERT_EQ(framed.records.size(), 2u);
  EXPECT_EQ(framed.records[0].end_offset, 103u);
  EXPECT_EQ(framed.records[1].end_offset, 106u);
}

TEST(OneLineReader, RejectsUnknownAttribute) {
  auto reader = MakeReader("syslog", {{"lines", "3"}}, {});
  ASSERT_FALSE(reader.ok());
  EXPECT_THAT(reader.status().message(), HasSubstr("unknown attribute 'lines'"));
}

TEST(OneLineReader, ContinuationJoinsJavaTrace) {
  std::string input =
      "2024-01-01 ERROR boom\n"
      "java.lang.IllegalStateException: bad\n"
      "\tat a.B.c(B.java:1)\n"
      "Caused by: java.io.IOException: io\n"
      "\t... 3 more\n"
      "2024-01-01 INFO next\n";
  EXPECT_THAT(Texts("syslog", {{"continuation", "yes"}}, input),
              ElementsAre("2024-01-01 ERROR boom",
                          "java.lang.IllegalStateException: bad at a.B.c(B.java:1) Caused by: "
                          "java.io.IOException: io ... 3 more",
                          "2024-01-01 INFO next"));
}

TEST(OneLineReader, ContinuationEndsPythonTraceback) {
  std::string input =
      "Traceback (most recent call last):\n"
      "  File \"x.py\", line 1, in <module>\n"
      "ValueError: nope\n"
      "after\n";
  EXPECT_THAT(Texts("syslog", {{"continuation", "yes"}, {"join", "newline"}}, input),
              ElementsAre("Traceback (most recent call last):\n  File \"x.py\", line 1, in "
                          "<module>\nValueError: nope",
                          "after"));
}

TEST(OneLineReader, OpenSshSampleGivesEveryLineOnce) {
  std::string content;
  REQUIRE_SAMPLE("loghub/OpenSSH_2k.log", &content);
  ASSERT_NE(content.back(), '\n') << "the sample is expected to lack a final newline";
  Framed framed = Frame("syslog", {}, content, 4096);
  ASSERT_EQ(framed.records.size(), 2000u);
  for (const Record& record : framed.records) {
    ASSERT_EQ(record.text.find('\r'), std::string::npos) << record.text;
  }
  size_t last_line = content.rfind('\n') + 1;
  std::string last = content.substr(last_line);
  if (!last.empty() && last.back() == '\r') last.pop_back();
  EXPECT_EQ(framed.records.back().text, last);
  EXPECT_EQ(framed.records.back().end_offset, content.size());
}

TEST(OneLineReader, JavaTraceSamplesGroupWithContinuation) {
  std::string content;
  REQUIRE_SAMPLE("splitlog/exception-with-causes.txt", &content);
  Framed framed = Frame("syslog", {{"continuation", "yes"}}, content, 100);
  // Every `Caused by:` and frame line joins a record; no record starts with one.
  size_t causes = 0;
  for (const Record& record : framed.records) {
    EXPECT_FALSE(record.text.starts_with("\tat ")) << record.text;
    EXPECT_FALSE(record.text.starts_with("Caused by:")) << record.text;
    for (size_t at = 0; (at = record.text.find("Caused by:", at)) != std::string::npos; ++at) {
      ++causes;
    }
  }
  size_t expected_causes = 0;
  for (size_t at = 0; (at = content.find("Caused by:", at)) != std::string::npos; ++at) {
    ++expected_causes;
  }
  EXPECT_EQ(causes, expected_causes);
  EXPECT_GT(expected_causes, 0u);
  EXPECT_LT(framed.records.size(), framed.counters.lines);
}

TEST(OneLineReader, FluentBitJavaSampleGivesThreeRecords) {
  std::string content;
  REQUIRE_SAMPLE("fluent-bit/regex-001/test.log", &content);
  Framed framed = Frame("syslog", {{"continuation", "yes"}}, content, 50);
  ASSERT_EQ(framed.records.size(), 3u);
  EXPECT_EQ(framed.records[0].text, "single line...");
  EXPECT_TRUE(framed.records[1].text.starts_with("Dec 14 06:41:08 Exception in thread"));
  EXPECT_TRUE(framed.records[1].text.ends_with(
      "aborting! at com.myproject.module.MyProject.badMethod(MyProject.java:22) at "
      "com.myproject.module.MyProject.oneMoreMethod(MyProject.java:18) at "
      "com.myproject.module.MyProject.anotherMethod(MyProject.java:14) at "
      "com.myproject.module.MyProject.someMethod(MyProject.java:10) at "
      "com.myproject.module.MyProject.main(MyProject.java:6)"));
  EXPECT_EQ(framed.records[2].text, "another line...");
}

TEST(SnortFullReader, JoinsThreeLineAlerts) {
  std::string input =
      "[**] [1:1000:1] Test alert [**]\n"
      "[Classification: Misc activity] [Priority: 3] \n"
      "03/10-15:55:13.331112 10.0.0.1:1234 -> 10.0.0.2:80\n"
      "TCP TTL:64 TOS:0x0 ID:1 IpLen:20 DgmLen:40\n"
      "\n"
      "[**] [122:1:0] portscan [**]\n"
      "03/10-15:55:14.000000 10.0.0.3 -> 10.0.0.4\n";
  EXPECT_THAT(Texts("snort-full", {}, input),
              ElementsAre("[**] [1:1000:1] Test alert [**][Classification: Misc activity] "
                          "[Priority: 3] 10.0.0.1:1234 -> 10.0.0.2:80",
                          "[**] [122:1:0] portscan [**][Classification: Preprocessor] "
                          "[Priority: 3] 10.0.0.3 -> 10.0.0.4"));
}

TEST(SnortFullReader, CountsAlertCutShort) {
  Framed framed = Frame("snort-full", {}, "[**] [1:1:1] a [**]\n[**] [1:2:1] b [**]\n");
  EXPECT_THAT(framed.Texts(), ElementsAre("[**] [1:1:1] a [**]", "[**] [1:2:1] b [**]"));
  EXPECT_EQ(framed.counters.format_errors, 1u);
}

TEST(NmapGrepReader, ListsOpenPorts) {
  std::string input =
      "# Nmap 7.93 scan initiated\n"
      "Host: 10.0.0.1 (gw)\tStatus: Up\n"
      "Host: 10.0.0.1 (gw)\tPorts: 22/open/tcp//ssh///, 25/closed/tcp//smtp///, "
      "53/open/udp//domain///\tIgnored State: closed (997)\n";
  Framed framed = Frame("nmapg", {}, input);
  ASSERT_EQ(framed.records.size(), 1u);
  EXPECT_EQ(framed.records[0].text, "Host: 10.0.0.1 (gw), open ports: 22(tcp) 53(udp)");
  EXPECT_EQ(framed.records[0].queue, '3');
}

TEST(MysqlLogReader, PrefixesTimestamp) {
  std::string input =
      "070823 21:00:32\t      1 Connect     root@localhost on test\n"
      "\t\t      1 Query       select 1\n"
      "Tcp port: 3306\n";
  Framed framed = Frame("mysql_log", {}, input);
  EXPECT_THAT(framed.Texts(),
              ElementsAre("MySQL log: 070823 21:00:32 1 Connect     root@localhost on test",
                          "MySQL log: 070823 21:00:32 1 Query       select 1"));
  EXPECT_EQ(framed.counters.skipped_lines, 1u);
  ASSERT_FALSE(framed.records.empty());
  EXPECT_EQ(framed.records[0].queue, 'a');
}

TEST(HeaderedReader, MssqlJoinsContinuationLines) {
  std::string input =
      "2024-01-02 10:00:00.10 Logon       Login failed for user 'sa'.\n"
      "  Reason: Password did not match.\n"
      "2024-01-02 10:00:01.00 Server      started\n";
  EXPECT_THAT(Texts("mssql_log", {}, input),
              ElementsAre("2024-01-02 10:00:00.10 Logon       Login failed for user 'sa'. "
                          "Reason: Password did not match.",
                          "2024-01-02 10:00:01.00 Server      started"));
}

TEST(HeaderedReader, PostgresqlJoinsTabbedLines) {
  std::string input =
      "[2007-08-31 19:17:32.186 ADT] 192.168.2.99:db LOG:  statement: select\n"
      "\tfrom t\n"
      "[2007-08-31 19:17:33.000 ADT] LOG:  done\n";
  Framed framed = Frame("postgresql_log", {}, input);
  EXPECT_THAT(framed.Texts(),
              ElementsAre("[2007-08-31 19:17:32.186 ADT] 192.168.2.99:db LOG:  statement: "
                          "select from t",
                          "[2007-08-31 19:17:33.000 ADT] LOG:  done"));
  ASSERT_FALSE(framed.records.empty());
  EXPECT_EQ(framed.records[0].queue, 'b');
}

TEST(DjbMultilogReader, AddsHeaderFromLabel) {
  ReaderOptions options;
  options.location = "/var/log/qmail/current";
  setenv("TZ", "UTC", 1);
  tzset();
  // 0x4000000000000000 + 10 + 1700000000 seconds.
  std::string input =
      "@400000006553f10a00000000 new msg 1\n"
      "@400000006553f10a00000000 Nov 14 22:13:20 host prog: has a time\n";
  Framed framed = Frame("djb-multilog", {}, input, 0, options);
  ASSERT_EQ(framed.records.size(), 2u);
  EXPECT_THAT(framed.records[0].text, HasSubstr("Nov 14 22:13:20 "));
  EXPECT_THAT(framed.records[0].text, HasSubstr(" qmail: new msg 1"));
  EXPECT_EQ(framed.records[1].text, "Nov 14 22:13:20 host prog: has a time");
}

TEST(DjbMultilogReader, RejectsLocationWithoutCurrent) {
  ReaderOptions options;
  options.location = "/var/log/qmail.log";
  auto reader = MakeReader("djb-multilog", {}, options);
  ASSERT_FALSE(reader.ok());
  EXPECT_THAT(reader.status().message(), HasSubstr("<program>/current"));
}

TEST(MultiLineReader, GroupsNLinesAndFlushesRest) {
  EXPECT_THAT(Texts("multi-line:3", {}, "a\nb\nc\nd\ne\n"), ElementsAre("a b c", "d e"));
  EXPECT_THAT(Texts("multi-line: 2", {}, "a\nb\nc\nd\n"), ElementsAre("a b", "c d"));
  EXPECT_THAT(Texts("multiline", {{"lines", "2"}, {"join", "newline"}}, "a\nb\nc\nd\n"),
              ElementsAre("a\nb", "c\nd"));
}

TEST(MultiLineReader, OversizedGroupKeepsLaterGrouping) {
  ReaderOptions options;
  options.max_record_bytes = 8;
  Framed framed = Frame("multiline", {{"lines", "2"}}, "0123456789abc\nb\nc\nd\n", 0, options);
  ASSERT_EQ(framed.records.size(), 2u);
  EXPECT_EQ(framed.records[0].text, "01234567");
  EXPECT_TRUE(framed.records[0].truncated);
  EXPECT_EQ(framed.records[1].text, "c d");
}

TEST(MultiLineReader, ResumesAtGroupStart) {
  auto reader = Make("multiline", {{"lines", "3"}});
  std::vector<std::string> texts;
  auto emit = [&](Record&& record) { texts.push_back(record.text); };
  reader->Feed("a\nb\nc\nd\ne\n", emit);
  EXPECT_THAT(texts, ElementsAre("a b c"));
  EXPECT_EQ(reader->ResumeOffset(), 6u);
}

TEST(MultiLineReader, ConfigErrorsNameTheAttribute) {
  struct Case {
    std::string format;
    Options options;
    std::string message;
  };
  std::vector<Case> cases = {
      {"multiline", {}, "lines"},
      {"multiline", {{"lines", "0"}}, "lines"},
      {"multi-line:0", {}, "line count"},
      {"multiline", {{"lines", "2"}, {"colour", "red"}}, "unknown attribute 'colour'"},
      {"linux_auditd", {}, "exactly one of timeout and window"},
      {"linux_auditd", {{"timeout", "2"}, {"window", "3"}}, "exactly one"},
      {"linux_auditd", {{"timeout", "2x"}}, "unknown unit"},
      {"regex", {}, "start_regex"},
      {"regex", {{"start_regex", "("}}, "invalid regex"},
      {"regex", {{"start_regex", "^a"}, {"end_regex", "[z"}}, "end_regex"},
      {"grouped", {{"timeout", "1"}}, "key_regex"},
      {"grouped", {{"timeout", "1"}, {"key_regex", "id=\\d+"}}, "capture group"},
      {"nosuch", {}, "unknown log format"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.format);
    auto reader = MakeReader(test.format, test.options, {});
    ASSERT_FALSE(reader.ok());
    EXPECT_THAT(reader.status().message(), HasSubstr(test.message));
  }
}

TEST(IndentedReader, JoinsIndentedLines) {
  EXPECT_THAT(Texts("multi-line_indented", {}, "head\n  more\n\tand more\n\nnext\nlast\n"),
              ElementsAre("head more and more", "next", "last"));
  EXPECT_THAT(Texts("multi-line_indented", {{"join", "newline"}}, "head\n  more\n"),
              ElementsAre("head\n  more"));
}

TEST(RegexReader, StartOnly) {
  EXPECT_THAT(
      Texts("regex", {{"start_regex", "^\\d{4}-"}}, "stray\n2024-01 a\n x\n y\n2024-02 b\n"),
      ElementsAre("stray", "2024-01 a  x  y", "2024-02 b"));
}

TEST(RegexReader, StartAndEnd) {
  EXPECT_THAT(Texts("regex", {{"start_regex", "^BEGIN"}, {"end_regex", "^END"}},
                    "BEGIN\nBEGIN inner\nEND\nout\n"),
              ElementsAre("BEGIN BEGIN inner END", "out"));
}

TEST(RegexReader, CaseSensitiveOption) {
  EXPECT_THAT(Texts("regex", {{"start_regex", "^begin"}}, "BEGIN\nx\n"), ElementsAre("BEGIN x"));
  EXPECT_THAT(Texts("regex", {{"start_regex", "^begin"}, {"case_sensitive", "yes"}}, "BEGIN\nx\n"),
              ElementsAre("BEGIN", "x"));
}

TEST(RegexReader, EndRefersToStartCapture) {
  Options options = {{"start_regex", "^start id=([\\w.]+)"},
                     {"end_regex", "^end id=$1$"},
                     {"end_refers_start", "yes"}};
  EXPECT_THAT(Texts("regex", options, "start id=a.1\nend id=b\nend id=a.1\nout\n"),
              ElementsAre("start id=a.1 end id=b end id=a.1", "out"));
}

constexpr std::string_view kInterleavedAudit =
    "type=SYSCALL msg=audit(1.000:1): a\n"
    "type=SYSCALL msg=audit(1.000:2): b\n"
    "type=CWD msg=audit(1.000:1): c\n"
    "type=PATH msg=audit(1.000:2): d\n"
    "type=EOE msg=audit(1.000:2): \n"
    "garbage\n";

TEST(GroupedReader, AuditdKeepsInterleavedEventsApart) {
  Framed framed = Frame("linux_auditd", {{"timeout", "2s"}}, kInterleavedAudit);
  EXPECT_THAT(
      framed.Texts(),
      ElementsAre("type=SYSCALL msg=audit(1.000:2): b type=PATH msg=audit(1.000:2): d", "garbage",
                  "type=SYSCALL msg=audit(1.000:1): a type=CWD msg=audit(1.000:1): c"));
  EXPECT_EQ(framed.counters.format_errors, 1u);
}

TEST(GroupedReader, TimeoutEndsIdleGroup) {
  ManualClock clock;
  ReaderOptions options;
  options.clock = &clock;
  auto reader = Make("linux_auditd", {{"timeout", "500ms"}}, options);
  std::vector<std::string> texts;
  auto emit = [&](Record&& record) { texts.push_back(record.text); };
  reader->Feed("type=A msg=audit(1:1): x\n", emit);
  clock.Advance(std::chrono::milliseconds(400));
  reader->Feed("type=B msg=audit(1:1): y\ntype=A msg=audit(1:2): z\n", emit);
  clock.Advance(std::chrono::milliseconds(400));
  reader->Expire(clock.SteadyNow(), emit);
  EXPECT_TRUE(texts.empty()) << "the group had a line 400 ms ago";
  clock.Advance(std::chrono::milliseconds(100));
  reader->Expire(clock.SteadyNow(), emit);
  EXPECT_THAT(texts, ElementsAre("type=A msg=audit(1:1): x type=B msg=audit(1:1): y",
                                 "type=A msg=audit(1:2): z"));
  EXPECT_EQ(reader->counters().timeouts, 2u);
}

TEST(GroupedReader, WindowCountsFromFirstLine) {
  ManualClock clock;
  ReaderOptions options;
  options.clock = &clock;
  options.loop_timeout = std::chrono::milliseconds(1000);
  auto reader = Make("grouped", {{"key_regex", "id=(\\d+)"}, {"window", "2"}}, options);
  std::vector<std::string> texts;
  auto emit = [&](Record&& record) { texts.push_back(record.text); };
  reader->Feed("id=1 a\n", emit);
  clock.Advance(std::chrono::milliseconds(1500));
  reader->Feed("id=1 b\n", emit);
  EXPECT_EQ(reader->NextExpiry(), clock.SteadyNow() + std::chrono::milliseconds(500));
  clock.Advance(std::chrono::milliseconds(500));
  reader->Expire(clock.SteadyNow(), emit);
  EXPECT_THAT(texts, ElementsAre("id=1 a id=1 b"));
}

TEST(GroupedReader, ResumeOffsetIsOldestOpenGroup) {
  auto reader = Make("linux_auditd", {{"timeout", "5"}});
  std::vector<std::string> texts;
  auto emit = [&](Record&& record) { texts.push_back(record.text); };
  reader->Feed("x\ntype=A msg=audit(1:1): a\ntype=A msg=audit(1:2): b\n", emit);
  EXPECT_EQ(reader->ResumeOffset(), 2u);
  reader->PrepareStop(emit);
  EXPECT_EQ(texts.size(), 3u);
  EXPECT_EQ(reader->ResumeOffset(), 52u);
}

TEST(GroupedReader, AuditConsecutiveOnly) {
  EXPECT_THAT(
      Texts("audit", {}, kInterleavedAudit),
      ElementsAre("type=SYSCALL msg=audit(1.000:1): a", "type=SYSCALL msg=audit(1.000:2): b",
                  "type=CWD msg=audit(1.000:1): c", "type=PATH msg=audit(1.000:2): d", "garbage"));
}

TEST(GroupedReader, AuditUserspaceInterleavedSample) {
  std::string content;
  REQUIRE_SAMPLE("audit-userspace/test3.log", &content);
  Framed framed = Frame("linux_auditd", {{"timeout", "2s"}}, content, 333);
  std::set<std::string> keys;
  size_t lines = 0;
  AuditKeyExtractor extractor;
  for (const Record& record : framed.records) {
    // Every record contains the lines of exactly one event.
    std::string key;
    size_t at = 0;
    std::set<std::string> record_ids;
    while ((at = record.text.find("msg=audit(", at)) != std::string::npos) {
      size_t close = record.text.find(')', at);
      record_ids.insert(record.text.substr(at, close - at));
      ++lines;
      ++at;
    }
    EXPECT_EQ(record_ids.size(), 1u) << record.text;
    ASSERT_TRUE(extractor.Extract(record.text, &key));
    EXPECT_TRUE(keys.insert(key).second) << "event " << key << " split into two records";
  }
  EXPECT_EQ(lines, framed.counters.lines);
  EXPECT_LT(framed.records.size(), framed.counters.lines);
}

TEST(ModsecBoundary, ParsesBothVersions) {
  ModsecBoundary boundary;
  ASSERT_TRUE(ParseModsecBoundary("--1a2b3c4d-A--", &boundary));
  EXPECT_EQ(boundary.id, "1a2b3c4d");
  EXPECT_EQ(boundary.section, 'A');
  ASSERT_TRUE(ParseModsecBoundary("---AbCd1234---Z--", &boundary));
  EXPECT_EQ(boundary.id, "AbCd1234");
  EXPECT_EQ(boundary.section, 'Z');
  EXPECT_FALSE(ParseModsecBoundary("---Z--", &boundary));
  EXPECT_FALSE(ParseModsecBoundary("--1a2b-a--", &boundary));
  EXPECT_FALSE(ParseModsecBoundary("--1a2b---A--", &boundary));
  EXPECT_FALSE(ParseModsecBoundary("x--1a2b-A--", &boundary));
}

TEST(ModsecAuditReader, InterleavedTransactionsAndLookalikeBodies) {
  std::string input =
      "---AAAA1111---A--\n"
      "head1\n"
      "--bbbb2222-A--\n"
      "head2\n"
      "---AAAA1111---E--\n"
      "--cccc3333-Z--\n"
      "body1\n"
      "--bbbb2222-Z--\n"
      "---AAAA1111---Z--\n"
      "{\"transaction\":{\"id\":1}}\n";
  EXPECT_THAT(Texts("modsec_audit", {}, input),
              ElementsAre("--bbbb2222-A-- head2 --bbbb2222-Z--",
                          "---AAAA1111---A-- head1 ---AAAA1111---E-- --cccc3333-Z-- body1 "
                          "---AAAA1111---Z--",
                          "{\"transaction\":{\"id\":1}}"));
}

TEST(ModsecAuditReader, SerialSampleGivesOneRecordPerTransaction) {
  for (const char* name :
       {"modsecurity-parser/modsec_audit.log", "modsecurity-parser/modsec_audit_v2.log",
        "modsecurity-parser/modsec_audit_v2_timems.log"}) {
    SCOPED_TRACE(name);
    std::string content;
    REQUIRE_SAMPLE(name, &content);
    Framed framed = Frame("modsec_audit", {}, content, 512);
    size_t transactions = 0;
    for (size_t at = 0; (at = content.find("-A--", at)) != std::string::npos; ++at) {
      ++transactions;
    }
    ASSERT_GT(transactions, 0u);
    EXPECT_EQ(framed.records.size(), transactions);
    for (const Record& record : framed.records) {
      ModsecBoundary first;
      ASSERT_TRUE(ParseModsecBoundary(record.text.substr(0, record.text.find(' ')), &first))
          << record.text.substr(0, 80);
      EXPECT_EQ(first.section, 'A');
      EXPECT_TRUE(record.text.ends_with("-Z--")) << record.text.substr(record.text.size() - 40);
    }
    EXPECT_EQ(framed.counters.format_errors, 0u);
  }
}

TEST(ModsecAuditReader, JsonSampleGivesOneRecordPerLine) {
  std::string content;
  REQUIRE_SAMPLE("modsecurity-parser/modsec_audit_v2_json.log", &content);
  Framed framed = Frame("modsec_audit", {}, content, 700);
  size_t lines = 0;
  for (char c : content) lines += c == '\n';
  if (!content.empty() && content.back() != '\n') ++lines;
  EXPECT_EQ(framed.records.size(), lines);
  for (const Record& record : framed.records) EXPECT_TRUE(record.text.starts_with("{"));
}

TEST(CommandOutputReader, CommandAndFullCommand) {
  ReaderOptions options;
  options.location = "df -h";
  EXPECT_THAT(Frame("command", {}, "a\n\nb\n", 0, options).Texts(),
              ElementsAre("ossec: output: 'df -h': a", "ossec: output: 'df -h': b"));
  EXPECT_THAT(Frame("full_command", {}, "a\r\n\nb\n", 0, options).Texts(),
              ElementsAre("ossec: output: 'df -h':\na\nb"));
}

TEST(MakeReader, KnowsEveryListedFormat) {
  for (const std::string& name : KnownLogFormats()) {
    SCOPED_TRACE(name);
    std::string format = name == "multi-line:N" ? "multi-line:2" : name;
    Options options;
    if (name == "multiline") options = {{"lines", "2"}};
    if (name == "linux_auditd") options = {{"timeout", "1"}};
    if (name == "grouped") options = {{"timeout", "1"}, {"key_regex", "(x)"}};
    if (name == "regex") options = {{"start_regex", "x"}};
    ReaderOptions reader_options;
    reader_options.location = "/var/log/p/current";
    auto reader = MakeReader(format, options, reader_options);
    if (name == "journald") {
      ASSERT_FALSE(reader.ok());
      EXPECT_EQ(reader.status().code(), StatusCode::kUnsupported);
      continue;
    }
    EXPECT_TRUE(reader.ok()) << reader.status().message();
  }
}

}  // namespace
}  // namespace vigil::collector
