// End-to-end tests of `vigil analyze`, `vigil logtest` and `vigil check` as real processes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "process.h"

namespace vigil::testing {
namespace {

const std::string kSource = VIGIL_SOURCE_DIR;
const std::string kSamples = kSource + "/../shared/samples";
const std::string kCompat = kSource + "/../shared/compat/ossec-3.7.0";

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/vigil-cli-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }
  std::string dir_;
};

std::vector<nlohmann::json> JsonLines(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  }
  return out;
}

TEST_F(CliTest, AnalyzeExampleLogWithBundledRules) {
  ProcessResult result = RunVigil({"analyze", "--json", kSource + "/examples/auth.log"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::vector<nlohmann::json> alerts = JsonLines(result.out);
  EXPECT_GT(alerts.size(), 10u);
  std::set<std::string> groups;
  for (const auto& alert : alerts) {
    for (const auto& group : alert["rule"]["groups"]) groups.insert(group.get<std::string>());
  }
  EXPECT_TRUE(groups.count("invalid_login"));
  EXPECT_TRUE(groups.count("authentication_failed"));
  EXPECT_TRUE(groups.count("brute_force"));
}

TEST_F(CliTest, OpenSshSampleKeepsEveryLineApart) {
  std::string sample = kSamples + "/loghub/OpenSSH_2k.log";
  if (!std::filesystem::exists(sample)) GTEST_SKIP() << "sample not found: " << sample;
  ProcessResult records = RunVigil({"analyze", "--records", sample});
  ASSERT_EQ(records.exit_code, 0) << records.err;
  std::vector<nlohmann::json> lines = JsonLines(records.out);
  ASSERT_EQ(lines.size(), 2000u);
  std::ifstream in(sample, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_NE(content.back(), '\n') << "the sample is expected to lack a final newline";
  std::string last = content.substr(content.rfind('\n') + 1);
  EXPECT_EQ(lines.back().get<std::string>(), last);
  for (const auto& line : lines) {
    std::string text = line.get<std::string>();
    EXPECT_EQ(text.find('\r'), std::string::npos) << text;
    EXPECT_EQ(text.find(" LabSZ ", 20), std::string::npos) << "two lines merged: " << text;
  }
}

TEST_F(CliTest, OpenSshSampleRaisesExpectedAlerts) {
  std::string sample = kSamples + "/loghub/OpenSSH_2k.log";
  if (!std::filesystem::exists(sample)) GTEST_SKIP() << "sample not found: " << sample;
  ProcessResult result = RunVigil({"analyze", "--json", sample});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::set<std::string> groups;
  std::map<std::string, int> brute_force_sources;
  for (const auto& alert : JsonLines(result.out)) {
    for (const auto& group : alert["rule"]["groups"]) {
      groups.insert(group.get<std::string>());
      if (group == "brute_force" && alert.contains("srcip")) {
        ++brute_force_sources[alert["srcip"].get<std::string>()];
      }
    }
  }
  EXPECT_TRUE(groups.count("invalid_login"));
  EXPECT_TRUE(groups.count("authentication_failed"));
  EXPECT_TRUE(brute_force_sources.count("183.62.140.253"))
      << "the address with the most failures must be reported as brute force";
}

const std::string kFailedLogin =
    "Dec  1 10:00:00 web1 sshd[12]: Failed password for root from 203.0.113.9 port 4022 ssh2\n";

// A pipe on stdin may be a live stream (`tail -f auth.log | vigil analyze`), so each alert
// must reach stdout while the input is still open, although stdout is a fully buffered pipe
// and decoding threads take records in batches. Writes `line` to stdin (nothing when empty)
// and returns the output read within 20 seconds, until it contains `until` (by default the
// first alert's end), and the exit status after stdin is closed.
std::pair<std::string, int> FirstAlertFromLiveStdin(const std::vector<std::string>& extra,
                                                    const std::string& line,
                                                    const std::string& until = "\n\n") {
  int to_child[2];
  int from_child[2];
  if (::pipe(to_child) != 0 || ::pipe(from_child) != 0) return {"pipe failed", -1};
  std::string binary = VigilBinary();
  std::vector<std::string> args = {binary, "analyze", "--no-summary"};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("-");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return {"fork failed", -1};
  if (pid == 0) {
    ::dup2(to_child[0], STDIN_FILENO);
    ::dup2(from_child[1], STDOUT_FILENO);
    ::close(to_child[1]);
    ::close(from_child[0]);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  std::string out;
  if (!line.empty() &&
      ::write(to_child[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    out = "write failed";
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (out.find(until) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd ready{from_child[0], POLLIN, 0};
    if (::poll(&ready, 1, 200) <= 0) continue;
    char buffer[4096];
    ssize_t n = ::read(from_child[0], buffer, sizeof buffer);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  ::close(to_child[1]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(from_child[0]);
  return {out, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)};
}

TEST_F(CliTest, AlertsFromLiveStdinAreNotHeld) {
  auto [out, exit_code] = FirstAlertFromLiveStdin({}, kFailedLogin);
  EXPECT_NE(out.find("** Alert "), std::string::npos) << "no alert while stdin was open: " << out;
  EXPECT_NE(out.find("Src IP: 203.0.113.9"), std::string::npos) << out;
  EXPECT_EQ(exit_code, 0);
}

TEST_F(CliTest, LiveStdinWithDecodingThreads) {
  auto [out, exit_code] = FirstAlertFromLiveStdin({"--threads", "2"}, kFailedLogin);
  EXPECT_NE(out.find("** Alert "), std::string::npos) << "no alert while stdin was open: " << out;
  EXPECT_NE(out.find("Src IP: 203.0.113.9"), std::string::npos) << out;
  EXPECT_EQ(exit_code, 0);
}

// A record that only the next line would end comes out once a live stream has been quiet
// for the reader's flush timeout (5 seconds), as the daemon does for a quiet file.
TEST_F(CliTest, QuietStdinEndsPendingRecord) {
  auto start = std::chrono::steady_clock::now();
  auto [out, exit_code] =
      FirstAlertFromLiveStdin({"--records", "--log-format", "multi-line_indented"},
                              "first line\n  continued\n", "continued\"\n");
  EXPECT_EQ(out, "\"first line continued\"\n") << "the record waited for stdin to end";
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
  EXPECT_EQ(exit_code, 0);
}

// A file before a silent live stream gets its alerts out before the stream sends anything.
TEST_F(CliTest, FileBeforeSilentStdin) {
  std::string log = Write("a.log", kFailedLogin);
  auto [out, exit_code] = FirstAlertFromLiveStdin({"--threads", "2", log}, "");
  EXPECT_NE(out.find("Src IP: 203.0.113.9"), std::string::npos)
      << "the file's alert waited for stdin: " << out;
  EXPECT_EQ(exit_code, 0);
}

TEST_F(CliTest, MissingInputIsReportedAndOthersStillRead) {
  std::string log =
      Write("a.log", "Dec  1 10:00:00 web1 sshd[1]: Invalid user x from 192.0.2.1 port 1\n");
  ProcessResult result = RunVigil({"analyze", "--json", dir_ + "/missing.log", log});
  EXPECT_EQ(result.exit_code, 66);
  EXPECT_NE(result.err.find("missing.log: file not found"), std::string::npos) << result.err;
  EXPECT_EQ(JsonLines(result.out).size(), 1u);
}

TEST_F(CliTest, DirectoryInputIsReported) {
  ProcessResult result = RunVigil({"analyze", dir_});
  EXPECT_EQ(result.exit_code, 66);
  EXPECT_NE(result.err.find("is a directory"), std::string::npos) << result.err;
}

TEST_F(CliTest, BinaryInputIsEscapedAndCounted) {
  std::string binary(
      "\x7f"
      "ELF\x02\x01\x01\0\0\0\n\xff\xfe\n",
      14);
  std::string log = Write(
      "bin.log", binary + "Dec  1 10:00:00 web1 sshd[1]: Invalid user x from 192.0.2.1 port 1\n");
  ProcessResult records = RunVigil({"analyze", "--records", log});
  ASSERT_EQ(records.exit_code, 0) << records.err;
  std::vector<nlohmann::json> lines = JsonLines(records.out);
  ASSERT_EQ(lines.size(), 3u);
  // Control characters are valid UTF-8 and stay; NUL and invalid bytes are escaped.
  EXPECT_EQ(lines[0].get<std::string>(),
            "\x7f"
            "ELF\x02\x01\x01\\x00\\x00\\x00");
  EXPECT_EQ(lines[1].get<std::string>(), "\\xff\\xfe");
  EXPECT_NE(records.err.find("escaped"), std::string::npos) << records.err;
  ProcessResult result = RunVigil({"analyze", "--json", log});
  EXPECT_EQ(JsonLines(result.out).size(), 1u) << "the line after the binary data still alerts";
}

TEST_F(CliTest, OverlongLineIsTruncatedAndNextLineKept) {
  std::string log = Write("long.log", "Dec  1 10:00:00 web1 app: " + std::string(5000, 'A') +
                                          "\nDec  1 10:00:01 web1 sshd[1]: Invalid user y "
                                          "from 192.0.2.2 port 2\n");
  ProcessResult records = RunVigil({"analyze", "--records", "--max-record-size", "1024", log});
  ASSERT_EQ(records.exit_code, 0) << records.err;
  std::vector<nlohmann::json> lines = JsonLines(records.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].get<std::string>().size(), 1024u);
  EXPECT_NE(lines[1].get<std::string>().find("Invalid user y"), std::string::npos);
  EXPECT_NE(records.err.find("truncated"), std::string::npos) << records.err;
}

TEST_F(CliTest, FormatOptionBeforeFileKeepsFile) {
  std::string log = Write("audit.log",
                          "type=SYSCALL msg=audit(1.000:7): arch=c000003e syscall=2 success=no\n"
                          "type=PATH msg=audit(1.000:7): item=0 name=\"/etc/shadow\"\n"
                          "type=EOE msg=audit(1.000:7):\n");
  ProcessResult records = RunVigil({"analyze", "--records", "--log-format", "linux_auditd",
                                    "--format-option", "timeout=3s", log});
  ASSERT_EQ(records.exit_code, 0) << records.err;
  std::vector<nlohmann::json> lines = JsonLines(records.out);
  ASSERT_EQ(lines.size(), 1u) << records.out;
  EXPECT_NE(lines[0].get<std::string>().find("/etc/shadow"), std::string::npos);
}

TEST_F(CliTest, OutputFolderGetsAlertsLogAndJson) {
  ProcessResult result =
      RunVigil({"analyze", "--output", dir_ + "/out", kSource + "/examples/auth.log"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  std::ifstream log(dir_ + "/out/alerts.log");
  std::string first;
  std::getline(log, first);
  EXPECT_EQ(first.rfind("** Alert ", 0), 0u) << first;
  EXPECT_NE(first.find(".0: "), std::string::npos) << "the first alert's offset is 0: " << first;
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/out/alerts.json"));
}

// The part of an alert id after the time: its offset in alerts.log.
std::string IdOffset(const std::string& id) { return id.substr(id.find('.') + 1); }

// Alert ids on stdout, as text or JSON, are those that --output writes into a new folder.
TEST_F(CliTest, StdoutAlertIdsMatchOutputFolder) {
  std::string input = kSource + "/examples/auth.log";
  ProcessResult files = RunVigil({"analyze", "--output", dir_ + "/out", input});
  ProcessResult text = RunVigil({"analyze", input});
  ProcessResult json = RunVigil({"analyze", "--json", input});
  ASSERT_EQ(files.exit_code, 0) << files.err;
  ASSERT_EQ(text.exit_code, 0) << text.err;
  ASSERT_EQ(json.exit_code, 0) << json.err;

  std::vector<std::string> file_ids;
  std::ifstream alerts_json(dir_ + "/out/alerts.json");
  std::string line;
  while (std::getline(alerts_json, line)) {
    file_ids.push_back(IdOffset(nlohmann::json::parse(line)["id"]));
  }
  ASSERT_GT(file_ids.size(), 3u);
  std::vector<std::string> json_ids;
  for (const nlohmann::json& alert : JsonLines(json.out)) json_ids.push_back(IdOffset(alert["id"]));
  EXPECT_EQ(json_ids, file_ids);
  std::vector<std::string> text_ids;
  std::istringstream text_lines(text.out);
  while (std::getline(text_lines, line)) {
    if (!line.starts_with("** Alert ")) continue;
    std::string id = line.substr(9, line.find(':') - 9);
    text_ids.push_back(IdOffset(id));
  }
  EXPECT_EQ(text_ids, file_ids);
}

TEST_F(CliTest, EmptyOutputFolderIsRejected) {
  ProcessResult result = RunVigil({"analyze", "--output", "", kSource + "/examples/auth.log"});
  EXPECT_EQ(result.exit_code, 2) << "the usage error code";
  EXPECT_NE(result.err.find("the folder name is empty"), std::string::npos) << result.err;
  EXPECT_EQ(result.out, "") << "no alert goes to stdout instead";
}

TEST_F(CliTest, JsonWithOutputFolderIsRejected) {
  ProcessResult result =
      RunVigil({"analyze", "--json", "--output", dir_ + "/out", kSource + "/examples/auth.log"});
  EXPECT_EQ(result.exit_code, 2) << "the usage error code";
  EXPECT_NE(result.err.find("--json"), std::string::npos) << result.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/out"));
}

TEST_F(CliTest, ThreadsKeepAlertsAndOrder) {
  // Event times come from the real clock here, so only what does not depend on them is
  // compared: the rule, the decoded fields and the log of every alert, in order. The byte
  // comparison under a fixed clock is in tests/parallel_identity_test.cc.
  std::string log = kSource + "/examples/auth.log";
  ProcessResult single = RunVigil({"analyze", "--json", log});
  ProcessResult parallel = RunVigil({"analyze", "--json", "--threads", "4", log});
  ASSERT_EQ(single.exit_code, 0) << single.err;
  ASSERT_EQ(parallel.exit_code, 0) << parallel.err;
  std::vector<nlohmann::json> expected = JsonLines(single.out);
  std::vector<nlohmann::json> actual = JsonLines(parallel.out);
  ASSERT_GT(expected.size(), 10u);
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    SCOPED_TRACE(expected[i]["full_log"].get<std::string>());
    EXPECT_EQ(actual[i]["rule"]["sidid"], expected[i]["rule"]["sidid"]);
    EXPECT_EQ(actual[i]["full_log"], expected[i]["full_log"]);
    EXPECT_EQ(actual[i].value("srcip", ""), expected[i].value("srcip", ""));
    EXPECT_EQ(actual[i].value("dstuser", ""), expected[i].value("dstuser", ""));
  }
}

TEST_F(CliTest, ThreadsOutOfRangeIsRejected) {
  ProcessResult result = RunVigil({"analyze", "--threads", "0", kSource + "/examples/auth.log"});
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.err.find("--threads"), std::string::npos) << result.err;
}

TEST_F(CliTest, UnknownConfigElementNamesFileAndLine) {
  std::string config = Write("bad.conf",
                             "<ossec_config>\n  <global>\n    <bogus>1</bogus>\n"
                             "  </global>\n</ossec_config>\n");
  ProcessResult result = RunVigil({"check", "-c", config});
  EXPECT_EQ(result.exit_code, 78);
  EXPECT_NE(result.err.find("bad.conf:3"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("bogus"), std::string::npos) << result.err;
}

TEST_F(CliTest, BrokenRulesAreAllReported) {
  Write("etc/rules/local_rules.xml", R"(<group name="local,">
  <rule id="100001" level="5"><if_sid>5799</if_sid><description>x</description></rule>
  <rule id="100002" level="5"><regex>(\d+</regex><description>y</description></rule>
</group>
)");
  Write("etc/decoder.xml", "<decoder name=\"d\"><prematch>^x</prematch></decoder>\n");
  std::string config = Write("etc/ossec.conf",
                             "<ossec_config><rules><include>local_rules.xml</include></rules>"
                             "</ossec_config>\n");
  ProcessResult result = RunVigil({"analyze", "-c", config, "-"}, "line\n");
  EXPECT_EQ(result.exit_code, 78);
  EXPECT_NE(result.err.find("local_rules.xml:2"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("rule 5799, which is not defined"), std::string::npos) << result.err;
  EXPECT_NE(result.err.find("local_rules.xml:3"), std::string::npos) << result.err;
}

// Attributes that OSSEC ignores load with a warning that names file and line, on stderr and
// in `vigil check`'s list. A decoder pattern whose first attribute is not offset is an error,
// as in OSSEC.
TEST_F(CliTest, IgnoredWazuhAttributesAreReported) {
  Write("etc/rules/local_rules.xml", R"(<group name="local,">
  <rule id="100001" level="5">
    <regex type="pcre2">^x\d+</regex><description>x</description></rule>
</group>
)");
  Write("etc/decoder.xml", R"(<decoder name="p">
  <program_name>^app</program_name>
</decoder>
<decoder name="d">
  <parent>p</parent>
  <prematch offset="after_parent" negate="yes">^x</prematch>
</decoder>
)");
  std::string config = Write("etc/ossec.conf",
                             "<ossec_config><rules><include>local_rules.xml</include></rules>"
                             "</ossec_config>\n");
  const std::string rule_warning =
      "local_rules.xml:3: attribute type=\"pcre2\" of <regex> is ignored";
  const std::string decoder_warning =
      "decoder.xml:6: attribute negate=\"yes\" of <prematch> is ignored";
  ProcessResult result = RunVigil({"analyze", "-c", config, "-"}, "x12\n");
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find(rule_warning), std::string::npos) << result.err;
  EXPECT_NE(result.err.find(decoder_warning), std::string::npos) << result.err;

  ProcessResult check = RunVigil({"check", "-c", config});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find("warnings (2):"), std::string::npos) << check.out;
  EXPECT_NE(check.out.find(rule_warning), std::string::npos) << check.out;

  Write("etc/decoder.xml",
        "<decoder name=\"d\">\n  <prematch type=\"pcre2\">^x</prematch>\n"
        "</decoder>\n");
  ProcessResult rejected = RunVigil({"check", "-c", config});
  EXPECT_EQ(rejected.exit_code, 78);
  EXPECT_NE(rejected.err.find("decoder.xml:2: <prematch>: attribute type=\"pcre2\" is not "
                              "allowed, only offset. For a PCRE2 pattern, write <prematch_pcre2>"),
            std::string::npos)
      << rejected.err;
}

TEST_F(CliTest, LogtestUnitContract) {
  std::string line = "Dec  1 10:00:00 web1 sshd[1]: Invalid user admin from 192.0.2.1 port 22\n";
  ProcessResult phases = RunVigil({"logtest"}, line);
  ASSERT_EQ(phases.exit_code, 0) << phases.err;
  size_t rule_at = phases.out.find("Rule id: '");
  ASSERT_NE(rule_at, std::string::npos) << phases.out;
  std::string rule =
      phases.out.substr(rule_at + 10, phases.out.find('\'', rule_at + 10) - rule_at - 10);
  size_t level_at = phases.out.find("Level: '");
  std::string level =
      phases.out.substr(level_at + 8, phases.out.find('\'', level_at + 8) - level_at - 8);
  EXPECT_EQ(RunVigil({"logtest", "-q", "-U", rule + ":" + level + ":sshd"}, line).exit_code, 0);
  EXPECT_EQ(RunVigil({"logtest", "-q", "-U", rule + ":" + level + ":pam"}, line).exit_code, 3);
  EXPECT_EQ(RunVigil({"logtest", "-q", "-U", "1:" + level + ":sshd"}, line).exit_code, 2);
  EXPECT_EQ(RunVigil({"logtest", "-q", "-U", rule + ":99:sshd"}, line).exit_code, 1);
  ProcessResult empty = RunVigil({"logtest", "-q", "-U", rule + ":" + level + ":sshd"}, "");
  EXPECT_EQ(empty.exit_code, 66) << empty.err;
  EXPECT_NE(empty.err.find("none was read"), std::string::npos) << empty.err;
}

TEST_F(CliTest, LogtestLoadsOssecStockRuleset) {
  if (!std::filesystem::exists(kCompat)) GTEST_SKIP() << "not found: " << kCompat;
  ProcessResult result =
      RunVigil({"logtest", "-q", "-c", kCompat + "/etc/ossec.conf", "-U", "5710:5:sshd"},
               "Oct 15 21:07:00 linux-host sshd[29205]: Invalid user blabla from 192.168.2.10\n");
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
}

TEST_F(CliTest, LogtestCutsLongLines) {
  std::string line = "Dec  1 10:00:00 web1 sshd[1]: Invalid user admin from 192.0.2.1 port 22 " +
                     std::string(2000, 'x') + "\n";
  ProcessResult result = RunVigil({"logtest", "--max-record-size", "300"}, line);
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_NE(result.err.find("line 1 has 2072 bytes; analysing its first 300"), std::string::npos)
      << result.err;
  EXPECT_NE(result.out.find("full event: 'Dec  1 10:00:00 web1 sshd[1]: Invalid user admin"),
            std::string::npos)
      << result.out;
  EXPECT_EQ(result.out.find(std::string(300, 'x')), std::string::npos)
      << "the event must end at 300 bytes";
  EXPECT_NE(result.out.find(std::string(228, 'x') + "'"), std::string::npos) << result.out;
}

// Runs `vigil args` with stdin from `input_path` and stdout to /dev/full, where every write
// fails with ENOSPC. Returns the exit status and what it printed on stderr.
std::pair<int, std::string> RunIntoFullDevice(const std::vector<std::string>& args,
                                              const std::string& input_path,
                                              const std::string& err_path) {
  std::string binary = VigilBinary();
  std::vector<std::string> all = {binary};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : all) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return {-1, "fork failed"};
  if (pid == 0) {
    int in = ::open(input_path.c_str(), O_RDONLY);
    int out = ::open("/dev/full", O_WRONLY);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || out < 0 || err < 0) ::_exit(126);
    ::dup2(in, STDIN_FILENO);
    ::dup2(out, STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::ifstream err_file(err_path);
  std::string err((std::istreambuf_iterator<char>(err_file)), std::istreambuf_iterator<char>());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), err};
}

// A lost result must not look like a passed test or a clean run.
TEST_F(CliTest, LogtestReportsStdoutWriteFailure) {
  if (::access("/dev/full", W_OK) != 0) GTEST_SKIP() << "/dev/full is not writable here";
  std::string input =
      Write("line.log", "Dec  1 10:00:00 web1 sshd[1]: Invalid user admin from 192.0.2.1\n");
  for (const std::vector<std::string>& args : {std::vector<std::string>{"logtest", "-q"},
                                               {"logtest", "-q", "-a"},
                                               {"logtest", "-U", "5710:5:sshd"}}) {
    SCOPED_TRACE(args.back());
    auto [exit_code, err] = RunIntoFullDevice(args, input, dir_ + "/err.txt");
    EXPECT_EQ(exit_code, 74) << err;
    EXPECT_NE(err.find("vigil logtest: stdout: write failed: No space left on device"),
              std::string::npos)
        << err;
  }
}

}  // namespace
}  // namespace vigil::testing
