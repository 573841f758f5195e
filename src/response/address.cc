#include "response/address.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "common/text.h"

namespace vigil::response {
namespace {

constexpr std::array<uint8_t, 12> kMappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool IsMapped(const IpAddress& address) {
  return address.is_v6 &&
         std::equal(kMappedPrefix.begin(), kMappedPrefix.end(), address.bytes.begin());
}

IpAddress Unmap(const IpAddress& address) {
  if (!IsMapped(address)) return address;
  IpAddress v4;
  std::copy(address.bytes.begin() + 12, address.bytes.end(), v4.bytes.begin());
  return v4;
}

// Parses exactly one address without brackets or port.
bool ParsePlain(std::string_view text, IpAddress* out) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
  char buffer[INET6_ADDRSTRLEN];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpAddress address;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buffer, address.bytes.data()) != 1) return false;
  } else {
    if (inet_pton(AF_INET6, buffer, address.bytes.data()) != 1) return false;
    address.is_v6 = true;
  }
  *out = Unmap(address);
  return true;
}

bool IsValidPort(std::string_view text) {
  uint64_t port = 0;
  return text.size() <= 5 && ParseUint(text, &port) && port <= 65535;
}

Status InvalidAddress(std::string_view text, std::string_view why) {
  return Status::InvalidArgument("invalid source address '" + EscapeForLog(text) +
                                 "': " + std::string(why));
}

}  // namespace

std::string IpAddress::ToString() const {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(is_v6 ? AF_INET6 : AF_INET, bytes.data(), buffer, sizeof(buffer));
  return buffer;
}

Expected<IpAddress> ParseSourceAddress(std::string_view text) {
  if (text.empty()) return InvalidAddress(text, "empty");
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (!(std::isxdigit(byte) || c == '.' || c == ':' || c == '[' || c == ']')) {
      return InvalidAddress(text, "contains a character that no IP address has");
    }
  }
  IpAddress address;
  if (text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return InvalidAddress(text, "missing ']'");
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && (rest.front() != ':' || !IsValidPort(rest.substr(1)))) {
      return InvalidAddress(text, "text after ']' is not a port");
    }
    std::string_view inner = text.substr(1, close - 1);
    if (inner.find(':') == std::string_view::npos || !ParsePlain(inner, &address)) {
      return InvalidAddress(text, "not an IPv6 address inside brackets");
    }
    return address;
  }
  if (text.find_first_of("[]") != std::string_view::npos) {
    return InvalidAddress(text, "unbalanced brackets");
  }
  const size_t colons = std::count(text.begin(), text.end(), ':');
  if (colons == 1) {
    // IPv4 with a port, such as "1.2.3.4:22". An IPv6 address always has two or more colons.
    const size_t colon = text.find(':');
    if (!IsValidPort(text.substr(colon + 1))) return InvalidAddress(text, "invalid port");
    if (!ParsePlain(text.substr(0, colon), &address) || address.is_v6) {
      return InvalidAddress(text, "not an IPv4 address before the port");
    }
    return address;
  }
  if (!ParsePlain(text, &address)) return InvalidAddress(text, "not an IP address");
  return address;
}

bool IpNetwork::Contains(const IpAddress& address) const {
  if (address.is_v6 != base.is_v6) return false;
  const int full_bytes = prefix_length / 8;
  if (!std::equal(base.bytes.begin(), base.bytes.begin() + full_bytes, address.bytes.begin())) {
    return false;
  }
  const int rest_bits = prefix_length % 8;
  if (rest_bits == 0) return true;
  const auto mask = static_cast<uint8_t>(0xff << (8 - rest_bits));
  return (address.bytes[full_bytes] & mask) == (base.bytes[full_bytes] & mask);
}

std::string IpNetwork::ToString() const {
  return base.ToString() + "/" + std::to_string(prefix_length);
}

namespace {

IpNetwork MakeNetwork(IpAddress address, int prefix_length) {
  const int total_bits = address.is_v6 ? 128 : 32;
  for (int bit = prefix_length; bit < total_bits; ++bit) {
    address.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  }
  return IpNetwork{address, prefix_length};
}

}  // namespace

