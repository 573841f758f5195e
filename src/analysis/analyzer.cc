#include "analysis/analyzer.h"

#include "common/text.h"

namespace vigil::analysis {

Analyzer::Analyzer(DecoderSet decoders, RuleSet rules, const Clock* clock)
    : decoders_(std::move(decoders)),
      rules_(std::move(rules)),
      clock_(clock),
      predecoder_(PreDecoder::ShortHostname()),
      engine_(&rules_) {}

Expected<std::unique_ptr<Analyzer>> Analyzer::Create(const config::Config& config,
                                                     const Clock* clock) {
  DecoderOptions decoder_options;
  decoder_options.max_order_size = config.internal.decoder_order_size;
  Expected<DecoderSet> decoders = DecoderSet::Load(config.rules.decoder_files, decoder_options);
  Expected<RuleSet> rules = Status::Internal("not loaded");
  if (decoders.ok()) {
    RuleOptions rule_options;
    rule_options.log_alert_level = config.alerts.log_alert_level;
    rule_options.email_alert_level = config.alerts.email_alert_level;
    rule_options.default_timeframe = config.internal.default_timeframe;
    rules = RuleSet::Load(config.rules.rule_files, *decoders, rule_options);
  }
  if (!decoders.ok()) return decoders.status();
  if (!rules.ok()) return rules.status();
  return std::unique_ptr<Analyzer>(new Analyzer(std::move(*decoders), std::move(*rules), clock));
}

RuleMatch Analyzer::Process(std::string_view location, std::string_view text, Event* event,
                            std::string* trace) {
  event->Reset();
  event->location.assign(location);
  event->full_log.assign(text);
  SanitizeText(&event->full_log);
  event->time = clock_->NowSeconds();
  ++counters_.events;
  predecoder_.Run(event);
  decoders_.Decode(event);
  if (event->decoder != nullptr) ++counters_.decoded;
  RuleMatch match = engine_.Match(*event, trace);
  if (match.rule != nullptr) ++counters_.matched;
  if (match.alert) ++counters_.alerts;
  return match;
}

}  // namespace vigil::analysis
