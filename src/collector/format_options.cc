#include "collector/format_options.h"

#include "common/text.h"

namespace vigil::collector {

std::optional<std::string> FormatOptions::GetString(const std::string& name) {
  known_.insert(name);
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

Status FormatOptions::Invalid(const std::string& name, const std::string& reason) const {
  return Status::InvalidArgument("log format '" + log_format_ + "': attribute " + name + ": " +
                                 reason);
}

Expected<std::optional<uint64_t>> FormatOptions::GetPositive(const std::string& name) {
  std::optional<std::string> text = GetString(name);
  if (!text) return std::optional<uint64_t>();
  uint64_t value = 0;
  if (!ParseUint(Trim(*text), &value) || value == 0) {
    return Invalid(name, "'" + *text + "' is not a positive whole number");
  }
  return std::optional<uint64_t>(value);
}

Expected<std::optional<bool>> FormatOptions::GetBool(const std::string& name) {
  std::optional<std::string> text = GetString(name);
  if (!text) return std::optional<bool>();
  std::string value = ToLower(Trim(*text));
  if (value == "yes" || value == "true" || value == "on" || value == "1") {
    return std::optional<bool>(true);
  }
  if (value == "no" || value == "false" || value == "off" || value == "0") {
    return std::optional<bool>(false);
  }
  return Invalid(name, "'" + *text + "' is not yes or no");
}

Expected<std::optional<std::chrono::milliseconds>> FormatOptions::GetDuration(
    const std::string& name, std::chrono::milliseconds unit) {
  using std::chrono::milliseconds;
  std::optional<std::string> text = GetString(name);
  if (!text) return std::optional<milliseconds>();
  std::string_view value = Trim(*text);
  size_t digits = 0;
  while (digits < value.size() && value[digits] >= '0' && value[digits] <= '9') ++digits;
  uint64_t number = 0;
  std::string_view suffix = value.substr(digits);
  if (digits == 0 || !ParseUint(value.substr(0, digits), &number) || number == 0 ||
      number > 1'000'000'000) {
    return Invalid(name, "'" + *text + "' is not a positive duration such as 3, 500ms or 3s");
  }
  milliseconds result;
  if (suffix.empty()) {
    result = unit * number;
  } else if (suffix == "ms") {
    result = milliseconds(number);
  } else if (suffix == "s") {
    result = milliseconds(number * 1000);
  } else if (suffix == "m") {
    result = milliseconds(number * 60'000);
  } else if (suffix == "h") {
    result = milliseconds(number * 3'600'000);
  } else {
    return Invalid(name, "unknown unit '" + std::string(suffix) + "' in '" + *text +
                             "' (use ms, s, m or h, or a plain number of loop intervals)");
  }
  return std::optional<milliseconds>(result);
}

Expected<std::string> FormatOptions::GetJoin() {
  std::optional<std::string> text = GetString("join");
  if (!text) return std::string(" ");
  std::string value = ToLower(Trim(*text));
  if (value == "space") return std::string(" ");
  if (value == "newline") return std::string("\n");
  return Invalid("join", "'" + *text + "' is not space or newline");
}

Status FormatOptions::CheckAllKnown() const {
  for (const auto& [name, value] : values_) {
    if (known_.count(name) == 0) {
      std::string accepted;
      for (const std::string& known : known_) {
        accepted += accepted.empty() ? known : ", " + known;
      }
      return Status::InvalidArgument(
          "log format '" + log_format_ + "' has unknown attribute '" + name + "'" +
          (accepted.empty() ? std::string(" (it takes none)") : " (it takes " + accepted + ")"));
    }
  }
  return Status::Ok();
}

}  // namespace vigil::collector
