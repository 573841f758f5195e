#include "transport/message.h"

#include <algorithm>
#include <cstdint>

#include "transport/wire.h"

namespace vigil::transport {
namespace {

void PutStatus(WireWriter& w, const AgentStatus& s) {
  w.PutString(s.version);
  w.PutString(s.hostname);
  w.PutString(s.os);
  w.PutString(s.config_checksum);
  w.PutVarint(s.queue_records);
  w.PutVarint(s.queue_bytes);
}

bool GetStatus(WireReader& r, AgentStatus* s) {
  r.GetString(&s->version, kMaxNameBytes);
  r.GetString(&s->hostname, kMaxFieldBytes);
  r.GetString(&s->os, kMaxFieldBytes);
  r.GetString(&s->config_checksum, kMaxNameBytes);
  r.GetVarint(&s->queue_records);
  return r.GetVarint(&s->queue_bytes);
}

bool GetU32(WireReader& r, uint32_t* out) {
  uint64_t v = 0;
  if (!r.GetVarint(&v)) return false;
  if (v > UINT32_MAX) {
    r.SetInvalid();
    return false;
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

struct Encoder {
  WireWriter& w;

  void operator()(const HelloMessage& m) {
    w.PutVarint(m.protocol_version);
    w.PutString(m.agent_id);
    w.PutString(m.session_id);
    PutStatus(w, m.status);
  }
  void operator()(const HelloAckMessage& m) {
    w.PutString(m.agent_id);
    w.PutVarint(m.last_delivered_seq);
    w.PutVarint(m.keepalive_seconds);
  }
  void operator()(const StatusMessage& m) { PutStatus(w, m.status); }
  void operator()(const EventBatchMessage& m) {
    w.PutVarint(m.seq);
    w.PutVarint(m.records.size());
    for (const EventRecord& e : m.records) {
      w.PutString(e.location);
      w.PutString(e.text);
    }
  }
  void operator()(const AckMessage& m) { w.PutVarint(m.seq); }
  void operator()(const ResponseCommandMessage& m) {
    w.PutVarint(m.response_id);
    w.PutString(m.command);
    w.PutString(m.action);
    w.PutVarint(m.arguments.size());
    for (const std::string& a : m.arguments) w.PutString(a);
    w.PutVarint(m.timeout_seconds);
    w.PutString(m.payload);
  }
  void operator()(const ResponseResultMessage& m) {
    w.PutVarint(m.response_id);
    w.PutU8(static_cast<uint8_t>(m.outcome));
    // Zigzag keeps negative exit statuses (signals) short.
    w.PutVarint((static_cast<uint64_t>(m.exit_status) << 1) ^
                static_cast<uint64_t>(m.exit_status >> 63));
    w.PutString(m.detail);
    w.PutVarint(static_cast<uint64_t>(std::max<int64_t>(0, m.undo_at_ms)));
  }
  void operator()(const ResultAckMessage& m) {
    w.PutVarint(m.response_id);
    w.PutU8(m.undo ? 1 : 0);
  }
  void operator()(const EnrollRequestMessage& m) {
    w.PutString(m.token_id);
    w.PutString(m.token_secret);
    w.PutString(m.name);
    w.PutString(m.public_key_pem);
    w.PutString(m.hostname);
  }
  void operator()(const EnrollReplyMessage& m) {
    w.PutU8(m.ok ? 1 : 0);
    w.PutString(m.error);
    w.PutString(m.agent_id);
    w.PutString(m.name);
    w.PutString(m.certificate_pem);
    w.PutString(m.ca_certificate_pem);
  }
  void operator()(const ErrorMessage& m) {
    w.PutU8(static_cast<uint8_t>(m.code));
    w.PutString(m.message);
  }
};

template <typename T>
Expected<Message> Finish(WireReader& r, T message, FrameType type) {
  if (!r.done()) {
    return Status::ParseError(std::string(FrameTypeName(type)) + " message is malformed");
  }
  return Message(std::move(message));
}

Expected<Message> DecodeEventBatch(WireReader& r) {
  EventBatchMessage m;
  uint64_t count = 0;
  r.GetVarint(&m.seq);
  if (!r.GetVarint(&count)) return Status::ParseError("event batch message is malformed");
  // Each record takes at least two bytes, which bounds the count before anything is reserved.
  if (count > kMaxBatchRecords || count > r.remaining() / 2) {
    return Status::ParseError("event batch declares " + std::to_string(count) +
                              " records, more than its body can hold");
  }
  m.records.resize(count);
  for (EventRecord& e : m.records) {
    r.GetString(&e.location, kMaxFieldBytes);
    if (!r.GetString(&e.text, kMaxEventBytes)) break;
  }
  if (m.seq == 0) return Status::ParseError("event batch has sequence number 0");
  return Finish(r, std::move(m), FrameType::kEventBatch);
}

Expected<Message> DecodeResponseCommand(WireReader& r) {
  ResponseCommandMessage m;
  uint64_t count = 0;
  r.GetVarint(&m.response_id);
  r.GetString(&m.command, kMaxNameBytes);
  r.GetString(&m.action, kMaxNameBytes);
  if (!r.GetVarint(&count) || count > 64) {
    return Status::ParseError("response command message is malformed");
  }
  m.arguments.resize(count);
  for (std::string& a : m.arguments) r.GetString(&a, kMaxFieldBytes);
  GetU32(r, &m.timeout_seconds);
  r.GetString(&m.payload, kMaxEventBytes);
  return Finish(r, std::move(m), FrameType::kResponseCommand);
}

}  // namespace

std::string ResultId(const ResponseResultMessage& result) {
  return std::to_string(result.response_id) + (IsUndoOutcome(result.outcome) ? ":undo" : ":run");
}

FrameType TypeOf(const Message& message) {
  static constexpr FrameType kTypes[] = {
      FrameType::kHello,          FrameType::kHelloAck,      FrameType::kStatus,
      FrameType::kEventBatch,     FrameType::kAck,           FrameType::kResponseCommand,
      FrameType::kResponseResult, FrameType::kEnrollRequest, FrameType::kEnrollReply,
      FrameType::kError,          FrameType::kResultAck};
  return kTypes[message.index()];
}

std::string EncodeMessage(const Message& message, bool compress) {
  WireWriter w;
  std::visit(Encoder{w}, message);
  return EncodeFrame(TypeOf(message), w.data(), compress);
}

Expected<Message> DecodeMessage(FrameType type, std::string_view body) {
  WireReader r(body);
  switch (type) {
    case FrameType::kHello: {
      HelloMessage m;
      GetU32(r, &m.protocol_version);
      r.GetString(&m.agent_id, kMaxNameBytes);
      r.GetString(&m.session_id, kMaxNameBytes);
      GetStatus(r, &m.status);
      return Finish(r, std::move(m), type);
    }
    case FrameType::kHelloAck: {
      HelloAckMessage m;
      r.GetString(&m.agent_id, kMaxNameBytes);
      r.GetVarint(&m.last_delivered_seq);
      GetU32(r, &m.keepalive_seconds);
      return Finish(r, std::move(m), type);
    }
    case FrameType::kStatus: {
      StatusMessage m;
      GetStatus(r, &m.status);
      return Finish(r, std::move(m), type);
    }
    case FrameType::kEventBatch:
      return DecodeEventBatch(r);
    case FrameType::kAck: {
      AckMessage m;
      r.GetVarint(&m.seq);
      return Finish(r, std::move(m), type);
    }
    case FrameType::kResponseCommand:
      return DecodeResponseCommand(r);
    case FrameType::kResponseResult: {
      ResponseResultMessage m;
      uint8_t outcome = 0;
      uint64_t zigzag = 0;
      r.GetVarint(&m.response_id);
      r.GetU8(&outcome);
      r.GetVarint(&zigzag);
      r.GetString(&m.detail, kMaxFieldBytes);
      uint64_t undo_at_ms = 0;
      r.GetVarint(&undo_at_ms);
      if (undo_at_ms > static_cast<uint64_t>(INT64_MAX)) {
        return Status::ParseError("response result has an undo time out of range");
      }
      m.undo_at_ms = static_cast<int64_t>(undo_at_ms);
      if (outcome < 1 || outcome > static_cast<uint8_t>(ResponseOutcome::kUndoFailed)) {
        return Status::ParseError("response result has unknown outcome " + std::to_string(outcome));
      }
      m.outcome = static_cast<ResponseOutcome>(outcome);
      m.exit_status = static_cast<int64_t>((zigzag >> 1) ^ (~(zigzag & 1) + 1));
      return Finish(r, std::move(m), type);
    }
    case FrameType::kEnrollRequest: {
      EnrollRequestMessage m;
      r.GetString(&m.token_id, kMaxNameBytes);
      r.GetString(&m.token_secret, kMaxNameBytes);
      r.GetString(&m.name, kMaxNameBytes);
      r.GetString(&m.public_key_pem, kMaxPemBytes);
      r.GetString(&m.hostname, kMaxFieldBytes);
      return Finish(r, std::move(m), type);
    }
    case FrameType::kEnrollReply: {
      EnrollReplyMessage m;
      uint8_t ok = 0;
      r.GetU8(&ok);
      r.GetString(&m.error, kMaxFieldBytes);
      r.GetString(&m.agent_id, kMaxNameBytes);
      r.GetString(&m.name, kMaxNameBytes);
      r.GetString(&m.certificate_pem, kMaxPemBytes);
      r.GetString(&m.ca_certificate_pem, kMaxPemBytes);
      if (ok > 1) return Status::ParseError("enroll reply has an invalid ok flag");
      m.ok = ok == 1;
      return Finish(r, std::move(m), type);
    }
    case FrameType::kError: {
      ErrorMessage m;
      uint8_t code = 0;
      r.GetU8(&code);
      r.GetString(&m.message, kMaxFieldBytes);
      if (code > static_cast<uint8_t>(ErrorCode::kSessionRetired)) {
        return Status::ParseError("error message has unknown code " + std::to_string(code));
      }
      m.code = static_cast<ErrorCode>(code);
      return Finish(r, std::move(m), type);
    }
    case FrameType::kResultAck: {
      ResultAckMessage m;
      uint8_t undo = 0;
      r.GetVarint(&m.response_id);
      r.GetU8(&undo);
      if (undo > 1) return Status::ParseError("result ack has an invalid phase");
      m.undo = undo == 1;
      return Finish(r, std::move(m), type);
    }
  }
  return Status::ParseError("frame type " + std::to_string(static_cast<int>(type)) + " is unknown");
}

Expected<Message> DecodeFrame(const Frame& frame, size_t max_body_bytes) {
  Expected<std::string> body = DecodeFrameBody(frame, max_body_bytes);
  if (!body.ok()) return std::move(body).status();
  return DecodeMessage(frame.type, *body);
}

}  // namespace vigil::transport
