#include "analysis/predecoder.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>

namespace vigil::analysis {
namespace {

// Characters OSSEC accepts in a syslog host or program name, as a table: every line's host
// and program name are scanned with it.
constexpr std::array<bool, 256> kHostnameChars = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 256; ++c) {
    table[static_cast<size_t>(c)] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                    (c >= '0' && c <= '9') || c == '(' || c == ')' || c == '-' ||
                                    c == '.' || c == '/' || c == '@' || c == '_';
  }
  return table;
}();

bool IsHostnameChar(char c) { return kHostnameChars[static_cast<unsigned char>(c)]; }

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

// xferlog `Mon Apr 17 18:27:14 2006 1 64.160.42.130 ...`: the transfer time is one digit
// followed by a space at 26, which distinguishes it from vsftpd's `... 2016 [pid 2] ...`.
bool IsXferlogTime(const Header& h) {
  return h.size() >= 28 && h.At(3, ' ') && h.At(7, ' ') && h.At(10, ' ') && h.At(13, ':') &&
         h.At(16, ':') && h.At(19, ' ') && h.At(24, ' ') && h.At(26, ' ');
}

// snort `01/28-09:13:16.240702  [**]`.
bool IsSnortTime(const Header& h) {
  return h.size() >= 24 && h.At(2, '/') && h.At(5, '-') && h.At(8, ':') && h.At(11, ':') &&
         h.At(14, '.') && h.At(21, ' ');
}

// suricata `01/28/1979-09:13:16.240702  [**]`.
bool IsSuricataTime(const Header& h) {
  return h.size() >= 26 && h.At(2, '/') && h.At(5, '/') && h.At(10, '-') && h.At(13, ':') &&
         h.At(16, ':') && h.At(19, '.') && h.At(26, ' ');
}

// Apache error log `[Fri Feb 11 18:06:35 2004] [warn] ...`.
bool IsApacheErrorTime(const Header& h) {
  return h.size() >= 27 && h.At(0, '[') && h.At(4, ' ') && h.At(8, ' ') && h.At(11, ' ') &&
         h.At(14, ':') && h.At(17, ':') && h.At(20, ' ') && h.At(25, ']');
}

// macOS ASL `[Time 2006.12.28 15:53:55 UTC] [Facility auth] [Sender sshd] ...`.
bool IsAslTime(const Header& h) {
  return h.size() >= 26 && h.At(0, '[') && h.At(1, 'T') && h.At(5, ' ') && h.At(10, '.') &&
         h.At(13, '.') && h.At(16, ' ') && h.At(19, ':');
}

// squid `1140804070.368  11623 10.0.0.1 TCP_MISS/200 ...`.
bool IsSquidTime(const Header& h) {
  return h.size() >= 32 && h.At(0, '1') && h.DigitsAt(1, 3) && h.At(10, '.') && h.DigitAt(13) &&
         h.At(14, ' ') && (h.At(21, ' ') || h.At(22, ' '));
}

size_t SkipSpaces(std::string_view text, size_t i) {
  while (i < text.size() && text[i] == ' ') ++i;
  return i;
}

size_t SkipHostnameChars(std::string_view text, size_t i) {
  while (i < text.size() && IsHostnameChar(text[i])) ++i;
  return i;
}

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsAlnum(char c) { return IsDigit(c) || IsLower(c) || (c >= 'A' && c <= 'Z'); }

// Parses a program token at `i`: `prog: ` or `prog[123]: ` or `prog[123] `. On success sets
// the program name and returns the offset just after the token; returns npos otherwise.
size_t ParseProgramToken(std::string_view text, size_t i, Event* event) {
  size_t end = SkipHostnameChars(text, i);
  auto at = [&](size_t k, char c) { return k < text.size() && text[k] == c; };
  size_t next = std::string_view::npos;
  if (at(end, ':') && at(end + 1, ' ')) {
    next = end + 2;
  } else if (at(end, '[') && end + 1 < text.size() && IsDigit(text[end + 1])) {
    size_t k = end + 1;
    while (k < text.size() && IsDigit(text[k])) ++k;
    if (at(k, ']') && at(k + 1, ':') && at(k + 2, ' ')) {
      next = k + 3;
    } else if (at(k, ']') && at(k + 1, ' ')) {
      next = k + 2;
    }
  }
  if (next == std::string_view::npos) return next;
  event->program_name.assign(text.substr(i, end - i));
  event->has_program_name = true;
  return next;
}

