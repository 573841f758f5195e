// libFuzzer target for the agent command a manager sends: every command the decoder accepts
// must pass validation again and survive a round trip through the encoder unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "response/remote.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto command = vigil::response::DecodeAgentCommand(input);
  if (!command.ok()) return 0;
  vigil::response::ExecRequest copy = command->request;
  if (!vigil::response::ValidateRequest(&copy).ok()) std::abort();
  auto again = vigil::response::DecodeAgentCommand(vigil::response::EncodeAgentCommand(*command));
  if (!again.ok()) std::abort();
  if (!(again->entry == command->entry)) std::abort();
  if (again->request.Arguments() != command->request.Arguments()) std::abort();
  if (again->entry.options.repeated_offenders_minutes !=
      command->entry.options.repeated_offenders_minutes) {
    std::abort();
  }
  return 0;
}
