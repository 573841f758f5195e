// Golden tests for the bundled ruleset: every tests/golden/*.golden file is a list of cases,
// each a sequence of log lines with the alert expected after them.
//
//   case: NAME                  starts a case with fresh correlation state
//   format: NAME [KEY=VALUE]..  frames the case's lines with that reader (default: one line)
//   log: LINE                   feeds one line; the clock moves 1 s first
//   advance: SECONDS            moves the clock
//   expect: none                the latest record wrote no alert
//   expect: KEY=VALUE ...       the latest record alerted with these values: rule, level,
//                               decoder, groups~=SUBSTRING, or any decoded field name
//
// An expect line checks the most recent record; with a format, pending lines are flushed
// first, as the reader's idle timeout would.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include "analysis/analyzer.h"
#include "collector/reader.h"
#include "common/text.h"
#include "config/loader.h"

namespace vigil {
namespace {

const std::string kGoldenDir = std::string(VIGIL_SOURCE_DIR) + "/tests/golden";

std::vector<std::string> GoldenFiles() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(kGoldenDir)) {
    if (entry.path().extension() == ".golden") files.push_back(entry.path().filename());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Returns true when `token` starts a new `key=value` pair: a key of letters, digits, `_` or a
// trailing `~`, then `=`.
bool StartsPair(std::string_view token) {
  size_t equals = token.find('=');
  if (equals == 0 || equals == std::string_view::npos) return false;
  for (size_t i = 0; i < equals; ++i) {
    char c = token[i];
    bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '_' || (c == '~' && i + 1 == equals);
    if (!ok) return false;
  }
  return true;
}

// Splits `key=value key="quoted value" key=value with spaces` into pairs. A word that does not
// start a new pair continues the previous value, so values may contain spaces.
std::vector<std::pair<std::string, std::string>> ParseExpectations(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> pairs;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i >= text.size()) break;
    size_t end = text.find(' ', i);
    if (end == std::string_view::npos) end = text.size();
    std::string_view token = text.substr(i, end - i);
    if (!StartsPair(token)) {
      if (pairs.empty()) {
        pairs.emplace_back(std::string(token), "");
      } else {
        pairs.back().second += " " + std::string(token);
      }
      i = end;
      continue;
    }
    size_t equals = token.find('=');
    std::string key(token.substr(0, equals));
    size_t start = i + equals + 1;
    if (start < text.size() && text[start] == '"') {
      size_t close = text.find('"', start + 1);
      if (close == std::string_view::npos) close = text.size();
      pairs.emplace_back(key, std::string(text.substr(start + 1, close - start - 1)));
      i = close + 1;
    } else {
      pairs.emplace_back(key, std::string(text.substr(start, end - start)));
      i = end;
    }
  }
  return pairs;
}

struct Outcome {
  analysis::Event event;
  analysis::RuleMatch match;
  bool present = false;
};

// Returns the value of a decoded field or pre-decoded attribute, or nullopt when unset.
std::optional<std::string> EventValue(const analysis::Event& event, const std::string& key) {
  if (key == "program_name") {
    return event.has_program_name ? std::optional<std::string>(event.program_name) : std::nullopt;
  }
  if (key == "hostname") return event.hostname;
  analysis::Field field;
  if (analysis::ParseFieldName(key, &field)) {
    if (!event.Has(field)) return std::nullopt;
    return std::string(event.Get(field));
  }
  const std::string* dynamic = event.GetDynamic(key);
  if (dynamic == nullptr) return std::nullopt;
  return *dynamic;
}

