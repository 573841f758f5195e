// The response table: which program and timeout each active response name stands for.
//
// On disk it is OSSEC's ar.conf, one line per response: `<name> - <executable> - <timeout>`.
// Names may contain dashes and spaces, because a line is split at its last two " - "
// separators; an executable therefore may not contain " - ".
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/config.h"

namespace vigil::response {

// Settings of one response that ar.conf does not carry; they come from the configuration.
struct ResponseOptions {
  bool expect_srcip = false;
  bool expect_user = false;
  bool expect_filename = false;
  bool json_stdin = false;         // write Wazuh's JSON message to the program's stdin
  bool simulate = false;           // record what would run, run nothing
  bool refresh_on_extend = false;  // run "add" again when a pending block is extended
  std::vector<int> repeated_offenders_minutes;
};

struct TableEntry {
  std::string name;
  std::string executable;   // file name in the responses folder
  int timeout_seconds = 0;  // 0: never undone
  ResponseOptions options;

  bool operator==(const TableEntry& other) const {
    return name == other.name && executable == other.executable &&
           timeout_seconds == other.timeout_seconds;
  }
};

// Returns OSSEC's name for a response without a `name` element: command name plus timeout.
std::string DefaultResponseName(const config::ActiveResponseConfig& response);

// Returns the response's name: its `name`, or DefaultResponseName().
std::string ResponseName(const config::ActiveResponseConfig& response);

// Returns true when `executable` is a plain file name: not empty, no '/', not "." or "..",
// no " - " (the ar.conf separator) and no control character.
bool IsValidExecutableName(std::string_view executable);

class ResponseTable {
 public:
  // Builds the table from the enabled responses of `config`, in configuration order.
  // Responses that share a name must agree on executable and timeout; a response naming an
  // unknown command or an invalid executable is left out. Each problem is appended to
  // `*errors` as "FILE:LINE: message".
  static ResponseTable FromConfig(const config::Config& config, std::vector<std::string>* errors);

  // Parses ar.conf text. Lines that do not parse are skipped and reported in `*errors` as
  // "line N: message"; duplicate names keep the first line.
  static ResponseTable Parse(std::string_view text, std::vector<std::string>* errors);

  // Returns the ar.conf text: one line per entry, in table order, ending with a newline.
  std::string Format() const;

  const TableEntry* Find(std::string_view name) const;

  // Returns the longest entry name that `text` starts with and that is followed by a space
  // or the end of `text`, or an empty string. Used to read names that contain spaces.
  std::string MatchNamePrefix(std::string_view text) const;

  // Adds `entry`, or replaces the entry of the same name in place.
  void Put(TableEntry entry);

  // Copies options from `source` for every entry whose name it also has.
  void MergeOptionsFrom(const ResponseTable& source);

  const std::vector<TableEntry>& entries() const { return entries_; }

 private:
  // Adds `entry` unless its name exists; returns false when the existing entry differs.
  bool Add(TableEntry entry);

  std::vector<TableEntry> entries_;
};

}  // namespace vigil::response
