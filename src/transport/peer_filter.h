// The address filter of one listening port: OSSEC's <remote> <allowed-ips> and <denied-ips>.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "analysis/ip_list.h"
#include "common/status.h"

namespace vigil::transport {

// Decides whether a peer address may connect. A peer in a denied network is rejected; when
// allowed networks are given, a peer must be in one of them; otherwise it is accepted. Denied
// entries win over allowed ones, as in OS_IPNotAllowed() of OSSEC's remoted/syslog.c. Immutable
// after Create(), so any thread may call Allows().
class PeerFilter {
 public:
  // Builds the filter from entries as written: IPv4 or IPv6 addresses and CIDR networks.
  static Expected<PeerFilter> Create(const std::vector<std::string>& allowed,
                                     const std::vector<std::string>& denied);

  // `address` is numeric, as AddressToString() returns it. IPv4-mapped IPv6 addresses match
  // IPv4 entries. An address that does not parse is rejected.
  bool Allows(std::string_view address) const;

  // True when the filter has no entries and accepts every peer.
  bool accepts_all() const { return allowed_.empty() && denied_.empty(); }

 private:
  analysis::IpList allowed_;
  analysis::IpList denied_;
};

}  // namespace vigil::transport
