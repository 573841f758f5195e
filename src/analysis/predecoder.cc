#include "analysis/predecoder.h"

#include <unistd.h>

#include <cstring>

namespace vigil::analysis {
namespace {

// Characters OSSEC accepts in a syslog host or program name.
bool IsHostnameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '(' ||
         c == ')' || c == '-' || c == '.' || c == '/' || c == '@' || c == '_';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

class Header {
 public:
  explicit Header(std::string_view text) : text_(text) {}
  bool At(size_t i, char c) const { return i < text_.size() && text_[i] == c; }
  bool DigitAt(size_t i) const { return i < text_.size() && IsDigit(text_[i]); }
  bool DigitsAt(size_t i, size_t n) const {
    for (size_t k = 0; k < n; ++k) {
      if (!DigitAt(i + k)) return false;
    }
    return true;
  }
  size_t size() const { return text_.size(); }

 private:
  std::string_view text_;
};

// `Mmm dd hh:mm:ss ` (classic syslog).
bool IsSyslogTime(const Header& h) {
  return h.At(3, ' ') && h.At(6, ' ') && h.At(9, ':') && h.At(12, ':') && h.At(15, ' ');
}

// `YYYY-MM-DD hh:mm:ss,mmm`.
bool IsLog4jTime(const Header& h) {
  return h.DigitsAt(0, 4) && h.At(4, '-') && h.At(7, '-') && h.At(10, ' ') && h.At(13, ':') &&
         h.At(16, ':') && h.At(19, ',') && h.DigitsAt(20, 3);
}

// ISO 8601 `YYYY-MM-DDThh:mm:ss[.f{1,6}]+hh:mm `; returns the header length or 0.
size_t Iso8601Length(const Header& h) {
  if (!(h.DigitsAt(0, 4) && h.At(4, '-') && h.At(7, '-') && h.At(10, 'T') && h.At(13, ':') &&
        h.At(16, ':'))) {
    return 0;
  }
  size_t i = 19;
  if (h.At(i, '.') || h.At(i, ',')) {
    size_t digits = 0;
    ++i;
    while (h.DigitAt(i) && digits < 7) {
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 6) return 0;
  }
  if (!(h.At(i, '+') || h.At(i, '-'))) return 0;
  if (!(h.DigitsAt(i + 1, 2) && h.At(i + 3, ':') && h.DigitsAt(i + 4, 2) && h.At(i + 6, ' '))) {
    return 0;
  }
  return i + 7;
}

// `YYYY Mmm dd hh:mm:ss `.
bool IsYearFirstSyslogTime(const Header& h) {
  return h.DigitsAt(0, 4) && h.At(4, ' ') && h.At(8, ' ') && h.At(11, ' ') && h.At(14, ':') &&
         h.At(17, ':') && h.At(20, ' ');
}

// `YYYY:MM:DD-hh:mm:ss`.
bool IsColonDateTime(const Header& h) {
  return h.DigitsAt(0, 4) && h.At(4, ':') && h.At(7, ':') && h.At(10, '-') && h.At(13, ':') &&
         h.At(16, ':');
}

// xferlog `Mon Apr 17 18:27:14 2006 `.
bool IsXferlogTime(const Header& h) {
  return h.At(3, ' ') && h.At(7, ' ') && h.At(10, ' ') && h.At(13, ':') && h.At(16, ':') &&
         h.At(19, ' ') && h.DigitsAt(20, 4) && h.At(24, ' ');
}

// snort `01/28-09:13:16.240702  `.
bool IsSnortTime(const Header& h) {
  return h.DigitsAt(0, 2) && h.At(2, '/') && h.At(5, '-') && h.At(8, ':') && h.At(11, ':') &&
         h.At(14, '.') && h.At(21, ' ');
}

// suricata `01/28/1979-09:13:16.240702 `.
bool IsSuricataTime(const Header& h) {
  return h.DigitsAt(0, 2) && h.At(2, '/') && h.At(5, '/') && h.At(10, '-') && h.At(13, ':') &&
         h.At(16, ':') && h.At(19, '.') && h.At(26, ' ');
}

// Apache error log `[Fri Feb 11 18:06:35 2004] `.
bool IsApacheErrorTime(const Header& h) {
  return h.At(0, '[') && h.At(4, ' ') && h.At(8, ' ') && h.At(11, ' ') && h.At(14, ':') &&
         h.At(17, ':') && h.At(20, ' ') && h.At(25, ']') && h.At(26, ' ');
}

// squid `1140804070.368  11623 ...`.
bool IsSquidTime(const Header& h) {
  return h.At(0, '1') && h.At(10, '.') && h.DigitAt(13) && h.At(14, ' ');
}

size_t SkipSpaces(std::string_view text, size_t i) {
  while (i < text.size() && text[i] == ' ') ++i;
  return i;
}

size_t SkipHostnameChars(std::string_view text, size_t i) {
  while (i < text.size() && IsHostnameChar(text[i])) ++i;
  return i;
}

// Returns the value of `[Name value]` in a macOS ASL line, or an empty view.
std::string_view AslValue(std::string_view text, std::string_view name) {
  std::string key = "[" + std::string(name) + " ";
  size_t start = text.find(key);
  if (start == std::string_view::npos) return {};
  start += key.size();
  size_t end = text.find(']', start);
  if (end == std::string_view::npos) return {};
  return text.substr(start, end - start);
}

// Parses `prog: `, `prog[pid]: ` or `prog[pid] ` at `i`. On success sets the program name and
// returns the offset of the message; returns npos otherwise.
size_t ParseProgram(std::string_view text, size_t i, Event* event) {
  size_t end = SkipHostnameChars(text, i);
  if (end == i) return std::string_view::npos;
  size_t next;
  if (end + 1 < text.size() && text[end] == ':' && text[end + 1] == ' ') {
    next = end + 2;
  } else if (end < text.size() && text[end] == '[') {
    size_t close = end + 1;
    while (close < text.size() && text[close] != ']' && text[close] != ' ') ++close;
    if (close >= text.size() || text[close] != ']') return std::string_view::npos;
    if (close + 1 < text.size() && text[close + 1] == ':' && close + 2 < text.size() &&
        text[close + 2] == ' ') {
      next = close + 3;
    } else if (close + 1 < text.size() && text[close + 1] == ' ') {
      next = close + 2;
    } else if (close + 2 == text.size() && text[close + 1] == ':') {
      next = close + 2;
    } else {
      return std::string_view::npos;
    }
  } else if (end + 1 == text.size() && text[end] == ':') {
    next = end + 1;
  } else {
    return std::string_view::npos;
  }
  event->program_name.assign(text.substr(i, end - i));
  event->has_program_name = true;
  // Solaris adds `[ID 123456 facility.severity] ` after the program.
  if (text.substr(next).starts_with("[ID ")) {
    size_t close = text.find("] ", next);
    if (close != std::string_view::npos) next = close + 2;
  }
  return next;
}

}  // namespace

std::string PreDecoder::ShortHostname() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  std::string host(name);
  size_t dot = host.find('.');
  if (dot != std::string::npos) host.resize(dot);
  return host;
}

