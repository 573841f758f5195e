// Key-value lists for rule <list> lookups. OSSEC compiles each `key:value` text file into a
// constant database (`path.cdb`, written by ossec-makelists); Vigil reads the text file and falls
// back to the compiled file when only that one exists.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "analysis/pattern/pattern.h"
#include "common/status.h"

namespace vigil::analysis {

// An immutable map from key to value. Safe to share between threads once loaded.
class KeyValueList {
 public:
  // Reads `path`: one `key:value` or `key` per line, split at the first colon; a key in
  // double quotes may contain colons. Empty lines and lines starting with `#` are skipped.
  static Expected<KeyValueList> LoadText(const std::string& path);

  // Reads a constant database in D. J. Bernstein's cdb format (the format of ossec-makelists and
  // of tinycdb's `cdb -c`). When a key occurs more than once, the first record wins, as a cdb
  // lookup does. Errors name the file and the byte offset of the damaged part.
  static Expected<KeyValueList> LoadCdb(const std::string& path);

  // Parses cdb bytes; `origin` names the source in errors.
  static Expected<KeyValueList> ParseCdb(std::string_view bytes, std::string_view origin);

  // Reads the text list at `path` when it exists, else the compiled `path.cdb`. The error names
  // both files when neither can be read.
  static Expected<KeyValueList> Load(const std::string& path);

  // Returns the value stored for `key`, or nullptr when the key is absent.
  const std::string* Find(std::string_view key) const;
  size_t size() const { return entries_.size(); }

 private:
  std::unordered_map<std::string, std::string> entries_;
};

// Lookup mode of a rule's <list> (the `lookup` attribute).
enum class ListLookup : uint8_t {
  kMatchKey,              // the field is a key
  kNotMatchKey,           // the field is not a key
  kMatchKeyValue,         // the field is a key whose value matches check_value
  kAddressMatchKey,       // the address or one of its dotted prefixes ("10.1.2.") is a key
  kNotAddressMatchKey,    // neither the address nor any dotted prefix is a key
  kAddressMatchKeyValue,  // as kAddressMatchKey, and the value matches check_value
};

// Parses a `lookup` attribute value; false when unknown.
bool ParseListLookup(std::string_view text, ListLookup* lookup);

// Returns true when `value` passes `lookup` against `list`. `check_value` is used by the
// *_value lookups; when it is absent any value passes.
bool LookupList(const KeyValueList& list, ListLookup lookup, std::string_view value,
                const std::optional<Pattern>& check_value);

}  // namespace vigil::analysis
