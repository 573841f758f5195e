#include "alerting/writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

#include "common/file.h"

namespace vigil::alerting {
namespace {

// Opens `path` for appending, creating it as fopen's "a" mode does.
Expected<std::unique_ptr<BufferedOutput>> OpenAppend(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
  if (fd < 0) {
    return Status::IoError(path + ": cannot open for writing: " + std::strerror(errno));
  }
  return std::make_unique<BufferedOutput>(fd, path, /*owned=*/true);
}

}  // namespace

BufferedOutput::BufferedOutput(int fd, std::string name, bool owned)
    : fd_(fd), name_(std::move(name)), owned_(owned), terminal_(::isatty(fd) == 1) {}

BufferedOutput::~BufferedOutput() {
  (void)Flush();
  if (owned_) ::close(fd_);
}

Status BufferedOutput::Append(std::string_view text) {
  if (buffer_ == nullptr) buffer_ = std::make_unique_for_overwrite<char[]>(kBufferBytes);
  if (text.size() > kBufferBytes - used_) {
    VIGIL_RETURN_IF_ERROR(Flush());
    if (text.size() >= kBufferBytes) return WriteAll(fd_, text, name_);
  }
  std::memcpy(buffer_.get() + used_, text.data(), text.size());
  used_ += text.size();
  // A terminal shows each alert as it comes, as stdio's line buffering did.
  return terminal_ ? Flush() : Status::Ok();
}

Status BufferedOutput::Flush() {
  size_t size = std::exchange(used_, 0);
  // Bytes that a failed write leaves are dropped, so the error is reported once and later
  // output does not fail on them again.
  return size == 0 ? Status::Ok() : WriteAll(fd_, std::string_view(buffer_.get(), size), name_);
}

Expected<std::unique_ptr<AlertFileWriter>> AlertFileWriter::Open(const Options& options) {
  VIGIL_RETURN_IF_ERROR(MakeDirectories(options.output_dir));
  std::unique_ptr<AlertFileWriter> writer(new AlertFileWriter());
  const std::string& dir = options.output_dir;
  struct OutputFile {
    bool enabled;
    const char* name;
    std::unique_ptr<BufferedOutput>* output;
  };
  for (const OutputFile& file :
       {OutputFile{true, "alerts.log", &writer->log_},
        OutputFile{options.json, "alerts.json", &writer->json_},
        OutputFile{options.archives, "archives.log", &writer->archives_},
        OutputFile{options.archives_json, "archives.json", &writer->archives_json_}}) {
    if (!file.enabled) continue;
    Expected<std::unique_ptr<BufferedOutput>> opened = OpenAppend(dir + "/" + file.name);
    if (!opened.ok()) return opened.status();
    *file.output = std::move(*opened);
  }
  struct stat st {};
  if (::fstat(writer->log_->fd(), &st) != 0) {
    return Status::IoError(writer->log_->name() +
                           ": cannot read its size: " + std::strerror(errno));
  }
  writer->log_offset_ = static_cast<long>(st.st_size);
  return writer;
}

std::unique_ptr<AlertFileWriter> AlertFileWriter::ForStream(int fd, std::string name, bool json) {
  std::unique_ptr<AlertFileWriter> writer(new AlertFileWriter());
  auto output = std::make_unique<BufferedOutput>(fd, std::move(name), /*owned=*/false);
  (json ? writer->json_ : writer->log_) = std::move(output);
  return writer;
}

Status AlertFileWriter::WriteAlert(const analysis::RuleMatch& match, const analysis::Event& event,
                                   std::string* id) {
  alert_.id.clear();
  AppendAlertId(event.time, static_cast<uint64_t>(log_offset_), &alert_.id);
  alert_.rule = match.rule;
  alert_.event = &event;
  alert_.previous = &match.previous;
  if (match.rule->log_alert) {
    // A writer to a JSON stream renders the text all the same, for the offsets of later ids.
    std::string_view text = RenderAlertLog(alert_);
    if (log_ != nullptr) VIGIL_RETURN_IF_ERROR(log_->Append(text));
    log_offset_ += static_cast<long>(text.size());
    if (json_ != nullptr) {
      text_.clear();
      AppendAlertJson(alert_, &text_);
      VIGIL_RETURN_IF_ERROR(json_->Append(text_));
    }
  }
  if (id != nullptr) *id = alert_.id;
  return Status::Ok();
}

Status AlertFileWriter::WriteArchive(const analysis::Event& event) {
  if (archives_ != nullptr) {
    text_.clear();
    AppendArchiveLine(event, &text_);
    VIGIL_RETURN_IF_ERROR(archives_->Append(text_));
  }
  if (archives_json_ != nullptr) {
    text_.clear();
    AppendArchiveJson(event, &text_);
    VIGIL_RETURN_IF_ERROR(archives_json_->Append(text_));
  }
  return Status::Ok();
}

Status AlertFileWriter::Flush() {
  // Every output is flushed, and the first error is returned.
  Status result;
  for (BufferedOutput* output : {log_.get(), json_.get(), archives_.get(), archives_json_.get()}) {
    if (output == nullptr) continue;
    Status flushed = output->Flush();
    if (!flushed.ok() && result.ok()) result = flushed;
  }
  return result;
}

}  // namespace vigil::alerting
