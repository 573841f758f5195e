#include "analysis/analyzer.h"

#include "common/logging.h"
#include "common/text.h"

namespace vigil::analysis {
namespace {

// Accumulated entries older than this are dropped, in seconds.
constexpr int64_t kAccumulatorLifetime = 120;
// How often expired accumulator entries are purged, in seconds.
constexpr int64_t kAccumulatorPurgeInterval = 300;
// The fields an accumulating decoder carries over, in Analyzer::Accumulated::values order.
constexpr Field kAccumulatedFields[] = {Field::kSrcUser, Field::kDstUser, Field::kSrcIp,
                                        Field::kDstIp,   Field::kSrcPort, Field::kDstPort,
                                        Field::kData};

}  // namespace

Analyzer::Analyzer(DecoderSet decoders, RuleSet rules, const Clock* clock,
                   EngineOptions engine_options)
    : decoders_(std::move(decoders)),
      rules_(std::move(rules)),
      clock_(clock),
      predecoder_(PreDecoder::ShortHostname()),
      engine_(&rules_, std::move(engine_options), &prefilter_) {
  if (engine_.prefilter_enabled()) decoders_.UsePrefilter(&prefilter_);
  prefilter_.Build();
}

std::vector<std::string> Analyzer::load_warnings() const {
  std::vector<std::string> warnings = decoders_.warnings();
  warnings.insert(warnings.end(), rules_.warnings().begin(), rules_.warnings().end());
  return warnings;
}

Expected<std::unique_ptr<Analyzer>> Analyzer::Create(const config::Config& config,
                                                     const Clock* clock,
                                                     EngineOptions engine_options) {
  DecoderOptions decoder_options;
  decoder_options.max_order_size = config.internal.decoder_order_size;
  Expected<DecoderSet> decoders = DecoderSet::Load(config.rules.decoder_files, decoder_options);
  Expected<RuleSet> rules = Status::Internal("not loaded");
  if (decoders.ok()) {
    RuleOptions rule_options;
    rule_options.log_alert_level = config.alerts.log_alert_level;
    rule_options.email_alert_level = config.alerts.email_alert_level;
    rule_options.default_timeframe = config.internal.default_timeframe;
    for (const config::ListRef& list : config.rules.lists) rule_options.lists.push_back(list.path);
    rules = RuleSet::Load(config.rules.rule_files, *decoders, rule_options);
  }
  if (!decoders.ok()) return decoders.status();
  if (!rules.ok()) return rules.status();
  if (engine_options.diff_dir.empty() && !config.paths.state_dir.empty()) {
    engine_options.diff_dir = config.paths.state_dir + "/diff";
  }
  engine_options.memory_size = static_cast<size_t>(std::max(config.global.memory_size, 1));
  std::unique_ptr<GeoIpDatabase> geoip;
  if (!config.global.geoip_db.empty()) {
    Expected<std::unique_ptr<GeoIpDatabase>> opened = GeoIpDatabase::Open(config.global.geoip_db);
    if (!opened.ok()) {
      const config::SourceRef& source = config.global.geoip_db_source;
      return Status(opened.status().code(), source.file + ":" + std::to_string(source.line) +
                                                ": <geoipdb>: " + opened.status().message());
    }
    geoip = std::move(*opened);
  }
  std::unique_ptr<Analyzer> analyzer(
      new Analyzer(std::move(*decoders), std::move(*rules), clock, std::move(engine_options)));
  analyzer->geoip_ = std::move(geoip);
  for (const std::string& warning : analyzer->load_warnings()) {
    GetLogger("analysis")->warn("{}", warning);
  }
  return analyzer;
}

void Analyzer::ResetState() {
  rules_.ResetState();
  engine_.ResetState();
  accumulated_.clear();
}

void Analyzer::Accumulate(Event* event) {
  if (!event->Has(Field::kId)) return;
  int64_t now = event->time;
  if (now >= next_accumulator_purge_) {
    std::erase_if(accumulated_, [&](const auto& entry) {
      return entry.second.time < now - kAccumulatorLifetime;
    });
    next_accumulator_purge_ = now + kAccumulatorPurgeInterval;
  }
  std::string key = event->hostname + " " + event->decoder->ReportedName() + " " +
                    std::string(event->Get(Field::kId));
  Accumulated& stored = accumulated_[key];
  if (stored.time < now - kAccumulatorLifetime) stored = Accumulated();
  for (size_t i = 0; i < std::size(kAccumulatedFields); ++i) {
    Field field = kAccumulatedFields[i];
    if (event->Has(field)) {
      stored.values[i] = event->Get(field);
      stored.present |= 1u << i;
    } else if ((stored.present >> i) & 1u) {
      event->Set(field, stored.values[i]);
    }
  }
  stored.time = now;
}

void Analyzer::AddGeoIp(Event* event) const {
  geoip_->Annotate(event);
  // logtest prints each country after the address it belongs to, as OSSEC's GeoIP builds do.
  auto& order = event->decoded_order;
  for (size_t i = 0; i < order.size(); ++i) {
    const std::string& label = order[i].first;
    if (label == "srcip" && !event->srcgeoip.empty()) {
      order.insert(order.begin() + static_cast<long>(++i), {"srcgeoip", event->srcgeoip});
    } else if (label == "dstip" && !event->dstgeoip.empty()) {
      order.insert(order.begin() + static_cast<long>(++i), {"dstgeoip", event->dstgeoip});
    }
  }
}

RuleMatch Analyzer::Process(std::string_view location, std::string_view text, Event* event,
                            std::string* trace) {
  Decode(location, text, event);
  return Correlate(event, trace);
}

void Analyzer::Decode(std::string_view location, std::string_view text, Event* event,
                      bool text_is_clean) const {
  ResetFor(location, event);
  event->full_log.assign(text);
  DecodeLog(event, text_is_clean);
}

void Analyzer::DecodeTaking(std::string_view location, std::string* text, Event* event,
                            bool text_is_clean) const {
  ResetFor(location, event);
  event->full_log.swap(*text);
  DecodeLog(event, text_is_clean);
}

void Analyzer::ResetFor(std::string_view location, Event* event) {
  event->Reset();
  // The records of a stream share their location, so it is mostly kept rather than copied.
  if (event->location != location) event->location.assign(location);
}

void Analyzer::DecodeLog(Event* event, bool text_is_clean) const {
  if (!text_is_clean) SanitizeText(&event->full_log);
  predecoder_.Run(event);
  prefilter_.Scan(event->log(), &event->literal_hits);
  decoders_.Decode(event);
}

RuleMatch Analyzer::Correlate(Event* event, std::string* trace) {
  event->time = clock_->NowSeconds();
  ++counters_.events;
  if (event->decoder != nullptr) {
    ++counters_.decoded;
    if (event->decoder->accumulate) Accumulate(event);
  }
  if (geoip_ != nullptr) AddGeoIp(event);
  RuleMatch match = engine_.Match(*event, trace);
  if (match.rule != nullptr) ++counters_.matched;
  if (match.alert) ++counters_.alerts;
  return match;
}

}  // namespace vigil::analysis
