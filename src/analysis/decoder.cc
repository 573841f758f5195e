#include "analysis/decoder.h"

#include <atomic>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>

#include "analysis/xml_vars.h"
#include "common/file.h"
#include "common/text.h"
#include "config/xml.h"

namespace vigil::analysis {
namespace {

using config::Where;
using config::XmlNode;

constexpr std::pair<std::string_view, Category> kCategories[] = {
    {"syslog", Category::kSyslog},
    {"firewall", Category::kFirewall},
    {"ids", Category::kIds},
    {"web-log", Category::kWebLog},
    {"squid", Category::kSquid},
    {"windows", Category::kWindows},
    {"host-information", Category::kHostInformation},
    {"ossec", Category::kOssec},
};

// Text of the repeated pattern elements of one decoder, concatenated as OSSEC does.
struct PatternText {
  std::string text;
  PatternSyntax syntax = PatternSyntax::kOsRegex;
  bool seen = false;
  bool mixed = false;
  std::string offset;
  int line = 0;
  int later_offset_line = 0;  // of an element after the first that has an offset, or 0

  void Append(const XmlNode& node, PatternSyntax node_syntax) {
    if (seen && syntax != node_syntax) mixed = true;
    const std::string* node_offset = node.Attribute("offset");
    if (!seen) {
      line = node.line;
      if (node_offset != nullptr) offset = *node_offset;
    } else if (node_offset != nullptr && later_offset_line == 0) {
      later_offset_line = node.line;
    }
    syntax = node_syntax;
    seen = true;
    text += node.text;
  }
};

class DecoderLoader {
 public:
  DecoderLoader(const DecoderOptions& options, std::vector<std::unique_ptr<Decoder>>* all,
                std::vector<std::string>* warnings)
      : options_(options), all_(all), warnings_(warnings) {}

  void LoadFile(const std::string& file) {
    Expected<std::vector<XmlNode>> nodes = ReadRulesXml(file);
    if (!nodes.ok()) {
      errors_.push_back(nodes.status().message());
      return;
    }
    for (const XmlNode& node : *nodes) {
      if (node.name != "decoder") {
        errors_.push_back(Where(file, node) + "<" + node.name +
                          "> is not allowed here, expected <decoder>");
        continue;
      }
      LoadDecoder(file, node);
    }
  }

  std::vector<std::string>& errors() { return errors_; }

  // Adds the decoders OSSEC defines in code for syscheck, rootcheck and host information
  // events, so that rules can name them in <decoded_as>. They never match ordinary logs.
  void AddBuiltins() {
    static constexpr const char* kBuiltins[] = {"rootcheck",
                                                "syscheck_integrity_changed",
                                                "syscheck_integrity_changed_2nd",
                                                "syscheck_integrity_changed_3rd",
                                                "syscheck_new_entry",
                                                "syscheck_deleted",
                                                "hostinfo_new",
                                                "hostinfo_modified"};
    for (const char* name : kBuiltins) {
      auto decoder = std::make_unique<Decoder>();
      decoder->name = name;
      decoder->id = IdFor(name);
      decoder->builtin = true;
      decoder->type = Category::kOssec;
      all_->push_back(std::move(decoder));
    }
  }

 private:
  Expected<Pattern> CompilePattern(const std::string& file, int line, const char* element,
                                   PatternSyntax syntax, const std::string& text) {
    Expected<Pattern> pattern = Pattern::Compile(syntax, text);
    if (!pattern.ok()) {
      return Status::ParseError(file + ":" + std::to_string(line) + ": <" + element +
                                ">: " + pattern.status().message());
    }
    return pattern;
  }

  int IdFor(const std::string& name) {
    auto [it, inserted] = ids_.try_emplace(name, static_cast<int>(ids_.size()) + 1);
    return it->second;
  }

