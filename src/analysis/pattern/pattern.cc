#include "analysis/pattern/pattern.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <fmt/format.h>
#include <pcre2.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "analysis/pattern/literal.h"
#include "analysis/pattern/translate.h"
#include "common/logging.h"
#include "common/text.h"

namespace vigil::analysis {
namespace {

using pattern_internal::LiteralSet;

// Backtracking budget of a pcre2_match call, in PCRE2's match() calls or their JIT
// equivalent; exceeding it ends the search. A lazy quantifier over a 64 KiB line stays far
// below it, and a catastrophic pattern stops after about 3 ms with the JIT (measured on a
// 2-core x86_64 VM).
constexpr uint32_t kMatchLimit = 1'000'000;
// Maximum nesting of backtracking points for the interpreter (the JIT uses its stack instead).
constexpr uint32_t kDepthLimit = 250'000;
// Heap the interpreter may use for backtracking frames, in KiB.
constexpr uint32_t kHeapLimitKib = 64 * 1024;
// JIT stack of each thread: starts small and grows on demand up to the maximum, in bytes.
constexpr size_t kJitStackStartBytes = 32 * 1024;
constexpr size_t kJitStackMaxBytes = 8 * 1024 * 1024;

std::atomic<uint64_t> g_limit_hits{0};

std::string Pcre2ErrorMessage(int code) {
  PCRE2_UCHAR buffer[256];
  int length = pcre2_get_error_message(code, buffer, sizeof(buffer));
  if (length < 0) return fmt::format("PCRE2 error {}", code);
  return std::string(reinterpret_cast<const char*>(buffer), static_cast<size_t>(length));
}

bool IsLimitError(int rc) {
  return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
         rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT;
}

// Match context, JIT stack and match data of one thread, reused by every search on it.
class ThreadMatchState {
 public:
  ThreadMatchState() {
    context_ = pcre2_match_context_create(nullptr);
    if (context_ == nullptr) return;
    pcre2_set_match_limit(context_, kMatchLimit);
    pcre2_set_depth_limit(context_, kDepthLimit);
    pcre2_set_heap_limit(context_, kHeapLimitKib);
    jit_stack_ = pcre2_jit_stack_create(kJitStackStartBytes, kJitStackMaxBytes, nullptr);
    // Without a JIT stack of its own, PCRE2 falls back to a 32 KiB stack on the machine stack.
    if (jit_stack_ != nullptr) pcre2_jit_stack_assign(context_, nullptr, jit_stack_);
  }
  ~ThreadMatchState() {
    pcre2_match_data_free(data_);
    pcre2_jit_stack_free(jit_stack_);
    pcre2_match_context_free(context_);
  }
  ThreadMatchState(const ThreadMatchState&) = delete;
  ThreadMatchState& operator=(const ThreadMatchState&) = delete;

  pcre2_match_context* context() const { return context_; }

  // Returns match data with room for at least `pairs` offset pairs, or null when out of memory.
  pcre2_match_data* DataFor(uint32_t pairs) {
    if (data_ == nullptr || pairs > pairs_) {
      pcre2_match_data_free(data_);
      pairs_ = std::max<uint32_t>(pairs, 16);
      data_ = pcre2_match_data_create(pairs_, nullptr);
    }
    return data_;
  }

