#include "analysis/ip_list.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <cstring>

#include "common/text.h"

namespace vigil::analysis {

bool ParseIpAddress(std::string_view text, IpAddress* out) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
  char buffer[INET6_ADDRSTRLEN];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  in_addr v4{};
  if (inet_pton(AF_INET, buffer, &v4) == 1) {
    out->bytes = {};
    out->bytes[10] = 0xff;
    out->bytes[11] = 0xff;
    std::memcpy(&out->bytes[12], &v4, 4);
    out->is_v4 = true;
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, buffer, &v6) == 1) {
    std::memcpy(out->bytes.data(), &v6, 16);
    static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    out->is_v4 = std::memcmp(out->bytes.data(), kMappedPrefix, 12) == 0;
    return true;
  }
  return false;
}

Status IpList::Add(std::string_view entry) {
  std::string_view text = Trim(entry);
  Entry e;
  if (!text.empty() && text[0] == '!') {
    e.negate = true;
    text = Trim(text.substr(1));
  }
  if (text == "any") {
    e.any = true;
    entries_.push_back(e);
    return Status::Ok();
  }
  std::string_view address = text;
  std::string_view prefix;
  size_t slash = text.find('/');
  if (slash != std::string_view::npos) {
    address = text.substr(0, slash);
    prefix = text.substr(slash + 1);
  }
  if (!ParseIpAddress(address, &e.address)) {
    return Status::InvalidArgument(fmt::format("'{}' is not an IP address or range", entry));
  }
  int max_bits = e.address.is_v4 && address.find(':') == std::string_view::npos ? 32 : 128;
  int bits = max_bits;
  if (!prefix.empty()) {
    uint64_t value = 0;
    if (!ParseUint(prefix, &value) || value > static_cast<uint64_t>(max_bits)) {
      return Status::InvalidArgument(
          fmt::format("'{}': prefix length must be 0 to {}", entry, max_bits));
    }
    bits = static_cast<int>(value);
  }
  e.prefix = max_bits == 32 ? bits + 96 : bits;
  entries_.push_back(e);
  return Status::Ok();
}

bool IpList::Matches(std::string_view ip) const {
  IpAddress address;
  if (!ParseIpAddress(ip, &address)) return false;
  for (const Entry& e : entries_) {
    bool contains = e.any;
    if (!contains) {
      contains = true;
      int full_bytes = e.prefix / 8;
      if (std::memcmp(e.address.bytes.data(), address.bytes.data(), full_bytes) != 0) {
        contains = false;
      } else if (e.prefix % 8 != 0) {
        uint8_t mask = static_cast<uint8_t>(0xff << (8 - e.prefix % 8));
        contains = (e.address.bytes[full_bytes] & mask) == (address.bytes[full_bytes] & mask);
      }
    }
    if (contains) return !e.negate;
  }
  return entries_.empty() ? false : entries_.back().negate;
}

}  // namespace vigil::analysis
