#include "alerting/json_writer.h"

#include <charconv>

namespace vigil::alerting {

void JsonWriter::Key(std::string_view name) {
  BeforeValue();
  WriteString(name);
  out_->push_back(':');
  after_key_ = true;
}

void JsonWriter::String(std::string_view value) {
  BeforeValue();
  WriteString(value);
}

void JsonWriter::WriteString(std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  out_->push_back('"');
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out_->append(value.data() + start, i - start);
    start = i + 1;
    switch (c) {
      case '"':
        out_->append("\\\"");
        break;
      case '\\':
        out_->append("\\\\");
        break;
      case '\n':
        out_->append("\\n");
        break;
      case '\r':
        out_->append("\\r");
        break;
      case '\t':
        out_->append("\\t");
        break;
      default:
        out_->append("\\u00");
        out_->push_back(kHex[c >> 4]);
        out_->push_back(kHex[c & 0xF]);
        break;
    }
  }
  out_->append(value.data() + start, value.size() - start);
  out_->push_back('"');
}

void JsonWriter::Int(int64_t value) {
  BeforeValue();
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out_->append(buffer, end);
}

void JsonWriter::UInt(uint64_t value) {
  BeforeValue();
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out_->append(buffer, end);
}

}  // namespace vigil::alerting