 private:
  pcre2_match_context* context_ = nullptr;
  pcre2_jit_stack* jit_stack_ = nullptr;
  pcre2_match_data* data_ = nullptr;
  uint32_t pairs_ = 0;
};

ThreadMatchState& LocalMatchState() {
  thread_local ThreadMatchState state;
  return state;
}

// Returns the lowercased texts of OS_Match `alternatives`, or nullopt when one of them is
// anchored or empty: the Pattern::DecidingLiterals() of an ASCII OS_Match pattern.
std::optional<std::vector<std::string>> UnanchoredAlternatives(
    const std::vector<pattern_internal::Literal>& alternatives) {
  std::vector<std::string> texts;
  for (const pattern_internal::Literal& literal : alternatives) {
    if (literal.anchor() != pattern_internal::Anchor::kNone || literal.size() == 0) {
      return std::nullopt;
    }
    texts.push_back(literal.lower());
  }
  if (texts.empty()) return std::nullopt;
  return texts;
}

// Compiles `text` with `options`, or returns null and sets the error code and offset.
pcre2_code* CompileCode(std::string_view text, uint32_t options, int* error_code,
                        PCRE2_SIZE* error_offset) {
  return pcre2_compile(reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), options, error_code,
                       error_offset, nullptr);
}

RepeatLimiter& MatchErrorLimiter() {
  static RepeatLimiter limiter;
  return limiter;
}

}  // namespace

// Compile options. Both compiles are caseless and forbid \C, which could split a UTF-8
// character. kUtfOptions makes a subject with invalid UTF-8 safe to search, because an invalid
// sequence then matches no pattern item (not even `.` or a negated class), so no match crosses
// it. The pattern's own UTF-8 is checked (no PCRE2_NO_UTF_CHECK), because pattern text comes
// from configuration files.
constexpr uint32_t kByteOptions = PCRE2_CASELESS | PCRE2_NEVER_BACKSLASH_C;
constexpr uint32_t kUtfOptions = kByteOptions | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;

// The size of compiled code without UTF-8 support above which the UTF-8 code is compiled at
// load too. UTF-8 code can be larger (a caseless class of letters also lists U+212A and
// U+017F), and PCRE2 rejects code past 64 KiB with its default link size. A large pattern
// that fits only without UTF-8 is then still a load error, as before. The largest code of
// OSSEC's stock patterns takes 1,141 bytes.
constexpr size_t kEagerUtfCodeBytes = 2048;

// The states of a Program's JIT code, and of Impl::utf when it is compiled on demand.
enum LazyState : uint8_t { kPending, kReady, kFailed };

// One compiled form of a pattern. Its JIT code waits for the first search, because most of a
// ruleset's patterns never run on a given log, and compiling them all took more than a
// quarter of the start-up with OSSEC's stock rules. With JIT code, searches call
// pcre2_jit_match directly, which skips pcre2_match's option checks and dispatch.
struct Program {
  Program() = default;
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;
  ~Program() { pcre2_code_free(code); }

  pcre2_code* code = nullptr;
  mutable std::atomic<uint8_t> jit_state{kPending};  // kReady once it has JIT code
};

struct Pattern::Impl {
  PatternSyntax syntax = PatternSyntax::kOsMatch;
  std::string text;
  // Native literal alternatives; used when uses_pcre2 is false.
  std::optional<LiteralSet> literals;
  // See Pattern::DecidingLiterals().
  std::optional<std::vector<std::string>> deciding_literals;
  // The text every match starts the subject with, in lower case (see RequiredPrefix), or
  // empty. A subject without it is rejected before the PCRE2 call, which costs more than the
  // search itself on a short log line.
  std::string required_prefix;
  // For a pattern PCRE2 reports as anchored: the bytes a match can start with, by PCRE2's own
  // analysis (the first code unit or the start bitmap), and the fewest characters a match
  // takes. Empty first_bytes means any byte.
  std::vector<uint64_t> first_bytes;
  uint32_t min_length = 0;
  uint32_t capture_count = 0;
  // Whether the pattern runs on PCRE2 (bytes or utf below) rather than `literals`.
  bool uses_pcre2 = false;
  // The PCRE2 text, kept for compiling `utf` on demand.
  std::string pcre2_text;
  // The pattern compiled without UTF-8 support, for ASCII subjects, on which it matches as the
  // UTF-8 code does with about 10 % fewer instructions (callgrind, OSSEC's stock rules on sshd
  // logs). Null when the PCRE2 text is not ASCII (in byte mode a quantifier after a non-ASCII
  // character repeats only its last byte) or does not compile so (`\x{100}`).
  Program bytes;
  // The pattern compiled with kUtfOptions, for the other subjects. Compiled at load when
  // `bytes` is null or large (kEagerUtfCodeBytes), else at the first non-ASCII subject
  // (utf_state), because most logs have none.
  mutable Program utf;
  mutable std::atomic<uint8_t> utf_state{kPending};

