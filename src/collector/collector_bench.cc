// Throughput of the readers and of the whole file-follow path. Figures go to
// docs/benchmarks.md ("Collector"); they are never asserted.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include "collector/collector.h"
#include "collector/reader.h"
#include "common/clock.h"
#include "common/logging.h"

namespace vigil::collector {
namespace {

constexpr size_t kChunkBytes = 1 << 20;

// Input size. Sanitizer builds only smoke-run the benchmarks, so they get a smaller input.
#if defined(__SANITIZE_ADDRESS__)
#define VIGIL_BENCH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VIGIL_BENCH_SANITIZED 1
#endif
#endif
#ifdef VIGIL_BENCH_SANITIZED
constexpr size_t kInputBytes = 4u << 20;
#else
constexpr size_t kInputBytes = 64u << 20;
#endif

// kInputBytes (64 MiB) of sshd-style syslog lines, 90 to 140 bytes each.
const std::string& SyslogText() {
  static const std::string text = [] {
    std::string out;
    std::mt19937 random(1);
    uint64_t n = 0;
    while (out.size() < kInputBytes) {
      out += "Dec 10 06:55:46 LabSZ sshd[" + std::to_string(24200 + n % 1000) +
             "]: Failed password for invalid user webmaster from 173.234.31." +
             std::to_string(random() % 255) + " port " + std::to_string(30000 + random() % 9999) +
             " ssh2 attempt=" + std::to_string(n) + "\n";
      ++n;
    }
    return out;
  }();
  return text;
}

// kInputBytes (64 MiB) of auditd lines: events of four records, two events interleaved at a time.
const std::string& AuditText() {
  static const std::string text = [] {
    std::string out;
    uint64_t serial = 1000;
    auto line = [&](const char* type, uint64_t id, const std::string& body) {
      out += "type=";
      out += type;
      out += " msg=audit(1451781471.394:" + std::to_string(id) + "): " + body + "\n";
    };
    const std::string syscall =
        "arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 a3=8 items=2 "
        "ppid=1306 pid=1321 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 "
        "fsgid=0 tty=pts0 ses=1 comm=\"bash\" exe=\"/usr/bin/bash\" key=(null)";
    while (out.size() < kInputBytes) {
      uint64_t a = serial++, b = serial++;
      line("SYSCALL", a, syscall);
      line("SYSCALL", b, syscall);
      line("EXECVE", a, "argc=2 a0=\"ls\" a1=\"-l\"");
      line("CWD", a, "cwd=\"/root\"");
      line("EXECVE", b, "argc=1 a0=\"id\"");
      line("PATH", a, "item=0 name=\"/usr/bin/ls\" inode=1 dev=fd:00 mode=0100755");
      line("CWD", b, "cwd=\"/tmp\"");
      line("PATH", b, "item=0 name=\"/usr/bin/id\" inode=2 dev=fd:00 mode=0100755");
    }
    return out;
  }();
  return text;
}

void RunReader(benchmark::State& state, const std::string& format,
               const std::map<std::string, std::string>& options, const std::string& text,
               bool advance_clock) {
  ManualClock clock;
  ReaderOptions reader_options;
  reader_options.location = "/var/log/bench.log";
  reader_options.clock = &clock;
  uint64_t records = 0;
  uint64_t lines = 0;
  RecordCallback count = [&](Record&& record) { ++records; };
  for (auto _ : state) {
    auto reader = MakeReader(format, options, reader_options);
    if (!reader.ok()) {
      state.SkipWithError(reader.status().message().c_str());
      return;
    }
    for (size_t at = 0; at < text.size(); at += kChunkBytes) {
      (*reader)->Feed(std::string_view(text).substr(at, kChunkBytes), count);
      if (advance_clock) {
        clock.Advance(std::chrono::milliseconds(1000));
        (*reader)->Expire(clock.SteadyNow(), count);
      }
    }
    (*reader)->Flush(count);
    lines += (*reader)->counters().lines;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
  state.counters["lines/s"] =
      benchmark::Counter(static_cast<double>(lines), benchmark::Counter::kIsRate);
  state.counters["records"] =
      static_cast<double>(records / std::max<uint64_t>(1, state.iterations()));
}

void BM_OneLineSyslogReader(benchmark::State& state) {
  RunReader(state, "syslog", {}, SyslogText(), false);
}
BENCHMARK(BM_OneLineSyslogReader)->Unit(benchmark::kMillisecond);

void BM_AuditdGroupingReader(benchmark::State& state) {
  RunReader(state, "linux_auditd", {{"timeout", "500ms"}}, AuditText(), true);
}
BENCHMARK(BM_AuditdGroupingReader)->Unit(benchmark::kMillisecond);

// The whole path of the daemon for one file: open, read(2) from the page cache, frame, hand
// each record to a sink.
void BM_FileFollowSyslog(benchmark::State& state) {
  GetLogger("collector")->set_level(spdlog::level::warn);
  std::string dir = "/tmp/vigil-collector-bench-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::string path = dir + "/syslog.log";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << SyslogText();
  }
  uint64_t records = 0;
  for (auto _ : state) {
    CollectorOptions options;
    config::LocalFileConfig localfile;
    localfile.location = path;
    options.localfiles.push_back(localfile);
    auto collector = Collector::Create(options, [&](Record&& record) { ++records; });
    if (!collector.ok()) {
      state.SkipWithError(collector.status().message().c_str());
      break;
    }
    while ((*collector)->PollOnce(true)) {
    }
    (*collector)->Close();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * SyslogText().size()));
  state.counters["lines/s"] =
      benchmark::Counter(static_cast<double>(records), benchmark::Counter::kIsRate);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_FileFollowSyslog)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace vigil::collector

BENCHMARK_MAIN();
