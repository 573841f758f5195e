// libFuzzer target for every reader: the first input byte picks the log format and the chunk
// size, the rest is the stream. Checks that every record is clean UTF-8 and that no reader
// emits more text than its bound allows.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "collector/modsec_reader.h"
#include "collector/queue_socket.h"
#include "collector/reader.h"
#include "common/clock.h"
#include "common/text.h"

namespace {

struct FuzzFormat {
  const char* name;
  std::map<std::string, std::string> options;
};

const std::vector<FuzzFormat>& Formats() {
  static const std::vector<FuzzFormat> kFormats = {
      {"syslog", {}},
      {"syslog", {{"continuation", "yes"}}},
      {"snort-full", {}},
      {"nmapg", {}},
      {"mysql_log", {}},
      {"mssql_log", {}},
      {"postgresql_log", {}},
      {"djb-multilog", {}},
      {"multi-line:3", {}},
      {"multiline", {{"lines", "2"}, {"join", "newline"}}},
      {"multi-line_indented", {}},
      {"audit", {}},
      {"command", {}},
      {"full_command", {}},
      {"modsec_audit", {}},
      {"regex",
       {{"start_regex", "^(\\d+) start"}, {"end_regex", "^$1 end"}, {"end_refers_start", "yes"}}},
      {"regex", {{"start_regex", "^\\["}}},
      {"linux_auditd", {{"timeout", "1s"}, {"max_groups", "8"}}},
      {"grouped", {{"key_regex", "id=(\\w+)"}, {"window", "1"}}},
  };
  return kFormats;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::collector;
  if (size < 1) return 0;
  const auto& formats = Formats();
  const FuzzFormat& format = formats[data[0] % formats.size()];
  size_t chunk = 1 + (data[0] / formats.size()) * 7;
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  vigil::ManualClock clock;
  ReaderOptions options;
  options.max_record_bytes = 256;
  options.location = "/var/log/fuzz/current";
  options.clock = &clock;
  auto reader = MakeReader(format.name, format.options, options);
  if (!reader.ok()) abort();
  auto check = [&](Record&& record) {
    if (!vigil::IsCleanUtf8(record.text)) abort();
    // Readers cut records at max bytes before escaping, and escaping turns a byte into at
    // most 4. Fixed prefixes (command, snort, mysql, djb headers) add less than 64 bytes.
    if (record.text.size() > 4 * options.max_record_bytes + 64) abort();
  };
  size_t rotation_at = input.size() / 2;  // the stream continues in a new file from here
  for (size_t at = 0; at < input.size(); at += chunk) {
    if (at >= rotation_at && rotation_at != 0) {
      (*reader)->EndOfFile(check);
      (*reader)->Rebase(0);
      rotation_at = 0;
    }
    (*reader)->Feed(input.substr(at, chunk), check);
    clock.Advance(std::chrono::milliseconds(300));
    (*reader)->Expire(clock.SteadyNow(), check);
  }
  (*reader)->PrepareStop(check);
  (*reader)->Flush(check);
  if ((*reader)->HasPending()) abort();

  Record record;
  uint64_t escaped = 0;
  ParseQueueMessage(input, 256, &record, &escaped);
  ModsecBoundary boundary;
  ParseModsecBoundary(input, &boundary);
  return 0;
}