  // Compiles `pcre2`. `source_offset` maps PCRE2's error offset to an offset in `text`, or to
  // nothing when the translation keeps no such map.
  Status CompilePcre2(std::string_view pcre2,
                      const std::function<std::optional<size_t>(size_t)>& source_offset);

  // Sets first_bytes and min_length from PCRE2's analysis of `code`.
  void SetStartFilter(const pcre2_code* code);

  // Returns `utf` once compiled, compiling it unless another thread did. Returns `bytes` when
  // the compile fails, which is logged.
  const Program& UtfProgram() const;

  // Compiles the JIT code of `program` unless another thread did, and returns its new state.
  // Searches on other threads wait until it is done, because PCRE2 must not match with code
  // that is being JIT-compiled.
  uint8_t CompileJit(const Program& program) const;

  // Returns false when `subject` is too short or cannot start with first_bytes and
  // required_prefix. A non-ASCII byte where they are compared leaves the decision to PCRE2,
  // whose caseless mode folds a few non-ASCII letters (U+017F, U+212A) to ASCII ones.
  bool MayMatchStart(std::string_view subject) const {
    if (subject.size() < min_length) return false;
    if (!first_bytes.empty() && !subject.empty()) {
      auto first = static_cast<unsigned char>(subject[0]);
      if (first < 0x80 && ((first_bytes[first >> 6] >> (first & 63)) & 1u) == 0) return false;
    }
    if (subject.size() < required_prefix.size()) return false;
    for (size_t i = 0; i < required_prefix.size(); ++i) {
      auto c = static_cast<unsigned char>(subject[i]);
      if (c >= 0x80) return true;
      if ((c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c) !=
          static_cast<unsigned char>(required_prefix[i])) {
        return false;
      }
    }
    return true;
  }

  bool SearchLiterals(std::string_view subject, MatchResult* match) const;
  bool SearchPcre2(std::string_view subject, MatchResult* match, SubjectText text) const;
};

std::string_view PatternSyntaxName(PatternSyntax syntax) {
  switch (syntax) {
    case PatternSyntax::kOsMatch:
      return "OS_Match";
    case PatternSyntax::kOsRegex:
      return "OS_Regex";
    case PatternSyntax::kPcre2:
      return "PCRE2";
  }
  return "unknown";
}

