// Parses fuzzer-provided bytes as a compiled cdb list and looks a few keys up in what loads.
// Errors are expected; crashes, hangs and sanitizer reports are not.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "analysis/cdb_list.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::analysis;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  vigil::Expected<KeyValueList> list = KeyValueList::ParseCdb(bytes, "fuzz.cdb");
  if (!list.ok()) return 0;
  for (std::string_view key : {"root", "10.1.2.3", ""}) {
    LookupList(*list, ListLookup::kMatchKey, key, std::nullopt);
    LookupList(*list, ListLookup::kAddressMatchKey, key, std::nullopt);
  }
  return 0;
}
