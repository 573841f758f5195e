// Feeds arbitrary bytes to the frame decoder and the message decoders, in two chunks so the
// partial-frame paths run too. Every decoded message is re-encoded and decoded again, and the
// two encodings must match.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "transport/frame.h"
#include "transport/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::transport;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t split = size == 0 ? 0 : data[0] % (size + 1);
  FrameDecoder decoder(64 * 1024);
  decoder.Append(input.substr(0, split));
  Frame frame;
  for (int round = 0; round < 2; ++round) {
    for (;;) {
      FrameDecoder::Result r = decoder.Next(&frame);
      if (r != FrameDecoder::Result::kFrame) break;
      vigil::Expected<Message> message = DecodeFrame(frame, 256 * 1024);
      if (!message.ok()) continue;
      std::string again = EncodeMessage(*message, false);
      FrameDecoder second;
      second.Append(again);
      Frame frame2;
      if (second.Next(&frame2) != FrameDecoder::Result::kFrame) abort();
      vigil::Expected<Message> message2 = DecodeFrame(frame2, 1 << 30);
      if (!message2.ok()) abort();
      if (EncodeMessage(*message2, false) != again) abort();
    }
    decoder.Append(input.substr(split));
  }
  return 0;
}
