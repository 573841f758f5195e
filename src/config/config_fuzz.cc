// Fuzzes the XML reader and the configuration loader on arbitrary text, without disk access.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "config/describe.h"
#include "config/loader.h"
#include "config/xml.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view content(reinterpret_cast<const char*>(data), size);
  (void)vigil::config::ParseXml(content, "fuzz.xml");

  vigil::config::LoadOptions options;
  options.base_dir = "/nonexistent/vigil-fuzz";
  options.access_files = false;
  vigil::Expected<vigil::config::Config> config =
      vigil::config::LoadConfigFromString(content, "ossec.conf", options);
  if (config.ok()) {
    std::string text = vigil::config::DescribeConfig(*config);
    if (text.empty()) __builtin_trap();
  } else if (config.status().message().empty()) {
    // Every failure must explain itself.
    __builtin_trap();
  }
  return 0;
}
