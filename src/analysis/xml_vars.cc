#include "analysis/xml_vars.h"

#include <algorithm>
#include <map>

#include "common/file.h"
#include "common/text.h"

namespace vigil::analysis {
namespace {

bool IsNameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool IsNameChar(char c) { return IsNameStart(c) || (c >= '0' && c <= '9'); }

void Substitute(std::string* text, const std::map<std::string, std::string, std::less<>>& vars) {
  if (text->find('$') == std::string::npos) return;
  std::string out;
  out.reserve(text->size());
  size_t i = 0;
  while (i < text->size()) {
    char c = (*text)[i];
    if (c == '$' && i + 1 < text->size() && IsNameStart((*text)[i + 1])) {
      size_t end = i + 1;
      while (end < text->size() && IsNameChar((*text)[end])) ++end;
      auto it = vars.find(std::string_view(*text).substr(i + 1, end - i - 1));
      if (it != vars.end()) {
        out += it->second;
        i = end;
        continue;
      }
    }
    out += c;
    ++i;
  }
  text->swap(out);
}

void SubstituteTree(config::XmlNode* node,
                    const std::map<std::string, std::string, std::less<>>& vars) {
  Substitute(&node->text, vars);
  for (auto& [key, value] : node->attributes) Substitute(&value, vars);
  for (auto& child : node->children) SubstituteTree(&child, vars);
}

}  // namespace

Expected<std::vector<config::XmlNode>> ReadRulesXml(const std::string& file) {
  Expected<std::string> content = ReadFile(file);
  if (!content.ok()) return content.status();
  Expected<std::vector<config::XmlNode>> nodes = config::ParseXml(*content, file);
  if (!nodes.ok()) return nodes.status();
  VIGIL_RETURN_IF_ERROR(ApplyVariables(&*nodes, file));
  return nodes;
}

Status ApplyVariables(std::vector<config::XmlNode>* nodes, const std::string& file) {
  std::map<std::string, std::string, std::less<>> vars;
  std::vector<config::XmlNode> kept;
  kept.reserve(nodes->size());
  for (auto& node : *nodes) {
    if (node.name == "var") {
      const std::string* name = node.Attribute("name");
      if (name == nullptr || name->empty()) {
        return Status::ParseError(config::Where(file, node) + "<var> needs a name attribute");
      }
      vars[*name] = node.text;
      continue;
    }
    if (!vars.empty()) SubstituteTree(&node, vars);
    kept.push_back(std::move(node));
  }
  nodes->swap(kept);
  return Status::Ok();
}

std::string Pcre2VariantHint(std::string_view element) {
  // The pattern elements that have a PCRE2 variant.
  static constexpr std::string_view kPatternElements[] = {
      "regex",  "match",    "prematch",   "program_name", "user",    "id",       "url",
      "status", "hostname", "extra_data", "srcport",      "dstport", "srcgeoip", "dstgeoip"};
  if (std::find(std::begin(kPatternElements), std::end(kPatternElements), element) ==
      std::end(kPatternElements)) {
    return "";
  }
  std::string variant = element == "regex" ? "pcre2" : std::string(element) + "_pcre2";
  return ". For a PCRE2 pattern, write <" + variant + ">";
}

std::vector<std::string> IgnoredAttributeWarnings(const std::string& where,
                                                  const config::XmlNode& element,
                                                  std::initializer_list<std::string_view> known) {
  std::string name = ToLower(element.name);
  std::string hint = Pcre2VariantHint(name);
  std::vector<std::string> warnings;
  for (const auto& [key, value] : element.attributes) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string warning = where + "attribute " + key + "=\"" + value + "\" of <" + element.name +
                          "> is ignored, as OSSEC ignores it";
    if (key == "type" && !hint.empty()) {
      bool os_regex = name == "regex" || name == "prematch";
      warning +=
          std::string("; the pattern is read as ") + (os_regex ? "OS_Regex" : "OS_Match") + hint;
    } else if (key == "negate") {
      warning += "; the condition is not negated";
    }
    warnings.push_back(std::move(warning));
  }
  return warnings;
}

}  // namespace vigil::analysis
