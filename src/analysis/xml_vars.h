// OSSEC's <var> substitution for rule and decoder files.
#pragma once

#include <string>
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

}  // namespace vigil::analysis
