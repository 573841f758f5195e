#include "analysis/xml_vars.h"

#include <map>

#include "common/file.h"

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

}  // namespace vigil::analysis
