// XML reading for OSSEC's configuration, decoder and rule files.
//
// OSSEC's own XML parser differs from standard XML, and real files depend on that: a file may
// hold several top-level elements, `&` is literal (no entity decoding), and a backslash before
// `<` inside content keeps the `<` as text (`\<script`). ParseXml accepts exactly that dialect
// and keeps the line of every element for error messages.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace vigil::config {

struct XmlNode {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attributes;
  // Concatenated character data of the element, untrimmed; `\<` stays as written.
  std::string text;
  std::vector<XmlNode> children;
  int line = 0;  // 1-based line of the start tag

  // Returns the attribute's value, or nullptr when it is absent.
  const std::string* Attribute(std::string_view attribute_name) const;
};

// Parses a whole file into its top-level elements. `file_name` is used in error messages,
// which have the form "FILE:LINE: what is wrong".
Expected<std::vector<XmlNode>> ParseXml(std::string_view content, const std::string& file_name);

// Returns "FILE:LINE: " for messages about `node`.
std::string Where(const std::string& file_name, const XmlNode& node);

}  // namespace vigil::config
