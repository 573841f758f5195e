// Search speed of the three pattern languages on sshd-like log lines.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "analysis/pattern/pattern.h"

namespace vigil::analysis {
namespace {

// A mix of sshd messages as they reach the decoders, after the syslog header.
const std::vector<std::string>& SshdLines() {
  static const std::vector<std::string> lines = {
      "Accepted publickey for deploy from 192.0.2.10 port 51022 ssh2: RSA SHA256:q1w2e3r4t5",
      "Failed password for invalid user admin from 198.51.100.7 port 40404 ssh2",
      "Failed password for root from 203.0.113.9 port 2222 ssh2",
      "Connection closed by authenticating user root 203.0.113.9 port 2222 [preauth]",
      "pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)",
      "Received disconnect from 192.0.2.44 port 60111:11: disconnected by user",
      "Invalid user oracle from 198.51.100.23 port 53312",
      "Disconnected from user deploy 192.0.2.10 port 51022",
  };
  return lines;
}

Pattern CompileOrDie(PatternSyntax syntax, const char* text) {
  auto pattern = Pattern::Compile(syntax, text);
  if (!pattern.ok()) std::abort();
  return std::move(pattern).value();
}

// Searches every line once per iteration and reports lines per second.
void SearchLines(benchmark::State& state, const Pattern& pattern, bool with_result) {
  const auto& lines = SshdLines();
  MatchResult match;
  size_t bytes = 0;
  for (const std::string& line : lines) bytes += line.size();
  int64_t matched = 0;
  for (auto _ : state) {
    for (const std::string& line : lines) {
      bool found = with_result ? pattern.Search(line, &match) : pattern.Search(line);
      matched += found ? 1 : 0;
      benchmark::DoNotOptimize(found);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  state.counters["matched_per_pass"] =
      static_cast<double>(matched) / static_cast<double>(std::max<int64_t>(state.iterations(), 1));
}

void BM_OsMatchSubstring(benchmark::State& state) {
  static const Pattern pattern = CompileOrDie(PatternSyntax::kOsMatch, "authenticating user");
  SearchLines(state, pattern, false);
}
BENCHMARK(BM_OsMatchSubstring);

void BM_OsMatchAlternatives(benchmark::State& state) {
  static const Pattern pattern = CompileOrDie(
      PatternSyntax::kOsMatch, "illegal user|invalid user|^Failed password|[preauth]$");
  SearchLines(state, pattern, false);
}
BENCHMARK(BM_OsMatchAlternatives);

// Twenty alternatives, none of which occurs in the lines: the whole subject is scanned.
void BM_OsMatchManyAlternatives(benchmark::State& state) {
  static const Pattern pattern =
      CompileOrDie(PatternSyntax::kOsMatch,
                   "segfault|segmentation fault|general protection|kernel panic|Oops:|BUG: unable|"
                   "out of memory|oom-killer|call trace|I/O error|EXT4-fs error|XFS|nfs: server|"
                   "not responding|link is down|promiscuous mode|device eth|martian source|"
                   "possible SYN flooding|nf_conntrack: table full");
  SearchLines(state, pattern, false);
}
BENCHMARK(BM_OsMatchManyAlternatives);

void BM_OsRegexPrematch(benchmark::State& state) {
  static const Pattern pattern =
      CompileOrDie(PatternSyntax::kOsRegex, "^Failed \\S+ |^Accepted \\S+ ");
  SearchLines(state, pattern, false);
}
BENCHMARK(BM_OsRegexPrematch);

void BM_OsRegexAnchoredLiteral(benchmark::State& state) {
  static const Pattern pattern = CompileOrDie(PatternSyntax::kOsRegex, "^Failed password for ");
  SearchLines(state, pattern, false);
}
BENCHMARK(BM_OsRegexAnchoredLiteral);

void BM_OsRegexCaptures(benchmark::State& state) {
  static const Pattern pattern =
      CompileOrDie(PatternSyntax::kOsRegex, "for (\\S+) from (\\S+) port (\\d+)");
  SearchLines(state, pattern, true);
}
BENCHMARK(BM_OsRegexCaptures);

void BM_OsRegexUnanchoredMiss(benchmark::State& state) {
  static const Pattern pattern = CompileOrDie(PatternSyntax::kOsRegex, "user (\\w+) by \\S+ x");
  SearchLines(state, pattern, true);
}
BENCHMARK(BM_OsRegexUnanchoredMiss);

void BM_Pcre2Captures(benchmark::State& state) {
  static const Pattern pattern =
      CompileOrDie(PatternSyntax::kPcre2, "for (?:invalid user )?(\\S+) from (\\S+) port (\\d+)");
  SearchLines(state, pattern, true);
}
BENCHMARK(BM_Pcre2Captures);

void BM_CompileOsRegex(benchmark::State& state) {
  for (auto _ : state) {
    auto pattern = Pattern::Compile(PatternSyntax::kOsRegex,
                                    "^Failed \\S+ for invalid user (\\S+) from (\\S+) port (\\d+)");
    benchmark::DoNotOptimize(pattern.ok());
  }
}
BENCHMARK(BM_CompileOsRegex);

}  // namespace
}  // namespace vigil::analysis

BENCHMARK_MAIN();
