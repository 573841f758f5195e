// Decoders: OSSEC's <decoder> definitions, loaded from XML and applied to pre-decoded events.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/event.h"
#include "analysis/log_prefilter.h"
#include "analysis/pattern/pattern.h"
#include "analysis/plugin_decoders.h"
#include "common/status.h"

namespace vigil::analysis {

// Parses a <type> or <category> value; false when unknown.
bool ParseCategory(std::string_view text, Category* category);
std::string_view CategoryName(Category category);

enum class RegexOffset : uint8_t { kNone, kAfterParent, kAfterPrematch, kAfterRegex };

// The destination of one capture of a decoder's regex: a known field or a dynamic one.
struct OrderTarget {
  bool dynamic = false;
  Field field = Field::kData;
  std::string name;  // for dynamic fields
};

// Bits of the <fts> element: which fields make up a first-time-seen key.
enum FtsField : uint32_t {
  kFtsName = 1 << 0,
  kFtsUser = 1 << 1,
  kFtsSrcUser = 1 << 2,
  kFtsSrcIp = 1 << 3,
  kFtsDstIp = 1 << 4,
  kFtsId = 1 << 5,
  kFtsLocation = 1 << 6,
  kFtsData = 1 << 7,
  kFtsSystemName = 1 << 8,
};

struct Decoder {
  std::string name;
  int id = 0;  // shared by a root and the children that report its name
  std::string parent_name;
  const Decoder* parent = nullptr;
  std::optional<Pattern> program_name;
  std::optional<Pattern> prematch;
  bool prematch_after_parent = false;
  std::optional<Pattern> regex;
  RegexOffset regex_offset = RegexOffset::kNone;
  // Requirements of `prematch` and `regex` in the analyzer's LogPrefilter; -1 when none.
  int prematch_prefilter = -1;
  int regex_prefilter = -1;
  std::vector<OrderTarget> order;
  uint32_t fts = 0;  // FtsField bits
  Category type = Category::kSyslog;
  bool use_own_name = false;
  bool accumulate = false;
  Plugin plugin = Plugin::kNone;  // <plugin_decoder>
  // Set when the next sibling has the same name: its regex continues this one's work.
  bool get_next = false;
  // Defined in code (syscheck, rootcheck, host information), never tried on log lines.
  bool builtin = false;
  std::vector<const Decoder*> children;
  // A copy of each child's members that choosing a child reads, in `children` order, so that
  // the search passes over children whose prematch literals the log lacks without reading
  // their Decoder objects.
  struct ChildSummary {
    PrefilterTest prematch;  // the prefilter test of the child's prematch
    bool has_prematch = false;
    bool get_next = false;
  };
  std::vector<ChildSummary> child_summaries;
  std::string file;
  int line = 0;

  // The name alerts and logtest report: a child reports its parent's unless use_own_name.
  const std::string& ReportedName() const {
    return parent != nullptr && !use_own_name ? parent->name : name;
  }
};

// Limits and options for loading decoders.
struct DecoderOptions {
  int max_order_size = 10;  // analysisd.decoder_order_size
};

// The loaded decoders, as two root lists: with and without <program_name>.
class DecoderSet {
 public:
  DecoderSet() = default;
  DecoderSet(DecoderSet&&) = default;
  DecoderSet& operator=(DecoderSet&&) = default;

  // Loads every file in order. Problems in all files are collected and returned together,
  // one per line, each "FILE:LINE: what is wrong".
  static Expected<DecoderSet> Load(const std::vector<std::string>& files,
                                   const DecoderOptions& options);

  // Adds every prematch and regex to `prefilter`, which must outlive the set and be built
  // before Decode(). Decode() then skips a pattern whose literals the event's
  // literal_hits lack.
  void UsePrefilter(LogPrefilter* prefilter);

  // Runs the decoders on a pre-decoded event: sets event->decoder and the decoded fields.
  void Decode(Event* event) const;

  // Whether Decode() also lists each decoded field in event->decoded_order, which logtest
  // prints. Off by default, because it costs two strings per field.
  void set_record_order(bool record) { record_order_ = record; }

  // Returns the id for a decoder name (for rule <decoded_as>), or -1 when none has it.
  int IdOf(std::string_view name) const;

  size_t size() const { return all_.size(); }
  const std::vector<std::unique_ptr<Decoder>>& all() const { return all_; }
  // Problems that did not stop loading, each "FILE:LINE: what is ignored".
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  // Returns the roots with <program_name> whose program_name matches `program_name`, in
  // order. The result is kept per program name on each thread (up to a bound in names and
  // bytes), because logs repeat a few program names and testing every root's pattern cost
  // about a quarter of the decoders' work on an sshd line. The list stays valid until the
  // thread's next call.
  const std::vector<const Decoder*>& RootsFor(std::string_view program_name) const;
  void RunChildren(const Decoder& root, size_t parent_end, Event* event) const;
  // False when the prefilter shows that requirement `id` cannot match the event's log.
  bool MayMatch(int id, const Event& event) const {
    return prefilter_ == nullptr || prefilter_->MayMatch(id, event.literal_hits);
  }
  // Fills every decoder's child_summaries from its children.
  void SummarizeChildren();

  std::vector<std::unique_ptr<Decoder>> all_;
  std::vector<std::string> warnings_;
  std::vector<const Decoder*> with_program_;
  std::vector<const Decoder*> without_program_;
  const LogPrefilter* prefilter_ = nullptr;
  bool record_order_ = false;
  uint64_t serial_ = 0;  // identifies this set to the threads' RootsFor() caches
};

}  // namespace vigil::analysis
