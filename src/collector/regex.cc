#include "collector/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace vigil::collector {

Expected<std::unique_ptr<Regex>> Regex::Compile(std::string_view pattern, bool case_sensitive) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  uint32_t flags = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  if (!case_sensitive) flags |= PCRE2_CASELESS;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   flags, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    return Status::InvalidArgument("invalid regex '" + std::string(pattern) +
                                   "': " + reinterpret_cast<const char*>(message) + " at offset " +
                                   std::to_string(error_offset));
  }
  // The JIT is an optimisation only; interpretation gives the same results without it.
  (void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  std::unique_ptr<Regex> regex(new Regex());
  regex->code_ = code;
  regex->match_data_ = pcre2_match_data_create_from_pattern(code, nullptr);
  uint32_t count = 0;
  pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &count);
  regex->capture_count_ = static_cast<int>(count);
  regex->pattern_ = std::string(pattern);
  return regex;
}

Regex::~Regex() {
  pcre2_match_data_free(static_cast<pcre2_match_data*>(match_data_));
  pcre2_code_free(static_cast<pcre2_code*>(code_));
}

bool Regex::Match(std::string_view subject, std::vector<std::string>* captures) {
  auto* code = static_cast<pcre2_code*>(code_);
  auto* data = static_cast<pcre2_match_data*>(match_data_);
  int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0,
                       data, nullptr);
  if (rc < 0) return false;
  if (captures != nullptr) {
    captures->assign(capture_count_, std::string());
    PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
    for (int i = 1; i <= capture_count_ && i < rc; ++i) {
      PCRE2_SIZE begin = ovector[2 * i];
      PCRE2_SIZE end = ovector[2 * i + 1];
      if (begin == PCRE2_UNSET || end < begin) continue;
      (*captures)[i - 1].assign(subject.substr(begin, end - begin));
    }
  }
  return true;
}

std::string Regex::Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 2);
  for (char c : text) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 static_cast<unsigned char>(c) >= 0x80;
    if (!alnum && c != '_' && c != ' ') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace vigil::collector
