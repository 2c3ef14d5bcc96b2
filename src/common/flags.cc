#include "common/flags.h"

#include <cerrno>
#include <charconv>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "common/duration.h"
#include "common/status.h"
#include "common/strings.h"

namespace spirecvm::flags {
namespace {

// strconv.ParseBool.
bool ParseBool(std::string_view s, bool& out) {
  if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True") {
    out = true;
    return true;
  }
  if (s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" || s == "False") {
    out = false;
    return true;
  }
  return false;
}

// strconv.ParseInt(s, 0, 64): optional sign, then 0x/0o/0b prefixes or a leading 0 for octal.
absl::Status ParseInt(std::string_view s, int64_t& out) {
  std::string_view body = s;
  bool neg = false;
  if (!body.empty() && (body[0] == '+' || body[0] == '-')) {
    neg = body[0] == '-';
    body.remove_prefix(1);
  }
  int base = 10;
  if (body.size() > 1 && body[0] == '0') {
    char p = body[1];
    if (p == 'x' || p == 'X') {
      base = 16;
      body.remove_prefix(2);
    } else if (p == 'o' || p == 'O') {
      base = 8;
      body.remove_prefix(2);
    } else if (p == 'b' || p == 'B') {
      base = 2;
      body.remove_prefix(2);
    } else {
      base = 8;
      body.remove_prefix(1);
    }
  }
  if (body.empty() || body[0] == '+' || body[0] == '-') return absl::InvalidArgumentError("parse error");
  uint64_t mag = 0;
  auto [ptr, ec] = std::from_chars(body.data(), body.data() + body.size(), mag, base);
  if (ec == std::errc::result_out_of_range) return absl::OutOfRangeError("value out of range");
  if (ec != std::errc() || ptr != body.data() + body.size()) return absl::InvalidArgumentError("parse error");
  constexpr uint64_t kMaxPos = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (neg) {
    if (mag > kMaxPos + 1) return absl::OutOfRangeError("value out of range");
    out = mag == kMaxPos + 1 ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(mag);
  } else {
    if (mag > kMaxPos) return absl::OutOfRangeError("value out of range");
    out = static_cast<int64_t>(mag);
  }
  return absl::OkStatus();
}

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

}  // namespace

FlagSet::FlagSet(std::string name) : name_(std::move(name)) {}

void FlagSet::Add(std::string name, Type type, void* target, std::string help, std::string default_text) {
  flags_[std::move(name)] = Flag{type, target, std::move(help), std::move(default_text)};
}

void FlagSet::String(std::string name, std::string* target, std::string help) {
  Add(std::move(name), Type::kString, target, std::move(help), target->empty() ? "" : GoQuote(*target));
}
void FlagSet::Int(std::string name, int64_t* target, std::string help) {
  Add(std::move(name), Type::kInt, target, std::move(help), *target == 0 ? "" : absl::StrCat(*target));
}
void FlagSet::Bool(std::string name, bool* target, std::string help) {
  Add(std::move(name), Type::kBool, target, std::move(help), *target ? "true" : "");
}
void FlagSet::Duration(std::string name, absl::Duration* target, std::string help) {
  Add(std::move(name), Type::kDuration, target, std::move(help),
      *target == absl::ZeroDuration() ? "" : FormatGoDuration(*target));
}
void FlagSet::StringList(std::string name, std::vector<std::string>* target, std::string help) {
  Add(std::move(name), Type::kStringList, target, std::move(help),
      target->empty() ? "" : absl::StrCat("[", absl::StrJoin(*target, " "), "]"));
}

