#include "alerting/alert.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <ctime>

#include "analysis/decoder.h"
#include "common/json_writer.h"

namespace vigil::alerting {
namespace {

using analysis::Field;

// OSSEC cuts each logged line of an alert at this many bytes.
constexpr size_t kMaxLoggedLine = 1256;

std::string_view Cut(std::string_view text) { return text.substr(0, kMaxLoggedLine); }

// Collects the pieces of one alerts.log block in a buffer that each thread reuses, so that a
// piece costs a bounds test and a copy. Appending each piece to a std::string calls its
// out-of-line append() or push_back() instead, about 25 instructions a piece with GCC 12.
// The member names are std::string's, so the helpers below take either. Only one BlockText
// may be alive per thread, because they share the buffer.
class BlockText {
 public:
  BlockText() : storage_(ThreadStorage()) {}
  BlockText(const BlockText&) = delete;
  BlockText& operator=(const BlockText&) = delete;

  void append(std::string_view text) {
    size_t n = text.size();
    if (n > storage_.capacity - size_) Grow(n);
    char* out = storage_.data.get() + size_;
    const char* in = text.data();
    // Most pieces are short (labels, addresses, ports), and a call to memcpy costs more than
    // the copy: up to 16 bytes are copied with two loads and stores that may overlap.
    if (n >= 8 && n <= 16) {
      CopyEnds<uint64_t>(in, n, out);
    } else if (n >= 4 && n < 8) {
      CopyEnds<uint32_t>(in, n, out);
    } else if (n < 4) {
      for (size_t i = 0; i < n; ++i) out[i] = in[i];
    } else {
      std::memcpy(out, in, n);
    }
    size_ += n;
  }
  void push_back(char c) {
    if (size_ == storage_.capacity) Grow(1);
    storage_.data[size_++] = c;
  }
  // The text collected so far, valid until this thread creates its next BlockText.
  std::string_view view() const { return std::string_view(storage_.data.get(), size_); }

 private:
  // Copies `n` bytes, from sizeof(Word) to 2 * sizeof(Word), as the first and the last Word.
  template <typename Word>
  static void CopyEnds(const char* in, size_t n, char* out) {
    Word head;
    Word tail;
    std::memcpy(&head, in, sizeof head);
    std::memcpy(&tail, in + n - sizeof tail, sizeof tail);
    std::memcpy(out, &head, sizeof head);
    std::memcpy(out + n - sizeof tail, &tail, sizeof tail);
  }

  struct Storage {
    std::unique_ptr<char[]> data;
    size_t capacity = 0;
  };
  static Storage& ThreadStorage() {
    thread_local Storage storage;
    return storage;
  }
  // Makes room for `more` bytes after the size_ bytes written so far.
  void Grow(size_t more) {
    size_t capacity = std::max<size_t>({4096, 2 * storage_.capacity, size_ + more});
    auto data = std::make_unique<char[]>(capacity);
    if (size_ > 0) std::memcpy(data.get(), storage_.data.get(), size_);
    storage_.data = std::move(data);
    storage_.capacity = capacity;
  }

  Storage& storage_;
  size_t size_ = 0;
};

// Appends the host part of the second alert line: nothing for agent events, whose host name is
// the location.
template <typename Text>
void AppendHostPart(const analysis::Event& event, Text* out) {
  if (!event.location.empty() && event.location[0] == '(' && event.hostname == event.location) {
    return;
  }
  out->append(event.hostname);
  out->append("->");
}

template <typename Integer>
void AppendInt(Integer value, std::string* out) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out->append(buffer, end);
}

// Appends "LABEL: VALUE\n" when the event has `field`.
template <typename Text>
void AppendFieldLine(const analysis::Event& event, Field field, std::string_view label,
                     Text* out) {
  if (!event.Has(field)) return;
  out->append(label);
  out->append(event.Get(field));
  out->push_back('\n');
}

// Appends "<label><value>\n" when `value` is not empty.
template <typename Text>
void AppendTextLine(std::string_view value, std::string_view label, Text* out) {
  if (value.empty()) return;
  out->append(label);
  out->append(value);
  out->push_back('\n');
}

// Returns "YYYY Mon DD HH:MM:SS" in local time. The view stays valid until the next call on
// the same thread.
std::string_view AlertTimeText(int64_t epoch_seconds) {
  // Alerts come in bursts within one second, so the last formatted second is reused.
  thread_local int64_t cached_seconds = -1;
  thread_local char cached_text[32];
  thread_local size_t cached_length = 0;
  if (epoch_seconds != cached_seconds) {
    time_t t = static_cast<time_t>(epoch_seconds);
    struct tm local {};
    localtime_r(&t, &local);
    cached_length = strftime(cached_text, sizeof cached_text, "%Y %b %d %H:%M:%S", &local);
    cached_seconds = epoch_seconds;
  }
  return std::string_view(cached_text, cached_length);
}

// Cache of one member's JSON text `,"name":"value"` for the last value it had on this thread.
// Alerts in a row mostly share their time, decoder, location and program, so their members
// are rendered once and copied after that.
class RenderedMember {
 public:
  explicit RenderedMember(std::string_view name) : name_(name) {}

