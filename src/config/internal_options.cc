// Reader for internal_options.conf and local_internal_options.conf.
#include <set>
#include <string_view>

#include "common/file.h"
#include "common/text.h"
#include "config/parse_context.h"

namespace vigil::config::internal {
namespace {

struct OptionSpec {
  std::string_view key;
  int min;
  int max;
  int InternalOptions::*field;
};

// The keys Vigil uses, with the ranges OSSEC 3.7.0 enforces for them.
constexpr OptionSpec kOptionSpecs[] = {
    {"logcollector.loop_timeout", 1, 120, &InternalOptions::loop_timeout_seconds},
    {"analysisd.default_timeframe", 60, 604800, &InternalOptions::default_timeframe},
    {"analysisd.decoder_order_size", 8, 20, &InternalOptions::decoder_order_size},
    {"analysisd.fts_list_size", 12, 512, &InternalOptions::fts_list_size},
    {"analysisd.fts_min_size_for_str", 6, 128, &InternalOptions::fts_min_size_for_str},
};

const OptionSpec* FindSpec(std::string_view key) {
  for (const OptionSpec& spec : kOptionSpecs) {
    if (spec.key == key) return &spec;
  }
  return nullptr;
}

// Applies the `key=value` lines of one file. Lines without `=`, unknown keys and keys in
// `skip` are ignored, as OSSEC only looks up the keys it needs. Adds the keys read to `read`.
void ReadOptionsFile(const std::string& path, const std::set<const OptionSpec*>& skip,
                     std::set<const OptionSpec*>* read, InternalOptions* options,
                     std::vector<std::string>* errors) {
  Expected<std::string> content = ReadFile(path);
  if (!content.ok()) {
    errors->push_back(content.status().message());
    return;
  }
  std::string_view rest = *content;
  int line_number = 0;
  while (!rest.empty()) {
    size_t end = rest.find('\n');
    std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    ++line_number;

    line = Trim(line);
    if (line.empty() || line.front() == '#') continue;
    size_t equals = line.find('=');
    if (equals == std::string_view::npos) continue;
    std::string_view key = Trim(line.substr(0, equals));
    std::string_view value = Trim(line.substr(equals + 1));
    const OptionSpec* spec = FindSpec(key);
    if (spec == nullptr || skip.contains(spec)) continue;
    read->insert(spec);
    uint64_t number = 0;
    if (!ParseUint(value, &number) || number < static_cast<uint64_t>(spec->min) ||
        number > static_cast<uint64_t>(spec->max)) {
      errors->push_back(path + ":" + std::to_string(line_number) + ": " + std::string(key) +
                        ": expected a number from " + std::to_string(spec->min) + " to " +
                        std::to_string(spec->max) + ", got " + Quote(value));
      continue;
    }
    options->*(spec->field) = static_cast<int>(number);
  }
}

}  // namespace

void ReadInternalOptions(const std::string& dir, InternalOptions* options,
                         std::vector<std::string>* errors) {
  // As in OSSEC, a key set in the local file is not looked up in the main one, so its value
  // wins and the main file's value for it is not checked.
  std::set<const OptionSpec*> local_keys;
  std::string local = NormalizePath(ResolvePath(dir, "local_internal_options.conf"));
  if (FileExists(local)) ReadOptionsFile(local, {}, &local_keys, options, errors);
  std::set<const OptionSpec*> main_keys;
  std::string main = NormalizePath(ResolvePath(dir, "internal_options.conf"));
  if (FileExists(main)) ReadOptionsFile(main, local_keys, &main_keys, options, errors);
}

}  // namespace vigil::config::internal
