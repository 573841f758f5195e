// Messages of the agent-manager protocol and their encoding as frame bodies.
//
// Each message type maps to one FrameType. Bodies are sequences of varints and length-prefixed
// strings (see wire.h). Every string has a maximum length and a body with trailing bytes is
// invalid, so a decoder accepts exactly one encoding of each message.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"
#include "transport/frame.h"

namespace vigil::transport {

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr size_t kMaxNameBytes = 128;     // agent ids, names, session ids
inline constexpr size_t kMaxFieldBytes = 4096;   // status fields, response fields
inline constexpr size_t kMaxPemBytes = 16384;    // certificates and keys
inline constexpr size_t kMaxEventBytes = 65536;  // one event's text or location
inline constexpr size_t kMaxBatchRecords = 100000;

// Status of an agent, sent in its hello and keepalives.
struct AgentStatus {
  std::string version;  // Vigil version of the agent
  std::string hostname;
  std::string os;               // such as "Linux 6.1.0-18-amd64 x86_64"
  std::string config_checksum;  // hex SHA-256 of the agent's configuration
  uint64_t queue_records = 0;   // unacknowledged records in the agent's queue
  uint64_t queue_bytes = 0;
};

// First frame from an enrolled agent. `session_id` names the agent's queue; batch sequence
// numbers count up within it from 1.
struct HelloMessage {
  uint32_t protocol_version = kProtocolVersion;
  std::string agent_id;
  std::string session_id;
  AgentStatus status;
};

// The manager's reply to a hello: the highest batch sequence number of the session that it has
// already delivered, so the agent drops those batches and resends the rest.
struct HelloAckMessage {
  std::string agent_id;
  uint64_t last_delivered_seq = 0;
  uint32_t keepalive_seconds = 0;  // how often the manager expects a status message
};

struct StatusMessage {
  AgentStatus status;
};

// One log record as the agent's collector read it.
struct EventRecord {
  std::string location;  // the path, command alias or "stdin" on the agent
  std::string text;
};

struct EventBatchMessage {
  uint64_t seq = 0;  // 1 for the first batch of a session, then one more per batch
  std::vector<EventRecord> records;
};

// Acknowledges every batch of the connection's session up to and including `seq`.
struct AckMessage {
  uint64_t seq = 0;
};

// An active response for the agent to run.
struct ResponseCommandMessage {
  uint64_t response_id = 0;            // unique per manager
  std::string command;                 // a <command> name
  std::string action;                  // "add" or "delete"
  std::vector<std::string> arguments;  // such as the user name and source address
  // The seconds left of the response's timeout: the full timeout when the agent was online,
  // less when the response waited for it. 0 when the response is never undone.
  uint32_t timeout_seconds = 0;
  // The request and response-table entry as JSON (see response/remote.h); the transport
  // carries it unchanged.
  std::string payload;
};

enum class ResponseOutcome : uint8_t {
  kExecuted = 1,  // the command ran; exit_status is its exit status
  kSkipped = 2,   // not run, for the reason in `detail`
  kFailed = 3,    // could not be started; `detail` gives the reason
  // Reports of the agent's own delete at the end of the timeout (the response's undo).
  kUndone = 4,      // the delete ran; exit_status is its exit status
  kUndoFailed = 5,  // the delete failed or could not run; `detail` gives the reason
};

// True for kUndone and kUndoFailed.
inline bool IsUndoOutcome(ResponseOutcome outcome) {
  return outcome == ResponseOutcome::kUndone || outcome == ResponseOutcome::kUndoFailed;
}

struct ResponseResultMessage {
  uint64_t response_id = 0;
  ResponseOutcome outcome = ResponseOutcome::kExecuted;
  int64_t exit_status = 0;
  std::string detail;
  // When the agent's execd will undo the response (Unix milliseconds); 0 when nothing is
  // pending.
  int64_t undo_at_ms = 0;
};

// Returns the stable id of `result`: the response id and the phase ("run" for the add or
// delete the manager sent, "undo" for the agent's own delete at the end of the timeout). An
// agent sends a result until the manager acknowledges it, so the manager may see an id more
// than once and records it once.
std::string ResultId(const ResponseResultMessage& result);

// The manager recorded the result of `response_id` in this phase (or already had it); the agent
// stops resending it.
struct ResultAckMessage {
  uint64_t response_id = 0;
  bool undo = false;  // the phase: false for "run", true for "undo"
};

// Sent by an agent without a certificate: a one-time token and the agent's public key.
struct EnrollRequestMessage {
  std::string token_id;
  std::string token_secret;
  std::string name;
  std::string public_key_pem;
  std::string hostname;
};

struct EnrollReplyMessage {
  bool ok = false;
  std::string error;  // set when !ok
  std::string agent_id;
  std::string name;
  std::string certificate_pem;
  std::string ca_certificate_pem;
};

enum class ErrorCode : uint8_t {
  kGeneric = 0,
  // The hello named a session the manager already saw replaced (a queue restored from a
  // backup). The agent renumbers its queue into a new session and reconnects.
  kSessionRetired = 1,
};

struct ErrorMessage {
  std::string message;
  ErrorCode code = ErrorCode::kGeneric;
};

using Message =
    std::variant<HelloMessage, HelloAckMessage, StatusMessage, EventBatchMessage, AckMessage,
                 ResponseCommandMessage, ResponseResultMessage, EnrollRequestMessage,
                 EnrollReplyMessage, ErrorMessage, ResultAckMessage>;

FrameType TypeOf(const Message& message);

// Encodes `message` as one complete frame (header included).
std::string EncodeMessage(const Message& message, bool compress = true);

// Decodes a frame body that DecodeFrameBody() returned, as a message of `type`.
Expected<Message> DecodeMessage(FrameType type, std::string_view body);

// Decompresses and decodes one frame.
Expected<Message> DecodeFrame(const Frame& frame, size_t max_body_bytes = kDefaultMaxBodyBytes);

}  // namespace vigil::transport