  // Appends the member with `value` to `json`. The text starts with a comma, so it must not be
  // the first member of an object.
  void Append(std::string_view value, JsonWriter* json) {
    // The text is empty only before the first call, because it starts with a comma.
    if (text_.empty() || value != value_) {
      value_.assign(value);
      text_.assign(1, ',');
      JsonWriter member(&text_);
      member.Member(name_, value);
    }
    json->Raw(text_);
  }

 private:
  std::string_view name_;
  std::string value_;
  std::string text_;
};

}  // namespace

std::string FormatAlertTime(int64_t epoch_seconds) {
  return std::string(AlertTimeText(epoch_seconds));
}

void AppendAlertId(int64_t epoch_seconds, uint64_t number, std::string* out) {
  // The id is put together in one buffer and appended once: each append to a std::string is
  // an out-of-line call. Alerts in a row mostly share their second, so its digits and the dot
  // are kept.
  struct Head {
    int64_t seconds = -1;
    char text[24];
    size_t size = 0;
  };
  thread_local Head head;
  if (epoch_seconds != head.seconds || head.size == 0) {
    char* end = std::to_chars(head.text, head.text + sizeof head.text - 1, epoch_seconds).ptr;
    *end++ = '.';
    head.size = static_cast<size_t>(end - head.text);
    head.seconds = epoch_seconds;
  }
  // The digits of `number` are written backwards from the end of `id`, two at a time.
  // std::to_chars counts the digits first, which costs about as much as writing them.
  static constexpr char kPairs[] =
      "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243"
      "4445464748495051525354555657585960616263646566676869707172737475767778798081828384858687"
      "888990919293949596979899";
  char id[48];
  char* end = id + sizeof id;
  char* begin = end;
  while (number >= 100) {
    begin -= 2;
    std::memcpy(begin, kPairs + 2 * (number % 100), 2);
    number /= 100;
  }
  if (number >= 10) {
    begin -= 2;
    std::memcpy(begin, kPairs + 2 * number, 2);
  } else {
    *--begin = static_cast<char>('0' + number);
  }
  begin -= head.size;
  std::memcpy(begin, head.text, head.size);
  out->append(begin, end);
}

namespace {

// Collects the alerts.log block of `alert` in `out`.
void BuildAlertLog(const Alert& alert, BlockText* out) {
  const analysis::Rule& rule = *alert.rule;
  const analysis::Event& event = *alert.event;
  out->append("** Alert ");
  out->append(alert.id);
  out->push_back(':');
  if (rule.mail_alert) out->append(" mail ");
  out->append(" - ");
  out->append(rule.groups);
  out->push_back('\n');
  out->append(AlertTimeText(event.time));
  out->push_back(' ');
  AppendHostPart(event, out);
  out->append(event.location);
  out->push_back('\n');
  out->append(rule.alert_text.log_line);
  AppendFieldLine(event, Field::kSrcIp, "Src IP: ", out);
  AppendTextLine(event.srcgeoip, "Src Location: ", out);
  AppendFieldLine(event, Field::kSrcPort, "Src Port: ", out);
  AppendFieldLine(event, Field::kDstIp, "Dst IP: ", out);
  AppendTextLine(event.dstgeoip, "Dst Location: ", out);
  AppendFieldLine(event, Field::kDstPort, "Dst Port: ", out);
  AppendFieldLine(event, Field::kDstUser, "User: ", out);
  if (!(rule.options & analysis::kOptionNoFullLog)) {
    out->append(Cut(event.full_log));
    out->push_back('\n');
    if (alert.previous != nullptr) {
      for (const auto& previous : *alert.previous) {
        out->append(Cut(previous->full_log));
        out->push_back('\n');
      }
    }
  }
  out->push_back('\n');
}

}  // namespace

