#include "transport/frame.h"

#include <gtest/gtest.h>

#include <string>

#include "transport/message.h"
#include "transport/wire.h"

namespace vigil::transport {
namespace {

// Feeds `bytes` to a decoder in pieces of `step` bytes and collects the messages.
std::vector<Message> DecodeAll(const std::string& bytes, size_t step, Status* error) {
  FrameDecoder decoder;
  std::vector<Message> out;
  for (size_t i = 0; i < bytes.size(); i += step) {
    decoder.Append(std::string_view(bytes).substr(i, step));
    Frame frame;
    for (;;) {
      FrameDecoder::Result r = decoder.Next(&frame);
      if (r == FrameDecoder::Result::kNeedMore) break;
      if (r == FrameDecoder::Result::kError) {
        *error = decoder.error();
        return out;
      }
      Expected<Message> m = DecodeFrame(frame);
      if (!m.ok()) {
        *error = m.status();
        return out;
      }
      out.push_back(std::move(*m));
    }
  }
  return out;
}

TEST(Wire, VarintRoundTripsEdgeValues) {
  for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{1} << 35, UINT64_MAX}) {
    SCOPED_TRACE(v);
    WireWriter w;
    w.PutVarint(v);
    WireReader r(w.data());
    uint64_t out = 1;
    ASSERT_TRUE(r.GetVarint(&out));
    EXPECT_EQ(out, v);
    EXPECT_TRUE(r.done());
  }
}

TEST(Wire, RejectsOverlongVarint) {
  std::string eleven(10, '\xff');
  eleven.push_back('\x01');
  WireReader r(eleven);
  uint64_t out = 0;
  EXPECT_FALSE(r.GetVarint(&out));
  EXPECT_FALSE(r.ok());
}

TEST(Wire, RejectsStringLongerThanInput) {
  WireWriter w;
  w.PutVarint(10);
  std::string input = w.data() + "abc";
  WireReader r(input);
  std::string s;
  EXPECT_FALSE(r.GetString(&s, 100));
}

TEST(Frame, BatchRoundTripsCompressed) {
  EventBatchMessage batch;
  batch.seq = 42;
  for (int i = 0; i < 200; ++i) {
    batch.records.push_back(
        {"/var/log/auth.log", "sshd[1]: Failed password for root " + std::to_string(i)});
  }
  std::string bytes = EncodeMessage(batch);
  EXPECT_EQ(static_cast<uint8_t>(bytes[5]), kFlagZstd);
  EXPECT_LT(bytes.size(), 200u * 40u);
  Status error;
  std::vector<Message> out = DecodeAll(bytes, 7, &error);
  ASSERT_TRUE(error.ok()) << error.ToString();
  ASSERT_EQ(out.size(), 1u);
  const auto& got = std::get<EventBatchMessage>(out[0]);
  EXPECT_EQ(got.seq, 42u);
  ASSERT_EQ(got.records.size(), 200u);
  EXPECT_EQ(got.records[199].text, batch.records[199].text);
  EXPECT_EQ(got.records[0].location, "/var/log/auth.log");
}

TEST(Frame, EveryMessageTypeRoundTrips) {
  std::vector<Message> in;
  in.push_back(HelloMessage{1, "001", "abcd", {"0.1.0", "web1", "Linux", "ff", 3, 4}});
  in.push_back(HelloAckMessage{"001", 17, 60});
  in.push_back(StatusMessage{{"0.1.0", "web1", "Linux", "ee", 5, 6}});
  in.push_back(AckMessage{99});
  in.push_back(ResponseCommandMessage{7, "firewall-drop", "add", {"-", "10.0.0.1"}, 600, "{}"});
  in.push_back(ResponseResultMessage{7, ResponseOutcome::kExecuted, -9, "killed", 1700000600123});
  in.push_back(EnrollRequestMessage{"tid", "secret", "web1", "PEM", "host"});
  in.push_back(EnrollReplyMessage{true, "", "001", "web1", "CERT", "CA"});
  in.push_back(ErrorMessage{"bye"});
  in.push_back(ResultAckMessage{7, true});
  in.push_back(ResponseResultMessage{7, ResponseOutcome::kUndoFailed, 2, "delete failed", 0});
  std::string bytes;
  for (const Message& m : in) bytes += EncodeMessage(m);
  Status error;
  std::vector<Message> out = DecodeAll(bytes, 1, &error);
  ASSERT_TRUE(error.ok()) << error.ToString();
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(out[i].index(), in[i].index());
    EXPECT_EQ(EncodeMessage(out[i]), EncodeMessage(in[i]));
  }
  EXPECT_EQ(std::get<ResponseResultMessage>(out[5]).exit_status, -9);
  EXPECT_EQ(std::get<ResponseResultMessage>(out[5]).undo_at_ms, 1700000600123);
  EXPECT_EQ(std::get<HelloMessage>(out[0]).status.queue_bytes, 4u);
  EXPECT_TRUE(std::get<ResultAckMessage>(out[9]).undo);
  EXPECT_EQ(ResultId(std::get<ResponseResultMessage>(out[10])), "7:undo");
  EXPECT_EQ(ResultId(std::get<ResponseResultMessage>(out[5])), "7:run");
}