  void LoadDecoder(const std::string& file, const XmlNode& node) {
    std::string where = Where(file, node);
    const std::string* name = node.Attribute("name");
    if (name == nullptr || name->empty()) {
      errors_.push_back(where + "<decoder> needs a name attribute");
      return;
    }
    for (const auto& [key, value] : node.attributes) {
      if (key != "name") {
        errors_.push_back(where + "<decoder name=\"" + *name + "\">: unknown attribute '" + key +
                          "'");
      }
    }
    auto decoder = std::make_unique<Decoder>();
    decoder->name = *name;
    decoder->file = file;
    decoder->line = node.line;
    where += "decoder '" + *name + "': ";

    PatternText program, prematch, regex;
    std::string order_text;
    bool has_order = false;
    size_t errors_before = errors_.size();
    for (const XmlNode& child : node.children) {
      std::string element = ToLower(child.name);
      std::string value(Trim(child.text));
      CheckAttributes(Where(file, child), element, child);
      if (element == "parent") {
        decoder->parent_name = value;
      } else if (element == "program_name") {
        program.Append(child, PatternSyntax::kOsMatch);
      } else if (element == "program_name_pcre2") {
        program.Append(child, PatternSyntax::kPcre2);
      } else if (element == "prematch") {
        prematch.Append(child, PatternSyntax::kOsRegex);
      } else if (element == "prematch_pcre2") {
        prematch.Append(child, PatternSyntax::kPcre2);
      } else if (element == "regex") {
        regex.Append(child, PatternSyntax::kOsRegex);
      } else if (element == "pcre2") {
        regex.Append(child, PatternSyntax::kPcre2);
      } else if (element == "order") {
        order_text += child.text;
        has_order = true;
      } else if (element == "fts") {
        ParseFts(Where(file, child), value, decoder.get());
      } else if (element == "ftscomment") {
        // Accepted and ignored, as in OSSEC.
      } else if (child.name == "type") {
        if (!ParseCategory(value, &decoder->type)) {
          errors_.push_back(Where(file, child) + "<type>: unknown decoder type '" + value +
                            "', expected firewall, ids, web-log, syslog, squid, windows, "
                            "host-information or ossec");
        }
      } else if (element == "use_own_name") {
        decoder->use_own_name = value == "true" || value == "yes";
      } else if (element == "accumulate") {
        decoder->accumulate = true;
      } else if (element == "plugin_decoder") {
        if (!ParsePluginName(value, &decoder->plugin)) {
          errors_.push_back(Where(file, child) + "<plugin_decoder>: unknown plugin '" + value +
                            "', expected PF_Decoder, SymantecWS_Decoder, SonicWall_Decoder or "
                            "OSSECAlert_Decoder");
        }
      } else {
        errors_.push_back(Where(file, child) + "<" + child.name + "> is not a decoder element");
      }
    }

    for (const PatternText* text : {&prematch, &regex}) {
      if (text->later_offset_line != 0) {
        errors_.push_back(file + ":" + std::to_string(text->later_offset_line) + ": decoder '" +
                          *name + "': only the first <" +
                          (text == &prematch ? "prematch" : "regex") +
                          "> of a decoder may have an offset");
      }
    }
    if (program.mixed || prematch.mixed || regex.mixed) {
      errors_.push_back(where + "mixes an OS_Regex element with its _pcre2 variant");
    }
    if (!decoder->parent_name.empty()) {
      auto it = by_name_.find(decoder->parent_name);
      if (it == by_name_.end()) {
        errors_.push_back(where + "<parent> names decoder '" + decoder->parent_name +
                          "', which is not defined before it");
      }
    }
    if (!prematch.seen && !program.seen && decoder->parent_name.empty()) {
      errors_.push_back(where + "needs a <prematch>, <program_name> or <parent>");
    }
    if (regex.seen != has_order && decoder->plugin == Plugin::kNone) {
      errors_.push_back(
          where + (regex.seen ? "has a <regex> but no <order>" : "has an <order> but no <regex>"));
    }
    if (decoder->plugin != Plugin::kNone && (regex.seen || has_order)) {
      errors_.push_back(where + "<plugin_decoder> cannot be combined with <regex> or <order>");
    }
    if (program.seen) {
      Expected<Pattern> p =
          CompilePattern(file, program.line, "program_name", program.syntax, program.text);
      if (p.ok()) {
        decoder->program_name.emplace(std::move(*p));
      } else {
        errors_.push_back(p.status().message());
      }
    }
    if (prematch.seen) {
      if (!prematch.offset.empty() && prematch.offset != "after_parent") {
        errors_.push_back(where + "<prematch> offset must be after_parent, got '" +
                          prematch.offset + "'");
      }
      if (prematch.offset == "after_parent" && decoder->parent_name.empty()) {
        errors_.push_back(where + "<prematch offset=\"after_parent\"> needs a <parent>");
      }
      decoder->prematch_after_parent = prematch.offset == "after_parent";
      Expected<Pattern> p =
          CompilePattern(file, prematch.line, "prematch", prematch.syntax, prematch.text);
      if (p.ok()) {
        decoder->prematch.emplace(std::move(*p));
      } else {
        errors_.push_back(p.status().message());
      }
    }
    if (regex.seen) {
      ParseRegexOffset(where, regex.offset, prematch.seen, decoder.get());
      Expected<Pattern> p = CompilePattern(file, regex.line, "regex", regex.syntax, regex.text);
      if (p.ok()) {
        // Only OS_Regex patterns are held to the limit: PCRE2 alternatives may declare more
        // groups than any one match sets, and OSSEC 3.7 loads such stock decoders.
        if (regex.syntax == PatternSyntax::kOsRegex &&
            p->capture_count() > options_.max_order_size) {
          errors_.push_back(file + ":" + std::to_string(regex.line) + ": decoder '" + *name +
                            "': <regex> has " + std::to_string(p->capture_count()) +
                            " capture groups, more than the maximum of " +
                            std::to_string(options_.max_order_size));
        }
        decoder->regex.emplace(std::move(*p));
      } else {
        errors_.push_back(p.status().message());
      }
    }
    if (has_order) ParseOrder(where, order_text, decoder.get());
    if (errors_.size() != errors_before) return;
    Attach(std::move(decoder), where);
  }