absl::Status FlagSet::Set(const std::string& name, Flag& flag, const std::string& value) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value ", GoQuote(value), " for flag -", name, ": ", why));
  };
  switch (flag.type) {
    case Type::kString:
      *static_cast<std::string*>(flag.target) = value;
      break;
    case Type::kInt: {
      int64_t v = 0;
      if (auto s = ParseInt(value, v); !s.ok()) return invalid(s.message());
      *static_cast<int64_t*>(flag.target) = v;
      break;
    }
    case Type::kBool: {
      bool b = false;
      if (!ParseBool(value, b)) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid boolean value ", GoQuote(value), " for -", name, ": parse error"));
      }
      *static_cast<bool*>(flag.target) = b;
      break;
    }
    case Type::kDuration: {
      auto d = ParseGoDuration(value);
      if (!d.ok()) return invalid(d.status().message());
      *static_cast<absl::Duration*>(flag.target) = *d;
      break;
    }
    case Type::kStringList:
      static_cast<std::vector<std::string>*>(flag.target)->push_back(value);
      break;
  }
  set_[name] = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> FlagSet::Parse(const std::vector<std::string>& args) {
  size_t i = 0;
  while (i < args.size()) {
    const std::string& a = args[i];
    if (a.size() < 2 || a[0] != '-') break;  // "-" alone and non-flags end flag parsing, as in Go
    size_t dashes = 1;
    if (a[1] == '-') {
      dashes = 2;
      if (a.size() == 2) {  // "--" terminates flags and is consumed
        ++i;
        break;
      }
    }
    std::string name = a.substr(dashes);
    if (name.empty() || name[0] == '-' || name[0] == '=') {
      return absl::InvalidArgumentError(absl::StrCat("bad flag syntax: ", a));
    }
    ++i;
    bool has_value = false;
    std::string value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_value = true;
    }
    auto it = flags_.find(name);
    if (it == flags_.end()) {
      if (name == "help" || name == "h") return absl::InvalidArgumentError("flag: help requested");
      return absl::InvalidArgumentError(absl::StrCat("flag provided but not defined: -", name));
    }
    Flag& flag = it->second;
    if (flag.type == Type::kBool) {
      // Go: a bool flag never consumes the next argument ("-flag false" leaves "false" positional).
      if (!has_value) value = "true";
    } else if (!has_value) {
      if (i >= args.size()) return absl::InvalidArgumentError(absl::StrCat("flag needs an argument: -", name));
      value = args[i++];
    }
    RETURN_IF_ERROR(Set(name, flag, value));
  }
  return std::vector<std::string>(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
}

bool FlagSet::IsSet(std::string_view name) const { return set_.find(name) != set_.end(); }

std::string FlagSet::Usage() const {
  std::string out = name_.empty() ? "Usage:\n" : absl::StrCat("Usage of ", name_, ":\n");
  for (const auto& [name, flag] : flags_) {
    std::string line = absl::StrCat("  -", name);
    std::string usage = flag.help;
    std::string type_name;
    // Go's UnquoteUsage: a `backquoted` word in the help names the argument.
    auto b1 = usage.find('`');
    auto b2 = b1 == std::string::npos ? std::string::npos : usage.find('`', b1 + 1);
    if (b2 != std::string::npos) {
      type_name = usage.substr(b1 + 1, b2 - b1 - 1);
      usage = usage.substr(0, b1) + type_name + usage.substr(b2 + 1);
    } else {
      switch (flag.type) {
        case Type::kString:
          type_name = "string";
          break;
        case Type::kInt:
          type_name = "int";
          break;
        case Type::kBool:
          break;
        case Type::kDuration:
          type_name = "duration";
          break;
        case Type::kStringList:
          type_name = "value";
          break;
      }
    }
    if (!type_name.empty()) absl::StrAppend(&line, " ", type_name);
    // Single-letter boolean flags fit on one line, as in Go.
    if (line.size() <= 4) {
      line += "\t";
    } else {
      line += "\n    \t";
    }
    line += absl::StrReplaceAll(usage, {{"\n", "\n    \t"}});
    if (!flag.default_text.empty()) absl::StrAppend(&line, " (default ", flag.default_text, ")");
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

}  // namespace spirecvm::flags
