// ParallelAnalyzer must write the same alerts.log and alerts.json as one thread: the lines of
// the golden files and generated sshd and mixed logs, with the bundled rules and with OSSEC
// 3.7.0's stock rules when they are present.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "alerting/writer.h"
#include "analysis/parallel_analyzer.h"
#include "common/logging.h"
#include "config/loader.h"
#include "mixed_log.h"
#include "sshd_log.h"

namespace vigil {
namespace {

const std::string kStockConfig =
    std::string(VIGIL_SOURCE_DIR) + "/../shared/compat/ossec-3.7.0/etc/ossec.conf";

// A clock that moves one millisecond each time it is read. Only the correlating thread reads
// it, once per event, so event times depend on the event's position in the input and never
// on thread timing.
class TickingClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override {
    int64_t tick = ticks_.fetch_add(1);
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(kStartMs + tick));
  }
  std::chrono::steady_clock::time_point SteadyNow() const override {
    return std::chrono::steady_clock::time_point(std::chrono::milliseconds(ticks_.load()));
  }

 private:
  static constexpr int64_t kStartMs = 1'700'000'000'000;
  mutable std::atomic<int64_t> ticks_{0};
};

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::vector<std::string> GoldenLines() {
  std::vector<std::string> lines;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(VIGIL_SOURCE_DIR) + "/tests/golden")) {
    if (entry.path().extension() != ".golden") continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (line.starts_with("log: ")) lines.push_back(line.substr(5));
    }
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

template <typename Generator>
std::vector<std::string> GeneratedLines(size_t count) {
  Generator generator;
  std::vector<std::string> lines;
  for (size_t i = 0; i < count; ++i) lines.push_back(generator.Next());
  return lines;
}

// Returns the lines of `parts`, one part after another.
std::vector<std::string> Concatenate(std::initializer_list<std::vector<std::string>> parts) {
  std::vector<std::string> lines;
  for (const std::vector<std::string>& part : parts) {
    lines.insert(lines.end(), part.begin(), part.end());
  }
  return lines;
}

// Returns the offset of the first byte where `a` and `b` differ.
size_t FirstDifference(const std::string& a, const std::string& b) {
  return static_cast<size_t>(std::mismatch(a.begin(), a.end(), b.begin(), b.end()).first -
                             a.begin());
}

struct Output {
  std::string alerts_log;
  std::string alerts_json;
  uint64_t alerts = 0;
};

// Expects `actual` to have the alert count and the alert files of `expected`.
void ExpectEqualOutputs(const Output& expected, const Output& actual) {
  EXPECT_EQ(actual.alerts, expected.alerts);
  EXPECT_TRUE(actual.alerts_log == expected.alerts_log)
      << "alerts.log differs at byte " << FirstDifference(expected.alerts_log, actual.alerts_log);
  EXPECT_TRUE(actual.alerts_json == expected.alerts_json)
      << "alerts.json differs at byte "
      << FirstDifference(expected.alerts_json, actual.alerts_json);
}

// Analyses `lines` with `threads` decoding threads and returns what the alert files contain.
Output Analyze(const config::Config& config, const std::vector<std::string>& lines, int threads,
               const std::filesystem::path& dir, analysis::EngineOptions engine_options = {}) {
  TickingClock clock;
  Expected<std::unique_ptr<analysis::Analyzer>> analyzer =
      analysis::Analyzer::Create(config, &clock, std::move(engine_options));
  EXPECT_TRUE(analyzer.ok()) << analyzer.status().message();
  if (!analyzer.ok()) return {};
  alerting::AlertFileWriter::Options options;
  options.output_dir = dir.string();
  Expected<std::unique_ptr<alerting::AlertFileWriter>> writer =
      alerting::AlertFileWriter::Open(options);
  EXPECT_TRUE(writer.ok()) << writer.status().message();
  if (!writer.ok()) return {};
  Output output;
  {
    // A small batch size, so that the ring of batches wraps many times.
    analysis::ParallelAnalyzer parallel(
        analyzer->get(), threads,
        [&](const analysis::RuleMatch& match, const analysis::Event& event) {
          if (!match.alert) return;
          ++output.alerts;
          Status written = (*writer)->WriteAlert(match, event);
          EXPECT_TRUE(written.ok()) << written.message();
        },
        7);
    // Two locations, so that state kept per location is exercised too.
    for (size_t i = 0; i < lines.size(); ++i) {
      parallel.Add(i % 3 == 0 ? "/var/log/secure" : "/var/log/auth.log", lines[i]);
    }
    parallel.Finish();
  }
  EXPECT_TRUE((*writer)->Flush().ok());
  output.alerts_log = ReadFile(dir / "alerts.log");
  output.alerts_json = ReadFile(dir / "alerts.json");
  return output;
}