  // OSSEC reads only the first attribute of a decoder's pattern elements, and rejects the
  // decoder file unless it is `offset`. It ignores the others, and every attribute of the
  // other elements, which become warnings here.
  void CheckAttributes(const std::string& where, const std::string& element, const XmlNode& child) {
    if (child.attributes.empty()) return;
    bool pattern = element == "prematch" || element == "prematch_pcre2" || element == "regex" ||
                   element == "pcre2";
    if (pattern && child.attributes.front().first != "offset") {
      const auto& [key, value] = child.attributes.front();
      std::string error = where + "<" + child.name + ">: attribute " + key + "=\"" + value +
                          "\" is not allowed, only offset";
      if (key == "type") error += Pcre2VariantHint(element);
      errors_.push_back(error);
      return;
    }
    std::vector<std::string> ignored = pattern ? IgnoredAttributeWarnings(where, child, {"offset"})
                                               : IgnoredAttributeWarnings(where, child, {});
    warnings_->insert(warnings_->end(), ignored.begin(), ignored.end());
  }

  void ParseRegexOffset(const std::string& where, const std::string& offset, bool has_prematch,
                        Decoder* decoder) {
    if (offset.empty()) {
      decoder->regex_offset = RegexOffset::kNone;
    } else if (offset == "after_parent") {
      if (decoder->parent_name.empty()) {
        errors_.push_back(where + "<regex offset=\"after_parent\"> needs a <parent>");
      }
      decoder->regex_offset = RegexOffset::kAfterParent;
    } else if (offset == "after_prematch") {
      if (decoder->parent_name.empty()) {
        // OSSEC treats this as after_parent for a root decoder: the end of its own prematch.
        decoder->regex_offset = RegexOffset::kAfterPrematch;
      } else if (!has_prematch) {
        errors_.push_back(where + "<regex offset=\"after_prematch\"> needs a <prematch>");
      } else {
        decoder->regex_offset = RegexOffset::kAfterPrematch;
      }
    } else if (offset == "after_regex") {
      if (decoder->parent_name.empty()) {
        errors_.push_back(where + "<regex offset=\"after_regex\"> needs a <parent>");
      }
      decoder->regex_offset = RegexOffset::kAfterRegex;
    } else {
      errors_.push_back(where +
                        "<regex> offset must be after_parent, after_prematch or "
                        "after_regex, got '" +
                        offset + "'");
    }
  }

