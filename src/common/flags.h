// Go `flag`-package compatible parsing, as SPIRE's CLI does, so scripts written for spire-server work unchanged.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace spirecvm::flags {

class FlagSet {
 public:
  explicit FlagSet(std::string name);  // e.g. "entry create"

  // The target's current value is the default (shown in Usage() when non-zero).
  void String(std::string name, std::string* target, std::string help);
  void Int(std::string name, int64_t* target, std::string help);
  void Bool(std::string name, bool* target, std::string help);
  void Duration(std::string name, absl::Duration* target, std::string help);  // Go duration string
  // Repeatable flag: each occurrence appends to *target (as SPIRE's StringsFlag does).
  void StringList(std::string name, std::vector<std::string>* target, std::string help);

  // Accepts -flag value, -flag=value, --flag value, --flag=value; bool flags: -flag, -flag=true|false (not "-flag
  // false"). Stops at "--" (consumed) or the first non-flag argument (like Go); returns the remaining positional args.
  // "-h"/"-help" when not defined -> InvalidArgument "flag: help requested".
  // Unknown flag -> InvalidArgument "flag provided but not defined: -x"; missing value -> "flag needs an argument: -x";
  // bad int/bool/duration -> `invalid value "abc" for flag -x: <why>`.
  absl::StatusOr<std::vector<std::string>> Parse(const std::vector<std::string>& args);
  bool IsSet(std::string_view name) const;
  // Go style: "Usage of <name>:\n  -flag string\n    \thelp\n" sorted by name, with defaults shown when non-zero.
  std::string Usage() const;
  const std::string& name() const { return name_; }

 private:
  enum class Type { kString, kInt, kBool, kDuration, kStringList };
  struct Flag {
    Type type;
    void* target;
    std::string help;
    std::string default_text;  // Go-formatted default, empty when zero
  };
  void Add(std::string name, Type type, void* target, std::string help, std::string default_text);
  absl::Status Set(const std::string& name, Flag& flag, const std::string& value);

  std::string name_;
  std::map<std::string, Flag, std::less<>> flags_;
  std::map<std::string, bool, std::less<>> set_;
};

}  // namespace spirecvm::flags