std::string_view RenderAlertLog(const Alert& alert) {
  BlockText block;
  BuildAlertLog(alert, &block);
  return block.view();
}

std::string FormatAlertLog(const Alert& alert) { return std::string(RenderAlertLog(alert)); }

void AppendAlertJson(const Alert& alert, std::string* out) {
  const analysis::Rule& rule = *alert.rule;
  const analysis::Event& event = *alert.event;
  JsonWriter json(out);
  json.BeginObject();
  json.Key("rule");
  // Only the fired count differs between the alerts of a rule, so the text around it was
  // rendered once when the rules were loaded.
  json.Raw(rule.alert_text.json_head);
  AppendInt(rule.fired_times, out);
  json.Raw(rule.alert_text.json_tail);
  json.Member("id", alert.id);
  json.MemberInt("TimeStamp", event.time * 1000);
  thread_local RenderedMember timestamp("timestamp");
  thread_local RenderedMember decoder("decoder");
  thread_local RenderedMember decoder_parent("decoder_parent");
  timestamp.Append(AlertTimeText(event.time), &json);
  if (event.decoder != nullptr) {
    decoder.Append(event.decoder->ReportedName(), &json);
    if (event.decoder->parent != nullptr) decoder_parent.Append(event.decoder->parent->name, &json);
  }
  // Decoded fields sit at the top level as in OSSEC's alerts.json, except `id`, which is the
  // alert id there. The decoded id and the dynamic fields go in "fields", where their names
  // cannot collide with the alert's own keys.
  for (size_t i = 0; i < analysis::kFieldCount; ++i) {
    auto field = static_cast<Field>(i);
    if (field != Field::kId && event.Has(field)) {
      json.Member(analysis::FieldName(field), event.Get(field));
    }
  }
  if (!event.srcgeoip.empty()) json.Member("srcgeoip", event.srcgeoip);
  if (!event.dstgeoip.empty()) json.Member("dstgeoip", event.dstgeoip);
  if (event.Has(Field::kId) || !event.dynamic_fields.empty()) {
    json.Key("fields");
    json.BeginObject();
    if (event.Has(Field::kId)) json.Member("id", event.Get(Field::kId));
    for (const auto& [name, value] : event.dynamic_fields) json.Member(name, value);
    json.EndObject();
  }
  thread_local RenderedMember hostname("hostname");
  thread_local RenderedMember program_name("program_name");
  thread_local RenderedMember location("location");
  hostname.Append(event.hostname, &json);
  if (event.has_program_name) program_name.Append(event.program_name, &json);
  location.Append(event.location, &json);
  if (!(rule.options & analysis::kOptionNoFullLog)) {
    json.Member("full_log", event.full_log);
    if (alert.previous != nullptr && !alert.previous->empty()) {
      std::string previous;
      for (const auto& item : *alert.previous) {
        if (!previous.empty()) previous += '\n';
        previous += item->full_log;
      }
      json.Member("previous_output", previous);
    }
  }
  json.EndObject();
  out->push_back('\n');
}

std::string FormatAlertJson(const Alert& alert) {
  std::string out;
  out.reserve(512 + alert.event->full_log.size() * 2);
  AppendAlertJson(alert, &out);
  return out;
}

void AppendArchiveLine(const analysis::Event& event, std::string* out) {
  out->append(AlertTimeText(event.time));
  out->push_back(' ');
  AppendHostPart(event, out);
  out->append(event.location);
  out->push_back(' ');
  out->append(event.full_log);
  out->push_back('\n');
}

std::string FormatArchiveLine(const analysis::Event& event) {
  std::string out;
  AppendArchiveLine(event, &out);
  return out;
}

void AppendArchiveJson(const analysis::Event& event, std::string* out) {
  JsonWriter json(out);
  json.BeginObject();
  json.Member("timestamp", AlertTimeText(event.time));
  json.MemberInt("TimeStamp", event.time * 1000);
  json.Member("hostname", event.hostname);
  if (event.has_program_name) json.Member("program_name", event.program_name);
  if (event.decoder != nullptr) json.Member("decoder", event.decoder->ReportedName());
  json.Member("location", event.location);
  json.Member("full_log", event.full_log);
  json.EndObject();
  out->push_back('\n');
}

std::string FormatArchiveJson(const analysis::Event& event) {
  std::string out;
  out.reserve(256 + event.full_log.size() * 2);
  AppendArchiveJson(event, &out);
  return out;
}

}  // namespace vigil::alerting
