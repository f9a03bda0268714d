#pragma once
// Status and Result<T>: the error type of the request path (no exceptions across library boundaries).
// One table (statusToHttp / statusToIssueCode in operation_outcome.h) maps a code to HTTP and OperationOutcome.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace planbro {

enum class StatusCode {
  kOk,
  kInvalidArgument,     // malformed input: 400
  kNotFound,            // 404
  kGone,                // deleted: 410
  kAlreadyExists,       // 409 / duplicate
  kConflict,            // version conflict: 409
  kFailedPrecondition,  // If-Match mismatch: 412
  kUnprocessable,       // valid syntax, invalid FHIR resource: 422
  kPermissionDenied,    // 403
  kUnauthenticated,     // 401
  kResourceExhausted,   // a configured limit was exceeded: 413 / 431
  kUnsupported,         // method or media type not supported: 405 / 415
  kUnavailable,         // a dependency (database) is down: 503
  kInternal,            // a bug: 500
};

/** A status code plus a plain-words message. Cheap to copy when ok. */
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool isOk() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status notFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status internalError(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status resourceExhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status failedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }

/** Either a value or a non-ok Status. */
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool isOk() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace planbro

#define PLANBRO_CONCAT_INNER(a, b) a##b
#define PLANBRO_CONCAT(a, b) PLANBRO_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                     \
  do {                                            \
    ::planbro::Status planbro_status_ = (expr);   \
    if (!planbro_status_.isOk()) return planbro_status_; \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.isOk()) return tmp.status();       \
  lhs = std::move(tmp).value()

#define ASSIGN_OR_RETURN(lhs, expr) ASSIGN_OR_RETURN_IMPL(PLANBRO_CONCAT(planbro_result_, __LINE__), lhs, expr)
