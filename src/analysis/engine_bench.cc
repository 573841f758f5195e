// In-process speed of the analysis pipeline (pre-decoding, decoders, rules) with OSSEC 3.7.0's
// stock decoders and rules, on generated sshd and mixed logs. The stock ruleset is read from
// ../shared/compat; the benchmarks are skipped when it is absent.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/parallel_analyzer.h"
#include "common/logging.h"
#include "config/loader.h"
#include "mixed_log.h"
#include "sshd_log.h"

namespace {

const std::string kStockConfig =
    std::string(VIGIL_SOURCE_DIR) + "/../shared/compat/ossec-3.7.0/etc/ossec.conf";

// Returns an Analyzer with the stock rules on `clock`, or null after marking `state` skipped.
std::unique_ptr<vigil::analysis::Analyzer> CreateStockAnalyzer(benchmark::State& state,
                                                               const vigil::Clock* clock) {
  vigil::ConfigureLogging({.level = "off", .file = ""});
  if (!std::filesystem::exists(kStockConfig)) {
    state.SkipWithError(("OSSEC stock ruleset not found at " + kStockConfig).c_str());
    return nullptr;
  }
  vigil::Expected<vigil::config::Config> config = vigil::config::LoadConfig(kStockConfig);
  if (!config.ok()) {
    state.SkipWithError(config.status().message().c_str());
    return nullptr;
  }
  auto analyzer = vigil::analysis::Analyzer::Create(*config, clock);
  if (!analyzer.ok()) {
    state.SkipWithError(analyzer.status().message().c_str());
    return nullptr;
  }
  return std::move(*analyzer);
}

// Returns the first 20,000 lines of a Generator.
template <typename Generator>
std::vector<std::string> GenerateLines() {
  Generator generator;
  std::vector<std::string> lines;
  for (int i = 0; i < 20000; ++i) lines.push_back(generator.Next());
  return lines;
}

template <typename Generator>
void RunStockRules(benchmark::State& state) {
  vigil::ManualClock clock;
  std::unique_ptr<vigil::analysis::Analyzer> analyzer = CreateStockAnalyzer(state, &clock);
  if (analyzer == nullptr) return;
  std::vector<std::string> lines = GenerateLines<Generator>();
  vigil::analysis::Event event;
  size_t i = 0;
  uint64_t alerts = 0;
  for (auto _ : state) {
    if (i % 1000 == 0) clock.Advance(std::chrono::seconds(1));
    auto match = analyzer->Process("/var/log/auth.log", lines[i % lines.size()], &event);
    alerts += match.alert ? 1 : 0;
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["alerts"] = static_cast<double>(alerts);
}

// The same work through ParallelAnalyzer with state.range(0) decoding threads, timed by the
// wall clock: each iteration analyses the 20,000 lines once.
template <typename Generator>
void RunStockRulesParallel(benchmark::State& state) {
  vigil::ManualClock clock;
  std::unique_ptr<vigil::analysis::Analyzer> analyzer = CreateStockAnalyzer(state, &clock);
  if (analyzer == nullptr) return;
  std::vector<std::string> lines = GenerateLines<Generator>();
  uint64_t events = 0;
  uint64_t alerts = 0;
  vigil::analysis::ParallelAnalyzer parallel(
      analyzer.get(), static_cast<int>(state.range(0)),
      [&](const vigil::analysis::RuleMatch& match, const vigil::analysis::Event&) {
        if (++events % 1000 == 0) clock.Advance(std::chrono::seconds(1));
        alerts += match.alert ? 1 : 0;
      });
  for (auto _ : state) {
    for (const std::string& line : lines) parallel.Add("/var/log/auth.log", line);
    parallel.Finish();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * lines.size()));
  state.counters["alerts"] = static_cast<double>(alerts);
}

void BM_StockRulesSshd(benchmark::State& state) {
  RunStockRules<vigil::bench::SshdLogGenerator>(state);
}
BENCHMARK(BM_StockRulesSshd);

void BM_StockRulesMixed(benchmark::State& state) {
  RunStockRules<vigil::bench::MixedLogGenerator>(state);
}
BENCHMARK(BM_StockRulesMixed);

void BM_StockRulesSshdThreads(benchmark::State& state) {
  RunStockRulesParallel<vigil::bench::SshdLogGenerator>(state);
}
BENCHMARK(BM_StockRulesSshdThreads)->Arg(1)->Arg(2)->Arg(4)->UseRealTime();

void BM_StockRulesMixedThreads(benchmark::State& state) {
  RunStockRulesParallel<vigil::bench::MixedLogGenerator>(state);
}
BENCHMARK(BM_StockRulesMixedThreads)->Arg(1)->Arg(2)->Arg(4)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
