// The analysis pipeline for one stream of records: pre-decoding, decoding and rules.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "analysis/decoder.h"
#include "analysis/event.h"
#include "analysis/geoip.h"
#include "analysis/predecoder.h"
#include "analysis/rule_engine.h"
#include "analysis/rule_set.h"
#include "common/clock.h"
#include "common/status.h"
#include "config/config.h"

namespace vigil::analysis {

struct AnalyzerCounters {
  uint64_t events = 0;   // records analysed
  uint64_t decoded = 0;  // events a decoder matched
  uint64_t matched = 0;  // events a rule matched (any level)
  uint64_t alerts = 0;   // events that produced an alert
};

// Owns the decoders, the rules and their correlation state. Process() and Correlate() keep
// state and must be called from one thread at a time; Decode() keeps none and may run on
// several threads at once, each with its own Event (see ParallelAnalyzer).
class Analyzer {
 public:
  // Loads the decoders and rules named by `config`. `clock` must outlive the Analyzer and
  // gives each event its receive time.
  // `engine_options.memory_size` is taken from the configuration, and <check_diff> state
  // goes to `<paths><state_dir>/diff` when the configuration names a state folder and
  // `engine_options.diff_dir` is empty.
  static Expected<std::unique_ptr<Analyzer>> Create(const config::Config& config,
                                                    const Clock* clock,
                                                    EngineOptions engine_options = {});

  // The engine and the decoders point into the analyzer (its rules and prefilter), so it
  // stays where Create() built it.
  Analyzer(const Analyzer&) = delete;
  Analyzer& operator=(const Analyzer&) = delete;

  // Analyses one record: fills `event` (reused between calls) and returns the rule decision.
  // `text` must be valid UTF-8 without NUL bytes; anything else is escaped first. When
  // `trace` is not null it receives logtest's rule debugging text.
  RuleMatch Process(std::string_view location, std::string_view text, Event* event,
                    std::string* trace = nullptr);

  // The two stages of Process(). Decode() fills `event` from the record: sanitising,
  // pre-decoding and decoding, which depend on the record alone. Correlate() then sets the
  // event time from the clock and runs accumulation and the rules, whose state depends on
  // every earlier event: call it once per decoded event, in input order.
  // Set `text_is_clean` when `text` is known to be valid UTF-8 without NUL bytes, as a
  // reader's Record is; the test is then skipped.
  void Decode(std::string_view location, std::string_view text, Event* event,
              bool text_is_clean = false) const;
  // Decode() of `*text`, which the event takes without a copy: the text's buffer is swapped
  // with that of the event's previous log, which `*text` contains afterwards.
  void DecodeTaking(std::string_view location, std::string* text, Event* event,
                    bool text_is_clean = false) const;
  RuleMatch Correlate(Event* event, std::string* trace = nullptr);

  // Drops all correlation, first-time-seen, ignore, diff and accumulator state, as a fresh
  // start would.
  void ResetState();

  // Whether Decode() fills Event::decoded_order, which only logtest prints (off by default).
  // Call before decoding starts, never while Decode() runs on other threads.
  void set_record_decoded_order(bool record) { decoders_.set_record_order(record); }

  const DecoderSet& decoders() const { return decoders_; }
  const RuleSet& rules() const { return rules_; }
  // The warnings of loading the decoders, then the rules: problems that did not stop
  // loading, each "FILE:LINE: what is ignored". Create() also logs them.
  std::vector<std::string> load_warnings() const;
  const LogPrefilter& prefilter() const { return prefilter_; }
  const AnalyzerCounters& counters() const { return counters_; }
  // The database named by <global><geoipdb>, or nullptr.
  const GeoIpDatabase* geoip() const { return geoip_.get(); }

 private:
  // Fields a decoder with <accumulate> carries from one event to the next of the same host,
  // decoder and id.
  struct Accumulated {
    int64_t time = 0;
    std::array<std::string, 7> values;
    uint32_t present = 0;  // bit i: values[i] is set
  };

  Analyzer(DecoderSet decoders, RuleSet rules, const Clock* clock, EngineOptions engine_options);
  // Resets `event` (Event::Reset()) and sets its location.
  static void ResetFor(std::string_view location, Event* event);
  // The part of Decode() after the event's location and full_log are set.
  void DecodeLog(Event* event, bool text_is_clean) const;
  void Accumulate(Event* event);
  // Adds srcgeoip and dstgeoip, and their logtest lines after srcip and dstip.
  void AddGeoIp(Event* event) const;

  DecoderSet decoders_;
  RuleSet rules_;
  const Clock* clock_;
  PreDecoder predecoder_;
  // One scan of each log serves the decoders' and the rules' patterns.
  LogPrefilter prefilter_;
  RuleEngine engine_;
  AnalyzerCounters counters_;
  std::unique_ptr<const GeoIpDatabase> geoip_;
  std::unordered_map<std::string, Accumulated> accumulated_;
  int64_t next_accumulator_purge_ = 0;
};

}  // namespace vigil::analysis