void CheckExpectation(const Outcome& outcome, const std::string& spec) {
  ASSERT_TRUE(outcome.present) << "no record was produced before this expect line";
  const analysis::RuleMatch& match = outcome.match;
  const analysis::Event& event = outcome.event;
  std::string got = "got rule " + std::to_string(match.rule ? match.rule->id : 0) + " level " +
                    std::to_string(match.rule ? match.rule->level : 0) + " alert " +
                    (match.alert ? "yes" : "no") + " decoder '" +
                    (event.decoder ? event.decoder->ReportedName() : "(none)") + "'";
  if (Trim(spec) == "none") {
    // No alert is written: no rule alerted, or the rule's <options>no_log</options> keeps it
    // out of alerts.log while correlation still counts it.
    EXPECT_FALSE(match.alert && match.rule->log_alert) << got;
    return;
  }
  EXPECT_TRUE(match.alert) << got;
  for (const auto& [key, value] : ParseExpectations(spec)) {
    if (key == "rule") {
      EXPECT_EQ(std::to_string(match.rule ? match.rule->id : 0), value) << got;
    } else if (key == "level") {
      EXPECT_EQ(std::to_string(match.rule ? match.rule->level : 0), value) << got;
    } else if (key == "decoder") {
      EXPECT_EQ(event.decoder ? event.decoder->ReportedName() : "", value) << got;
    } else if (key == "groups~") {
      EXPECT_NE((match.rule ? match.rule->groups : "").find(value), std::string::npos)
          << "groups '" << (match.rule ? match.rule->groups : "") << "' lack '" << value << "'";
    } else {
      std::optional<std::string> actual = EventValue(event, key);
      EXPECT_TRUE(actual.has_value()) << "field " << key << " is not set; " << got;
      if (actual) {
        EXPECT_EQ(*actual, value) << "field " << key;
      }
    }
  }
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, CasesProduceExpectedAlerts) {
  Expected<config::Config> config = config::LoadBundledConfig();
  ASSERT_TRUE(config.ok()) << config.status().message();
  ManualClock clock;
  Expected<std::unique_ptr<analysis::Analyzer>> created =
      analysis::Analyzer::Create(*config, &clock);
  ASSERT_TRUE(created.ok()) << created.status().message();
  analysis::Analyzer& analyzer = **created;

  std::ifstream in(kGoldenDir + "/" + GetParam());
  ASSERT_TRUE(in) << "cannot read " << GetParam();
  std::string line;
  int line_number = 0;
  int cases = 0;
  std::string case_name;
  std::unique_ptr<collector::RecordReader> reader;
  Outcome outcome;
  auto on_record = [&](collector::Record&& record) {
    outcome.match = analyzer.Process("golden", record.text, &outcome.event);
    outcome.present = true;
  };
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty() || line[0] == '#') continue;
    size_t colon = line.find(':');
    ASSERT_NE(colon, std::string::npos) << GetParam() << ":" << line_number << ": no directive";
    std::string directive = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.erase(0, 1);
    SCOPED_TRACE(GetParam() + ":" + std::to_string(line_number) + " [" + case_name + "]");
    if (directive == "case") {
      case_name = value;
      ++cases;
      analyzer.ResetState();
      reader.reset();
      outcome = Outcome();
    } else if (directive == "format") {
      std::vector<std::string> parts = SplitList(value, " ");
      ASSERT_FALSE(parts.empty());
      std::map<std::string, std::string> options;
      for (size_t i = 1; i < parts.size(); ++i) {
        size_t equals = parts[i].find('=');
        ASSERT_NE(equals, std::string::npos) << "format option " << parts[i];
        options[parts[i].substr(0, equals)] = parts[i].substr(equals + 1);
      }
      collector::ReaderOptions reader_options;
      reader_options.location = "golden";
      Expected<std::unique_ptr<collector::RecordReader>> made =
          collector::MakeReader(parts[0], options, reader_options);
      ASSERT_TRUE(made.ok()) << made.status().message();
      reader = std::move(*made);
    } else if (directive == "log") {
      clock.Advance(std::chrono::seconds(1));
      if (reader) {
        reader->Feed(value + "\n", on_record);
      } else {
        on_record(collector::Record{value, "golden"});
      }
    } else if (directive == "advance") {
      uint64_t seconds = 0;
      ASSERT_TRUE(ParseUint(Trim(value), &seconds)) << "advance needs seconds";
      clock.Advance(std::chrono::seconds(seconds));
    } else if (directive == "expect") {
      if (reader) reader->Flush(on_record);
      CheckExpectation(outcome, value);
      outcome.present = false;
    } else {
      ADD_FAILURE() << "unknown directive '" << directive << "'";
    }
  }
  EXPECT_GT(cases, 0) << GetParam() << " has no case";
}

INSTANTIATE_TEST_SUITE_P(Bundled, GoldenTest, ::testing::ValuesIn(GoldenFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(0, info.param.find('.'));
                           std::replace_if(
                               name.begin(), name.end(),
                               [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
                               '_');
                           return name;
                         });

}  // namespace
}  // namespace vigil