  void ParseOrder(const std::string& where, const std::string& text, Decoder* decoder) {
    std::vector<std::string> names = SplitList(text, ",");
    if (static_cast<int>(names.size()) > options_.max_order_size) {
      errors_.push_back(where + "<order> has " + std::to_string(names.size()) +
                        " fields, more than the maximum of " +
                        std::to_string(options_.max_order_size));
    }
    for (const std::string& name : names) {
      OrderTarget target;
      if (!ParseFieldName(name, &target.field)) {
        target.dynamic = true;
        target.name = name;
      }
      decoder->order.push_back(std::move(target));
    }
  }

  void ParseFts(const std::string& where, const std::string& text, Decoder* decoder) {
    for (const std::string& name : SplitList(text, ", ")) {
      if (name == "name") {
        decoder->fts |= kFtsName;
      } else if (name == "user" || name == "dstuser") {
        decoder->fts |= kFtsUser;
      } else if (name == "srcuser") {
        decoder->fts |= kFtsSrcUser;
      } else if (name == "srcip") {
        decoder->fts |= kFtsSrcIp;
      } else if (name == "dstip") {
        decoder->fts |= kFtsDstIp;
      } else if (name == "id") {
        decoder->fts |= kFtsId;
      } else if (name == "location") {
        decoder->fts |= kFtsLocation;
      } else if (name == "data" || name == "extra_data") {
        decoder->fts |= kFtsData;
      } else if (name == "system_name") {
        decoder->fts |= kFtsSystemName;
      } else {
        errors_.push_back(where + "<fts>: unknown field '" + name + "'");
      }
    }
  }

  void Attach(std::unique_ptr<Decoder> decoder, const std::string& where) {
    Decoder* raw = decoder.get();
    if (raw->parent_name.empty()) {
      raw->id = IdFor(raw->name);
    } else {
      std::vector<Decoder*>& parents = by_name_[raw->parent_name];
      bool attached = false;
      for (Decoder* parent : parents) {
        if (!parent->parent_name.empty()) continue;
        // A later sibling with the same name continues the earlier one's regex.
        for (const Decoder* sibling : parent->children) {
          if (sibling->name == raw->name) const_cast<Decoder*>(sibling)->get_next = true;
        }
        parent->children.push_back(raw);
        if (raw->parent == nullptr) raw->parent = parent;
        attached = true;
      }
      if (!attached) {
        errors_.push_back(where + "<parent> '" + raw->parent_name +
                          "' is itself a child decoder; only root decoders can be parents");
        return;
      }
      raw->id = raw->use_own_name ? IdFor(raw->name) : raw->parent->id;
    }
    by_name_[raw->name].push_back(raw);
    all_->push_back(std::move(decoder));
  }