Expected<Pattern> Pattern::Compile(PatternSyntax syntax, std::string_view text) {
  std::string_view name = PatternSyntaxName(syntax);
  if (text.size() > kMaxPatternBytes) {
    return Status::InvalidArgument(
        fmt::format("invalid {}: the pattern is {} bytes, longer than the maximum of {} bytes",
                    name, text.size(), kMaxPatternBytes));
  }
  auto impl = std::make_unique<Impl>();
  impl->syntax = syntax;
  impl->text = std::string(text);

  switch (syntax) {
    case PatternSyntax::kOsMatch:
      if (IsAsciiText(text)) {
        std::vector<pattern_internal::Literal> alternatives = pattern_internal::SplitOsMatch(text);
        impl->deciding_literals = UnanchoredAlternatives(alternatives);
        impl->literals.emplace(std::move(alternatives));
      } else {
        // PCRE2 rejects nothing in this translation but invalid UTF-8.
        pattern_internal::Translation translation = pattern_internal::TranslateOsMatch(text);
        VIGIL_RETURN_IF_ERROR(
            impl->CompilePcre2(translation.pcre2, [&](size_t offset) -> std::optional<size_t> {
              return translation.SourceOffset(offset);
            }));
      }
      break;
    case PatternSyntax::kOsRegex:
      if (auto literal = pattern_internal::ParseAnchoredLiteral(text)) {
        impl->literals.emplace(std::vector{std::move(*literal)});
        break;
      }
      {
        auto translation = pattern_internal::TranslateOsRegex(text);
        if (!translation.ok()) return std::move(translation).status();
        VIGIL_RETURN_IF_ERROR(
            impl->CompilePcre2(translation->pcre2, [&](size_t offset) -> std::optional<size_t> {
              return translation->SourceOffset(offset);
            }));
      }
      break;
    case PatternSyntax::kPcre2:
      if (text.empty()) {
        return Status::InvalidArgument("invalid PCRE2: the pattern is empty");
      }
      // NOTE: PCRE2's `$` also matches before a final newline, which this literal path (like
      // OSSEC 3.3's) does not. The collector strips the line ending of every log line.
      if (auto literal = pattern_internal::ParseAnchoredLiteral(text)) {
        impl->literals.emplace(std::vector{std::move(*literal)});
        break;
      }
      VIGIL_RETURN_IF_ERROR(
          impl->CompilePcre2(text, [](size_t offset) -> std::optional<size_t> { return offset; }));
      break;
  }
  if (syntax != PatternSyntax::kOsMatch) {
    impl->deciding_literals = pattern_internal::ParsePlainAlternatives(text);
  }
  return Pattern(std::move(impl));
}

Status Pattern::Impl::CompilePcre2(
    std::string_view pcre2, const std::function<std::optional<size_t>(size_t)>& source_offset) {
  std::string_view name = PatternSyntaxName(syntax);
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  if (IsAsciiText(pcre2)) bytes.code = CompileCode(pcre2, kByteOptions, &error_code, &error_offset);
  size_t byte_code_size = 0;
  if (bytes.code != nullptr) pcre2_pattern_info(bytes.code, PCRE2_INFO_SIZE, &byte_code_size);
  if (bytes.code == nullptr || byte_code_size > kEagerUtfCodeBytes) {
    // The UTF-8 compile's error is the one reported, as it is the pattern's meaning.
    utf.code = CompileCode(pcre2, kUtfOptions, &error_code, &error_offset);
    if (utf.code == nullptr) {
      std::string message = Pcre2ErrorMessage(error_code);
      std::optional<size_t> offset = source_offset(error_offset);
      if (offset.has_value()) {
        return Status::InvalidArgument(
            fmt::format("invalid {}: {} at offset {}", name, message, *offset));
      }
      return Status::InvalidArgument(fmt::format("invalid {}: {}", name, message));
    }
    utf_state.store(kReady, std::memory_order_relaxed);
  }
  if (utf.code == nullptr) pcre2_text = std::string(pcre2);
  uses_pcre2 = true;
  const pcre2_code* code = bytes.code != nullptr ? bytes.code : utf.code;
  // Both compiles give the same groups, and bounds that hold for both (see SetStartFilter).
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &capture_count);
  if (syntax != PatternSyntax::kOsMatch) required_prefix = pattern_internal::RequiredPrefix(text);
  SetStartFilter(code);

  return Status::Ok();
}

const Program& Pattern::Impl::UtfProgram() const {
  uint8_t state = utf_state.load(std::memory_order_acquire);
  if (state == kPending) {
    static std::mutex mutex;
    std::lock_guard lock(mutex);
    state = utf_state.load(std::memory_order_acquire);
    if (state == kPending) {
      int error_code = 0;
      PCRE2_SIZE error_offset = 0;
      utf.code = CompileCode(pcre2_text, kUtfOptions, &error_code, &error_offset);
      state = utf.code != nullptr ? kReady : kFailed;
      if (state == kFailed) {
        // The text compiled without UTF-8 support, so this is out of memory or a limit.
        GetLogger("analysis")
            ->error(
                "{} pattern '{}' cannot be compiled for UTF-8 subjects ({} at offset {}); "
                "non-ASCII subjects are matched byte by byte",
                PatternSyntaxName(syntax), text, Pcre2ErrorMessage(error_code), error_offset);
      }
      utf_state.store(state, std::memory_order_release);
    }
  }
  return state == kReady ? utf : bytes;
}