TEST(Frame, RejectsUnknownOutcomeAndAckPhase) {
  std::string result = EncodeMessage(ResponseResultMessage{7, ResponseOutcome::kExecuted, 0, "", 0},
                                     /*compress=*/false);
  result[kFrameHeaderBytes + 2 + 1] = 6;  // the outcome byte after the one-byte id
  Status error;
  DecodeAll(result, 1, &error);
  EXPECT_FALSE(error.ok());
  std::string ack = EncodeMessage(ResultAckMessage{7, false}, /*compress=*/false);
  ack[ack.size() - 1] = 2;
  error = Status::Ok();
  DecodeAll(ack, 1, &error);
  EXPECT_FALSE(error.ok());
}

TEST(Frame, RejectsOversizeLengthBeforeBody) {
  FrameDecoder decoder(1024);
  decoder.Append(std::string("\x00\x00\x10\x00", 4));
  Frame frame;
  EXPECT_EQ(decoder.Next(&frame), FrameDecoder::Result::kError);
  EXPECT_EQ(decoder.error().code(), StatusCode::kResourceExhausted);
  // The decoder stays failed: a stream cannot be resynchronised.
  decoder.Append(EncodeMessage(AckMessage{1}));
  EXPECT_EQ(decoder.Next(&frame), FrameDecoder::Result::kError);
}

TEST(Frame, RejectsUnknownTypeAndFlags) {
  for (std::string bad :
       {std::string("\x00\x00\x00\x02\x63\x00", 6), std::string("\x00\x00\x00\x02\x05\x80", 6),
        std::string("\x00\x00\x00\x01\x05", 5)}) {
    FrameDecoder decoder;
    decoder.Append(bad);
    Frame frame;
    EXPECT_EQ(decoder.Next(&frame), FrameDecoder::Result::kError);
    EXPECT_EQ(decoder.error().code(), StatusCode::kParseError);
  }
}

TEST(Frame, TruncatedFrameWaitsForMore) {
  std::string bytes = EncodeMessage(AckMessage{5});
  FrameDecoder decoder;
  decoder.Append(bytes.substr(0, bytes.size() - 1));
  Frame frame;
  EXPECT_EQ(decoder.Next(&frame), FrameDecoder::Result::kNeedMore);
  EXPECT_EQ(decoder.buffered(), bytes.size() - 1);
}

TEST(Frame, RejectsTrailingBytesInBody) {
  Frame frame{FrameType::kAck, 0, std::string("\x05\x00", 2)};
  Expected<Message> m = DecodeFrame(frame);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kParseError);
}

TEST(Frame, RejectsDecompressionBomb) {
  std::string big(1 << 20, 'a');
  std::string bytes = EncodeFrame(FrameType::kError, big, true);
  FrameDecoder decoder;
  decoder.Append(bytes);
  Frame frame;
  ASSERT_EQ(decoder.Next(&frame), FrameDecoder::Result::kFrame);
  Expected<std::string> body = DecodeFrameBody(frame, 4096);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().code(), StatusCode::kResourceExhausted);
}

TEST(Frame, RejectsCorruptCompressedBody) {
  Frame frame{FrameType::kError, kFlagZstd, "not zstd at all"};
  Expected<std::string> body = DecodeFrameBody(frame, 4096);
  EXPECT_FALSE(body.ok());
}

TEST(Frame, RejectsBatchWithImpossibleRecordCount) {
  WireWriter w;
  w.PutVarint(1);
  w.PutVarint(1000000);
  Expected<Message> m = DecodeMessage(FrameType::kEventBatch, w.data());
  EXPECT_FALSE(m.ok());
}

TEST(Frame, RejectsBatchWithSequenceZero) {
  std::string bytes = EncodeMessage(EventBatchMessage{0, {{"a", "b"}}}, false);
  Frame frame{FrameType::kEventBatch, 0, bytes.substr(6)};
  EXPECT_FALSE(DecodeFrame(frame).ok());
}

}  // namespace
}  // namespace vigil::transport