void PreDecoder::Run(Event* event) const {
  std::string_view text = event->full_log;
  Header h(text);
  event->log_offset = 0;
  event->hostname.clear();
  event->program_name.clear();
  event->has_program_name = false;

  size_t skip = 0;
  if (IsSyslogTime(h)) {
    skip = 16;
  } else if (IsLog4jTime(h)) {
    skip = 23;
  } else if (size_t iso = Iso8601Length(h); iso > 0) {
    skip = iso;
  } else if (IsYearFirstSyslogTime(h)) {
    skip = 21;
  } else if (IsColonDateTime(h)) {
    skip = 20;
  }

  bool host_known = false;
  if (skip > 0 && skip <= text.size()) {
    size_t i = skip;
    if (i < text.size() && text[i] == ' ') ++i;
    event->log_offset = i;
    size_t host_end = SkipHostnameChars(text, i);
    if (host_end > i && host_end + 1 < text.size() && text[host_end] == ':' &&
        text[host_end + 1] == ' ') {
      // No host name: the token is the program (Solaris style `prog: message`).
      event->program_name.assign(text.substr(i, host_end - i));
      event->has_program_name = true;
      event->log_offset = host_end + 2;
    } else if (host_end > i && host_end < text.size() && text[host_end] == ' ') {
      event->hostname.assign(text.substr(i, host_end - i));
      host_known = true;
      size_t program_start = host_end + 1;
      if (program_start < text.size() && text[program_start] == '|') {
        // AIX: `host |facility:severity prog: message`.
        size_t space = text.find(' ', program_start);
        program_start = space == std::string_view::npos ? text.size() : space + 1;
      }
      size_t message = ParseProgram(text, program_start, event);
      event->log_offset = message == std::string_view::npos ? program_start : message;
    }
  } else if (IsXferlogTime(h)) {
    event->log_offset = 24;
  } else if (IsSnortTime(h)) {
    event->log_offset = SkipSpaces(text, 21);
  } else if (IsSuricataTime(h)) {
    event->log_offset = SkipSpaces(text, 26);
  } else if (IsApacheErrorTime(h)) {
    event->log_offset = 27;
  } else if (text.starts_with("[Time ") && text.find("[Message ") != std::string_view::npos) {
    std::string_view sender = AslValue(text, "Sender");
    std::string_view host = AslValue(text, "Host");
    size_t message = text.find("[Message ") + 9;
    event->log_offset = message;
    if (!sender.empty()) {
      event->program_name.assign(sender);
      event->has_program_name = true;
    }
    if (!host.empty()) {
      event->hostname.assign(host);
      host_known = true;
    }
  } else if (IsSquidTime(h)) {
    event->log_offset = SkipSpaces(text, 14);
  }

  if (event->log_offset > text.size()) event->log_offset = text.size();
  if (!host_known) {
    if (!event->location.empty() && event->location[0] == '(') {
      event->hostname = event->location;
    } else {
      event->hostname = local_hostname_;
    }
  }
}

}  // namespace vigil::analysis
