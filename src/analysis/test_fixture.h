// Test helper: writes decoder and rule files to a temporary folder and loads an Analyzer.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "analysis/analyzer.h"
#include "common/clock.h"

namespace vigil::analysis {

class AnalyzerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/vigil-analysis-test-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& content) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }

  // Loads the given decoder and rule XML texts; returns the error message on failure.
  std::string Load(const std::string& decoders, const std::string& rules) {
    config::Config config;
    config.rules.decoder_files = {Write("decoders.xml", decoders)};
    config.rules.rule_files = {Write("rules.xml", rules)};
    for (const std::string& list : lists_) config.rules.lists.push_back({list, {}});
    config.global.geoip_db = geoip_db_;
    config.global.memory_size = memory_size_;
    Expected<std::unique_ptr<Analyzer>> created = Analyzer::Create(config, &clock_);
    if (!created.ok()) return created.status().message();
    analyzer_ = std::move(*created);
    return "";
  }

  RuleMatch Feed(const std::string& line) { return analyzer_->Process("test.log", line, &event_); }

  std::string dir_;
  std::vector<std::string> lists_;  // text lists declared in <rules><list>, as full paths
  std::string geoip_db_;            // <global><geoipdb>, empty for none
  int memory_size_ = 8192;          // <global><memory_size>
  ManualClock clock_;
  std::unique_ptr<Analyzer> analyzer_;
  Event event_;
};

// Root rules as OSSEC's rules_config.xml defines them, written for these tests.
inline const char* kTemplateRules = R"(
<group name="base,">
  <rule id="1" level="0" noalert="1"><category>syslog</category><description>syslog</description></rule>
  <rule id="2" level="0" noalert="1"><category>firewall</category><description>fw</description></rule>
</group>
)";

}  // namespace vigil::analysis
