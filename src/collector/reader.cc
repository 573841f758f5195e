#include "collector/reader.h"

#include "collector/line_reader.h"

namespace vigil::collector {

Expected<std::unique_ptr<RecordReader>> MakeReader(
    const std::string& log_format, const std::map<std::string, std::string>& format_options,
    const ReaderOptions& options) {
  static const char* kOneLineFormats[] = {"syslog", "generic", "snort-fast", "apache",
                                          "iis",    "squid",   "syslog-pipe"};
  for (const char* name : kOneLineFormats) {
    if (log_format == name) {
      if (!format_options.empty()) {
        return Status::InvalidArgument("log format '" + log_format + "' takes no attribute, got '" +
                                       format_options.begin()->first + "'");
      }
      return std::unique_ptr<RecordReader>(new LineReader(options));
    }
  }
  return Status::InvalidArgument("unknown log format '" + log_format + "'");
}

}  // namespace vigil::collector
