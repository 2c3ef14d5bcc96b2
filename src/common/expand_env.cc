#include "common/expand_env.h"

#include <cstdlib>
#include <utility>

#include "common/files.h"
#include "common/status.h"

namespace spirecvm::config {
namespace {

bool IsSpecial(char c) {
  switch (c) {
    case '*':
    case '#':
    case '$':
    case '@':
    case '!':
    case '?':
    case '-':
      return true;
    default:
      return c >= '0' && c <= '9';
  }
}

bool IsNameChar(char c) {
  return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// The name after a '$' in `s` (non-empty) and how many characters it takes. An empty name with a width is bad
// syntax (the characters are dropped); an empty name with width 0 means the '$' starts no name.
std::pair<std::string_view, size_t> NameAt(std::string_view s) {
  if (s[0] == '{') {
    if (s.size() > 2 && IsSpecial(s[1]) && s[2] == '}') return {s.substr(1, 1), 3};
    for (size_t i = 1; i < s.size(); ++i) {
      if (s[i] != '}') continue;
      if (i == 1) return {{}, 2};  // "${}"
      return {s.substr(1, i - 1), i + 1};
    }
    return {{}, 1};  // "${" with no closing brace: drop "${"
  }
  if (IsSpecial(s[0])) return {s.substr(0, 1), 1};
  size_t i = 0;
  while (i < s.size() && IsNameChar(s[i])) ++i;
  return {s.substr(0, i), i};
}

}  // namespace

std::string ExpandEnv(std::string_view text, const EnvLookup& lookup) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    if (text[i] != '$' || i + 1 >= text.size()) {
      out += text[i++];
      continue;
    }
    auto [name, width] = NameAt(text.substr(i + 1));
    if (name.empty() && width == 0) {
      out += '$';
    } else if (name == "$") {
      out += '$';  // SPIRE's escape: "$$" is a literal dollar
    } else if (!name.empty()) {
      if (std::optional<std::string> v = lookup(std::string(name))) out += *v;
    }
    i += 1 + width;
  }
  return out;
}

std::optional<std::string> ProcessEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read once at startup
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

absl::StatusOr<std::string> ReadConfigFile(const std::string& path, bool expand_env) {
  ASSIGN_OR_RETURN(std::string text, files::ReadFile(path));
  if (!expand_env) return text;
  return ExpandEnv(text, ProcessEnv);
}

}  // namespace spirecvm::config