Expected<IpNetwork> ParseNetwork(std::string_view text) {
  const size_t slash = text.find('/');
  std::string_view address_text = text.substr(0, slash);
  if (address_text.empty() || address_text.size() >= INET6_ADDRSTRLEN) {
    return Status::InvalidArgument("invalid address range '" + std::string(text) + "'");
  }
  char buffer[INET6_ADDRSTRLEN];
  std::memcpy(buffer, address_text.data(), address_text.size());
  buffer[address_text.size()] = '\0';
  IpAddress address;
  if (address_text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buffer, address.bytes.data()) != 1) {
      return Status::InvalidArgument("invalid address range '" + std::string(text) +
                                     "': not an IPv4 or IPv6 address");
    }
  } else if (inet_pton(AF_INET6, buffer, address.bytes.data()) == 1) {
    address.is_v6 = true;
  } else {
    return Status::InvalidArgument("invalid address range '" + std::string(text) +
                                   "': not an IPv4 or IPv6 address");
  }
  int prefix_length = address.is_v6 ? 128 : 32;
  if (slash != std::string_view::npos) {
    uint64_t parsed = 0;
    std::string_view length_text = text.substr(slash + 1);
    if (length_text.size() > 3 || !ParseUint(length_text, &parsed) ||
        parsed > static_cast<uint64_t>(prefix_length)) {
      return Status::InvalidArgument("invalid address range '" + std::string(text) +
                                     "': the prefix length must be 0 to " +
                                     std::to_string(prefix_length));
    }
    prefix_length = static_cast<int>(parsed);
  }
  if (IsMapped(address) && prefix_length >= 96) {
    return MakeNetwork(Unmap(address), prefix_length - 96);
  }
  return MakeNetwork(address, prefix_length);
}

IpNetwork ToBlockNetwork(const IpAddress& address, int ipv6_prefix_length) {
  if (!address.is_v6) return MakeNetwork(address, 32);
  return MakeNetwork(address, std::clamp(ipv6_prefix_length, 0, 128));
}

AllowList AllowList::FromEntries(const std::vector<std::string>& entries,
                                 std::vector<std::string>* ignored) {
  AllowList list;
  for (const std::string& entry : entries) {
    std::string_view trimmed = Trim(entry);
    auto network = ParseNetwork(trimmed);
    if (network.ok()) {
      list.networks_.emplace_back(*network, std::string(trimmed));
    } else if (ignored != nullptr) {
      ignored->push_back(entry);
    }
  }
  return list;
}

std::string AllowList::FindMatch(const IpAddress& address) const {
  const IpAddress normalised = Unmap(address);
  for (const auto& [network, text] : networks_) {
    if (network.Contains(normalised)) return text;
  }
  return "";
}

bool IsValidUserName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '-') return false;
  if (name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '@' ||
           c == '-';
  });
}

namespace {

bool IsDigits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsPlaceholder(std::string_view text) {
  return text.size() > 2 && text.front() == '(' && text.back() == ')' &&
         std::all_of(text.begin() + 1, text.end() - 1,
                     [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; });
}

}  // namespace

bool IsValidAlertId(std::string_view word) {
  if (word == "-") return true;
  if (word.size() > 64) return false;
  if (IsPlaceholder(word)) return true;
  const size_t dot = word.find('.');
  if (dot == std::string_view::npos) return IsDigits(word);
  return IsDigits(word.substr(0, dot)) && IsDigits(word.substr(dot + 1));
}

bool IsValidIdWord(std::string_view word) {
  if (word == "-") return true;
  if (word.size() > 64) return false;
  return IsDigits(word) || IsPlaceholder(word);
}

std::string EscapeForLog(std::string_view text) {
  constexpr size_t kMaxBytes = 80;
  std::string out;
  for (size_t i = 0; i < text.size() && i < kMaxBytes; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x20 || byte > 0x7e || byte == '\\' || byte == '\'' || byte == '"') {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += static_cast<char>(byte);
    }
  }
  if (text.size() > kMaxBytes) out += "...";
  return out;
}

bool IsValidTextArgument(std::string_view text) {
  if (text.empty() || text.size() > 1024 || !IsCleanUtf8(text)) return false;
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

}  // namespace vigil::response
