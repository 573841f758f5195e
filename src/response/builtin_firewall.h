// The built-in firewall-drop: the nftables table, sets and chains of the shipped
// active-response/firewall-drop program, applied through libnftables on the calling thread
// without starting a process. A command selects it with
// <executable>builtin:firewall-drop</executable>.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "response/message.h"
#include "response/runner.h"

namespace vigil::response {

inline constexpr std::string_view kBuiltinFirewallDrop = "builtin:firewall-drop";

// Returns true when `executable` names a built-in action rather than a program.
bool IsBuiltinExecutable(std::string_view executable);

// Settings of the built-in, from `firewall-drop.conf` in the responses folder: the same
// key=value lines that the shipped program reads (`table=`, `ipv6_prefix=`).
struct FirewallSettings {
  std::string table = "vigil";
  int ipv6_prefix = 128;  // 64 blocks the /64 of an IPv6 address
};

// Reads the settings file; a missing file gives the defaults.
Expected<FirewallSettings> ReadFirewallSettings(const std::string& path);

// Adds or deletes the request's address. `timeout_seconds` above 0 gives the element its own
// expiry. Deleting an element that is absent succeeds. Returns exit status 0 on success and 1
// with the nftables error in stderr_text otherwise. Calls are serialised process-wide.
ProgramResult RunBuiltinFirewallDrop(const ExecRequest& request, int timeout_seconds,
                                     const FirewallSettings& settings);

}  // namespace vigil::response
