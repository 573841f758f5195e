#include "config/xml.h"

#include <algorithm>
#include <pugixml.hpp>

namespace vigil::config {
namespace {

// Stands in for a `<` that follows a backslash while pugixml parses; it never occurs in text
// files that Vigil reads (SanitizeText-style checks reject control bytes in rule files first).
constexpr char kEscapedLess = '\x01';

class LineIndex {
 public:
  explicit LineIndex(std::string_view content) {
    for (size_t i = 0; i < content.size(); ++i) {
      if (content[i] == '\n') line_starts_.push_back(i + 1);
    }
  }
  int LineOf(ptrdiff_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(),
                               static_cast<size_t>(std::max<ptrdiff_t>(offset, 0)));
    return static_cast<int>(it - line_starts_.begin()) + 1;
  }

 private:
  std::vector<size_t> line_starts_;
};

std::string RestoreEscapes(const char* text) {
  std::string out(text);
  std::replace(out.begin(), out.end(), kEscapedLess, '<');
  return out;
}

XmlNode Convert(const pugi::xml_node& node, const LineIndex& lines) {
  XmlNode out;
  out.name = node.name();
  out.line = lines.LineOf(node.offset_debug());
  for (const pugi::xml_attribute& attribute : node.attributes()) {
    out.attributes.emplace_back(attribute.name(), RestoreEscapes(attribute.value()));
  }
  for (const pugi::xml_node& child : node.children()) {
    if (child.type() == pugi::node_element) {
      out.children.push_back(Convert(child, lines));
    } else if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata) {
      out.text += RestoreEscapes(child.value());
    }
  }
  return out;
}

}  // namespace

const std::string* XmlNode::Attribute(std::string_view attribute_name) const {
  for (const auto& [key, value] : attributes) {
    if (key == attribute_name) return &value;
  }
  return nullptr;
}

Expected<std::vector<XmlNode>> ParseXml(std::string_view content, const std::string& file_name) {
  std::string buffer(content);
  for (size_t i = 0; i < buffer.size(); ++i) {
    if (buffer[i] == kEscapedLess) {
      LineIndex lines(buffer);
      return Status::ParseError(file_name + ":" + std::to_string(lines.LineOf(i)) +
                                ": invalid control character 0x01 in XML file");
    }
    if (buffer[i] == '<' && i > 0 && buffer[i - 1] == '\\') buffer[i] = kEscapedLess;
  }
  LineIndex lines(buffer);
  pugi::xml_document document;
  unsigned flags =
      (pugi::parse_default & ~pugi::parse_escapes) | pugi::parse_fragment | pugi::parse_ws_pcdata;
  pugi::xml_parse_result result =
      document.load_buffer(buffer.data(), buffer.size(), flags, pugi::encoding_utf8);
  if (!result) {
    return Status::ParseError(file_name + ":" + std::to_string(lines.LineOf(result.offset)) +
                              ": invalid XML: " + result.description());
  }
  std::vector<XmlNode> nodes;
  for (const pugi::xml_node& child : document.children()) {
    if (child.type() == pugi::node_element) {
      nodes.push_back(Convert(child, lines));
    }
    // Text between top-level elements is skipped, as OSSEC's parser does: stock decoder files
    // contain it where a comment was closed early by a nested `<!-- ... -->`.
  }
  return nodes;
}

std::string Where(const std::string& file_name, const XmlNode& node) {
  return file_name + ":" + std::to_string(node.line) + ": ";
}

}  // namespace vigil::config
