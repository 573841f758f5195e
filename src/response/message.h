// Messages on the execq socket and the request they carry.
//
// Two encodings reach the socket, one datagram per message:
//  * OSSEC's text message: `<name> <user> <srcip> [<alert id> <rule id> [<location> <filename>]]`
//    where absent values are `-`. The name may contain spaces when the response table contains
//    it; the location may contain spaces, because the file name is the last word.
//  * A JSON object. The Wazuh form `{"version":1,"command":"<name>","parameters":{"alert":
//    {...}}}` takes the user from alert.data.dstuser, the address from alert.data.srcip, the
//    ids from alert.id and alert.rule.id, the location from alert.location and the file name
//    from alert.syscheck.path. Vigil adds "action": "add" (default) or "delete", and control
//    requests `{"version":1,"control":"unblock","srcip":"<address>"}`, which get a JSON reply
//    when the sender's socket has an address.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "response/table.h"

namespace vigil::response {

inline constexpr size_t kMaxMessageBytes = 64 * 1024;

enum class Action { kAdd, kDelete };

// One response to run, with values as the program receives them ("-" for absent).
struct ExecRequest {
  std::string name;
  Action action = Action::kAdd;
  std::string user = "-";
  std::string srcip = "-";
  std::string alert_id = "-";
  std::string rule_id = "-";
  std::string location = "-";
  std::string filename = "-";
  // How many words follow the address: 0 (agent_control's `-b`), 2 (ids) or 4 (ids, location
  // and file name). The program receives exactly these, as OSSEC passes them.
  int extra_words = 4;
  int rule_level = 0;
  std::vector<std::string> rule_groups;
  std::string agent_id = "000";
  // Set by an agent for a response from its manager, never parsed from a message:
  // the manager's response id (kept with the pending delete, so the agent can report the undo)
  // and when the manager decided the response (Unix ms; 0: now). A block decided earlier ends
  // at that time plus the timeout, as if the agent had been online.
  uint64_t origin_id = 0;
  int64_t decided_ms = 0;

  // Returns the program's arguments after argv[0]: add|delete, user, srcip, then extra words.
  std::vector<std::string> Arguments() const;
  // Returns the dedupe key: the address, else the user, else the file name, else all values.
  std::string Key() const;
  // Returns Wazuh's JSON message for the program's stdin.
  std::string ToProgramJson(const std::string& program_path) const;
  // Returns the JSON message that the execq socket accepts for this request.
  std::string ToExecqJson() const;
};

// A control request from `vigil control`.
struct ControlRequest {
  std::string verb;   // "unblock"
  std::string srcip;  // normalised address
};

struct ExecMessage {
  std::optional<ExecRequest> request;
  std::optional<ControlRequest> control;
};

// Parses one datagram. Text messages need `table` to recognise names with spaces; a name it
// does not know is taken as the first word. Values are checked with Validate().
Expected<ExecMessage> ParseExecMessage(std::string_view datagram, const ResponseTable& table);

// Checks every value of `request` and normalises the address in place: the address is "-" or
// one IP address (see ParseSourceAddress), the user is "-" or IsValidUserName, the ids satisfy
// IsValidIdWord and the location and file name IsValidTextArgument. Returns the reason for
// the first value that fails.
Status ValidateRequest(ExecRequest* request);

}  // namespace vigil::response
