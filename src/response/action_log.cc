#include "response/action_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/file.h"
#include "common/logging.h"

namespace vigil::response {

using Json = nlohmann::json;

Expected<std::unique_ptr<ActionLog>> ActionLog::Open(const std::string& path, const Clock* clock) {
  if (path.empty()) return std::unique_ptr<ActionLog>(new ActionLog("", -1, clock));
  VIGIL_RETURN_IF_ERROR(MakeDirectories(DirName(path), 0750));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
  if (fd < 0) {
    return Status::IoError("cannot open action log " + path + ": " + std::strerror(errno));
  }
  return std::unique_ptr<ActionLog>(new ActionLog(path, fd, clock));
}

ActionLog::~ActionLog() {
  if (fd_ >= 0) ::close(fd_);
}

void ActionLog::Append(ActionRecord record) {
  record.time_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_->Now().time_since_epoch())
          .count();
  Json line = {{"time_ms", record.time_ms},
               {"event", record.event},
               {"response", record.response},
               {"key", record.key}};
  if (!record.rule_id.empty()) line["rule_id"] = record.rule_id;
  if (!record.agent_id.empty()) line["agent_id"] = record.agent_id;
  if (!record.reason.empty()) line["reason"] = record.reason;
  if (!record.args.empty()) line["args"] = record.args;
  if (record.exit_status) line["exit_status"] = *record.exit_status;
  if (record.duration_ms >= 0) line["duration_ms"] = record.duration_ms;
  const std::string text = line.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  if (fd_ < 0) return;
  std::lock_guard lock(mu_);
  if (::write(fd_, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    ++write_errors_;
    GetLogger("execd")->error("cannot append to action log {}: {} ({} write errors so far)", path_,
                              std::strerror(errno), write_errors_);
  }
}

Expected<std::vector<ActionRecord>> ReadActionLog(const std::string& path, size_t max_records,
                                                  size_t* skipped) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  std::vector<ActionRecord> records;
  size_t start = 0;
  while (start < text->size()) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    Json line = Json::parse(text->begin() + start, text->begin() + end, nullptr, false);
    start = end + 1;
    if (line.is_discarded() || !line.is_object() || !line.contains("event")) {
      if (skipped != nullptr) ++*skipped;
      continue;
    }
    ActionRecord record;
    try {
      record.time_ms = line.value("time_ms", int64_t{0});
      record.event = line.value("event", "");
      record.response = line.value("response", "");
      record.key = line.value("key", "");
      record.rule_id = line.value("rule_id", "");
      record.agent_id = line.value("agent_id", "");
      record.reason = line.value("reason", "");
      if (line.contains("args") && line["args"].is_array()) {
        for (const Json& arg : line["args"]) {
          if (arg.is_string()) record.args.push_back(arg.get<std::string>());
        }
      }
      if (line.contains("exit_status") && line["exit_status"].is_number_integer()) {
        record.exit_status = line["exit_status"].get<int>();
      }
      record.duration_ms = line.value("duration_ms", int64_t{-1});
    } catch (const Json::exception&) {
      // A field of the wrong type: the line was not written by ActionLog.
      if (skipped != nullptr) ++*skipped;
      continue;
    }
    records.push_back(std::move(record));
  }
  if (max_records > 0 && records.size() > max_records) {
    records.erase(records.begin(), records.end() - static_cast<ptrdiff_t>(max_records));
  }
  return records;
}

std::string FormatActionRecord(const ActionRecord& record) {
  const time_t seconds = record.time_ms / 1000;
  struct tm utc;
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  std::string text = std::string(stamp) + "." +
                     std::to_string(1000 + record.time_ms % 1000).substr(1) + "Z " + record.event +
                     " " + record.response + " " + record.key;
  if (!record.rule_id.empty()) text += " rule=" + record.rule_id;
  if (!record.agent_id.empty()) text += " agent=" + record.agent_id;
  if (record.exit_status) text += " exit=" + std::to_string(*record.exit_status);
  if (record.duration_ms >= 0) text += " ms=" + std::to_string(record.duration_ms);
  if (!record.reason.empty()) text += " (" + record.reason + ")";
  return text;
}

}  // namespace vigil::response