  DecoderOptions options_;
  std::vector<std::unique_ptr<Decoder>>* all_;
  std::map<std::string, std::vector<Decoder*>> by_name_;
  std::map<std::string, int> ids_;
  std::vector<std::string>* warnings_;  // the DecoderSet's
  std::vector<std::string> errors_;
};

// Sets the fields `decoder.order` names from the captures, and records them in
// event->decoded_order when `record_order`.
void AssignCaptures(const Decoder& decoder, const MatchResult& match, bool record_order,
                    Event* event) {
  size_t n = std::min(match.captures.size(), decoder.order.size());
  for (size_t i = 0; i < n; ++i) {
    const OrderTarget& target = decoder.order[i];
    std::string_view value = match.captures[i];
    if (target.dynamic) {
      event->SetDynamic(target.name, value);
      if (record_order) event->decoded_order.emplace_back(target.name, std::string(value));
    } else {
      event->Set(target.field, value);
      if (record_order) {
        event->decoded_order.emplace_back(std::string(FieldLabel(target.field)),
                                          std::string(value));
      }
    }
  }
}

}  // namespace

bool ParseCategory(std::string_view text, Category* category) {
  for (const auto& [name, value] : kCategories) {
    if (name == text) {
      *category = value;
      return true;
    }
  }
  return false;
}

std::string_view CategoryName(Category category) {
  for (const auto& [name, value] : kCategories) {
    if (value == category) return name;
  }
  return "syslog";
}

Expected<DecoderSet> DecoderSet::Load(const std::vector<std::string>& files,
                                      const DecoderOptions& options) {
  DecoderSet set;
  DecoderLoader loader(options, &set.all_, &set.warnings_);
  loader.AddBuiltins();
  for (const std::string& file : files) loader.LoadFile(file);
  if (!loader.errors().empty()) {
    std::string message;
    for (const std::string& error : loader.errors()) {
      if (!message.empty()) message += '\n';
      message += error;
    }
    return Status::ParseError(message);
  }
  static std::atomic<uint64_t> next_serial{1};
  set.serial_ = next_serial.fetch_add(1, std::memory_order_relaxed);
  for (const auto& decoder : set.all_) {
    if (decoder->parent != nullptr || decoder->builtin) continue;
    if (decoder->program_name.has_value()) {
      set.with_program_.push_back(decoder.get());
    } else {
      set.without_program_.push_back(decoder.get());
    }
  }
  set.SummarizeChildren();
  return set;
}

void DecoderSet::SummarizeChildren() {
  for (const auto& decoder : all_) {
    decoder->child_summaries.clear();
    for (const Decoder* child : decoder->children) {
      Decoder::ChildSummary summary;
      if (prefilter_ != nullptr) summary.prematch = prefilter_->TestFor(child->prematch_prefilter);
      summary.has_prematch = child->prematch.has_value();
      summary.get_next = child->get_next;
      decoder->child_summaries.push_back(summary);
    }
  }
}

int DecoderSet::IdOf(std::string_view name) const {
  for (const auto& decoder : all_) {
    if (decoder->name == name) return decoder->id;
  }
  return -1;
}

void DecoderSet::UsePrefilter(LogPrefilter* prefilter) {
  for (const auto& decoder : all_) {
    if (decoder->prematch) decoder->prematch_prefilter = prefilter->Add(*decoder->prematch);
    if (decoder->regex) decoder->regex_prefilter = prefilter->Add(*decoder->regex);
  }
  prefilter_ = prefilter;
  SummarizeChildren();
}

const std::vector<const Decoder*>& DecoderSet::RootsFor(std::string_view program_name) const {
  // Program names come from logs, so the cache is bounded: at most this many names of at most
  // this many bytes each, about 1 MiB per thread. A longer name is tested without the cache.
  constexpr size_t kMaxProgramNames = 4096;
  constexpr size_t kMaxCachedNameBytes = 256;
  struct Cache {
    uint64_t serial = 0;
    std::unordered_map<std::string, std::vector<const Decoder*>, TransparentStringHash,
                       std::equal_to<>>
        roots;
    // The entry of the last name looked up. Lines in a row often share their program, and
    // comparing the name costs less than hashing it.
    const std::pair<const std::string, std::vector<const Decoder*>>* last = nullptr;
  };
  thread_local Cache cache;
  thread_local std::vector<const Decoder*> uncached;

  auto matching = [&](std::vector<const Decoder*>* roots) -> std::vector<const Decoder*>& {
    roots->clear();
    for (const Decoder* root : with_program_) {
      if (root->program_name->Search(program_name)) roots->push_back(root);
    }
    return *roots;
  };
  if (program_name.size() > kMaxCachedNameBytes) return matching(&uncached);

  if (cache.serial != serial_) {
    cache.roots.clear();
    cache.last = nullptr;
    cache.serial = serial_;
  }
  if (cache.last != nullptr && cache.last->first == program_name) return cache.last->second;
  auto it = cache.roots.find(program_name);
  if (it == cache.roots.end()) {
    if (cache.roots.size() >= kMaxProgramNames) {
      cache.roots.clear();
      cache.last = nullptr;
    }
    it = cache.roots.try_emplace(std::string(program_name)).first;
    matching(&it->second);
  }
  // Map entries stay where they are until the map is cleared, which resets `last` too.
  cache.last = &*it;
  return it->second;
}

void DecoderSet::Decode(Event* event) const {
  const std::vector<const Decoder*>& roots =
      event->has_program_name ? RootsFor(event->program_name) : without_program_;
  std::string_view log = event->log();
  thread_local MatchResult match;
  // A log that the prefilter scans is ASCII.
  SubjectText log_text =
      event->literal_hits.filtering ? SubjectText::kAscii : SubjectText::kUnknown;
  for (const Decoder* root : roots) {
    size_t parent_end = 0;
    if (root->prematch) {
      if (!MayMatch(root->prematch_prefilter, *event) ||
          !root->prematch->Search(log, &match, log_text)) {
        continue;
      }
      parent_end = match.end;
    }
    event->decoder = root;
    event->category = root->type;
    if (!root->children.empty()) {
      RunChildren(*root, parent_end, event);
    } else if (root->plugin != Plugin::kNone) {
      RunPlugin(root->plugin, event);
    } else if (root->regex) {
      size_t start = root->regex_offset == RegexOffset::kNone ? 0 : parent_end;
      if (MayMatch(root->regex_prefilter, *event) &&
          root->regex->Search(log.substr(start), &match, log_text)) {
        AssignCaptures(*root, match, record_order_, event);
      }
    }
    return;
  }
}

void DecoderSet::RunChildren(const Decoder& root, size_t parent_end, Event* event) const {
  std::string_view log = event->log();
  thread_local MatchResult match;
  const std::vector<const Decoder*>& children = root.children;
  const std::vector<Decoder::ChildSummary>& summaries = root.child_summaries;
  size_t index = 0;
  size_t child_end = parent_end;  // end of the selected child's prematch
  // The prefilter's state is read once for the whole walk.
  const LogPrefilter* prefilter = prefilter_;
  bool filtering = prefilter != nullptr && event->literal_hits.filtering;
  const uint64_t* bits = event->literal_hits.bits.data();
  // A log that the prefilter scans is ASCII.
  SubjectText log_text =
      event->literal_hits.filtering ? SubjectText::kAscii : SubjectText::kUnknown;
  while (index < children.size()) {
    const Decoder::ChildSummary& summary = summaries[index];
    if (!summary.has_prematch) {
      // Selected, but the event keeps the root as its decoder (name, id and type), as in
      // OSSEC.
      child_end = parent_end;
      break;
    }
    if (!filtering || prefilter->Passes(summary.prematch, bits)) {
      const Decoder* child = children[index];
      size_t base = child->prematch_after_parent ? parent_end : 0;
      if (child->prematch->Search(log.substr(base), &match, log_text)) {
        child_end = base + match.end;
        event->decoder = child;
        event->category = child->type;
        break;
      }
    }
    // A failed prematch skips the whole chain of same-named siblings that continue it.
    while (index < children.size() && summaries[index].get_next) ++index;
    ++index;
  }
  if (index == children.size()) return;
  if (children[index]->plugin != Plugin::kNone) {
    RunPlugin(children[index]->plugin, event);
    return;
  }

  size_t previous_regex_end = std::string_view::npos;
  for (; index < children.size(); ++index) {
    const Decoder* child = children[index];
    if (!child->regex) return;
    size_t start = 0;
    switch (child->regex_offset) {
      case RegexOffset::kNone:
        start = 0;
        break;
      case RegexOffset::kAfterParent:
        start = parent_end;
        break;
      case RegexOffset::kAfterPrematch:
        start = child_end;
        break;
      case RegexOffset::kAfterRegex:
        start = previous_regex_end == std::string_view::npos ? child_end : previous_regex_end;
        break;
    }
    if (start > log.size()) start = log.size();
    if (!MayMatch(child->regex_prefilter, *event) ||
        !child->regex->Search(log.substr(start), &match, log_text)) {
      if (child->get_next) continue;
      return;
    }
    previous_regex_end = start + match.end;
    AssignCaptures(*child, match, record_order_, event);
    if (!child->get_next) return;
  }
}

}  // namespace vigil::analysis
