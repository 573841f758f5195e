// Shared state and value parsers for the section readers of the configuration loader.
// Internal to src/config.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/loader.h"
#include "config/xml.h"

namespace vigil::config::internal {

// An <active-response> whose <command> is checked once every block has been read, because the
// command may be defined after the response.
struct PendingResponse {
  size_t index = 0;      // into Config::active_responses
  int command_line = 0;  // line of its <command> element
  int timeout_line = 0;  // line of its <timeout> element, 0 when absent
};

// Collects errors and warnings while one configuration file is read. Every message starts
// with "FILE:LINE: <element>: ".
class ParseContext {
 public:
  ParseContext(std::string file_name, const LoadOptions& options, Config* config)
      : file_name_(std::move(file_name)), options_(options), config_(config) {}

  const std::string& file_name() const { return file_name_; }
  const std::string& base_dir() const { return options_.base_dir; }
  bool access_files() const { return options_.access_files; }
  Config& config() { return *config_; }
  const std::vector<std::string>& errors() const { return errors_; }
  std::vector<PendingResponse>& pending_responses() { return pending_responses_; }
  // Set once a <decoder> or <decoder_dir> is read: the default decoder files are then skipped.
  bool decoders_configured() const { return decoders_configured_; }
  void set_decoders_configured() { decoders_configured_ = true; }

  SourceRef SourceOf(const XmlNode& node) const { return {file_name_, node.line}; }

  // Records "FILE:LINE: <name>: message".
  void Error(const XmlNode& node, std::string_view message);
  // Records "FILE:LINE: message" for a problem not tied to one element.
  void ErrorAt(int line, std::string_view message);
  // Records the warning "FILE:LINE: <name> is not supported by Vigil and is ignored", once
  // per `key` (a section or element path such as "global/email_to").
  void WarnUnsupported(const XmlNode& node, const std::string& key);
  void Warning(const XmlNode& node, std::string_view message);

  // Records an error for an element that is not allowed inside `parent`.
  void UnknownElement(const XmlNode& parent, const XmlNode& child);

  // Returns the trimmed text of an element that must hold only text.
  std::optional<std::string> Text(const XmlNode& node);
  // Like Text, and the text must not be empty.
  std::optional<std::string> NonEmptyText(const XmlNode& node);
  // Parses `yes` or `no`.
  std::optional<bool> YesNo(const XmlNode& node);
  // Parses a decimal number from `min` to `max`.
  std::optional<int> Number(const XmlNode& node, int min, int max);

  // Resolves a path against the config folder. For OSSEC configs kept in an `etc` folder, whose
  // paths are written relative to the install folder above it, the parent folder is used
  // instead when the path exists only there.
  std::string ResolveConfigPath(const std::string& path) const;

 private:
  std::string file_name_;
  const LoadOptions& options_;
  Config* config_;
  std::vector<std::string> errors_;
  std::set<std::string> warned_;
  std::vector<PendingResponse> pending_responses_;
  bool decoders_configured_ = false;
};

// Returns `value` in single quotes for a message, with control bytes as \xHH and long values
// cut after 80 bytes.
std::string Quote(std::string_view value);

// Returns true when `text` is an IPv4 or IPv6 address, followed by "/PREFIX" (at most 32 or
// 128) when `allow_prefix` is set.
bool IsValidIp(std::string_view text, bool allow_prefix);

// Removes "." segments and repeated slashes, so that "<bundled>/rules/." and "<bundled>/rules"
// name the same folder. ".." is kept, because it may follow a symbolic link.
std::string NormalizePath(const std::string& path);

// Section readers; each records its problems in `context`.
void ReadGlobal(ParseContext& context, const XmlNode& node);
void ReadAlerts(ParseContext& context, const XmlNode& node);
void ReadRules(ParseContext& context, const XmlNode& node);
void ReadPaths(ParseContext& context, const XmlNode& node);
void ReadLocalFile(ParseContext& context, const XmlNode& node);
void ReadRemote(ParseContext& context, const XmlNode& node);
void ReadClient(ParseContext& context, const XmlNode& node);
void ReadCommand(ParseContext& context, const XmlNode& node);
void ReadActiveResponse(ParseContext& context, const XmlNode& node);

// Checks what needs the whole file: commands named by responses, names, default decoders.
void FinishActiveResponses(ParseContext& context);
void FinishRules(ParseContext& context);

// Reads internal_options.conf and local_internal_options.conf from `dir` when they exist.
// Errors name "FILE:LINE: KEY: ..." and are appended to `errors`.
void ReadInternalOptions(const std::string& dir, InternalOptions* options,
                         std::vector<std::string>* errors);

}  // namespace vigil::config::internal
