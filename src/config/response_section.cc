// Readers for <command> and <active-response>.
#include <climits>
#include <map>

#include "common/text.h"
#include "config/parse_context.h"

namespace vigil::config::internal {
namespace {

// Reads a list of numbers from `min` to `max`, separated by commas or spaces. Records an error
// and returns nothing when an item is out of range or the list is empty.
std::optional<std::vector<int>> NumberList(ParseContext& context, const XmlNode& node, int min,
                                           int max) {
  std::optional<std::string> text = context.Text(node);
  if (!text) return std::nullopt;
  std::vector<int> numbers;
  for (const std::string& item : SplitList(*text, ", ")) {
    uint64_t value = 0;
    if (!ParseUint(item, &value) || value < static_cast<uint64_t>(min) ||
        value > static_cast<uint64_t>(max)) {
      context.Error(node, "expected numbers from " + std::to_string(min) + " to " +
                              std::to_string(max) + " separated by commas, got " + Quote(item));
      return std::nullopt;
    }
    numbers.push_back(static_cast<int>(value));
  }
  if (numbers.empty()) {
    context.Error(node, "expected at least one number, got an empty element");
    return std::nullopt;
  }
  return numbers;
}

// Reads <expect>: any of srcip, user (or username) and filename; empty means no argument.
void ReadExpect(ParseContext& context, const XmlNode& node, CommandConfig* command) {
  std::optional<std::string> text = context.Text(node);
  if (!text) return;
  for (const std::string& item : SplitList(*text, ", ")) {
    if (item == "srcip") {
      command->expect_srcip = true;
    } else if (item == "user" || item == "username") {
      command->expect_user = true;
    } else if (item == "filename") {
      command->expect_filename = true;
    } else {
      context.Error(node,
                    "expected srcip, user or filename separated by commas, or nothing, "
                    "got " +
                        Quote(item));
    }
  }
}

// Reads <location> into a bit set of ResponseLocation; returns 0 after an error.
unsigned ReadLocation(ParseContext& context, const XmlNode& node) {
  std::optional<std::string> text = context.NonEmptyText(node);
  if (!text) return 0;
  unsigned locations = 0;
  for (const std::string& item : SplitList(*text, ", ")) {
    std::string lower = ToLower(item);
    ResponseLocation location;
    if (lower == "server" || lower == "analysisd" || lower == "analysis-server" || lower == "as") {
      location = ResponseLocation::kServer;
    } else if (lower == "local") {
      location = ResponseLocation::kLocal;
    } else if (lower == "defined-agent") {
      location = ResponseLocation::kDefinedAgent;
    } else if (lower == "all" || lower == "any") {
      location = ResponseLocation::kAll;
    } else {
      context.Error(node,
                    "expected server, analysisd, local, defined-agent, all or any "
                    "(several separated by commas), got " +
                        Quote(item));
      return 0;
    }
    locations |= static_cast<unsigned>(location);
  }
  return locations;
}

}  // namespace

void ReadCommand(ParseContext& context, const XmlNode& node) {
  CommandConfig command;
  command.source = context.SourceOf(node);
  bool has_expect = false;
  for (const XmlNode& child : node.children) {
    const std::string& name = child.name;
    if (name == "name") {
      std::optional<std::string> text = context.NonEmptyText(child);
      if (text) command.name = *text;
    } else if (name == "executable") {
      std::optional<std::string> text = context.NonEmptyText(child);
      if (!text) continue;
      if (text->find('/') != std::string::npos || *text == "." || *text == "..") {
        context.Error(child, "expected a file name in the responses folder, without '/', got " +
                                 Quote(*text));
        continue;
      }
      command.executable = *text;
    } else if (name == "expect") {
      has_expect = true;
      ReadExpect(context, child, &command);
    } else if (name == "timeout_allowed") {
      std::optional<bool> allowed = context.YesNo(child);
      if (allowed) command.timeout_allowed = *allowed;
    } else if (name == "json_stdin") {
      std::optional<bool> json = context.YesNo(child);
      if (json) command.json_stdin = *json;
    } else if (name == "refresh_on_extend") {
      std::optional<bool> refresh = context.YesNo(child);
      if (refresh) command.refresh_on_extend = *refresh;
    } else {
      context.UnknownElement(node, child);
    }
  }

  bool complete = true;
  if (command.name.empty()) {
    context.Error(node, "missing <name>");
    complete = false;
  }
  if (command.executable.empty()) {
    context.Error(node, "missing <executable>");
    complete = false;
  }
  if (!has_expect) {
    context.Error(node,
                  "missing <expect>; write <expect></expect> for a command without "
                  "arguments");
    complete = false;
  }
  if (!complete) return;
  for (const CommandConfig& other : context.config().commands) {
    if (other.name == command.name) {
      context.Error(node, "command '" + command.name + "' is already defined at " +
                              other.source.file + ":" + std::to_string(other.source.line));
      return;
    }
  }
  context.config().commands.push_back(std::move(command));
}

void ReadActiveResponse(ParseContext& context, const XmlNode& node) {
  ActiveResponseConfig response;
  response.source = context.SourceOf(node);
  PendingResponse pending;
  bool has_name = false;
  for (const XmlNode& child : node.children) {
    const std::string& name = child.name;
    if (name == "name") {
      std::optional<std::string> text = context.NonEmptyText(child);
      if (!text) continue;
      response.name = *text;
      has_name = true;
    } else if (name == "command") {
      std::optional<std::string> text = context.NonEmptyText(child);
      if (!text) continue;
      response.command = *text;
      pending.command_line = child.line;
    } else if (name == "location") {
      response.locations = ReadLocation(context, child);
    } else if (name == "agent_id") {
      std::optional<std::string> text = context.NonEmptyText(child);
      if (!text) continue;
      uint64_t ignored = 0;
      if (!ParseUint(*text, &ignored)) {
        context.Error(child,
                      "expected an agent id made of digits, such as 001, got " + Quote(*text));
        continue;
      }
      response.agent_id = *text;
    } else if (name == "rules_id") {
      std::optional<std::vector<int>> ids = NumberList(context, child, 0, INT_MAX);
      if (ids) response.rules_id.insert(response.rules_id.end(), ids->begin(), ids->end());
    } else if (name == "rules_group") {
      std::optional<std::string> text = context.NonEmptyText(child);
      if (!text) continue;
      for (std::string& group : SplitList(*text, ",| ")) {
        response.rules_group.push_back(std::move(group));
      }
    } else if (name == "level") {
      std::optional<int> level = context.Number(child, 0, 20);
      if (level) response.level = *level;
    } else if (name == "timeout") {
      std::optional<int> seconds = context.Number(child, 0, INT_MAX);
      if (!seconds) continue;
      response.timeout_seconds = *seconds;
      pending.timeout_line = child.line;
    } else if (name == "disabled") {
      std::optional<bool> disabled = context.YesNo(child);
      if (disabled) response.disabled = *disabled;
    } else if (name == "simulate") {
      std::optional<bool> simulate = context.YesNo(child);
      if (simulate) response.simulate = *simulate;
    } else if (name == "repeated_offenders") {
      std::optional<std::vector<int>> minutes = NumberList(context, child, 1, INT_MAX);
      if (minutes) response.repeated_offenders_minutes = *minutes;
    } else {
      context.UnknownElement(node, child);
    }
  }

  if (!has_name) {
    // OSSEC's name for a response: the command name followed by the timeout.
    response.name = response.command + std::to_string(response.timeout_seconds);
  }
  // A disabled block may be incomplete: OSSEC agents use a bare
  // <active-response><disabled>yes</disabled></active-response> to turn responses off.
  if (!response.disabled) {
    if (response.command.empty()) context.Error(node, "missing <command>");
    if (response.locations == 0) context.Error(node, "missing <location>");
    if ((response.locations & static_cast<unsigned>(ResponseLocation::kDefinedAgent)) != 0 &&
        response.agent_id.empty()) {
      context.Error(node, "location defined-agent needs <agent_id>");
    }
    if (!response.level && response.rules_id.empty() && response.rules_group.empty()) {
      context.Warning(node,
                      "no <level>, <rules_id> or <rules_group>, so the response never "
                      "runs");
    }
  }
  std::vector<ActiveResponseConfig>& responses = context.config().active_responses;
  pending.index = responses.size();
  responses.push_back(std::move(response));
  if (!responses.back().disabled && pending.command_line != 0) {
    context.pending_responses().push_back(pending);
  }
}

void FinishActiveResponses(ParseContext& context) {
  const Config& config = context.config();
  std::map<std::string, const CommandConfig*> commands;
  for (const CommandConfig& command : config.commands) commands[command.name] = &command;

  for (const PendingResponse& pending : context.pending_responses()) {
    const ActiveResponseConfig& response = config.active_responses[pending.index];
    auto it = commands.find(response.command);
    if (it == commands.end()) {
      context.ErrorAt(pending.command_line, "<command>: '" + response.command +
                                                "' is not defined by any <command> block");
      continue;
    }
    if (response.timeout_seconds > 0 && !it->second->timeout_allowed) {
      context.ErrorAt(pending.timeout_line,
                      "<timeout>: command '" + response.command +
                          "' does not allow a timeout; set <timeout_allowed>yes"
                          "</timeout_allowed> in its <command> block or remove the timeout");
    }
  }

  // Two responses may share a name when they run the same command with the same timeout:
  // OSSEC names responses <command><timeout>, so configs that bind one command to several rule
  // sets produce such twins, and they share one line of the response table.
  std::map<std::string, const ActiveResponseConfig*> names;
  for (const ActiveResponseConfig& response : config.active_responses) {
    if (response.disabled) continue;
    auto [it, inserted] = names.emplace(response.name, &response);
    if (inserted) continue;
    const ActiveResponseConfig& first = *it->second;
    if (first.command == response.command && first.timeout_seconds == response.timeout_seconds &&
        first.simulate == response.simulate) {
      continue;
    }
    context.ErrorAt(response.source.line,
                    "<active-response>: the name '" + response.name +
                        "' is already used by the response at " + first.source.file + ":" +
                        std::to_string(first.source.line) +
                        " with a different command, timeout or simulate setting; give one of "
                        "them a different <name>");
  }
}

}  // namespace vigil::config::internal
