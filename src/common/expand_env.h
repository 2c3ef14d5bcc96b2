// -expandEnv: environment variables substituted into a configuration file's text before it is parsed, as SPIRE
// does (pkg/common/config.ExpandEnv, Go's os.Expand): `${NAME}` and `$NAME` (NAME of letters, digits and '_')
// become the variable's value, an unset variable becomes empty, `$$` is a literal '$', a one-character special
// name (`$1`, `${*}`, ...) is looked up like any other, `${}` and an unterminated `${` are dropped, and a '$' that
// starts no name (or ends the text) is kept.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace spirecvm::config {

// Returns the value of an environment variable, or nullopt when it is unset.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

std::string ExpandEnv(std::string_view text, const EnvLookup& lookup);

// The process environment (getenv). Not thread-safe against setenv, like getenv itself.
std::optional<std::string> ProcessEnv(const std::string& name);

// Reads a configuration file, expanding the process environment into it when `expand_env` (-expandEnv).
absl::StatusOr<std::string> ReadConfigFile(const std::string& path, bool expand_env);

}  // namespace spirecvm::config
