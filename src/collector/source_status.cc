#include "collector/source_status.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/file.h"

namespace vigil::collector {
namespace {

using nlohmann::json;

// The counters in a fixed order, so the JSON file, the table and the log line agree.
template <typename Visit>
void VisitCounters(SourceCounters& counters, Visit visit) {
  visit("lines", counters.reader.lines);
  visit("records", counters.reader.records);
  visit("truncated", counters.reader.truncated);
  visit("escaped_bytes", counters.reader.escaped_bytes);
  visit("skipped_lines", counters.reader.skipped_lines);
  visit("format_errors", counters.reader.format_errors);
  visit("timeouts", counters.reader.timeouts);
  visit("bytes_read", counters.bytes_read);
  visit("files_opened", counters.files_opened);
  visit("rotations", counters.rotations);
  visit("open_errors", counters.open_errors);
  visit("command_runs", counters.command_runs);
  visit("bytes_lost", counters.bytes_lost);
}

}  // namespace

SourceCounters& SourceCounters::operator+=(const SourceCounters& other) {
  reader += other.reader;
  bytes_read += other.bytes_read;
  files_opened += other.files_opened;
  rotations += other.rotations;
  open_errors += other.open_errors;
  command_runs += other.command_runs;
  bytes_lost += other.bytes_lost;
  return *this;
}

Status WriteStatusFile(const std::string& path, const CollectorStatus& status) {
  json sources = json::array();
  for (SourceStatus source : status.sources) {
    json counters = json::object();
    VisitCounters(source.counters,
                  [&](const char* name, uint64_t& value) { counters[name] = value; });
    sources.push_back({{"location", source.location},
                       {"log_format", source.log_format},
                       {"files", source.files},
                       {"counters", counters}});
  }
  json document = {{"updated", status.updated_unix_seconds}, {"sources", sources}};
  return WriteFileAtomic(path, document.dump(2) + "\n", 0640);
}

Expected<CollectorStatus> ReadStatusFile(const std::string& path) {
  auto content = ReadFile(path);
  if (!content.ok()) return content.status();
  json document = json::parse(*content, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded() || !document.is_object()) {
    return Status::ParseError(path + ": not a collector status file (invalid JSON)");
  }
  CollectorStatus status;
  status.updated_unix_seconds = document.value("updated", int64_t{0});
  const json& sources = document["sources"];
  if (!sources.is_array()) return Status::ParseError(path + ": 'sources' is not an array");
  for (const json& item : sources) {
    if (!item.is_object()) continue;
    SourceStatus source;
    source.location = item.value("location", "");
    source.log_format = item.value("log_format", "");
    if (item.contains("files") && item["files"].is_array()) {
      for (const json& file : item["files"]) {
        if (file.is_string()) source.files.push_back(file.get<std::string>());
      }
    }
    if (item.contains("counters") && item["counters"].is_object()) {
      const json& counters = item["counters"];
      VisitCounters(source.counters, [&](const char* name, uint64_t& value) {
        if (counters.contains(name) && counters[name].is_number_unsigned()) {
          value = counters[name].get<uint64_t>();
        }
      });
    }
    status.sources.push_back(std::move(source));
  }
  return status;
}

std::string FormatCounters(const SourceCounters& counters) {
  SourceCounters copy = counters;
  std::string out;
  VisitCounters(copy, [&](const char* name, uint64_t& value) {
    if (!out.empty()) out += ' ';
    out += fmt::format("{}={}", name, value);
  });
  return out;
}

std::string FormatStatus(const CollectorStatus& status) {
  std::string out = fmt::format(
      "{:<40} {:<14} {:>10} {:>10} {:>9} {:>9} {:>7} {:>6} {:>6} {:>10}\n", "location", "format",
      "lines", "records", "truncated", "escaped", "rotated", "files", "errors", "bytes_lost");
  for (const SourceStatus& source : status.sources) {
    const SourceCounters& c = source.counters;
    out += fmt::format("{:<40} {:<14} {:>10} {:>10} {:>9} {:>9} {:>7} {:>6} {:>6} {:>10}\n",
                       source.location, source.log_format, c.reader.lines, c.reader.records,
                       c.reader.truncated, c.reader.escaped_bytes, c.rotations, c.files_opened,
                       c.open_errors, c.bytes_lost);
  }
  return out;
}

}  // namespace vigil::collector
