// Reader for <rules>: rule, decoder and list files, and the folders scanned for them.
#include <algorithm>

#include "analysis/pattern/pattern.h"
#include "common/file.h"
#include "common/text.h"
#include "config/parse_context.h"

namespace vigil::config::internal {
namespace {

// Pattern of <rule_dir> and <decoder_dir> when the element has no `pattern` attribute.
constexpr std::string_view kDefaultFilePattern = ".xml$";

enum class FileKind { kRules, kDecoders };

std::vector<std::string>& FilesOf(ParseContext& context, FileKind kind) {
  RulesConfig& rules = context.config().rules;
  return kind == FileKind::kRules ? rules.rule_files : rules.decoder_files;
}

const char* KindName(FileKind kind) { return kind == FileKind::kRules ? "rule" : "decoder"; }

bool IsListed(const std::vector<std::string>& files, const std::string& path) {
  return std::find(files.begin(), files.end(), path) != files.end();
}

// Resolves an <include> or <rule> name. A bare file name is looked up in the rules/ folder
// beside the config (where OSSEC keeps its rule files), then in the config folder itself (as in
// the bundled ruleset). Records an error and returns nothing when the file does not exist.
std::optional<std::string> ResolveRuleFile(ParseContext& context, const XmlNode& node,
                                           const std::string& name) {
  if (name.find('/') != std::string::npos) {
    std::string path = context.ResolveConfigPath(name);
    if (!context.access_files() || FileExists(path)) return path;
    context.Error(node, "rule file not found: '" + path + "'");
    return std::nullopt;
  }
  std::string in_rules = NormalizePath(ResolvePath(context.base_dir(), "rules/" + name));
  if (!context.access_files() || FileExists(in_rules)) return in_rules;
  std::string beside = NormalizePath(ResolvePath(context.base_dir(), name));
  if (FileExists(beside)) return beside;
  context.Error(node,
                "rule file not found: neither '" + in_rules + "' nor '" + beside + "' exists");
  return std::nullopt;
}

// Adds a file named explicitly. A file already listed is skipped with a warning.
void AddNamedFile(ParseContext& context, const XmlNode& node, FileKind kind,
                  const std::string& path) {
  std::vector<std::string>& files = FilesOf(context, kind);
  if (IsListed(files, path)) {
    context.Warning(node, std::string(KindName(kind)) + " file '" + path +
                              "' is already listed and is loaded once");
    return;
  }
  files.push_back(path);
}

// Adds the files of a folder whose "DIR/NAME" (DIR as written) matches the element's `pattern`
// attribute, in byte order of their names, skipping files already listed.
void AddFolder(ParseContext& context, const XmlNode& node, FileKind kind) {
  std::optional<std::string> dir = context.NonEmptyText(node);
  if (!dir) return;
  const std::string* pattern_attribute = node.Attribute("pattern");
  std::string_view pattern_text =
      pattern_attribute != nullptr ? std::string_view(*pattern_attribute) : kDefaultFilePattern;
  Expected<analysis::Pattern> pattern =
      analysis::Pattern::Compile(analysis::PatternSyntax::kOsRegex, pattern_text);
  if (!pattern.ok()) {
    context.Error(node, "invalid pattern attribute " + Quote(pattern_text) + ": " +
                            pattern.status().message());
    return;
  }
  if (!context.access_files()) return;

  std::string path = context.ResolveConfigPath(*dir);
  Expected<std::vector<std::string>> names = ListDirectory(path);
  if (!names.ok()) {
    context.Error(node, "cannot list the " + std::string(KindName(kind)) +
                            " folder: " + names.status().message());
    return;
  }
  std::vector<std::string>& files = FilesOf(context, kind);
  for (const std::string& name : *names) {
    std::string subject = *dir + "/" + name;
    SanitizeText(&subject);  // patterns match valid UTF-8 only, and file names may be any bytes
    if (!pattern->Search(subject)) continue;
    std::string file = NormalizePath(ResolvePath(path, name));
    if (!IsListed(files, file)) files.push_back(file);
  }
}

void ReadRuleFile(ParseContext& context, const XmlNode& node) {
  std::optional<std::string> name = context.NonEmptyText(node);
  if (!name) return;
  std::optional<std::string> path = ResolveRuleFile(context, node, *name);
  if (path) AddNamedFile(context, node, FileKind::kRules, *path);
}

// Reads an element naming an existing file relative to the config folder; records an error
// naming `what` ("decoder file") when the file is absent.
std::optional<std::string> ExistingFile(ParseContext& context, const XmlNode& node,
                                        std::string_view what) {
  std::optional<std::string> name = context.NonEmptyText(node);
  if (!name) return std::nullopt;
  std::string path = context.ResolveConfigPath(*name);
  if (context.access_files() && !FileExists(path)) {
    context.Error(node, std::string(what) + " not found: '" + path + "'");
    return std::nullopt;
  }
  return path;
}

void ReadDecoderFile(ParseContext& context, const XmlNode& node) {
  std::optional<std::string> path = ExistingFile(context, node, "decoder file");
  if (path) AddNamedFile(context, node, FileKind::kDecoders, *path);
}

// A list is the text file `path` or, as OSSEC reads it, its compiled form `path.cdb`.
void ReadList(ParseContext& context, const XmlNode& node) {
  std::optional<std::string> name = context.NonEmptyText(node);
  if (!name) return;
  std::string path = context.ResolveConfigPath(*name);
  if (context.access_files() && !FileExists(path) && !FileExists(path + ".cdb")) {
    context.Error(node, "list not found: neither '" + path + "' nor '" + path + ".cdb' exists");
    return;
  }
  context.config().rules.lists.push_back({path, context.SourceOf(node)});
}

}  // namespace

void ReadRules(ParseContext& context, const XmlNode& node) {
  RulesConfig& rules = context.config().rules;
  if (rules.source.line == 0) rules.source = context.SourceOf(node);
  for (const XmlNode& child : node.children) {
    const std::string& name = child.name;
    if (name == "include" || name == "rule") {
      ReadRuleFile(context, child);
    } else if (name == "rule_dir") {
      AddFolder(context, child, FileKind::kRules);
    } else if (name == "decoder") {
      context.set_decoders_configured();
      ReadDecoderFile(context, child);
    } else if (name == "decoder_dir") {
      context.set_decoders_configured();
      AddFolder(context, child, FileKind::kDecoders);
    } else if (name == "list") {
      ReadList(context, child);
    } else {
      context.UnknownElement(node, child);
    }
  }
}

void FinishRules(ParseContext& context) {
  if (context.decoders_configured() || !context.access_files()) return;
  // Without any <decoder> or <decoder_dir>, OSSEC loads etc/decoder.xml and
  // etc/local_decoder.xml; here they are looked up beside the config file.
  for (const char* name : {"decoder.xml", "local_decoder.xml"}) {
    std::string path = NormalizePath(ResolvePath(context.base_dir(), name));
    if (FileExists(path)) context.config().rules.decoder_files.push_back(path);
  }
}

}  // namespace vigil::config::internal