void Pattern::Impl::SetStartFilter(const pcre2_code* code) {
  // PCRE2 reports the minimum in characters, and a character takes one byte or more, so a
  // subject with fewer bytes cannot match. Compiled without UTF-8 support, an ASCII text has
  // as many characters as bytes (a \x{..} escape is one of each), so the minimum is the same.
  if (pcre2_pattern_info(code, PCRE2_INFO_MINLENGTH, &min_length) != 0) min_length = 0;
  uint32_t options = 0;
  pcre2_pattern_info(code, PCRE2_INFO_ALLOPTIONS, &options);
  if ((options & PCRE2_ANCHORED) == 0) return;
  uint32_t first_type = 0;
  uint32_t first_unit = 0;
  const uint8_t* bitmap = nullptr;
  pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODETYPE, &first_type);
  if (first_type == 1 && pcre2_pattern_info(code, PCRE2_INFO_FIRSTCODEUNIT, &first_unit) == 0 &&
      first_unit < 0x80) {
    // The unit may stand for both cases of a letter, so both are allowed.
    first_bytes.assign(4, 0);
    for (uint32_t unit : {first_unit, first_unit ^ 0x20u}) {
      bool letter = (unit | 0x20u) >= 'a' && (unit | 0x20u) <= 'z';
      if (unit != first_unit && !letter) continue;
      first_bytes[unit >> 6] |= uint64_t{1} << (unit & 63);
    }
  } else if (first_type == 0 && pcre2_pattern_info(code, PCRE2_INFO_FIRSTBITMAP, &bitmap) == 0 &&
             bitmap != nullptr) {
    first_bytes.assign(4, 0);
    for (uint32_t byte = 0; byte < 0x80; ++byte) {
      if ((bitmap[byte / 8] >> (byte % 8)) & 1u)
        first_bytes[byte >> 6] |= uint64_t{1} << (byte & 63);
    }
  }
}

uint8_t Pattern::Impl::CompileJit(const Program& program) const {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  uint8_t state = program.jit_state.load(std::memory_order_acquire);
  if (state != kPending) return state;
  int jit_rc = pcre2_jit_compile(program.code, PCRE2_JIT_COMPLETE);
  // (*NO_JIT) in the pattern makes the compile succeed without JIT code.
  size_t jit_size = 0;
  bool jitted = jit_rc == 0 &&
                pcre2_pattern_info(program.code, PCRE2_INFO_JITSIZE, &jit_size) == 0 &&
                jit_size > 0;
  if (jit_rc != 0 && jit_rc != PCRE2_ERROR_JIT_BADOPTION) {
    // pcre2_match runs the interpreter when there is no JIT code, so this costs speed only.
    uint64_t suppressed = 0;
    if (MatchErrorLimiter().ShouldLog("jit", &suppressed)) {
      GetLogger("analysis")
          ->warn(
              "JIT compilation of {} pattern '{}' failed ({}); using the interpreter "
              "({} similar messages suppressed)",
              PatternSyntaxName(syntax), text, Pcre2ErrorMessage(jit_rc), suppressed);
    }
  }
  state = jitted ? kReady : kFailed;
  program.jit_state.store(state, std::memory_order_release);
  return state;
}

bool Pattern::Impl::SearchLiterals(std::string_view subject, MatchResult* match) const {
  if (match == nullptr) return literals->Search(subject, nullptr, nullptr);
  if (!literals->Search(subject, &match->begin, &match->end)) return false;
  match->captures.clear();
  return true;
}

