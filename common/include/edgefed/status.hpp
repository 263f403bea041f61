// Errors as values. Every recoverable failure at a system boundary (network,
// disk, input) is a Status with a canonical Code; codes map to HTTP statuses
// and to the one JSON error body in exactly one place (http_status_for,
// error_body), so every error the project emits has the same shape.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace edgefed {

enum class Code {
  kOk,
  kInvalidArgument,     // 400 malformed input (bad JSON, bad safetensors, bad flag)
  kUnauthenticated,     // 401 no or bad credentials
  kPermissionDenied,    // 403 not allowed (wrong CN, quarantined, not admin)
  kNotFound,            // 404 unknown route or object
  kMethodNotAllowed,    // 405
  kConflict,            // 409 state conflict (e.g. same update_id, other body)
  kTooStale,            // 410 update older than max_staleness
  kPayloadTooLarge,     // 413
  kDimensionMismatch,   // 422 tensor shapes or layout fingerprint differ
  kNonFinite,           // 422 NaN or Inf in a payload
  kUnprocessable,       // 422 well-formed but semantically invalid
  kRateLimited,         // 429
  kUnavailable,         // 503 not ready, shutting down, overloaded
  kInternal,            // 500 a bug or an unexpected system failure
  kIo,                  // 500 disk or OS error
};

// Stable snake_case name used in JSON error bodies ("dimension_mismatch").
std::string_view code_name(Code code);
// The HTTP status for an error code (200 for kOk).
int http_status_for(Code code);
// The other direction, for answers that carry no JSON error body: the code
// whose http_status_for() is `http_status` (422: kUnprocessable, the general
// one of the three; 500: kInternal), else kInternal for 5xx, kInvalidArgument
// for 4xx and kOk for 2xx. Both directions are this one table.
Code code_for_http_status(int http_status);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status ok() { return {}; }

  bool is_ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return is_ok(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "dimension_mismatch: tensor w has 10 values, layout says 12"
  std::string to_string() const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// {"error": {"code": "...", "message": "..."}} serialised, for HTTP bodies.
std::string error_body(const Status& status);

// A value or the Status that explains why there is none.
// REQUIRES: a Result is constructed from a non-ok Status only.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT
  Result(Code code, std::string message) : v_(Status(code, std::move(message))) {}

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  const Status& status() const {
    static const Status kOkStatus;
    return is_ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

// Thrown only for start-up and configuration errors, caught in main().
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace edgefed

// Propagate a non-ok Status from an expression returning Status.
#define EDGEFED_RETURN_IF_ERROR(expr)            \
  do {                                           \
    ::edgefed::Status edgefed_st_ = (expr);      \
    if (!edgefed_st_.is_ok()) return edgefed_st_; \
  } while (0)
