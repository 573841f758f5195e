#include "transport/frame.h"

#include <zstd.h>

#include <cstring>

namespace vigil::transport {

bool IsKnownFrameType(uint8_t type) {
  return type >= static_cast<uint8_t>(FrameType::kHello) &&
         type <= static_cast<uint8_t>(FrameType::kResultAck);
}

const char* FrameTypeName(FrameType type) {
  switch (type) {
    case FrameType::kHello:
      return "hello";
    case FrameType::kHelloAck:
      return "hello ack";
    case FrameType::kStatus:
      return "status";
    case FrameType::kEventBatch:
      return "event batch";
    case FrameType::kAck:
      return "ack";
    case FrameType::kResponseCommand:
      return "response command";
    case FrameType::kResponseResult:
      return "response result";
    case FrameType::kEnrollRequest:
      return "enroll request";
    case FrameType::kEnrollReply:
      return "enroll reply";
    case FrameType::kError:
      return "error";
    case FrameType::kResultAck:
      return "result ack";
  }
  return "unknown";
}

namespace {

// One compression and one decompression context per thread: creating a zstd context for each
// frame costs more than compressing a small batch.
struct ZstdContexts {
  ZSTD_CCtx* compress = ZSTD_createCCtx();
  ZSTD_DCtx* decompress = ZSTD_createDCtx();
  ~ZstdContexts() {
    ZSTD_freeCCtx(compress);
    ZSTD_freeDCtx(decompress);
  }
};

ZstdContexts& ThreadContexts() {
  thread_local ZstdContexts contexts;
  return contexts;
}

std::string MakeFrame(FrameType type, uint8_t flags, std::string_view body) {
  uint32_t length = static_cast<uint32_t>(body.size() + 2);
  std::string out;
  out.reserve(kFrameHeaderBytes + length);
  out.push_back(static_cast<char>(length >> 24));
  out.push_back(static_cast<char>(length >> 16));
  out.push_back(static_cast<char>(length >> 8));
  out.push_back(static_cast<char>(length));
  out.push_back(static_cast<char>(type));
  out.push_back(static_cast<char>(flags));
  out.append(body);
  return out;
}

}  // namespace

std::string EncodeFrame(FrameType type, std::string_view body, bool compress) {
  if (compress && body.size() >= kCompressMinBytes) {
    std::string packed(ZSTD_compressBound(body.size()), '\0');
    // Level 1, the fastest regular level, because agents compress every batch they send.
    size_t n = ZSTD_compressCCtx(ThreadContexts().compress, packed.data(), packed.size(),
                                 body.data(), body.size(), 1);
    if (!ZSTD_isError(n) && n < body.size()) {
      packed.resize(n);
      return MakeFrame(type, kFlagZstd, packed);
    }
  }
  return MakeFrame(type, 0, body);
}

Expected<std::string> DecodeFrameBody(const Frame& frame, size_t max_body_bytes) {
  if ((frame.flags & kFlagZstd) == 0) {
    if (frame.body.size() > max_body_bytes) {
      return Status::ResourceExhausted("frame body of " + std::to_string(frame.body.size()) +
                                       " bytes is over the maximum of " +
                                       std::to_string(max_body_bytes));
    }
    return frame.body;
  }
  unsigned long long size = ZSTD_getFrameContentSize(frame.body.data(), frame.body.size());
  if (size == ZSTD_CONTENTSIZE_ERROR) {
    return Status::ParseError("compressed frame body is not a valid zstd frame");
  }
  if (size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return Status::ParseError("compressed frame body does not declare its size");
  }
  if (size > max_body_bytes) {
    return Status::ResourceExhausted("compressed frame body declares " + std::to_string(size) +
                                     " bytes, over the maximum of " +
                                     std::to_string(max_body_bytes));
  }
  std::string out(size, '\0');
  size_t n = ZSTD_decompressDCtx(ThreadContexts().decompress, out.data(), out.size(),
                                 frame.body.data(), frame.body.size());
  if (ZSTD_isError(n)) {
    return Status::ParseError(std::string("compressed frame body is corrupt: ") +
                              ZSTD_getErrorName(n));
  }
  if (n != size) {
    return Status::ParseError("compressed frame body decompressed to " + std::to_string(n) +
                              " bytes instead of the declared " + std::to_string(size));
  }
  return out;
}

void FrameDecoder::Append(std::string_view bytes) {
  // Drop consumed bytes before growing, so the buffer stays near one frame in size.
  if (offset_ > 0 && offset_ >= buffer_.size() / 2) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes);
}

FrameDecoder::Result FrameDecoder::Next(Frame* frame) {
  if (!error_.ok()) return Result::kError;
  size_t available = buffer_.size() - offset_;
  if (available < kFrameHeaderBytes) return Result::kNeedMore;
  const auto* p = reinterpret_cast<const uint8_t*>(buffer_.data() + offset_);
  uint32_t length =
      (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  if (length < 2) {
    error_ = Status::ParseError("frame length " + std::to_string(length) +
                                " is too short for the type and flags bytes");
    return Result::kError;
  }
  if (length > max_frame_bytes_) {
    error_ = Status::ResourceExhausted("frame of " + std::to_string(length) +
                                       " bytes is over the maximum of " +
                                       std::to_string(max_frame_bytes_));
    return Result::kError;
  }
  // The type and flags are checked as soon as they arrive, before the body is buffered.
  if (available >= kFrameHeaderBytes + 2) {
    uint8_t type = p[4];
    uint8_t flags = p[5];
    if (!IsKnownFrameType(type)) {
      error_ = Status::ParseError("frame type " + std::to_string(type) + " is unknown");
      return Result::kError;
    }
    if ((flags & ~kFlagZstd) != 0) {
      error_ = Status::ParseError("frame flags " + std::to_string(flags) + " are unknown");
      return Result::kError;
    }
  }
  if (available < kFrameHeaderBytes + length) return Result::kNeedMore;
  frame->type = static_cast<FrameType>(p[4]);
  frame->flags = p[5];
  frame->body.assign(buffer_.data() + offset_ + kFrameHeaderBytes + 2, length - 2);
  offset_ += kFrameHeaderBytes + length;
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  }
  return Result::kFrame;
}

}  // namespace vigil::transport
