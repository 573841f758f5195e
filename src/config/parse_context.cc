#include "config/parse_context.h"

#include <algorithm>
#include <filesystem>

#include "common/file.h"
#include "common/text.h"

namespace vigil::config::internal {
namespace {

// Values longer than this are cut in messages, so that one error stays one readable line.
constexpr size_t kMaxQuotedBytes = 80;

bool FileOrFolderExists(const std::string& path) {
  std::error_code ignored;
  return FileExists(path) || std::filesystem::is_directory(path, ignored);
}

}  // namespace

std::string Quote(std::string_view value) {
  std::string out = "'";
  size_t shown = std::min(value.size(), kMaxQuotedBytes);
  for (size_t i = 0; i < shown; ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (shown < value.size()) out += "...";
  out += "'";
  return out;
}

void ParseContext::Error(const XmlNode& node, std::string_view message) {
  errors_.push_back(Where(file_name_, node) + "<" + node.name + ">: " + std::string(message));
}

void ParseContext::ErrorAt(int line, std::string_view message) {
  errors_.push_back(file_name_ + ":" + std::to_string(line) + ": " + std::string(message));
}

void ParseContext::WarnUnsupported(const XmlNode& node, const std::string& key) {
  if (!warned_.insert(key).second) return;
  config_->warnings.push_back(Where(file_name_, node) + "<" + node.name +
                              "> is not supported by Vigil and is ignored");
}

void ParseContext::Warning(const XmlNode& node, std::string_view message) {
  config_->warnings.push_back(Where(file_name_, node) + "<" + node.name +
                              ">: " + std::string(message));
}

void ParseContext::UnknownElement(const XmlNode& parent, const XmlNode& child) {
  Error(child, "unknown element inside <" + parent.name + ">");
}

std::optional<std::string> ParseContext::Text(const XmlNode& node) {
  if (!node.children.empty()) {
    Error(node, "expected text, found the element <" + node.children.front().name + ">");
    return std::nullopt;
  }
  return std::string(Trim(node.text));
}

std::optional<std::string> ParseContext::NonEmptyText(const XmlNode& node) {
  std::optional<std::string> text = Text(node);
  if (text && text->empty()) {
    Error(node, "expected a value, got an empty element");
    return std::nullopt;
  }
  return text;
}

std::optional<bool> ParseContext::YesNo(const XmlNode& node) {
  std::optional<std::string> text = Text(node);
  if (!text) return std::nullopt;
  if (*text == "yes") return true;
  if (*text == "no") return false;
  Error(node, "expected yes or no, got " + Quote(*text));
  return std::nullopt;
}

std::optional<int> ParseContext::Number(const XmlNode& node, int min, int max) {
  std::optional<std::string> text = Text(node);
  if (!text) return std::nullopt;
  uint64_t value = 0;
  if (!ParseUint(*text, &value) || value < static_cast<uint64_t>(min) ||
      value > static_cast<uint64_t>(max)) {
    Error(node, "expected a number from " + std::to_string(min) + " to " + std::to_string(max) +
                    ", got " + Quote(*text));
    return std::nullopt;
  }
  return static_cast<int>(value);
}

std::string ParseContext::ResolveConfigPath(const std::string& path) const {
  std::string resolved = NormalizePath(ResolvePath(base_dir(), path));
  if (!access_files() || resolved.starts_with(kBundledPrefix) || FileOrFolderExists(resolved)) {
    return resolved;
  }
  // OSSEC writes <decoder>, <list> and folder paths relative to its install folder, which is
  // the parent of the etc/ folder that contains ossec.conf.
  std::string dir = NormalizePath(base_dir());
  size_t slash = dir.rfind('/');
  std::string_view last =
      slash == std::string::npos ? std::string_view(dir) : std::string_view(dir).substr(slash + 1);
  if (last != "etc") return resolved;
  std::string parent = NormalizePath(ResolvePath(DirName(dir), path));
  if (FileOrFolderExists(parent)) return parent;
  return resolved;
}

std::string NormalizePath(const std::string& path) {
  if (path.empty()) return path;
  std::string prefix;
  std::string_view rest = path;
  if (rest.starts_with(kBundledPrefix)) {
    prefix = std::string(kBundledPrefix);
    rest.remove_prefix(kBundledPrefix.size());
  } else if (rest.front() == '/') {
    prefix = "/";
  }
  std::string out;
  size_t pos = 0;
  while (pos <= rest.size()) {
    size_t next = rest.find('/', pos);
    if (next == std::string_view::npos) next = rest.size();
    std::string_view segment = rest.substr(pos, next - pos);
    if (!segment.empty() && segment != ".") {
      if (!out.empty()) out += '/';
      out += segment;
    }
    pos = next + 1;
  }
  if (out.empty()) {
    if (prefix == "/") return "/";
    if (!prefix.empty()) return prefix.substr(0, prefix.size() - 1);
    return ".";
  }
  return prefix + out;
}

}  // namespace vigil::config::internal
