#include "transport/wire.h"

namespace vigil::transport {

void WireWriter::PutVarint(uint64_t value) {
  while (value >= 0x80) {
    out_.push_back(static_cast<char>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out_.push_back(static_cast<char>(value));
}

void WireWriter::PutString(std::string_view value) {
  PutVarint(value.size());
  out_.append(value);
}

bool WireReader::GetVarint(uint64_t* value) {
  if (!ok_) return false;
  uint64_t result = 0;
  // A uint64_t needs at most 10 groups of 7 bits; the tenth may carry only the top bit.
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= in_.size()) return Fail();
    auto byte = static_cast<uint8_t>(in_[pos_++]);
    if (shift == 63 && byte > 1) return Fail();
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *value = result;
      return true;
    }
  }
  return Fail();
}

bool WireReader::GetU8(uint8_t* value) {
  if (!ok_ || pos_ >= in_.size()) return Fail();
  *value = static_cast<uint8_t>(in_[pos_++]);
  return true;
}

bool WireReader::GetString(std::string* value, size_t max_bytes) {
  uint64_t size = 0;
  if (!GetVarint(&size)) return false;
  if (size > max_bytes || size > remaining()) return Fail();
  value->assign(in_.substr(pos_, size));
  pos_ += size;
  return true;
}

}  // namespace vigil::transport
