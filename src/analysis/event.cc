#include "analysis/event.h"

namespace vigil::analysis {
namespace {

struct FieldNames {
  std::string_view name;
  std::string_view label;
};

constexpr FieldNames kNames[kFieldCount] = {
    {"srcip", "srcip"},
    {"dstip", "dstip"},
    {"srcport", "srcport"},
    {"dstport", "dstport"},
    {"protocol", "proto"},
    {"action", "action"},
    {"srcuser", "srcuser"},
    {"dstuser", "dstuser"},
    {"id", "id"},
    {"url", "url"},
    {"data", "extra_data"},
    {"status", "status"},
    {"system_name", "system_name"},
    {"filename", "filename"},
};

}  // namespace

std::string_view FieldName(Field field) { return kNames[static_cast<size_t>(field)].name; }
std::string_view FieldLabel(Field field) { return kNames[static_cast<size_t>(field)].label; }

bool ParseFieldName(std::string_view name, Field* field) {
  if (name == "user") {
    *field = Field::kDstUser;
    return true;
  }
  if (name == "extra_data") {
    *field = Field::kData;
    return true;
  }
  for (size_t i = 0; i < kFieldCount; ++i) {
    if (kNames[i].name == name) {
      *field = static_cast<Field>(i);
      return true;
    }
  }
  return false;
}

const std::string* Event::GetDynamic(std::string_view name) const {
  for (const auto& [key, value] : dynamic_fields) {
    if (key == name) return &value;
  }
  return nullptr;
}

void Event::SetDynamic(std::string_view name, std::string_view value) {
  for (auto& [key, old] : dynamic_fields) {
    if (key == name) {
      old.assign(value);
      return;
    }
  }
  dynamic_fields.emplace_back(std::string(name), std::string(value));
}

void Event::Reset() {
  full_log.clear();
  time = 0;
  log_offset = 0;
  log_length = std::string::npos;
  hostname.clear();
  program_name.clear();
  has_program_name = false;
  decoder = nullptr;
  category = Category::kSyslog;
  generated_rule_id = 0;
  for (size_t i = 0; i < kFieldCount; ++i) {
    if ((fields_set >> i) & 1u) fields[i].clear();
  }
  fields_set = 0;
  dynamic_fields.clear();
  srcgeoip.clear();
  dstgeoip.clear();
  decoded_order.clear();
  literal_hits.scanned = false;
  literal_hits.filtering = false;
}

}  // namespace vigil::analysis
