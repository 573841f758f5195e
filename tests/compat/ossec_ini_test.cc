// Runs OSSEC 3.7.0's own rule test suite (its tests/*.ini files) against Vigil's engine with
// OSSEC's stock decoders and rules, through the same -U contract `vigil logtest` implements.
// The suite is read in place and the test skips when it is absent.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/expectation.h"
#include "common/text.h"
#include "config/loader.h"

namespace vigil {
namespace {

const std::string kCompatDir = std::string(VIGIL_SOURCE_DIR) + "/../shared/compat/ossec-3.7.0";

struct IniCase {
  std::string file;
  std::string section;
  std::vector<std::pair<bool, std::string>> logs;  // (must pass, line)
  std::string rule, alert, decoder;
};

// Reads a Python ConfigParser file: `[section]`, `key = value` or `key: value` split at the
// first delimiter, `#`/`;` comment lines, indented continuation lines.
std::vector<IniCase> ReadIni(const std::string& path) {
  std::vector<IniCase> cases;
  std::ifstream in(path);
  std::string line;
  std::string* last_value = nullptr;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if ((line[0] == ' ' || line[0] == '\t') && last_value != nullptr) {
      *last_value += "\n" + std::string(Trim(line));
      continue;
    }
    if (line[0] == '[') {
      IniCase c;
      c.file = std::filesystem::path(path).filename();
      c.section = line.substr(1, line.find(']') - 1);
      cases.push_back(std::move(c));
      last_value = nullptr;
      continue;
    }
    if (cases.empty()) continue;
    size_t split = line.find_first_of("=:");
    if (split == std::string::npos) continue;
    std::string key = ToLower(Trim(line.substr(0, split)));
    std::string value(Trim(line.substr(split + 1)));
    IniCase& c = cases.back();
    if (key.starts_with("log ")) {
      bool pass = key.ends_with(" pass");
      c.logs.emplace_back(pass, value);
      last_value = &c.logs.back().second;
    } else if (key == "rule") {
      c.rule = value;
      last_value = &c.rule;
    } else if (key == "alert") {
      c.alert = value;
      last_value = &c.alert;
    } else if (key == "decoder") {
      c.decoder = value;
      last_value = &c.decoder;
    }
  }
  return cases;
}

TEST(OssecRuleSuite, EveryCasePasses) {
  if (!std::filesystem::exists(kCompatDir)) {
    GTEST_SKIP() << "OSSEC 3.7.0 compatibility files not found at " << kCompatDir;
  }
  Expected<config::Config> config = config::LoadConfig(kCompatDir + "/etc/ossec.conf");
  ASSERT_TRUE(config.ok()) << config.status().message();
  ManualClock clock;
  Expected<std::unique_ptr<analysis::Analyzer>> analyzer =
      analysis::Analyzer::Create(*config, &clock);
  ASSERT_TRUE(analyzer.ok()) << analyzer.status().message();

  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(kCompatDir + "/tests")) {
    if (entry.path().extension() == ".ini") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty());

  int total = 0, passed = 0;
  analysis::Event event;
  for (const std::string& file : files) {
    for (const IniCase& c : ReadIni(file)) {
      analysis::Expectation expected;
      ASSERT_TRUE(analysis::ParseExpectation(c.rule + ":" + c.alert + ":" + c.decoder, &expected))
          << c.file << " [" << c.section << "]";
      for (const auto& [must_pass, log] : c.logs) {
        SCOPED_TRACE(c.file + " [" + c.section + "] " + log);
        (*analyzer)->ResetState();
        analysis::RuleMatch match = (*analyzer)->Process("stdin", log, &event);
        int status = analysis::CheckExpectation(expected, event, match);
        bool ok = must_pass ? status == 0 : status != 0;
        ++total;
        if (ok) ++passed;
        EXPECT_TRUE(ok) << "expected " << (must_pass ? "" : "not ") << c.rule << ":" << c.alert
                        << ":" << c.decoder << ", got decoder '"
                        << (event.decoder ? event.decoder->ReportedName() : "(none)") << "' rule "
                        << (match.rule ? match.rule->id : 0) << " level "
                        << (match.rule ? match.rule->level : 0);
      }
    }
  }
  std::printf("OSSEC rule suite: %d of %d log lines as expected\n", passed, total);
  EXPECT_EQ(total, 236);
}

}  // namespace
}  // namespace vigil
