// Test helper: writes a small MaxMind DB file (format version 2.0, 24-bit records, IPv6 tree)
// that maps networks to {"country": {"iso_code": CODE}}, so GeoIP tests run against the real
// libmaxminddb without a downloaded database. Written from the published MaxMind DB format.
// Networks added to one writer must not overlap.
#pragma once

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace vigil::analysis::testing {

class MmdbTestWriter {
 public:
  // Adds `network` ("192.0.2.0/24", "2001:db8::/32") with country `code`. IPv4 networks go
  // under ::/96, where libmaxminddb looks IPv4 addresses up in an IPv6 tree.
  void Add(const std::string& network, const std::string& code) {
    size_t slash = network.find('/');
    std::string address = network.substr(0, slash);
    int prefix = std::stoi(network.substr(slash + 1));
    std::array<uint8_t, 16> bits{};
    if (inet_pton(AF_INET, address.c_str(), bits.data() + 12) == 1) {
      prefix += 96;
    } else if (inet_pton(AF_INET6, address.c_str(), bits.data()) != 1) {
      throw std::invalid_argument("not an address: " + address);
    }
    networks_.push_back({bits, prefix, code});
  }

  // Writes the database to `path`.
  void Write(const std::string& path) const {
    // Build a binary trie; child index 0 means "no data".
    struct Node {
      int child[2] = {0, 0};
      int data[2] = {-1, -1};  // index into codes for a record that ends here
    };
    std::vector<Node> nodes(1);
    std::vector<std::string> codes;
    for (const Network& network : networks_) {
      int node = 0;
      for (int depth = 0; depth < network.prefix; ++depth) {
        int bit = (network.bits[depth / 8] >> (7 - depth % 8)) & 1;
        if (depth + 1 == network.prefix) {
          nodes[node].data[bit] = static_cast<int>(codes.size());
          codes.push_back(network.code);
        } else {
          if (nodes[node].child[bit] == 0) {
            nodes[node].child[bit] = static_cast<int>(nodes.size());
            nodes.emplace_back();
          }
          node = nodes[node].child[bit];
        }
      }
    }

    std::string data;
    std::vector<uint32_t> offsets;
    for (const std::string& code : codes) {
      offsets.push_back(static_cast<uint32_t>(data.size()));
      data += Map(1) + String("country") + Map(1) + String("iso_code") + String(code);
    }

    const uint32_t node_count = static_cast<uint32_t>(nodes.size());
    std::string out;
    for (const Node& node : nodes) {
      for (int bit = 0; bit < 2; ++bit) {
        uint32_t record = node_count;  // no data
        if (node.data[bit] >= 0) {
          record = node_count + 16 + offsets[static_cast<size_t>(node.data[bit])];
        } else if (node.child[bit] != 0) {
          record = static_cast<uint32_t>(node.child[bit]);
        }
        out += static_cast<char>(record >> 16);
        out += static_cast<char>(record >> 8);
        out += static_cast<char>(record);
      }
    }
    out += std::string(16, '\0');
    out += data;
    out += "\xAB\xCD\xEFMaxMind.com";
    out += Map(9) + String("node_count") + Unsigned(6, node_count) + String("record_size") +
           Unsigned(5, 24) + String("ip_version") + Unsigned(5, 6) + String("database_type") +
           String("Vigil-Test-Country") + String("languages") + Array(1) + String("en") +
           String("binary_format_major_version") + Unsigned(5, 2) +
           String("binary_format_minor_version") + Unsigned(5, 0) + String("build_epoch") +
           Unsigned(9, 1700000000) + String("description") + Map(1) + String("en") +
           String("Vigil test database");
    std::ofstream(path, std::ios::binary) << out;
  }

 private:
  struct Network {
    std::array<uint8_t, 16> bits;
    int prefix;
    std::string code;
  };

  // A control byte for `type` (1 to 7) or an extended type (8 to 15) with a size below 29.
  static std::string Control(int type, size_t size) {
    if (size >= 29) throw std::invalid_argument("size too large for this writer");
    if (type <= 7) return std::string(1, static_cast<char>(type << 5 | static_cast<int>(size)));
    return std::string(1, static_cast<char>(size)) + static_cast<char>(type - 7);
  }
  static std::string String(const std::string& text) { return Control(2, text.size()) + text; }
  static std::string Map(size_t pairs) { return Control(7, pairs); }
  static std::string Array(size_t items) { return Control(11, items); }
  // An unsigned integer of `type` 5 (uint16), 6 (uint32) or 9 (uint64), big-endian and minimal.
  static std::string Unsigned(int type, uint64_t value) {
    std::string bytes;
    for (; value != 0; value >>= 8) bytes.insert(bytes.begin(), static_cast<char>(value & 0xff));
    return Control(type, bytes.size()) + bytes;
  }

  std::vector<Network> networks_;
};

}  // namespace vigil::analysis::testing
