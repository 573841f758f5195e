// Binary encoding primitives for the agent-manager protocol: unsigned LEB128 varints and
// length-prefixed byte strings. The reader never reads past its input and reports the first
// malformed field instead of guessing.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace vigil::transport {

// Appends fields to a byte string.
class WireWriter {
 public:
  void PutVarint(uint64_t value);
  void PutU8(uint8_t value) { out_.push_back(static_cast<char>(value)); }
  // Writes the length as a varint, then the bytes.
  void PutString(std::string_view value);

  const std::string& data() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads fields from a byte view. After the first failure every getter returns false and
// `ok()` stays false, so a decoder may check once at the end.
class WireReader {
 public:
  explicit WireReader(std::string_view in) : in_(in) {}

  bool GetVarint(uint64_t* value);
  bool GetU8(uint8_t* value);
  // Reads a length-prefixed string of at most `max_bytes` bytes.
  bool GetString(std::string* value, size_t max_bytes);

  // Marks the input invalid, for a field that decoded but has a value out of range.
  void SetInvalid() { ok_ = false; }

  bool ok() const { return ok_; }
  // True when every input byte was consumed and nothing failed.
  bool done() const { return ok_ && pos_ == in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }

 private:
  bool Fail() {
    ok_ = false;
    return false;
  }

  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace vigil::transport
