#include "alerting/writer.h"

#include <cerrno>
#include <cstring>

#include "common/file.h"

namespace vigil::alerting {
namespace {

// Opens `path` for appending with `*buffer` (allocated here) as its stdio buffer.
Expected<FILE*> OpenAppend(const std::string& path, std::unique_ptr<char[]>* buffer) {
  FILE* file = std::fopen(path.c_str(), "ae");
  if (file == nullptr) {
    return Status::IoError(path + ": cannot open for writing: " + std::strerror(errno));
  }
  // A buffer larger than stdio's default of one block (usually 4 KiB) saves write calls in
  // bursts. When setvbuf fails, stdio keeps its default buffer, so the result needs no check.
  *buffer = std::make_unique_for_overwrite<char[]>(AlertFileWriter::kBufferBytes);
  std::setvbuf(file, buffer->get(), _IOFBF, AlertFileWriter::kBufferBytes);
  return file;
}

// The writer is not shared between threads, so the stream needs no lock. `name` is the file's
// name in `dir`, joined to it only for an error message.
Status WriteAll(FILE* file, const std::string& text, const std::string& dir, const char* name) {
  if (fwrite_unlocked(text.data(), 1, text.size(), file) != text.size()) {
    return Status::IoError(dir + "/" + name + ": write failed: " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

Expected<std::unique_ptr<AlertFileWriter>> AlertFileWriter::Open(const Options& options) {
  VIGIL_RETURN_IF_ERROR(MakeDirectories(options.output_dir));
  std::unique_ptr<AlertFileWriter> writer(new AlertFileWriter());
  writer->dir_ = options.output_dir;
  Expected<FILE*> log = OpenAppend(options.output_dir + "/alerts.log", &writer->buffers_[0]);
  if (!log.ok()) return log.status();
  writer->log_ = *log;
  std::fseek(writer->log_, 0, SEEK_END);
  writer->log_offset_ = std::ftell(writer->log_);
  if (options.json) {
    Expected<FILE*> json = OpenAppend(options.output_dir + "/alerts.json", &writer->buffers_[1]);
    if (!json.ok()) return json.status();
    writer->json_ = *json;
  }
  if (options.archives) {
    Expected<FILE*> archives =
        OpenAppend(options.output_dir + "/archives.log", &writer->buffers_[2]);
    if (!archives.ok()) return archives.status();
    writer->archives_ = *archives;
  }
  if (options.archives_json) {
    Expected<FILE*> archives =
        OpenAppend(options.output_dir + "/archives.json", &writer->buffers_[3]);
    if (!archives.ok()) return archives.status();
    writer->archives_json_ = *archives;
  }
  return writer;
}

AlertFileWriter::~AlertFileWriter() {
  for (FILE* file : {log_, json_, archives_, archives_json_}) {
    if (file != nullptr) std::fclose(file);
  }
}

Status AlertFileWriter::WriteAlert(const analysis::RuleMatch& match, const analysis::Event& event,
                                   std::string* id) {
  alert_.id.clear();
  AppendAlertId(event.time, static_cast<uint64_t>(log_offset_), &alert_.id);
  alert_.rule = match.rule;
  alert_.event = &event;
  alert_.previous = &match.previous;
  if (match.rule->log_alert) {
    text_.clear();
    AppendAlertLog(alert_, &text_);
    VIGIL_RETURN_IF_ERROR(WriteAll(log_, text_, dir_, "alerts.log"));
    log_offset_ += static_cast<long>(text_.size());
    if (json_ != nullptr) {
      text_.clear();
      AppendAlertJson(alert_, &text_);
      VIGIL_RETURN_IF_ERROR(WriteAll(json_, text_, dir_, "alerts.json"));
    }
  }
  if (id != nullptr) *id = alert_.id;
  return Status::Ok();
}

Status AlertFileWriter::WriteArchive(const analysis::Event& event) {
  if (archives_ != nullptr) {
    text_.clear();
    AppendArchiveLine(event, &text_);
    VIGIL_RETURN_IF_ERROR(WriteAll(archives_, text_, dir_, "archives.log"));
  }
  if (archives_json_ != nullptr) {
    text_.clear();
    AppendArchiveJson(event, &text_);
    VIGIL_RETURN_IF_ERROR(WriteAll(archives_json_, text_, dir_, "archives.json"));
  }
  return Status::Ok();
}

Status AlertFileWriter::Flush() {
  for (FILE* file : {log_, json_, archives_, archives_json_}) {
    if (file != nullptr && std::fflush(file) != 0) {
      return Status::IoError(dir_ + ": flush failed: " + std::strerror(errno));
    }
  }
  return Status::Ok();
}

}  // namespace vigil::alerting
