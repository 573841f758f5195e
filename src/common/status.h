// Status and Expected<T>: errors as values for parsing and I/O.
//
// A Status is either OK or carries a code and a message that already names the value at fault
// (file, line, element, peer). Exceptions never cross a component boundary; functions that can
// fail return Status or Expected<T>.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace vigil {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kIoError,
  kParseError,
  kUnsupported,
  kTimedOut,
  kResourceExhausted,
  kInternal,
};

// Returns the lower-case name of a code, such as "parse error".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status PermissionDenied(std::string m) {
    return {StatusCode::kPermissionDenied, std::move(m)};
  }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status ParseError(std::string m) { return {StatusCode::kParseError, std::move(m)}; }
  static Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
  static Status TimedOut(std::string m) { return {StatusCode::kTimedOut, std::move(m)}; }
  static Status ResourceExhausted(std::string m) {
    return {StatusCode::kResourceExhausted, std::move(m)};
  }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns "OK" or the message; the message is written to be shown to a user as it is.
  std::string ToString() const { return ok() ? std::string("OK") : message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// A value of type T or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : data_(std::in_place_index<0>, std::move(value)) {}        // NOLINT
  Expected(Status status) : data_(std::in_place_index<1>, std::move(status)) {  // NOLINT
    assert(!std::get<1>(data_).ok() && "Expected constructed from an OK status");
  }

  bool ok() const { return data_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  T& value() & { return std::get<0>(data_); }
  const T& value() const& { return std::get<0>(data_); }
  T&& value() && { return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok().
  const Status& status() const& { return std::get<1>(data_); }
  Status&& status() && { return std::get<1>(std::move(data_)); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace vigil

// Returns early from the calling function when `expr` yields a non-OK Status.
#define VIGIL_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::vigil::Status vigil_status_ = (expr);        \
    if (!vigil_status_.ok()) return vigil_status_; \
  } while (false)
