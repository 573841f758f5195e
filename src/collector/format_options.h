// Typed access to the attributes of <log_format>, with the checks every reader shares.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "common/status.h"

namespace vigil::collector {

// Reads the attributes of one <log_format> element. Each getter marks its attribute as known;
// CheckAllKnown() then rejects any attribute that no getter asked for. Error messages name the
// format and the attribute.
class FormatOptions {
 public:
  FormatOptions(std::string log_format, const std::map<std::string, std::string>& values)
      : log_format_(std::move(log_format)), values_(values) {}

  // Returns the value, or nullopt when the attribute is absent.
  std::optional<std::string> GetString(const std::string& name);
  // Parses a positive decimal integer.
  Expected<std::optional<uint64_t>> GetPositive(const std::string& name);
  // Parses yes/no, true/false, on/off, 1/0.
  Expected<std::optional<bool>> GetBool(const std::string& name);
  // Parses a duration: a plain number counts `unit` intervals, a number with a unit (`ms`, `s`,
  // `m`, `h`) is a duration. Zero is rejected.
  Expected<std::optional<std::chrono::milliseconds>> GetDuration(const std::string& name,
                                                                 std::chrono::milliseconds unit);
  // Parses `join`: "space" (the default, as OSSEC joins lines) or "newline"; returns the
  // separator.
  Expected<std::string> GetJoin();

  // Returns an error naming the first attribute no getter asked for.
  Status CheckAllKnown() const;

  // Returns an InvalidArgument error that names the format and the attribute.
  Status Invalid(const std::string& name, const std::string& reason) const;

 private:
  std::string log_format_;
  const std::map<std::string, std::string>& values_;
  std::set<std::string> known_;
};

}  // namespace vigil::collector