class ParallelIdentityTest : public testing::Test {
 protected:
  void SetUp() override {
    ConfigureLogging({.level = "off", .file = ""});
    dir_ = std::filesystem::temp_directory_path() /
           ("vigil-parallel-" + std::to_string(::getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Compares one thread with 2 and 4 threads on `lines`.
  void ExpectSameOutput(const config::Config& config, const std::vector<std::string>& lines) {
    Output single = Analyze(config, lines, 1, dir_ / "1");
    ASSERT_GT(single.alerts, 0u) << "the input should raise alerts";
    for (int threads : {2, 4}) {
      SCOPED_TRACE(testing::Message() << threads << " threads against one");
      Output parallel = Analyze(config, lines, threads, dir_ / std::to_string(threads));
      ExpectEqualOutputs(single, parallel);
    }
  }

  // Compares the engine with its shortcuts (the literal prefilter of decoders and rules, the
  // per-address and per-user correlation indexes) and without them, on `lines`. The alert
  // files name the decoder and every decoded field, so decoding is compared too.
  void ExpectShortcutsKeepOutput(const config::Config& config,
                                 const std::vector<std::string>& lines) {
    analysis::EngineOptions plain;
    plain.prefilter = false;
    plain.index_by_source = false;
    Output without = Analyze(config, lines, 1, dir_ / "plain", plain);
    Output with = Analyze(config, lines, 1, dir_ / "shortcuts");
    ASSERT_GT(without.alerts, 0u) << "the input should raise alerts";
    ExpectEqualOutputs(without, with);
  }

  std::filesystem::path dir_;
};

TEST_F(ParallelIdentityTest, ShortcutsKeepBundledOutput) {
  Expected<config::Config> config = config::LoadBundledConfig();
  ASSERT_TRUE(config.ok()) << config.status().message();
  std::vector<std::string> lines =
      Concatenate({GoldenLines(), GeneratedLines<bench::SshdLogGenerator>(20000),
                   GeneratedLines<bench::MixedLogGenerator>(5000)});
  // A line with non-ASCII text, which the prefilter leaves to the patterns.
  lines.push_back(
      "Dec  1 10:00:00 web1 sshd[12]: Failed password for \xc3\xa9t\xc3\xa9 from "
      "10.9.0.1 port 22 ssh2");
  lines.push_back("Dec  1 10:00:00 web1 sshd[12]: Failed password for \u00e9 from 10.9.0.1 port 2");
  ExpectShortcutsKeepOutput(*config, lines);
}

TEST_F(ParallelIdentityTest, ShortcutsKeepStockOutput) {
  if (!std::filesystem::exists(kStockConfig)) {
    GTEST_SKIP() << "OSSEC stock ruleset not found at " << kStockConfig;
  }
  Expected<config::Config> config = config::LoadConfig(kStockConfig);
  ASSERT_TRUE(config.ok()) << config.status().message();
  std::vector<std::string> lines =
      Concatenate({GoldenLines(), GeneratedLines<bench::SshdLogGenerator>(10000),
                   GeneratedLines<bench::MixedLogGenerator>(10000)});
  ExpectShortcutsKeepOutput(*config, lines);
}

TEST_F(ParallelIdentityTest, BundledRulesOnGoldenLines) {
  Expected<config::Config> config = config::LoadBundledConfig();
  ASSERT_TRUE(config.ok()) << config.status().message();
  std::vector<std::string> lines = GoldenLines();
  ASSERT_GT(lines.size(), 100u);
  ExpectSameOutput(*config, lines);
}

TEST_F(ParallelIdentityTest, BundledRulesOnGeneratedLogs) {
  Expected<config::Config> config = config::LoadBundledConfig();
  ASSERT_TRUE(config.ok()) << config.status().message();
  std::vector<std::string> lines = Concatenate({GeneratedLines<bench::SshdLogGenerator>(5000),
                                                GeneratedLines<bench::MixedLogGenerator>(5000)});
  ExpectSameOutput(*config, lines);
}

TEST_F(ParallelIdentityTest, StockRulesOnGeneratedLogs) {
  if (!std::filesystem::exists(kStockConfig)) {
    GTEST_SKIP() << "OSSEC stock ruleset not found at " << kStockConfig;
  }
  Expected<config::Config> config = config::LoadConfig(kStockConfig);
  ASSERT_TRUE(config.ok()) << config.status().message();
  std::vector<std::string> lines =
      Concatenate({GeneratedLines<bench::MixedLogGenerator>(5000),
                   GeneratedLines<bench::SshdLogGenerator>(5000), GoldenLines()});
  ExpectSameOutput(*config, lines);
}

}  // namespace
}  // namespace vigil
