#include "transport/peer_filter.h"

namespace vigil::transport {

Expected<PeerFilter> PeerFilter::Create(const std::vector<std::string>& allowed,
                                        const std::vector<std::string>& denied) {
  PeerFilter filter;
  struct Source {
    const std::vector<std::string>* entries;
    analysis::IpList* list;
    const char* element;
  };
  for (const Source& source : {Source{&allowed, &filter.allowed_, "allowed-ips"},
                               Source{&denied, &filter.denied_, "denied-ips"}}) {
    for (const std::string& entry : *source.entries) {
      // IpList also takes "!" and "any", which OSSEC's address lists do not.
      if (entry.empty() || entry.front() == '!' || entry == "any") {
        return Status::InvalidArgument(std::string(source.element) + ": '" + entry +
                                       "' is not an IP address or network");
      }
      Status added = source.list->Add(entry);
      if (!added.ok()) {
        return Status::InvalidArgument(std::string(source.element) + ": " + added.message());
      }
    }
  }
  return filter;
}

bool PeerFilter::Allows(std::string_view address) const {
  analysis::IpAddress parsed;
  if (!analysis::ParseIpAddress(address, &parsed)) return false;
  // With only positive entries, IpList::Matches is plain membership.
  if (!denied_.empty() && denied_.Matches(address)) return false;
  if (!allowed_.empty()) return allowed_.Matches(address);
  return true;
}

}  // namespace vigil::transport
