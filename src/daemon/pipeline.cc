#include "daemon/pipeline.h"

#include "analysis/rule.h"
#include "common/text.h"
#include "daemon/delivery.h"

namespace vigil::daemon {
namespace {

response::AlertFacts FactsOf(const analysis::Rule& rule, const analysis::Event& event,
                             const std::string& alert_id, const std::string& agent_id) {
  response::AlertFacts facts;
  facts.rule_id = rule.id;
  facts.level = rule.level;
  facts.groups = SplitList(rule.groups, ",");
  facts.no_ar = (rule.options & analysis::kOptionNoAr) != 0;
  facts.srcip = std::string(event.Get(analysis::Field::kSrcIp));
  facts.user = std::string(event.Get(analysis::Field::kDstUser));
  facts.filename = std::string(event.Get(analysis::Field::kFilename));
  facts.location = event.location;
  facts.alert_id = alert_id;
  facts.agent_id = agent_id;
  return facts;
}

}  // namespace

Expected<std::unique_ptr<Pipeline>> Pipeline::Create(const config::Config& config,
                                                     const std::string& output_dir,
                                                     response::Responder* responder,
                                                     const Clock* clock, int decode_threads) {
  std::unique_ptr<Pipeline> pipeline(new Pipeline());
  pipeline->clock_ = clock;
  pipeline->decode_threads_ = decode_threads;
  pipeline->output_dir_ = output_dir;
  pipeline->global_ = config.global;
  pipeline->responder_ = responder;
  pipeline->log_ = GetLogger("analysis");
  Expected<std::unique_ptr<analysis::Analyzer>> analyzer =
      analysis::Analyzer::Create(config, clock);
  if (!analyzer.ok()) return analyzer.status();
  pipeline->analyzer_ = std::move(*analyzer);
  alerting::AlertFileWriter::Options options;
  options.output_dir = output_dir;
  options.json = true;
  options.archives = config.global.logall;
  options.archives_json = config.global.logall_json;
  Expected<std::unique_ptr<alerting::AlertFileWriter>> writer =
      alerting::AlertFileWriter::Open(options);
  if (!writer.ok()) return writer.status();
  pipeline->writer_ = std::move(*writer);
  pipeline->StartAnalysis();
  pipeline->log_->info("loaded {} decoders and {} rules; alerts go to {}",
                       pipeline->analyzer_->decoders().size(), pipeline->analyzer_->rules().size(),
                       output_dir);
  if (const analysis::GeoIpDatabase* geoip = pipeline->analyzer_->geoip()) {
    pipeline->log_->info("GeoIP countries from {}", geoip->path());
  }
  return pipeline;
}

void Pipeline::StartAnalysis() {
  parallel_ = std::make_unique<analysis::ParallelAnalyzer>(
      analyzer_.get(), decode_threads_,
      [this](const analysis::RuleMatch& match, const analysis::Event& event) {
        OnEvent(match, event);
      });
}

void Pipeline::Handle(const collector::Record& record, const std::string& agent_id) {
  std::lock_guard lock(mu_);
  agent_id_ = &agent_id;
  ++counters_.records;
  parallel_->Add(record.location, record.text);
  parallel_->Finish();
}

void Pipeline::HandleBatch(const std::vector<collector::Record>& records,
                           const std::string& agent_id) {
  std::lock_guard lock(mu_);
  agent_id_ = &agent_id;
  for (const collector::Record& record : records) {
    ++counters_.records;
    parallel_->Add(record.location, record.text);
  }
  parallel_->Finish();
}

void Pipeline::OnEvent(const analysis::RuleMatch& match, const analysis::Event& event) {
  if (global_.logall || global_.logall_json) {
    Status archived = writer_->WriteArchive(event);
    if (!archived.ok()) {
      ++counters_.write_errors;
      uint64_t suppressed = 0;
      if (repeats_.ShouldLog("archive", &suppressed)) {
        log_->error("{} ({} similar errors not shown)", archived.message(), suppressed);
      }
    }
  }
  if (!match.alert) return;
  ++counters_.alerts;
  std::string id;
  Status written = writer_->WriteAlert(match, event, &id);
  if (!written.ok()) {
    ++counters_.write_errors;
    uint64_t suppressed = 0;
    if (repeats_.ShouldLog("alert", &suppressed)) {
      log_->error("{} ({} similar errors not shown)", written.message(), suppressed);
    }
    return;
  }
  Status flushed = writer_->Flush();
  if (!flushed.ok()) ++counters_.write_errors;
  if (responder_ != nullptr) {
    std::vector<response::Decision> decisions =
        responder_->OnAlert(FactsOf(*match.rule, event, id, *agent_id_));
    for (const response::Decision& decision : decisions) {
      if (decision.sent) ++counters_.responses_sent;
    }
  }
}

Status Pipeline::Reload(const config::Config& config) {
  Expected<std::unique_ptr<analysis::Analyzer>> analyzer =
      analysis::Analyzer::Create(config, clock_);
  if (!analyzer.ok()) return analyzer.status();
  std::lock_guard lock(mu_);
  // The old workers decode with the old analyzer, so they stop before it goes.
  parallel_.reset();
  analyzer_ = std::move(*analyzer);
  StartAnalysis();
  global_ = config.global;
  log_->info("reloaded {} decoders and {} rules", analyzer_->decoders().size(),
             analyzer_->rules().size());
  return Status::Ok();
}

void Pipeline::Flush() {
  std::lock_guard lock(mu_);
  Status flushed = writer_->Flush();
  if (!flushed.ok()) log_->error("{}", flushed.message());
}

std::string Pipeline::Checkpoint() {
  std::lock_guard lock(mu_);
  Status flushed = writer_->Flush();
  if (!flushed.ok()) {
    ++counters_.write_errors;
    log_->error("{}", flushed.message());
  }
  return OutputCheckpoint(output_dir_);
}

PipelineCounters Pipeline::counters() const {
  std::lock_guard lock(mu_);
  return counters_;
}

}  // namespace vigil::daemon
