#include "collector/journald_source.h"

#include <cstring>

#include "common/file.h"
#include "common/logging.h"
#include "common/text.h"

#ifdef VIGIL_HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#include <time.h>
#endif

namespace vigil::collector {

#ifdef VIGIL_HAVE_SYSTEMD
namespace {

std::string Field(sd_journal* journal, const char* name) {
  const void* data = nullptr;
  size_t length = 0;
  if (sd_journal_get_data(journal, name, &data, &length) < 0) return {};
  std::string_view field(static_cast<const char*>(data), length);
  size_t equals = field.find('=');
  return equals == std::string_view::npos ? std::string() : std::string(field.substr(equals + 1));
}

class SystemdJournal final : public JournaldSource {
 public:
  SystemdJournal(sd_journal* journal, std::string cursor_file, size_t max_record_bytes)
      : journal_(journal), cursor_file_(std::move(cursor_file)), max_(max_record_bytes) {}
  ~SystemdJournal() override { sd_journal_close(journal_); }

  int fd() const override { return sd_journal_get_fd(journal_); }

  void Read(const RecordCallback& emit) override {
    sd_journal_process(journal_);
    while (sd_journal_next(journal_) > 0) {
      ++counters_.reader.lines;
      uint64_t micros = 0;
      sd_journal_get_realtime_usec(journal_, &micros);
      time_t seconds = static_cast<time_t>(micros / 1000000);
      struct tm local = {};
      localtime_r(&seconds, &local);
      char stamp[40];
      size_t length = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z", &local);
      std::string time(stamp, length);
      if (time.size() >= 5) time.insert(time.size() - 2, ":");  // +0100 -> +01:00
      Record record;
      record.location = "journald";
      record.text = time + " " + Field(journal_, "_HOSTNAME") + " " +
                    Field(journal_, "SYSLOG_IDENTIFIER") + ": " + Field(journal_, "MESSAGE");
      if (record.text.size() > max_) {
        record.text.resize(max_);
        record.truncated = true;
        ++counters_.reader.truncated;
      }
      SanitizeCounts counts;
      SanitizeText(&record.text, &counts);
      counters_.reader.escaped_bytes += counts.nul_bytes + counts.invalid_bytes;
      counters_.bytes_read += record.text.size();
      ++counters_.reader.records;
      emit(std::move(record));
    }
  }

  void SaveCursor() override {
    char* cursor = nullptr;
    if (cursor_file_.empty() || sd_journal_get_cursor(journal_, &cursor) < 0) return;
    Status status = WriteFileAtomic(cursor_file_, cursor, 0640);
    free(cursor);
    if (!status.ok()) GetLogger("collector")->error("journald: {}", status.message());
  }

 private:
  sd_journal* journal_;
  std::string cursor_file_;
  size_t max_;
};

}  // namespace

Expected<std::unique_ptr<JournaldSource>> JournaldSource::Open(const std::string& unit,
                                                               const std::string& cursor_file,
                                                               size_t max_record_bytes) {
  sd_journal* journal = nullptr;
  int rc = sd_journal_open(&journal, SD_JOURNAL_LOCAL_ONLY);
  if (rc < 0) {
    return Status::IoError("journald: opening the journal failed: " + std::string(strerror(-rc)));
  }
  // OSSEC configs name the source itself ("journald") or "all" when they filter nothing.
  if (!unit.empty() && unit != "all" && unit != "journald") {
    std::string match = "_SYSTEMD_UNIT=" + unit;
    sd_journal_add_match(journal, match.data(), match.size());
  }
  bool resumed = false;
  if (!cursor_file.empty()) {
    auto cursor = ReadFile(cursor_file);
    if (cursor.ok() && sd_journal_seek_cursor(journal, std::string(Trim(*cursor)).c_str()) >= 0) {
      // seek_cursor lands on the saved entry; skip it, it was read.
      sd_journal_next(journal);
      resumed = true;
    }
  }
  if (!resumed) {
    sd_journal_seek_tail(journal);
    sd_journal_previous(journal);
  }
  auto source = std::make_unique<SystemdJournal>(journal, cursor_file, max_record_bytes);
  source->unit_ = unit;
  GetLogger("collector")
      ->info("reading journald (unit {}) from {}", unit.empty() ? "all" : unit,
             resumed ? "its saved cursor" : "its tail");
  return std::unique_ptr<JournaldSource>(std::move(source));
}

#else

Expected<std::unique_ptr<JournaldSource>> JournaldSource::Open(const std::string& unit,
                                                               const std::string& cursor_file,
                                                               size_t max_record_bytes) {
  return Status::Unsupported("journald: this Vigil was built without libsystemd");
}

#endif

}  // namespace vigil::collector