bool Pattern::Impl::SearchPcre2(std::string_view subject, MatchResult* match,
                                SubjectText subject_text) const {
  if (!MayMatchStart(subject)) return false;
  const Program* program = &bytes;
  if (bytes.code == nullptr) {
    program = &utf;
  } else if (subject_text != SubjectText::kAscii && !IsAsciiText(subject)) {
    program = &UtfProgram();
  }
  ThreadMatchState& state = LocalMatchState();
  pcre2_match_data* data = state.DataFor(capture_count + 1);
  if (data == nullptr || state.context() == nullptr) {
    uint64_t suppressed = 0;
    if (MatchErrorLimiter().ShouldLog("memory", &suppressed)) {
      GetLogger("analysis")
          ->error(
              "out of memory for PCRE2 match data; pattern '{}' reports no match "
              "({} similar messages suppressed)",
              text, suppressed);
    }
    return false;
  }
  // PCRE2 takes no null subject pointer, even for an empty subject.
  const char* bytes = subject.data() != nullptr ? subject.data() : "";
  PCRE2_SPTR start = reinterpret_cast<PCRE2_SPTR>(bytes);
  uint8_t jit = program->jit_state.load(std::memory_order_acquire);
  if (jit == kPending) jit = CompileJit(*program);
  int rc = jit == kReady
               ? pcre2_jit_match(program->code, start, subject.size(), 0, 0, data, state.context())
               : pcre2_match(program->code, start, subject.size(), 0, 0, data, state.context());
  if (rc < 0) {
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    uint64_t suppressed = 0;
    bool limit = IsLimitError(rc);
    if (limit) g_limit_hits.fetch_add(1, std::memory_order_relaxed);
    // The key is a bounded prefix of the pattern, so the limiter's table stays small.
    std::string_view key = std::string_view(text).substr(0, 128);
    if (MatchErrorLimiter().ShouldLog(key, &suppressed)) {
      GetLogger("analysis")
          ->warn(
              "{} pattern '{}' reported no match because the search failed: {} "
              "({} similar messages suppressed)",
              PatternSyntaxName(syntax), text, Pcre2ErrorMessage(rc), suppressed);
    }
    return false;
  }
  if (match == nullptr) return true;

  const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
  match->begin = ovector[0];
  // \K can move the start past the end; the bounds stay ordered all the same.
  match->end = std::max(ovector[0], ovector[1]);
  match->captures.clear();
  // rc is one more than the highest group that took part; lower groups may still be unset.
  for (int i = 1; i < rc; ++i) {
    PCRE2_SIZE begin = ovector[2 * i];
    PCRE2_SIZE end = ovector[2 * i + 1];
    if (begin == PCRE2_UNSET || end < begin) continue;
    match->captures.push_back(subject.substr(begin, end - begin));
  }
  return true;
}

Pattern::Pattern(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pattern::Pattern(Pattern&&) noexcept = default;
Pattern& Pattern::operator=(Pattern&&) noexcept = default;
Pattern::~Pattern() = default;

bool Pattern::Search(std::string_view subject, MatchResult* match, SubjectText text) const {
  if (impl_->uses_pcre2) return impl_->SearchPcre2(subject, match, text);
  return impl_->SearchLiterals(subject, match);
}

const std::vector<std::string>* Pattern::DecidingLiterals() const {
  return impl_->deciding_literals ? &*impl_->deciding_literals : nullptr;
}

int Pattern::capture_count() const { return static_cast<int>(impl_->capture_count); }

PatternSyntax Pattern::syntax() const { return impl_->syntax; }

const std::string& Pattern::text() const { return impl_->text; }

uint64_t Pattern::limit_hits() { return g_limit_hits.load(std::memory_order_relaxed); }

}  // namespace vigil::analysis
