// Loads a fuzzer-provided decoder file with a minimal rule set, then decodes a few log lines
// when it loads. Errors are expected; crashes, hangs and sanitizer reports are not.
#include <cstddef>
#include <cstdint>

#include "analysis/loader_fuzz_common.h"
#include "common/logging.h"

namespace {

const char* kRules = R"(
<group name="base,">
  <rule id="1" level="0" noalert="1"><category>syslog</category><description>s</description></rule>
  <rule id="2" level="0" noalert="1"><category>firewall</category><description>f</description></rule>
  <rule id="100" level="3"><match>a</match><description>any</description></rule>
</group>
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::analysis;
  static bool initialised = [] {
    vigil::ConfigureLogging({.level = "off"});
    std::string rules = fuzz::ScratchPath("rules.xml");
    fuzz::WriteFile(rules, reinterpret_cast<const uint8_t*>(kRules),
                    std::char_traits<char>::length(kRules));
    return true;
  }();
  (void)initialised;
  std::string decoders = fuzz::ScratchPath("decoders.xml");
  fuzz::WriteFile(decoders, data, size);
  vigil::config::Config config;
  config.rules.decoder_files = {decoders};
  config.rules.rule_files = {fuzz::ScratchPath("rules.xml")};
  vigil::ManualClock clock;
  auto analyzer = Analyzer::Create(config, &clock);
  if (analyzer.ok()) fuzz::FeedSamples(analyzer->get());
  return 0;
}
