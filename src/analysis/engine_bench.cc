// In-process speed of the analysis pipeline (pre-decoding, decoders, rules) with OSSEC 3.7.0's
// stock decoders and rules, on generated sshd and mixed logs. The stock ruleset is read from
// ../shared/compat; the benchmarks are skipped when it is absent.
#include <benchmark/benchmark.h>
#include <hs/hs.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "analysis/analyzer.h"
#include "analysis/literal_scanner.h"
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

// The prefilter's literal scan alone, with the stock rules' literals, on the logs of the
// generated lines (pre-decoded, so without their syslog headers). It compares the
// LiteralScanner the engine uses with Hyperscan, the reference multi-literal matcher, both
// ignoring case.
template <typename Generator>
std::vector<std::string> StockLiteralsAndLogs(benchmark::State& state,
                                              std::vector<std::string>* logs) {
  vigil::ManualClock clock;
  std::unique_ptr<vigil::analysis::Analyzer> analyzer = CreateStockAnalyzer(state, &clock);
  if (analyzer == nullptr) return {};
  for (const std::string& line : GenerateLines<Generator>()) {
    vigil::analysis::Event event;
    analyzer->Decode("/var/log/auth.log", line, &event);
    logs->emplace_back(event.log());
  }
  return analyzer->prefilter().literals();
}

// The scan with the filter loop that Scan() takes, or with `isa`'s when it is given.
template <typename Generator>
void RunLiteralScanner(benchmark::State& state,
                       std::optional<vigil::analysis::LiteralScanner::Isa> isa = std::nullopt) {
  std::vector<std::string> logs;
  std::vector<std::string> literals = StockLiteralsAndLogs<Generator>(state, &logs);
  if (literals.empty()) return;
  vigil::analysis::LiteralScanner scanner(literals);
  if (isa && !vigil::analysis::LiteralScanner::Supports(*isa)) {
    state.SkipWithError("this CPU does not run the requested filter loop");
    return;
  }
  std::vector<uint64_t> bits((literals.size() + 63) / 64);
  size_t i = 0;
  uint64_t hits = 0;
  for (auto _ : state) {
    std::fill(bits.begin(), bits.end(), 0);
    const std::string& log = logs[i++ % logs.size()];
    if (isa) {
      scanner.ScanWith(*isa, log, bits.data());
    } else {
      scanner.Scan(log, bits.data());
    }
    hits += bits[0] & 1;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["literals"] = static_cast<double>(literals.size());
  benchmark::DoNotOptimize(hits);
}

int CountHit(unsigned int id, unsigned long long, unsigned long long, unsigned int, void* context) {
  auto* bits = static_cast<uint64_t*>(context);
  bits[id >> 6] |= uint64_t{1} << (id & 63);
  return 0;
}

template <typename Generator>
void RunHyperscan(benchmark::State& state) {
  std::vector<std::string> logs;
  std::vector<std::string> literals = StockLiteralsAndLogs<Generator>(state, &logs);
  if (literals.empty()) return;
  std::vector<const char*> texts;
  std::vector<size_t> lengths;
  std::vector<unsigned> flags(literals.size(), HS_FLAG_CASELESS);
  std::vector<unsigned> ids;
  for (size_t i = 0; i < literals.size(); ++i) {
    texts.push_back(literals[i].data());
    lengths.push_back(literals[i].size());
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_database_t* database = nullptr;
  hs_compile_error_t* error = nullptr;
  hs_scratch_t* scratch = nullptr;
  if (hs_compile_lit_multi(texts.data(), flags.data(), ids.data(), lengths.data(),
                           static_cast<unsigned>(literals.size()), HS_MODE_BLOCK, nullptr,
                           &database, &error) != HS_SUCCESS) {
    std::string message = error != nullptr ? error->message : "unknown error";
    state.SkipWithError(("Hyperscan failed to compile the literals: " + message).c_str());
    hs_free_compile_error(error);
    return;
  }
  if (hs_alloc_scratch(database, &scratch) != HS_SUCCESS) {
    state.SkipWithError("Hyperscan failed to allocate scratch space for the literals");
    hs_free_database(database);
    return;
  }
  std::vector<uint64_t> bits((literals.size() + 63) / 64);
  size_t i = 0;
  uint64_t hits = 0;
  for (auto _ : state) {
    std::fill(bits.begin(), bits.end(), 0);
    const std::string& log = logs[i++ % logs.size()];
    hs_scan(database, log.data(), static_cast<unsigned>(log.size()), 0, scratch, CountHit,
            bits.data());
    hits += bits[0] & 1;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  benchmark::DoNotOptimize(hits);
  hs_free_scratch(scratch);
  hs_free_database(database);
}

void BM_LiteralScanSshd(benchmark::State& state) {
  RunLiteralScanner<vigil::bench::SshdLogGenerator>(state);
}
BENCHMARK(BM_LiteralScanSshd);

void BM_LiteralScanMixed(benchmark::State& state) {
  RunLiteralScanner<vigil::bench::MixedLogGenerator>(state);
}
BENCHMARK(BM_LiteralScanMixed);

void BM_LiteralScanScalarSshd(benchmark::State& state) {
  RunLiteralScanner<vigil::bench::SshdLogGenerator>(state,
                                                    vigil::analysis::LiteralScanner::Isa::kScalar);
}
BENCHMARK(BM_LiteralScanScalarSshd);

void BM_LiteralScanScalarMixed(benchmark::State& state) {
  RunLiteralScanner<vigil::bench::MixedLogGenerator>(state,
                                                     vigil::analysis::LiteralScanner::Isa::kScalar);
}
BENCHMARK(BM_LiteralScanScalarMixed);

void BM_HyperscanSshd(benchmark::State& state) {
  RunHyperscan<vigil::bench::SshdLogGenerator>(state);
}
BENCHMARK(BM_HyperscanSshd);

void BM_HyperscanMixed(benchmark::State& state) {
  RunHyperscan<vigil::bench::MixedLogGenerator>(state);
}
BENCHMARK(BM_HyperscanMixed);

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
