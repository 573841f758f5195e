// Validation of the values that active response takes from log lines: IP addresses, user
// names and the other words passed to a response's program, and the allow list.
//
// Everything here is a pure function of its input and is safe to call from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vigil::response {

// An IPv4 or IPv6 address. IPv4 addresses are stored in the first 4 bytes.
struct IpAddress {
  bool is_v6 = false;
  std::array<uint8_t, 16> bytes{};

  // Canonical text: dotted quad for IPv4, RFC 5952 form (inet_ntop) for IPv6.
  std::string ToString() const;
  bool operator==(const IpAddress&) const = default;
};

// Parses a source address as log lines write it and normalises it, rejecting anything that is
// not exactly one address. Accepted forms: `1.2.3.4`, `1.2.3.4:22`, `2001:db8::1`,
// `[2001:db8::1]`, `[2001:db8::1]:22`, and IPv4-mapped IPv6 (`::ffff:1.2.3.4`, also in
// brackets) which becomes the IPv4 address. Ports are dropped. Rejected: empty text, white
// space, several addresses, zone ids (`fe80::1%eth0`), host names, IPv4 with leading zeros.
Expected<IpAddress> ParseSourceAddress(std::string_view text);

// An address range in CIDR notation; a bare address is a /32 or /128 range.
struct IpNetwork {
  IpAddress base;  // with the host bits cleared
  int prefix_length = 0;

  // Returns true when `address` lies in the range. IPv4 never matches an IPv6 range, because
  // mapped forms are normalised to IPv4 before they get here.
  bool Contains(const IpAddress& address) const;
  std::string ToString() const;
};

// Parses `1.2.3.0/24`, `2001:db8::/32`, `::ffff:10.0.0.0/104` (mapped ranges become IPv4 with
// the prefix length minus 96) or a bare address.
Expected<IpNetwork> ParseNetwork(std::string_view text);

// Returns the /64 network that contains an IPv6 address, or the address itself for IPv4.
IpNetwork ToBlockNetwork(const IpAddress& address, int ipv6_prefix_length);

// The addresses that active response never acts on (<global><white_list> and <allow_list>).
class AllowList {
 public:
  AllowList() = default;

  // Builds the list from entries as written in the configuration. Entries that are not an
  // address or a CIDR range (OSSEC also accepted host names) cannot match a validated source
  // address; they are returned in `*ignored` so the caller can log them.
  static AllowList FromEntries(const std::vector<std::string>& entries,
                               std::vector<std::string>* ignored);

  // Returns the entry (as written) that contains `address`, or an empty string.
  std::string FindMatch(const IpAddress& address) const;

  size_t size() const { return networks_.size(); }

 private:
  std::vector<std::pair<IpNetwork, std::string>> networks_;
};

// Returns true when `name` is a user name that is safe to pass to a response: 1 to 64 of
// [A-Za-z0-9._@-], not starting with `-` (so it can never read as an option) and not `.` or
// `..`. This is stricter than OSSEC's `^[a-zA-Z._0-9@?-]*$`, which also allowed `?` and names
// starting with `-`.
bool IsValidUserName(std::string_view name);

// Returns true when `word` is an alert id: "-", `<digits>` or `<digits>.<digits>` (OSSEC's
// `<epoch>.<offset>`), or a placeholder such as `(from_the_server)`: lower-case letters and
// underscores in brackets. At most 64 bytes.
bool IsValidAlertId(std::string_view word);

// Returns true when `word` is a rule id or agent id: "-", digits, or a placeholder such as
// `(no_rule_id)`. At most 64 bytes.
bool IsValidIdWord(std::string_view word);

// Returns true when `text` (a location or file name) has 1 to 1024 bytes of valid UTF-8 and
// no control character (bytes below 0x20 and 0x7f), so it stays one line and one argument and
// survives the JSON forms unchanged.
bool IsValidTextArgument(std::string_view text);

// Returns `text` for a log message: at most 80 bytes, with control characters, quotes,
// backslashes and bytes above 0x7e written as \xHH, so a crafted value stays on one line.
std::string EscapeForLog(std::string_view text);

}  // namespace vigil::response
