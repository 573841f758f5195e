// Frames: the unit of the agent-manager byte stream inside TLS.
//
// A frame is a 4-byte big-endian length L, then L bytes: one type byte, one flags byte and the
// body. L counts the type and flags bytes, so it is at least 2 and at most the receiver's
// maximum frame size. Flag bit 0 marks a body compressed as one zstd frame; a compressed body
// must declare its decompressed size, which is bounded separately.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace vigil::transport {

enum class FrameType : uint8_t {
  kHello = 1,            // agent -> manager, first frame of a session
  kHelloAck = 2,         // manager -> agent
  kStatus = 3,           // agent -> manager keepalive with the agent's status
  kEventBatch = 4,       // agent -> manager
  kAck = 5,              // manager -> agent, cumulative acknowledgement of batches
  kResponseCommand = 6,  // manager -> agent, an active response to run
  kResponseResult = 7,   // agent -> manager, what became of a response
  kEnrollRequest = 8,    // agent -> manager, over a connection without a client certificate
  kEnrollReply = 9,      // manager -> agent
  kError = 10,           // either way, sent before closing the connection
  kResultAck = 11,       // manager -> agent, a response result was recorded
};

// Returns true for the types listed in FrameType.
bool IsKnownFrameType(uint8_t type);
// Returns a lower-case name such as "event batch", or "unknown" for other values.
const char* FrameTypeName(FrameType type);

inline constexpr uint8_t kFlagZstd = 0x01;
inline constexpr size_t kFrameHeaderBytes = 4;
inline constexpr size_t kDefaultMaxFrameBytes = 1 << 20;  // 1 MiB on the wire
inline constexpr size_t kDefaultMaxBodyBytes = 4 << 20;   // 4 MiB after decompression
inline constexpr size_t kCompressMinBytes = 512;          // smaller bodies are sent as they are

struct Frame {
  FrameType type = FrameType::kError;
  uint8_t flags = 0;
  std::string body;  // as received: still compressed when flags has kFlagZstd
};

// Builds one frame. Compresses the body with zstd when `compress` is set, the body is at least
// kCompressMinBytes long and compression makes it smaller.
std::string EncodeFrame(FrameType type, std::string_view body, bool compress);

// Returns the body of `frame`, decompressed when it is flagged so. Fails on a corrupt zstd
// frame, a missing size declaration or a decompressed size over `max_body_bytes`.
Expected<std::string> DecodeFrameBody(const Frame& frame, size_t max_body_bytes);

// Splits a byte stream into frames. Bytes are appended as they arrive; Next() returns frames
// in order. After an error the stream cannot be resynchronised: the caller closes the
// connection. Not thread-safe.
class FrameDecoder {
 public:
  enum class Result { kFrame, kNeedMore, kError };

  explicit FrameDecoder(size_t max_frame_bytes = kDefaultMaxFrameBytes)
      : max_frame_bytes_(max_frame_bytes) {}

  void Append(std::string_view bytes);

  // Takes the next complete frame into `*frame`. On kError, `error()` names the fault.
  Result Next(Frame* frame);

  const Status& error() const { return error_; }
  // Bytes received but not yet returned as a frame.
  size_t buffered() const { return buffer_.size() - offset_; }

 private:
  size_t max_frame_bytes_;
  std::string buffer_;
  size_t offset_ = 0;
  Status error_;
};

}  // namespace vigil::transport
