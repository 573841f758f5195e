// The event: one record as it moves through pre-decoding, decoding and rule matching.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::analysis {

struct Decoder;

// Decoder <type> and rule <category>: decides which root rules an event is matched against.
enum class Category : uint8_t {
  kSyslog,
  kFirewall,
  kIds,
  kWebLog,
  kSquid,
  kWindows,
  kHostInformation,
  kOssec,
};

// The fields a decoder's <order> can fill, besides dynamic ones. The names are those of
// OSSEC's <order> element.
enum class Field : uint8_t {
  kSrcIp,
  kDstIp,
  kSrcPort,
  kDstPort,
  kProtocol,
  kAction,
  kSrcUser,
  kDstUser,
  kId,
  kUrl,
  kData,
  kStatus,
  kSystemName,
  kFilename,
  kCount,
};
inline constexpr size_t kFieldCount = static_cast<size_t>(Field::kCount);

// The name used in <order>, JSON output and golden tests: "srcip", "dstuser", "data", ...
std::string_view FieldName(Field field);
// The label OSSEC's logtest prints in phase 2: "srcip", "proto", "extra_data", ...
std::string_view FieldLabel(Field field);
// Parses an <order> name. "user" is dstuser and "extra_data" is data, as in OSSEC.
bool ParseFieldName(std::string_view name, Field* field);

// The result of one LogPrefilter scan of an event's log: the literals the log contains. The
// decoders and the rules share it.
struct LiteralHits {
  // Word 0 has every bit set, so that a test of it always passes. After it, bit i of words
  // 1 on marks literal i as occurring in the log.
  std::vector<uint64_t> bits;
  // True once the current log was scanned. Code that replaces the log clears it.
  bool scanned = false;
  // True when `bits` may reject patterns: the log was scanned, is ASCII, and the prefilter
  // is built. Otherwise every pattern must run.
  bool filtering = false;
};

struct Event {
  // What arrived.
  std::string location;  // "stdin", a file path, or "(agent) ip->path" for agent events
  std::string full_log;  // the message as received
  int64_t time = 0;      // receive time, seconds since the epoch (OSSEC never parses the log's)
  // Set by the pre-decoder.
  size_t log_offset = 0;  // `log` is full_log from this offset: the message after its header
  // Length of `log` in bytes; npos means up to the end of full_log. Only macOS ASL records,
  // whose message is one bracketed item among others, end `log` early.
  size_t log_length = std::string::npos;
  std::string hostname;
  std::string program_name;
  bool has_program_name = false;
  // Set by the decoders.
  const Decoder* decoder = nullptr;  // the decoder that matched, child or root
  // The matched decoder's <type>, which a plugin decoder may change per event.
  Category category = Category::kSyslog;
  // Set by the OSSEC alert plugin: the id of the rule named by a forwarded alert, which
  // becomes the decision without rule matching. 0 when not set.
  int generated_rule_id = 0;
  std::array<std::string, kFieldCount> fields;
  uint32_t fields_set = 0;  // bit i is set when fields[i] contains a decoded value
  std::vector<std::pair<std::string, std::string>> dynamic_fields;
  // Country codes of srcip and dstip from the GeoIP database; empty when not configured or
  // not found.
  std::string srcgeoip;
  std::string dstgeoip;
  // Fields in the order the decoder set them, for logtest's phase 2: (label, value).
  std::vector<std::pair<std::string, std::string>> decoded_order;
  // Set by Analyzer::Decode right after pre-decoding.
  LiteralHits literal_hits;

  std::string_view log() const { return std::string_view(full_log).substr(log_offset, log_length); }

  bool Has(Field f) const { return (fields_set >> static_cast<unsigned>(f)) & 1u; }
  // Returns the field's value, or an empty view when it is not set.
  std::string_view Get(Field f) const { return fields[static_cast<size_t>(f)]; }
  void Set(Field f, std::string_view value) {
    fields[static_cast<size_t>(f)].assign(value);
    fields_set |= 1u << static_cast<unsigned>(f);
  }
  // Returns the dynamic field's value or nullptr.
  const std::string* GetDynamic(std::string_view name) const;
  void SetDynamic(std::string_view name, std::string_view value);

  // Clears everything but `location`, which the caller sets next, keeping allocated capacity
  // for reuse.
  void Reset();
};

}  // namespace vigil::analysis
