// A minimal streaming JSON writer for alert and archive lines: no intermediate document, one
// growing string, so formatting costs one pass over the values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vigil {

// Appends JSON text to a string. The caller writes keys and values in order; the writer adds
// commas. Strings must be valid UTF-8 (Vigil sanitises every record before analysis); control
// characters, quotes and backslashes are escaped.
class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject() {
    BeforeValue();
    out_->push_back('{');
    first_ = true;
  }
  void EndObject() {
    out_->push_back('}');
    first_ = false;
  }
  void BeginArray() {
    BeforeValue();
    out_->push_back('[');
    first_ = true;
  }
  void EndArray() {
    out_->push_back(']');
    first_ = false;
  }

  // Writes `"name":`; the next value call completes the member.
  void Key(std::string_view name);
  void String(std::string_view value);
  void Int(int64_t value);
  void UInt(uint64_t value);

  // Writes `"name":"value"`, after a comma unless the member opens the object.
  void Member(std::string_view name, std::string_view value);
  void MemberInt(std::string_view name, int64_t value) {
    Key(name);
    Int(value);
  }

  // Appends `json`, text rendered earlier such as a run of members with their commas,
  // unchanged. A comma then precedes the next key or value, as after any value.
  void Raw(std::string_view json) {
    out_->append(json);
    after_key_ = false;
    first_ = false;
  }

 private:
  // Writes the comma before a value or key unless it follows a key or opens a container.
  void BeforeValue() {
    if (after_key_) {
      after_key_ = false;
    } else if (!first_) {
      out_->push_back(',');
    }
    first_ = false;
  }
  void WriteString(std::string_view value);

  std::string* out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace vigil