// Parses what follows a syslog host name: a program token, or AIX's
// `|facility:severity prog: `. Returns the offset of the message, or npos when the text
// after the host is not a program token (the message then starts at `i`).
size_t ParseProgram(std::string_view text, size_t i, Event* event) {
  if (i + 1 < text.size() && text[i] == '|' && IsLower(text[i + 1])) {
    size_t k = i + 2;
    while (k < text.size() && IsAlnum(text[k])) ++k;
    if (k >= text.size() || text[k] != ':') return std::string_view::npos;
    ++k;
    while (k < text.size() && IsAlnum(text[k])) ++k;
    if (k >= text.size() || text[k] != ' ') return std::string_view::npos;
    return ParseProgramToken(text, k + 1, event);
  }
  return ParseProgramToken(text, i, event);
}

// Reads the bracketed items of a macOS ASL record from `i`: Sender is the program, the first
// Message is the log and Host the host name, which ends the scan.
void ParseAsl(std::string_view text, size_t i, Event* event, bool* host_known) {
  bool message_done = false;
  size_t open = text.find('[', i);
  while (open != std::string_view::npos) {
    size_t pos = open + 1;
    std::string_view rest = text.substr(pos);
    if (rest.starts_with("Sender ") && !event->has_program_name) {
      size_t close = text.find(']', pos + 7);
      if (close == std::string_view::npos) break;
      event->program_name.assign(text.substr(pos + 7, close - pos - 7));
      event->has_program_name = true;
      pos = close + 1;
    } else if (rest.starts_with("Message ") && !message_done) {
      message_done = true;
      event->log_offset = pos + 8;
      size_t close = text.find(']', pos + 8);
      if (close == std::string_view::npos) break;
      event->log_length = close - (pos + 8);
      pos = close + 1;
    } else if (rest.starts_with("Host ")) {
      size_t close = text.find(']', pos + 5);
      if (close != std::string_view::npos) {
        event->hostname.assign(text.substr(pos + 5, close - pos - 5));
        *host_known = true;
      }
      break;
    }
    open = text.find('[', pos);
  }
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
  event->log_offset = 0;
  event->log_length = std::string::npos;
  event->hostname.clear();
  event->program_name.clear();
  event->has_program_name = false;

  // A German `Mär` spells its month in four bytes; the header tests below then see every
  // syslog position one byte later. Test a copy with `ä` folded to one byte, and add the
  // byte back to every offset.
  size_t shift = 0;
  std::string folded;
  if (text.size() > 3 && static_cast<unsigned char>(text[1]) == 0xC3 &&
      static_cast<unsigned char>(text[2]) == 0xA4) {
    folded.reserve(text.size() - 1);
    folded.push_back(text[0]);
    folded.push_back('a');
    folded.append(text.substr(3));
    shift = 1;
  }
  std::string_view probe = shift > 0 ? std::string_view(folded) : text;
  Header h(probe);

  size_t skip = 0;
  if (h.size() >= 16 && IsSyslogTime(h)) {
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
  if (skip > 0) {
    size_t i = std::min(skip + shift, text.size());
    if (i < text.size() && text[i] == ' ') ++i;
    event->log_offset = i;
    size_t host_end = SkipHostnameChars(text, i);
    if (host_end + 1 < text.size() && text[host_end] == ':' && text[host_end + 1] == ' ') {
      // No host name: the token is the program (Solaris style `prog: message`).
      event->program_name.assign(text.substr(i, host_end - i));
      event->has_program_name = true;
      event->log_offset = host_end + 2;
    } else if (host_end < text.size() && text[host_end] == ' ') {
      event->hostname.assign(text.substr(i, host_end - i));
      host_known = true;
      size_t program_start = host_end + 1;
      size_t message = ParseProgram(text, program_start, event);
      if (message == std::string_view::npos) {
        event->log_offset = program_start;
      } else {
        event->log_offset = message;
        // Solaris adds `[ID 123456 facility.severity] ` after the program.
        if (text.substr(message).starts_with("[ID ")) {
          size_t close = text.find(']', message + 4);
          if (close != std::string_view::npos) event->log_offset = close + 2;
        }
      }
    }
  } else if (IsXferlogTime(h)) {
    event->log_offset = 24;
  } else if (IsSnortTime(h)) {
    event->log_offset = 23;
  } else if (IsSuricataTime(h)) {
    event->log_offset = 28;
  } else if (IsApacheErrorTime(h)) {
    event->log_offset = 27;
  } else if (IsAslTime(h)) {
    event->log_offset = 25;
    ParseAsl(text, 25, event, &host_known);
  } else if (IsSquidTime(h)) {
    event->log_offset = SkipSpaces(text, 14);
  }

  if (event->log_offset > text.size()) event->log_offset = text.size();
  if (event->log_length != std::string::npos &&
      event->log_offset + event->log_length > text.size()) {
    event->log_length = std::string::npos;
  }
  if (!event->location.empty() && event->location[0] == '(') {
    // Agent events are named after their agent whatever host the header names, as OSSEC does.
    event->hostname = event->location;
  } else if (!host_known) {
    event->hostname = local_hostname_;
  }
}

}  // namespace vigil::analysis
