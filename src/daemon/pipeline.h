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

#include "alerting/writer.h"
#include "analysis/analyzer.h"
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

// Thread-safe: Handle() may be called from several threads; records are analysed one at a
// time in arrival order, because correlation state is shared.
class Pipeline {
 public:
  // `responder` may be null (no active response). `clock` must outlive the pipeline.
  static Expected<std::unique_ptr<Pipeline>> Create(const config::Config& config,
                                                    const std::string& output_dir,
                                                    response::Responder* responder,
                                                    const Clock* clock);

  // Analyses one record. `agent_id` is empty for local records.
  void Handle(const collector::Record& record, const std::string& agent_id = "");

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

  mutable std::mutex mu_;
  const Clock* clock_ = nullptr;
  std::string output_dir_;
  config::GlobalConfig global_;
  std::unique_ptr<analysis::Analyzer> analyzer_;
  std::unique_ptr<alerting::AlertFileWriter> writer_;
  response::Responder* responder_ = nullptr;
  analysis::Event event_;
  PipelineCounters counters_;
  std::shared_ptr<spdlog::logger> log_;
  RepeatLimiter repeats_;
};

}  // namespace vigil::daemon
