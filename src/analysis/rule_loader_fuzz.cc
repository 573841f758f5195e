// Loads a fuzzer-provided rule file against a fixed set of decoders, then runs a few log
// lines through the rules when it loads. Errors are expected; crashes, hangs and sanitizer
// reports are not.
#include <cstddef>
#include <cstdint>

#include "analysis/loader_fuzz_common.h"
#include "common/logging.h"

namespace {

const char* kDecoders = R"(
<decoder name="sshd"><program_name>^sshd</program_name></decoder>
<decoder name="sshd-failed">
  <parent>sshd</parent>
  <prematch>^Failed password for </prematch>
  <regex offset="after_prematch">^(\S+) from (\S+) port (\d+)</regex>
  <order>user, srcip, srcport</order>
  <fts>name, user</fts>
</decoder>
<decoder name="app"><program_name>^app</program_name>
  <regex>user=(\S+) src=(\S+) action=(\S+) id=(\d+)</regex>
  <order>user, srcip, action, id</order>
</decoder>
)";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::analysis;
  static bool initialised = [] {
    vigil::ConfigureLogging({.level = "off"});
    std::string decoders = fuzz::ScratchPath("decoders.xml");
    fuzz::WriteFile(decoders, reinterpret_cast<const uint8_t*>(kDecoders),
                    std::char_traits<char>::length(kDecoders));
    return true;
  }();
  (void)initialised;
  std::string rules = fuzz::ScratchPath("rules.xml");
  fuzz::WriteFile(rules, data, size);
  vigil::config::Config config;
  config.rules.decoder_files = {fuzz::ScratchPath("decoders.xml")};
  config.rules.rule_files = {rules};
  vigil::ManualClock clock;
  auto analyzer = Analyzer::Create(config, &clock);
  if (analyzer.ok()) fuzz::FeedSamples(analyzer->get());
  return 0;
}
