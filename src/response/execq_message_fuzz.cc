// libFuzzer target for the execq message parser (OSSEC text and JSON messages) and the
// pending-deletes file parser. Every request the parser accepts must pass validation again
// and give arguments without NUL bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "response/message.h"
#include "response/pending.h"

namespace {

const vigil::response::ResponseTable& Table() {
  static const vigil::response::ResponseTable table = [] {
    std::vector<std::string> errors;
    return vigil::response::ResponseTable::Parse(
        "firewall-drop600 - firewall-drop - 600\nblock - ssh now - host-deny - 60\n", &errors);
  }();
  return table;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto message = vigil::response::ParseExecMessage(input, Table());
  if (message.ok() && message->request) {
    vigil::response::ExecRequest copy = *message->request;
    if (!vigil::response::ValidateRequest(&copy).ok()) std::abort();
    for (const std::string& arg : copy.Arguments()) {
      if (arg.empty() || arg.find('\0') != std::string::npos) std::abort();
    }
    // The JSON form always carries all four words after the address; absent ones are "-".
    auto again = vigil::response::ParseExecMessage(copy.ToExecqJson(), Table());
    if (!again.ok() || !again->request) std::abort();
    const std::vector<std::string> original = copy.Arguments();
    const std::vector<std::string> round_trip = again->request->Arguments();
    if (round_trip.size() < original.size()) std::abort();
    for (size_t i = 0; i < round_trip.size(); ++i) {
      if (round_trip[i] != (i < original.size() ? original[i] : "-")) std::abort();
    }
  }
  std::vector<std::string> errors;
  auto store = vigil::response::PendingStore::Parse(input, &errors);
  (void)store;
  return 0;
}
