#include "daemon/delivery.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "common/text.h"

namespace vigil::daemon {
namespace {

// The output files a checkpoint covers. alerts.log is left out: every alert in it is also
// in alerts.json, which is always written.
constexpr const char* kOutputFiles[] = {"alerts.json", "archives.log", "archives.json"};

uint64_t FileSize(const std::string& path) {
  struct stat st = {};
  if (stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

// Returns the complete lines of `path` from byte `offset` on; a last line without its
// newline was cut by the crash and is left out.
Expected<std::vector<std::string>> LinesAfter(const std::string& path, uint64_t offset) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  if (!in) return lines;
  in.seekg(0, std::ios::end);
  auto size = static_cast<uint64_t>(in.tellg());
  if (size <= offset) return lines;
  in.seekg(static_cast<std::streamoff>(offset));
  std::string tail(size - offset, '\0');
  if (!in.read(tail.data(), static_cast<std::streamsize>(tail.size()))) {
    return Status::IoError(path + ": cannot read the output written after the last checkpoint");
  }
  size_t start = 0;
  for (size_t end = tail.find('\n'); end != std::string::npos; end = tail.find('\n', start)) {
    lines.push_back(tail.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace

std::string OutputCheckpoint(const std::string& output_dir) {
  std::string checkpoint;
  for (const char* name : kOutputFiles) {
    if (!checkpoint.empty()) checkpoint += ' ';
    checkpoint += std::string(name) + "=" + std::to_string(FileSize(output_dir + "/" + name));
  }
  return checkpoint;
}

std::string DeliveredRecords::Key(std::string_view location, std::string_view text) {
  std::string key;
  key.reserve(location.size() + 1 + text.size());
  key.append(location);
  key.push_back(' ');
  key.append(text);
  return key;
}

Expected<DeliveredRecords> DeliveredRecords::ReadAfter(const std::string& output_dir,
                                                       const std::string& checkpoint,
                                                       const std::set<std::string>& locations) {
  DeliveredRecords delivered;
  if (locations.empty()) return delivered;
  std::istringstream fields(checkpoint);
  std::string field;
  while (fields >> field) {
    size_t equals = field.find('=');
    if (equals == std::string::npos) continue;
    std::string name = field.substr(0, equals);
    if (std::find_if(std::begin(kOutputFiles), std::end(kOutputFiles),
                     [&](const char* known) { return name == known; }) == std::end(kOutputFiles)) {
      continue;
    }
    uint64_t size = 0;
    try {
      size = std::stoull(field.substr(equals + 1));
    } catch (const std::exception&) {
      continue;
    }
    std::string path = output_dir + "/" + name;
    if (FileSize(path) < size) continue;
    auto lines = LinesAfter(path, size);
    if (!lines.ok()) return lines.status();
    std::unordered_map<std::string, size_t> counts;
    for (const std::string& line : *lines) {
      if (name == "archives.log") {
        // `<time> <host>-><location> <full_log>`: the host part of a local event ends at the
        // first "->", and location plus text is the rest, as Key() joins them.
        size_t arrow = line.find("->");
        if (arrow == std::string::npos) continue;
        std::string rest = line.substr(arrow + 2);
        size_t space = rest.find(' ');
        // A location with spaces is not split here, so try each space.
        while (space != std::string::npos && locations.count(rest.substr(0, space)) == 0) {
          space = rest.find(' ', space + 1);
        }
        if (space != std::string::npos) ++counts[rest];
        continue;
      }
      nlohmann::json object = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      if (!object.is_object() || !object.contains("location") || !object.contains("full_log") ||
          !object["location"].is_string() || !object["full_log"].is_string() ||
          locations.count(object["location"].get<std::string>()) == 0) {
        continue;
      }
      ++counts[Key(object["location"].get<std::string>(), object["full_log"].get<std::string>())];
    }
    // A record is usually in several files (archives and alerts): count it once.
    for (auto& [key, count] : counts) {
      size_t& total = delivered.counts_[key];
      total = std::max(total, count);
    }
  }
  return delivered;
}

bool DeliveredRecords::Consume(std::string_view location, std::string_view text) {
  if (counts_.empty()) return false;
  // The outputs show the text as analysis stored it, escaped the same way.
  std::string stored(text);
  SanitizeText(&stored);
  auto it = counts_.find(Key(location, stored));
  if (it == counts_.end()) return false;
  if (--it->second == 0) counts_.erase(it);
  return true;
}

size_t DeliveredRecords::size() const {
  size_t total = 0;
  for (const auto& [key, count] : counts_) total += count;
  return total;
}

}  // namespace vigil::daemon
