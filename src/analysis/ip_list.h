// IP address lists with CIDR ranges and `!` negation, as rule <srcip>/<dstip> use them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace vigil::analysis {

// An IPv4 or IPv6 address; IPv4 is kept as an IPv4-mapped IPv6 address.
struct IpAddress {
  std::array<uint8_t, 16> bytes{};
  bool is_v4 = false;
};

// Parses an address: IPv4, IPv6, or IPv4-mapped IPv6. Surrounding brackets are accepted.
bool ParseIpAddress(std::string_view text, IpAddress* out);

class IpList {
 public:
  // Adds one entry: `[!]ADDRESS[/PREFIX]` or `[!]any`. Dotted netmasks are rejected.
  Status Add(std::string_view entry);

  bool empty() const { return entries_.empty(); }

  // Walks the entries in order and returns the polarity of the first that contains `ip`
  // (true, or false for a `!` entry); when none does, returns the opposite of the last
  // entry's polarity. An unparsable `ip` never matches.
  bool Matches(std::string_view ip) const;

 private:
  struct Entry {
    bool negate = false;
    bool any = false;
    IpAddress address;
    int prefix = 128;  // in IPv6 bits; IPv4 prefixes are stored plus 96
  };
  std::vector<Entry> entries_;
};

}  // namespace vigil::analysis
