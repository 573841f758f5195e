// OSSEC's <var> substitution for rule and decoder files, and checks shared by their loaders.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "config/xml.h"

namespace vigil::analysis {

// Removes every top-level <var name="X">value</var> from `nodes` and replaces `$X` in the text
// and attribute values of the elements after it. A `$` not followed by a defined name stays as
// written, because `$` is also the end anchor of patterns.
Status ApplyVariables(std::vector<config::XmlNode>* nodes, const std::string& file);

// Reads a decoder or rule file, parses it as OSSEC XML and applies its <var> definitions.
// Errors name the file (and the line, for XML errors).
Expected<std::vector<config::XmlNode>> ReadRulesXml(const std::string& file);

// Returns ". For a PCRE2 pattern, write <V>", where V is the PCRE2 variant of pattern element
// `element` (lowercase): <pcre2> for <regex>, <X_pcre2> for <X>. Empty when it has none.
std::string Pcre2VariantHint(std::string_view element);

// Returns a warning for each attribute of `element` not in `known`. OSSEC ignores such
// attributes, and so does Vigil, but a rule written for Wazuh may mean something else by them:
// `type="pcre2"` on a pattern element, or `negate="yes"`. `where` starts each warning
// ("FILE:LINE: ").
std::vector<std::string> IgnoredAttributeWarnings(const std::string& where,
                                                  const config::XmlNode& element,
                                                  std::initializer_list<std::string_view> known);

}  // namespace vigil::analysis
