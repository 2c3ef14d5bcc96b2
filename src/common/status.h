// The one set of Status helpers used across module boundaries: early return on error, unwrap a
// StatusOr, and prefix a status message with context while keeping its code.
#pragma once

#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace spirecvm {

// The same code with "<prefix>: <message>" as message; OK stays OK.
inline absl::Status Annotate(const absl::Status& status, std::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(ToAbsl(prefix), ": ", status.message()));
}

template <typename T>
absl::Status Annotate(const absl::StatusOr<T>& status_or, std::string_view prefix) {
  return Annotate(status_or.status(), prefix);
}

}  // namespace spirecvm

#define SPIRECVM_STATUS_CONCAT_INNER_(a, b) a##b
#define SPIRECVM_STATUS_CONCAT_(a, b) SPIRECVM_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) once and returns it from the enclosing function unless OK.
#define RETURN_IF_ERROR(expr)                            \
  do {                                                   \
    ::absl::Status spirecvm_status_ = (expr);            \
    if (!spirecvm_status_.ok()) return spirecvm_status_; \
  } while (0)

#define SPIRECVM_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  if (!tmp.ok()) return std::move(tmp).status();        \
  lhs = std::move(*tmp)

// `lhs = *expr` when `expr` (an absl::StatusOr) is OK, else returns its status. `lhs` may declare:
// ASSIGN_OR_RETURN(auto key, ParseKey(pem));
#define ASSIGN_OR_RETURN(lhs, expr) \
  SPIRECVM_ASSIGN_OR_RETURN_IMPL_(SPIRECVM_STATUS_CONCAT_(spirecvm_statusor_, __LINE__), lhs, expr)
