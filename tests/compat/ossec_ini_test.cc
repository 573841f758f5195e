// Runs OSSEC 3.7.0's own rule test suite (its tests/*.ini files) against Vigil's engine with
// OSSEC's stock decoders and rules, through the same -U contract `vigil logtest` implements.
// The suite is read in place and the test skips when it is absent.
#include <gtest/gtest.h>

#include <algorithm>
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
// first delimiter, `#`/`;` comment lines, indented continuation lines. Keys are lowercased. A
// section name that appears again continues the earlier section, and a key repeated in one
// section replaces the earlier value but keeps its place, as ConfigParser's ordered
// dictionaries do. OSSEC 3.7.0's suite repeats a `log N` key three times this way, so its 239
// log lines are 236 cases.
std::vector<IniCase> ReadIni(const std::string& path) {
  struct Section {
    std::string name;
    std::vector<std::pair<std::string, std::string>> items;  // in first-seen order
  };
  std::vector<Section> sections;
  std::ifstream in(path);
  std::string line;
  std::string* last_value = nullptr;
  size_t current = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (Trim(line).empty() || line[0] == '#' || line[0] == ';') continue;
    if ((line[0] == ' ' || line[0] == '\t') && last_value != nullptr) {
      *last_value += "\n" + std::string(Trim(line));
      continue;
    }
    if (line[0] == '[') {
      std::string name = line.substr(1, line.find(']') - 1);
      auto same = std::find_if(sections.begin(), sections.end(),
                               [&](const Section& s) { return s.name == name; });
      if (same == sections.end()) {
        sections.push_back({name, {}});
        current = sections.size() - 1;
      } else {
        current = static_cast<size_t>(same - sections.begin());
      }
      last_value = nullptr;
      continue;
    }
    if (sections.empty()) continue;
    size_t split = line.find_first_of("=:");
    if (split == std::string::npos) continue;
    std::string key = ToLower(Trim(line.substr(0, split)));
    std::string value(Trim(line.substr(split + 1)));
    auto& items = sections[current].items;
    auto it = std::find_if(items.begin(), items.end(),
                           [&](const auto& item) { return item.first == key; });
    if (it == items.end()) {
      items.emplace_back(key, value);
      last_value = &items.back().second;
    } else {
      it->second = value;
      last_value = &it->second;
    }
  }

  std::vector<IniCase> cases;
  for (const Section& section : sections) {
    IniCase c;
    c.file = std::filesystem::path(path).filename();
    c.section = section.name;
    for (const auto& [key, value] : section.items) {
      if (key.starts_with("log ")) {
        c.logs.emplace_back(key.ends_with(" pass"), value);
      } else if (key == "rule") {
        c.rule = value;
      } else if (key == "alert") {
        c.alert = value;
      } else if (key == "decoder") {
        c.decoder = value;
      }
    }
    cases.push_back(std::move(c));
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

// Collects sample log lines: every line of the .ini suite and the examples that OSSEC's
// decoder.xml lists in its comments ("  - <log line>").
std::vector<std::string> SampleLines() {
  std::vector<std::string> lines;
  for (const auto& entry : std::filesystem::directory_iterator(kCompatDir + "/tests")) {
    if (entry.path().extension() != ".ini") continue;
    for (const IniCase& c : ReadIni(entry.path())) {
      for (const auto& [must_pass, log] : c.logs) lines.push_back(log);
    }
  }
  std::ifstream decoders(kCompatDir + "/etc/decoder.xml");
  std::string line;
  while (std::getline(decoders, line)) {
    std::string_view text = Trim(line);
    if (text.starts_with("- ") && text.size() > 20) lines.emplace_back(Trim(text.substr(2)));
  }
  return lines;
}

// The literal prefilter only skips patterns that cannot match, and the per-address index
// only skips events of other addresses, so the decisions with and without them must be the
// same, line by line, correlation included.
TEST(OssecRuleSuite, ShortcutsKeepDecisions) {
  if (!std::filesystem::exists(kCompatDir)) {
    GTEST_SKIP() << "OSSEC 3.7.0 compatibility files not found at " << kCompatDir;
  }
  Expected<config::Config> config = config::LoadConfig(kCompatDir + "/etc/ossec.conf");
  ASSERT_TRUE(config.ok()) << config.status().message();
  ManualClock clock;
  analysis::EngineOptions without;
  without.prefilter = false;
  without.index_by_source = false;
  auto plain = analysis::Analyzer::Create(*config, &clock, without);
  auto filtered = analysis::Analyzer::Create(*config, &clock);
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  ASSERT_TRUE(filtered.ok()) << filtered.status().message();

  std::vector<std::string> lines = SampleLines();
  ASSERT_GT(lines.size(), 500u);
  // Bursts of sshd failures from a few addresses, for the frequency rules.
  const char* kBodies[] = {"Failed password for root from 10.9.0.%d port 4%d ssh2",
                           "Failed password for invalid user x%d from 10.9.0.%d port 22 ssh2",
                           "Invalid user y%d from 10.9.0.%d",
                           "Accepted password for z from 10.9.0.%d port %d ssh2"};
  for (int i = 0; i < 600; ++i) {
    char body[160];
    std::snprintf(body, sizeof body, kBodies[i % 7 % 4], i % 5, i % 3 + i % 5);
    lines.push_back(std::string("Dec  1 10:00:00 web1 sshd[12]: ") + body);
  }
  analysis::Event plain_event, filtered_event;
  int correlated = 0;
  // Two passes, so that correlation rules see repeats.
  for (int pass = 0; pass < 2; ++pass) {
    for (const std::string& line : lines) {
      SCOPED_TRACE(line);
      clock.Advance(std::chrono::seconds(1));
      analysis::RuleMatch a = (*plain)->Process("/var/log/messages", line, &plain_event);
      analysis::RuleMatch b = (*filtered)->Process("/var/log/messages", line, &filtered_event);
      ASSERT_EQ(a.rule != nullptr ? a.rule->id : 0, b.rule != nullptr ? b.rule->id : 0);
      ASSERT_EQ(a.alert, b.alert);
      ASSERT_EQ(a.previous.size(), b.previous.size());
      if (!a.previous.empty()) ++correlated;
    }
  }
  EXPECT_GT(correlated, 20) << "the sample should make frequency rules fire";
}

}  // namespace
}  // namespace vigil
