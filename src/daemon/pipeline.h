// The daemon's analysis pipeline: records in, alerts and active responses out.
//
// The collector (and, on a manager, the agent link) hands records to Handle(). Each record is
// analysed, archived when logall is on, written to alerts.log and alerts.json when it alerts,
// and passed to the active-response Responder.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "alerting/writer.h"
#include "analysis/analyzer.h"
#include "analysis/parallel_analyzer.h"
#include "collector/record.h"
#include "common/clock.h"
#include "common/logging.h"
#include "config/config.h"
#include "response/responder.h"

namespace vigil::daemon {

struct PipelineCounters {
  uint64_t records = 0;
  uint64_t alerts = 0;
  uint64_t responses_sent = 0;
  uint64_t write_errors = 0;
};

// Thread-safe: Handle() and HandleBatch() may be called from several threads. Records are
// analysed in arrival order, one call at a time, because correlation state is shared.
class Pipeline {
 public:
  // `responder` may be null (no active response). `clock` must outlive the pipeline.
  // With `decode_threads` above 1, the records of one HandleBatch() call are decoded on that
  // many threads (see analysis::ParallelAnalyzer). The results are the same as with one.
  static Expected<std::unique_ptr<Pipeline>> Create(const config::Config& config,
                                                    const std::string& output_dir,
                                                    response::Responder* responder,
                                                    const Clock* clock, int decode_threads = 1);

  // Analyses one record. `agent_id` is empty for local records.
  void Handle(const collector::Record& record, const std::string& agent_id = "");
  // Analyses records that arrived together, such as one agent's batch, in their order.
  void HandleBatch(const std::vector<collector::Record>& records, const std::string& agent_id = "");

  // Replaces the decoders and rules with those of `config` (SIGHUP). On error the old ones
  // stay and the error is returned.
  Status Reload(const config::Config& config);

  // Flushes alert files.
  void Flush();

  // Flushes the output files and returns their checkpoint (see daemon/delivery.h). Every
  // record whose Handle() returned before this call is in the files it measures.
  std::string Checkpoint();

  PipelineCounters counters() const;

 private:
  Pipeline() = default;
  // Creates parallel_ for the current analyzer_.
  void StartAnalysis();
  // Writes, archives and responds to one analysed event. Runs with mu_ held.
  void OnEvent(const analysis::RuleMatch& match, const analysis::Event& event);

  mutable std::mutex mu_;
  const Clock* clock_ = nullptr;
  std::string output_dir_;
  config::GlobalConfig global_;
  std::unique_ptr<analysis::Analyzer> analyzer_;
  int decode_threads_ = 1;
  std::unique_ptr<analysis::ParallelAnalyzer> parallel_;
  const std::string* agent_id_ = nullptr;  // of the records being analysed
  std::unique_ptr<alerting::AlertFileWriter> writer_;
  response::Responder* responder_ = nullptr;
  PipelineCounters counters_;
  std::shared_ptr<spdlog::logger> log_;
  RepeatLimiter repeats_;
};

}  // namespace vigil::daemon
