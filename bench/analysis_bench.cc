// In-process speed of the analysis pipeline (pre-decoding, decoders, rules) on generated sshd
// lines with the bundled rules. Whole-process figures come from bench/run-analyze.
#include <benchmark/benchmark.h>

#include <vector>

#include "analysis/analyzer.h"
#include "config/loader.h"
#include "sshd_log.h"

namespace {

void BM_AnalyzeSshdBundledRules(benchmark::State& state) {
  vigil::Expected<vigil::config::Config> config = vigil::config::LoadBundledConfig();
  if (!config.ok()) {
    state.SkipWithError(config.status().message().c_str());
    return;
  }
  vigil::ManualClock clock;
  auto analyzer = vigil::analysis::Analyzer::Create(*config, &clock);
  if (!analyzer.ok()) {
    state.SkipWithError(analyzer.status().message().c_str());
    return;
  }
  vigil::bench::SshdLogGenerator generator;
  std::vector<std::string> lines;
  for (int i = 0; i < 20000; ++i) lines.push_back(generator.Next());
  vigil::analysis::Event event;
  size_t i = 0;
  uint64_t alerts = 0;
  for (auto _ : state) {
    if (i % 100 == 0) clock.Advance(std::chrono::seconds(1));
    auto match = (*analyzer)->Process("/var/log/auth.log", lines[i % lines.size()], &event);
    alerts += match.alert ? 1 : 0;
    ++i;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["alerts"] = static_cast<double>(alerts);
}
BENCHMARK(BM_AnalyzeSshdBundledRules);

}  // namespace

BENCHMARK_MAIN();
