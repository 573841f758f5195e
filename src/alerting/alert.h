// Alerts and their formats: OSSEC's alerts.log text, JSON lines, and archives.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/event.h"
#include "analysis/rule.h"

namespace vigil::alerting {

// One alert, as the writers see it. References must outlive the formatting call.
struct Alert {
  std::string id;  // "<epoch>.<n>": OSSEC uses the byte offset in alerts.log as n
  const analysis::Rule* rule = nullptr;
  const analysis::Event* event = nullptr;
  const std::vector<const analysis::StoredEvent*>* previous = nullptr;
};

// Appends an alert id "<epoch_seconds>.<number>" to `out`.
void AppendAlertId(int64_t epoch_seconds, uint64_t number, std::string* out);

// Formats the alert as an alerts.log block, byte for byte as OSSEC writes it, including the
// empty line that ends it.
std::string FormatAlertLog(const Alert& alert);
// Returns the same text in a buffer of this thread, which the next call on the thread
// overwrites, so that a writer can copy it straight to its output.
std::string_view RenderAlertLog(const Alert& alert);

// Formats the alert as one JSON object on one line, with a trailing newline. Decoded fields
// are top-level keys, except the decoded `id` and the dynamic fields, which are in "fields".
std::string FormatAlertJson(const Alert& alert);
void AppendAlertJson(const Alert& alert, std::string* out);

// Formats an event as an archives.log line ("YYYY Mon DD HH:MM:SS host->location full_log").
std::string FormatArchiveLine(const analysis::Event& event);
void AppendArchiveLine(const analysis::Event& event, std::string* out);

// Formats an event as an archives.json line.
std::string FormatArchiveJson(const analysis::Event& event);
void AppendArchiveJson(const analysis::Event& event, std::string* out);

// "YYYY Mon DD HH:MM:SS" in local time, as alerts.log prints it.
std::string FormatAlertTime(int64_t epoch_seconds);

}  // namespace vigil::alerting
