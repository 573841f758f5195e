#include "analysis/cdb_list.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

#include "common/file.h"
#include "common/text.h"

namespace vigil::analysis {
namespace {

constexpr std::pair<std::string_view, ListLookup> kLookups[] = {
    {"match_key", ListLookup::kMatchKey},
    {"not_match_key", ListLookup::kNotMatchKey},
    {"match_key_value", ListLookup::kMatchKeyValue},
    {"address_match_key", ListLookup::kAddressMatchKey},
    {"not_address_match_key", ListLookup::kNotAddressMatchKey},
    {"address_match_key_value", ListLookup::kAddressMatchKeyValue},
};

// Finds `address` or, cutting it from the right, a prefix that ends with a dot: for 10.1.2.3
// the keys 10.1.2.3, 10.1.2., 10.1. and 10. are tried in that order.
const std::string* FindAddress(const KeyValueList& list, std::string_view address) {
  if (const std::string* value = list.Find(address)) return value;
  for (size_t end = address.size(); end > 0; --end) {
    if (address[end - 1] != '.' || end == address.size()) continue;
    if (const std::string* value = list.Find(address.substr(0, end))) return value;
  }
  return nullptr;
}

// The cdb header is 256 pairs of little-endian (table position, slot count).
constexpr size_t kCdbHeaderSize = 256 * 8;

uint32_t ReadLittleEndian32(std::string_view bytes, size_t offset) {
  auto byte = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<uint8_t>(bytes[offset + i]));
  };
  return byte(0) | byte(1) << 8 | byte(2) << 16 | byte(3) << 24;
}

bool ValueMatches(const std::string* value, const std::optional<Pattern>& check_value) {
  return value != nullptr && (!check_value || check_value->Search(*value));
}

}  // namespace

Expected<KeyValueList> KeyValueList::LoadText(const std::string& path) {
  Expected<std::string> content = ReadFile(path);
  if (!content.ok()) return content.status();
  KeyValueList list;
  std::string_view text = *content;
  while (!text.empty()) {
    size_t newline = text.find('\n');
    std::string_view line = text.substr(0, newline);
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    std::string_view key, value;
    if (line[0] == '"') {
      size_t close = line.find('"', 1);
      if (close == std::string_view::npos) {
        key = line.substr(1);
      } else {
        key = line.substr(1, close - 1);
        std::string_view rest = line.substr(close + 1);
        if (!rest.empty() && rest[0] == ':') value = rest.substr(1);
      }
    } else {
      size_t colon = line.find(':');
      key = line.substr(0, colon);
      if (colon != std::string_view::npos) value = line.substr(colon + 1);
    }
    list.entries_.emplace(std::string(key), std::string(value));
  }
  return list;
}

Expected<KeyValueList> KeyValueList::ParseCdb(std::string_view bytes, std::string_view origin) {
  auto damaged = [&](size_t offset, std::string_view what) {
    return Status::ParseError(
        fmt::format("{}: invalid cdb file at byte {}: {}", origin, offset, what));
  };
  if (bytes.size() < kCdbHeaderSize) {
    return damaged(0, fmt::format("{} bytes is shorter than the 2048-byte header", bytes.size()));
  }

  // Records run from the end of the header to the first hash table; every table lies after them.
  size_t records_end = bytes.size();
  for (size_t table = 0; table < 256; ++table) {
    uint64_t position = ReadLittleEndian32(bytes, table * 8);
    uint64_t slots = ReadLittleEndian32(bytes, table * 8 + 4);
    if (position < kCdbHeaderSize || position + slots * 8 > bytes.size()) {
      return damaged(table * 8, fmt::format("hash table {} at {} with {} slots lies outside the "
                                            "file",
                                            table, position, slots));
    }
    records_end = std::min<size_t>(records_end, position);
  }

  KeyValueList list;
  size_t offset = kCdbHeaderSize;
  while (offset < records_end) {
    if (records_end - offset < 8) return damaged(offset, "truncated record header");
    uint64_t key_size = ReadLittleEndian32(bytes, offset);
    uint64_t value_size = ReadLittleEndian32(bytes, offset + 4);
    if (key_size + value_size > records_end - offset - 8) {
      return damaged(
          offset, fmt::format("record of {}+{} bytes runs past the records", key_size, value_size));
    }
    std::string_view key = bytes.substr(offset + 8, key_size);
    std::string_view value = bytes.substr(offset + 8 + key_size, value_size);
    list.entries_.emplace(std::string(key), std::string(value));
    offset += 8 + key_size + value_size;
  }
  return list;
}

Expected<KeyValueList> KeyValueList::LoadCdb(const std::string& path) {
  Expected<std::string> content = ReadFile(path);
  if (!content.ok()) return content.status();
  return ParseCdb(*content, path);
}

Expected<KeyValueList> KeyValueList::Load(const std::string& path) {
  if (FileExists(path)) return LoadText(path);
  std::string compiled = path + ".cdb";
  if (FileExists(compiled)) return LoadCdb(compiled);
  return Status::NotFound(
      fmt::format("neither the list {} nor its compiled form {} exists", path, compiled));
}

const std::string* KeyValueList::Find(std::string_view key) const {
  auto it = entries_.find(std::string(key));
  return it == entries_.end() ? nullptr : &it->second;
}

bool ParseListLookup(std::string_view text, ListLookup* lookup) {
  for (const auto& [name, value] : kLookups) {
    if (name == text) {
      *lookup = value;
      return true;
    }
  }
  return false;
}

bool LookupList(const KeyValueList& list, ListLookup lookup, std::string_view value,
                const std::optional<Pattern>& check_value) {
  switch (lookup) {
    case ListLookup::kMatchKey:
      return list.Find(value) != nullptr;
    case ListLookup::kNotMatchKey:
      return list.Find(value) == nullptr;
    case ListLookup::kMatchKeyValue:
      return ValueMatches(list.Find(value), check_value);
    case ListLookup::kAddressMatchKey:
      return FindAddress(list, value) != nullptr;
    case ListLookup::kNotAddressMatchKey:
      return FindAddress(list, value) == nullptr;
    case ListLookup::kAddressMatchKeyValue:
      // OSSEC 3.7 inverts this test (true when the value does not match); Vigil does what
      // the name states.
      return ValueMatches(FindAddress(list, value), check_value);
  }
  return false;
}

}  // namespace vigil::analysis
