#include "response/table.h"

#include <algorithm>

#include "common/text.h"
#include "response/address.h"

namespace vigil::response {
namespace {

constexpr std::string_view kSeparator = " - ";

std::string Where(const config::SourceRef& source) {
  if (source.file.empty()) return "";
  return source.file + ":" + std::to_string(source.line) + ": ";
}

}  // namespace

std::string DefaultResponseName(const config::ActiveResponseConfig& response) {
  return response.command + std::to_string(response.timeout_seconds);
}

std::string ResponseName(const config::ActiveResponseConfig& response) {
  return response.name.empty() ? DefaultResponseName(response) : response.name;
}

bool IsValidExecutableName(std::string_view executable) {
  if (executable.empty() || executable == "." || executable == "..") return false;
  if (executable.find('/') != std::string_view::npos) return false;
  if (executable.find(kSeparator) != std::string_view::npos) return false;
  return std::none_of(executable.begin(), executable.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool ResponseTable::Add(TableEntry entry) {
  for (const TableEntry& existing : entries_) {
    if (existing.name == entry.name) return existing == entry;
  }
  entries_.push_back(std::move(entry));
  return true;
}

ResponseTable ResponseTable::FromConfig(const config::Config& config,
                                        std::vector<std::string>* errors) {
  ResponseTable table;
  for (const config::ActiveResponseConfig& response : config.active_responses) {
    if (response.disabled) continue;
    const std::string where = Where(response.source);
    const std::string name = ResponseName(response);
    auto command = std::find_if(config.commands.begin(), config.commands.end(),
                                [&](const auto& c) { return c.name == response.command; });
    if (command == config.commands.end()) {
      errors->push_back(where + "<active-response> '" + name + "' names command '" +
                        response.command + "', which is not defined");
      continue;
    }
    if (!IsValidExecutableName(command->executable)) {
      errors->push_back(Where(command->source) + "<command> '" + command->name + "': executable '" +
                        command->executable + "' must be a file name in the responses folder");
      continue;
    }
    if (Trim(name) != name || !IsValidTextArgument(name)) {
      errors->push_back(where + "<active-response>: invalid name '" + name + "'");
      continue;
    }
    TableEntry entry;
    entry.name = name;
    entry.executable = command->executable;
    entry.timeout_seconds = response.timeout_seconds;
    entry.options.expect_srcip = command->expect_srcip;
    entry.options.expect_user = command->expect_user;
    entry.options.expect_filename = command->expect_filename;
    entry.options.json_stdin = command->json_stdin;
    entry.options.refresh_on_extend = command->refresh_on_extend;
    entry.options.simulate = response.simulate;
    entry.options.repeated_offenders_minutes = response.repeated_offenders_minutes;
    if (!table.Add(entry)) {
      errors->push_back(where + "<active-response> '" + name +
                        "' is defined twice with different commands or timeouts; give one of "
                        "them a <name>");
    }
  }
  return table;
}

ResponseTable ResponseTable::Parse(std::string_view text, std::vector<std::string>* errors) {
  ResponseTable table;
  int line_number = 0;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (Trim(line).empty() || Trim(line).front() == '#') continue;
    const std::string prefix = "line " + std::to_string(line_number) + ": ";
    const size_t last = line.rfind(kSeparator);
    const size_t middle = last == std::string_view::npos || last == 0
                              ? std::string_view::npos
                              : line.rfind(kSeparator, last - 1);
    if (middle == std::string_view::npos || middle == 0) {
      errors->push_back(prefix + "expected '<name> - <executable> - <timeout>'");
      continue;
    }
    TableEntry entry;
    entry.name = std::string(line.substr(0, middle));
    entry.executable =
        std::string(line.substr(middle + kSeparator.size(), last - middle - kSeparator.size()));
    uint64_t timeout = 0;
    if (!ParseUint(Trim(line.substr(last + kSeparator.size())), &timeout) ||
        timeout > 100'000'000) {
      errors->push_back(prefix + "invalid timeout in '" + std::string(line) + "'");
      continue;
    }
    entry.timeout_seconds = static_cast<int>(timeout);
    if (!IsValidExecutableName(entry.executable) || entry.executable.find("..") == 0) {
      errors->push_back(prefix + "invalid executable '" + entry.executable + "'");
      continue;
    }
    if (!table.Add(entry)) {
      errors->push_back(prefix + "response '" + entry.name +
                        "' is listed again with a different executable or timeout; the first "
                        "line is used");
    }
  }
  return table;
}

std::string ResponseTable::Format() const {
  std::string text;
  for (const TableEntry& entry : entries_) {
    text += entry.name;
    text += kSeparator;
    text += entry.executable;
    text += kSeparator;
    text += std::to_string(entry.timeout_seconds);
    text += '\n';
  }
  return text;
}

const TableEntry* ResponseTable::Find(std::string_view name) const {
  for (const TableEntry& entry : entries_) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

std::string ResponseTable::MatchNamePrefix(std::string_view text) const {
  std::string best;
  for (const TableEntry& entry : entries_) {
    if (entry.name.size() <= best.size()) continue;
    if (text.substr(0, entry.name.size()) != entry.name) continue;
    if (text.size() == entry.name.size() || text[entry.name.size()] == ' ') best = entry.name;
  }
  return best;
}

void ResponseTable::Put(TableEntry entry) {
  for (TableEntry& existing : entries_) {
    if (existing.name == entry.name) {
      existing = std::move(entry);
      return;
    }
  }
  entries_.push_back(std::move(entry));
}

void ResponseTable::MergeOptionsFrom(const ResponseTable& source) {
  for (TableEntry& entry : entries_) {
    if (const TableEntry* other = source.Find(entry.name)) entry.options = other->options;
  }
}

}  // namespace vigil::response
