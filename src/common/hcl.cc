#include "common/hcl.h"

#include <charconv>
#include <map>
#include <optional>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"

namespace spirecvm::hcl {

std::string_view KindName(Value::Kind kind) {
  switch (kind) {
    case Value::Kind::kString:
      return "string";
    case Value::Kind::kNumber:
      return "number";
    case Value::Kind::kBool:
      return "bool";
    case Value::Kind::kList:
      return "list";
    case Value::Kind::kObject:
      return "object";
    case Value::Kind::kNull:
      return "null";
  }
  return "unknown";
}

namespace {

bool IsIdentStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || (c >= '0' && c <= '9') || c == '-' || c == '.'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Scannerless recursive-descent parser. Newlines are treated as whitespace almost everywhere (HCL1, which
// SPIRE uses, is lenient the same way: `a = 1 b = 2` on one line is fine); the exception is block labels,
// which must be on the same line as the block type so that `x "v"` followed by a newline cannot swallow the
// next attribute name as a label.
class Parser {
 public:
  Parser(std::string_view text, std::string_view filename) : text_(text), filename_(filename) {}

  absl::StatusOr<Body> ParseFile() {
    Body body;
    if (!ParseBodyItems(body, /*closing=*/std::nullopt)) return error_;
    return body;
  }

 private:
  struct Mark {
    size_t off;
    Position pos;
  };

  bool AtEnd() const { return off_ >= text_.size(); }
  char Peek(size_t ahead = 0) const { return off_ + ahead < text_.size() ? text_[off_ + ahead] : '\0'; }
  Position Pos() const { return {line_, col_}; }
  Mark Save() const { return {off_, Pos()}; }
  void Restore(const Mark& m) {
    off_ = m.off;
    line_ = m.pos.line;
    col_ = m.pos.column;
  }

  void Advance() {
    if (AtEnd()) return;
    char c = text_[off_++];
    if (c == '\n') {
      ++line_;
      col_ = 1;
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      // Columns count characters, not bytes: continuation bytes of a UTF-8 sequence do not advance.
      ++col_;
    }
  }
  void AdvanceN(size_t n) {
    for (size_t i = 0; i < n; ++i) Advance();
  }

  bool Fail(Position pos, std::string what) {
    if (error_.ok()) {
      error_ = absl::InvalidArgumentError(absl::StrCat(ToAbsl(filename_), ":", pos.line, ":", pos.column, ": ", what));
    }
    return false;
  }

  // Skips spaces, tabs, CRs, comments and (if newlines) newlines. Fails only on an unterminated /* comment.
  bool SkipSpace(bool newlines) {
    while (!AtEnd()) {
      char c = Peek();
      if (c == ' ' || c == '\t' || c == '\r' || (newlines && c == '\n')) {
        Advance();
      } else if (c == '#' || (c == '/' && Peek(1) == '/')) {
        while (!AtEnd() && Peek() != '\n') Advance();
      } else if (c == '/' && Peek(1) == '*') {
        Position start = Pos();
        AdvanceN(2);
        while (!AtEnd() && !(Peek() == '*' && Peek(1) == '/')) Advance();
        if (AtEnd()) return Fail(start, "unterminated /* comment");
        AdvanceN(2);
      } else {
        break;
      }
    }
    return true;
  }

  std::string Describe() const {
    if (AtEnd()) return "end of file";
    char c = Peek();
    if (c == '\n') return "newline";
    if (IsIdentStart(c)) {
      size_t e = off_;
      while (e < text_.size() && IsIdentChar(text_[e])) ++e;
      return absl::StrCat("\"", ToAbsl(text_.substr(off_, e - off_)), "\"");
    }
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) {
      return absl::StrCat("character 0x", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    }
    return absl::StrCat("'", std::string(1, c), "'");
  }

  std::string ParseIdent() {
    size_t start = off_;
    while (!AtEnd() && IsIdentChar(Peek())) Advance();
    return std::string(text_.substr(start, off_ - start));
  }

  // Key of an attribute/block or object entry: identifier or quoted string.
  bool ParseKey(std::string& out) {
    if (Peek() == '"') return ParseQuoted(out);
    if (IsIdentStart(Peek())) {
      out = ParseIdent();
      return true;
    }
    return Fail(Pos(), absl::StrCat("expected an attribute name or block type, got ", Describe()));
  }

  bool ParseHex(int digits, uint32_t& cp) {
    cp = 0;
    for (int i = 0; i < digits; ++i) {
      char c = Peek();
      uint32_t v;
      if (c >= '0' && c <= '9') {
        v = c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v = c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v = c - 'A' + 10;
      } else {
        return false;
      }
      cp = cp * 16 + v;
      Advance();
    }
    return true;
  }

  bool ParseQuoted(std::string& out) {
    Position start = Pos();
    Advance();  // opening quote
    out.clear();
    while (true) {
      if (AtEnd() || Peek() == '\n') return Fail(start, "unterminated string (missing closing '\"')");
      char c = Peek();
      if (c == '"') {
        Advance();
        return true;
      }
      if (c != '\\') {
        out.push_back(c);
        Advance();
        continue;
      }
      Position esc = Pos();
      Advance();
      char e = Peek();
      switch (e) {
        case 'n':
          out.push_back('\n');
          Advance();
          break;
        case 't':
          out.push_back('\t');
          Advance();
          break;
        case 'r':
          out.push_back('\r');
          Advance();
          break;
        case '"':
          out.push_back('"');
          Advance();
          break;
        case '\\':
          out.push_back('\\');
          Advance();
          break;
        case 'u':
        case 'U': {
          Advance();
          uint32_t cp;
          int digits = e == 'u' ? 4 : 8;
          if (!ParseHex(digits, cp)) {
            return Fail(esc, absl::StrCat("invalid \\", std::string(1, e), " escape: want ", digits, " hex digits"));
          }
          if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return Fail(esc, absl::StrCat("invalid Unicode code point U+", absl::Hex(cp), " in escape"));
          }
          AppendUtf8(out, cp);
          break;
        }
        default:
          if (AtEnd() || e == '\n') return Fail(start, "unterminated string (missing closing '\"')");
          return Fail(esc, absl::StrCat("invalid escape sequence \\", std::string(1, e)));
      }
    }
  }

  bool ParseHeredoc(Value& v) {
    Position start = Pos();
    AdvanceN(2);  // <<
    bool indent = false;
    if (Peek() == '-') {
      indent = true;
      Advance();
    }
    if (!IsIdentStart(Peek())) return Fail(Pos(), "heredoc: expected a marker identifier after '<<'");
    std::string marker = ParseIdent();
    while (Peek() == ' ' || Peek() == '\t' || Peek() == '\r') Advance();
    if (Peek() != '\n') return Fail(Pos(), "heredoc: expected a newline after the marker");
    Advance();
    std::vector<std::string_view> lines;
    while (true) {
      if (AtEnd()) return Fail(start, absl::StrCat("unterminated heredoc: no closing \"", marker, "\" line"));
      size_t eol = text_.find('\n', off_);
      if (eol == std::string_view::npos) eol = text_.size();
      std::string_view line = text_.substr(off_, eol - off_);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      std::string_view trimmed = ToStd(absl::StripAsciiWhitespace(ToAbsl(line)));
      if (trimmed == marker) {
        // Leave the cursor after the marker so a following ',' or ']' on the same line is parsed normally.
        size_t lead = line.find(marker);
        AdvanceN(lead + marker.size());
        break;
      }
      lines.push_back(line);
      AdvanceN(eol - off_);
      Advance();  // newline (no-op at EOF)
    }
    size_t strip = 0;
    if (indent) {
      bool first = true;
      for (auto l : lines) {
        if (absl::StripAsciiWhitespace(ToAbsl(l)).empty()) continue;
        size_t n = 0;
        while (n < l.size() && (l[n] == ' ' || l[n] == '\t')) ++n;
        strip = first ? n : std::min(strip, n);
        first = false;
      }
    }
    v.kind = Value::Kind::kString;
    v.str.clear();
    for (auto l : lines) {
      if (indent) l.remove_prefix(std::min(strip, l.size()));
      absl::StrAppend(&v.str, ToAbsl(l), "\n");
    }
    return true;
  }

  bool ParseNumber(Value& v) {
    Position start = Pos();
    size_t b = off_;
    if (Peek() == '-') Advance();
    if (!IsDigit(Peek())) return Fail(start, "invalid number: '-' must be followed by digits");
    while (IsDigit(Peek())) Advance();
    if (Peek() == '.' && IsDigit(Peek(1))) {
      Advance();
      while (IsDigit(Peek())) Advance();
    }
    if (Peek() == 'e' || Peek() == 'E') {
      Mark m = Save();
      Advance();
      if (Peek() == '+' || Peek() == '-') Advance();
      if (!IsDigit(Peek())) {
        Restore(m);
      } else {
        while (IsDigit(Peek())) Advance();
      }
    }
    if (IsIdentChar(Peek())) {
      while (IsIdentChar(Peek())) Advance();
      return Fail(start, absl::StrCat("invalid number \"", ToAbsl(text_.substr(b, off_ - b)), "\""));
    }
    v.kind = Value::Kind::kNumber;
    v.number_text = std::string(text_.substr(b, off_ - b));
    auto [ptr, ec] = std::from_chars(v.number_text.data(), v.number_text.data() + v.number_text.size(), v.number);
    if (ec != std::errc() || ptr != v.number_text.data() + v.number_text.size()) {
      return Fail(start, absl::StrCat("number \"", v.number_text, "\" is out of range"));
    }
    return true;
  }

  bool ParseValue(Value& v) {
    if (!SkipSpace(true)) return false;
    v = Value();
    v.pos = Pos();
    char c = Peek();
    if (c == '"') {
      v.kind = Value::Kind::kString;
      return ParseQuoted(v.str);
    }
    if (c == '<' && Peek(1) == '<') return ParseHeredoc(v);
    if (c == '-' || IsDigit(c)) return ParseNumber(v);
    if (c == '[') return ParseList(v);
    if (c == '{') return ParseObject(v);
    if (IsIdentStart(c)) {
      Position p = Pos();
      std::string word = ParseIdent();
      if (word == "true" || word == "false") {
        v.kind = Value::Kind::kBool;
        v.boolean = word == "true";
        return true;
      }
      return Fail(p, absl::StrCat("unexpected \"", word,
                                  "\": want a value (quoted string, number, true/false, list or object)"));
    }
    return Fail(Pos(), absl::StrCat("unexpected ", Describe(), ": want a value"));
  }

  bool ParseList(Value& v) {
    Position open = v.pos;
    Advance();  // [
    v.kind = Value::Kind::kList;
    while (true) {
      if (!SkipSpace(true)) return false;
      if (AtEnd()) return Fail(open, "unterminated list: '[' is never closed");
      if (Peek() == ']') {
        Advance();
        return true;
      }
      Value item;
      if (!ParseValue(item)) return false;
      v.list.push_back(std::move(item));
      if (!SkipSpace(true)) return false;
      if (AtEnd()) return Fail(open, "unterminated list: '[' is never closed");
      if (Peek() == ',') {
        Advance();
      } else if (Peek() != ']') {
        return Fail(Pos(), absl::StrCat("expected ',' or ']' in list, got ", Describe()));
      }
    }
  }

  bool ParseObject(Value& v) {
    Position open = v.pos;
    Advance();  // {
    v.kind = Value::Kind::kObject;
    std::map<std::string, Position> seen;
    while (true) {
      if (!SkipSpace(true)) return false;
      if (AtEnd()) return Fail(open, "unterminated object: '{' is never closed");
      if (Peek() == '}') {
        Advance();
        return true;
      }
      if (Peek() == ',') {
        Advance();
        continue;
      }
      Position kp = Pos();
      std::string key;
      if (!ParseKey(key)) return false;
      if (!SkipSpace(true)) return false;
      Value item;
      if (Peek() == '=' || Peek() == ':') {
        Advance();
        if (!ParseValue(item)) return false;
      } else if (Peek() == '{') {
        // `k { ... }` inside an object value is a nested object, as in HCL1.
        item.pos = Pos();
        if (!ParseObject(item)) return false;
      } else {
        return Fail(Pos(), absl::StrCat("expected '=' or ':' after object key \"", key, "\", got ", Describe()));
      }
      auto [it, inserted] = seen.emplace(key, kp);
      if (!inserted) {
        return Fail(kp, absl::StrCat("duplicate key \"", key, "\" in object (first defined at ", it->second.line, ":",
                                     it->second.column, ")"));
      }
      v.object.emplace_back(std::move(key), std::move(item));
    }
  }

  // Where each attribute and block name of one body was first defined (duplicate and clash errors cite it).
  struct SeenNames {
    std::map<std::string, Position> attrs;
    std::map<std::string, Position> blocks;
  };

  // Parses items until `closing` ('}') or end of file (top level).
  bool ParseBodyItems(Body& body, std::optional<Position> closing) {
    SeenNames seen;
    while (true) {
      if (!SkipSpace(true)) return false;
      if (AtEnd()) {
        if (closing) return Fail(*closing, "unterminated block: '{' is never closed");
        return true;
      }
      if (Peek() == '}') {
        if (!closing) return Fail(Pos(), "unexpected '}' with no open block");
        Advance();
        return true;
      }
      Position kp = Pos();
      std::string key;
      if (!ParseKey(key)) return false;
      if (!SkipSpace(false)) return false;
      if (Peek() == '=') {
        Advance();
        if (!ParseAttributeRest(body, std::move(key), kp, seen)) return false;
      } else if (!ParseBlockRest(body, std::move(key), kp, seen)) {
        return false;
      }
    }
  }

  // After `key =`: the value, then the duplicate and attribute/block clash checks.
  bool ParseAttributeRest(Body& body, std::string key, Position kp, SeenNames& seen) {
    Attribute a;
    a.name = key;
    a.pos = kp;
    if (!ParseValue(a.value)) return false;
    if (auto it = seen.attrs.find(key); it != seen.attrs.end()) {
      return Fail(kp, absl::StrCat("duplicate attribute \"", key, "\" (first defined at ", it->second.line, ":",
                                   it->second.column, ")"));
    }
    if (auto it = seen.blocks.find(key); it != seen.blocks.end()) {
      return Fail(kp, absl::StrCat("\"", key, "\" is both an attribute and a block (block at ", it->second.line, ":",
                                   it->second.column, ")"));
    }
    seen.attrs.emplace(key, kp);
    body.attributes.push_back(std::move(a));
    return true;
  }

  // After a block type: its labels (same line), '{', the nested body, then the attribute/block clash check.
  bool ParseBlockRest(Body& body, std::string key, Position kp, SeenNames& seen) {
    Block b;
    b.type = key;
    b.pos = kp;
    while (Peek() == '"' || IsIdentStart(Peek())) {
      std::string label;
      if (Peek() == '"') {
        if (!ParseQuoted(label)) return false;
      } else {
        label = ParseIdent();
      }
      b.labels.push_back(std::move(label));
      if (!SkipSpace(false)) return false;
    }
    if (!SkipSpace(true)) return false;
    if (Peek() != '{') {
      if (b.labels.empty()) {
        return Fail(Pos(), absl::StrCat("expected '=' or '{' after \"", key, "\", got ", Describe()));
      }
      return Fail(Pos(), absl::StrCat("expected '{' to open block \"", key, "\" after its labels, got ", Describe()));
    }
    Position open = Pos();
    Advance();
    b.body = std::make_shared<Body>();
    if (!ParseBodyItems(*b.body, open)) return false;
    if (auto it = seen.attrs.find(key); it != seen.attrs.end()) {
      return Fail(kp, absl::StrCat("\"", key, "\" is both an attribute and a block (attribute at ", it->second.line,
                                   ":", it->second.column, ")"));
    }
    seen.blocks.emplace(key, kp);
    body.blocks.push_back(std::move(b));
    return true;
  }

  std::string_view text_;
  std::string_view filename_;
  size_t off_ = 0;
  int line_ = 1;
  int col_ = 1;
  absl::Status error_;
};

}  // namespace

absl::StatusOr<Body> Parse(std::string_view text, std::string_view filename) {
  // A UTF-8 byte-order mark is not content.
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  Parser p(text, filename);
  return p.ParseFile();
}

}  // namespace spirecvm::hcl

namespace spirecvm::hcl {

absl::StatusOr<Body> ParseFile(const std::string& path) {
  ASSIGN_OR_RETURN(auto text, files::ReadFile(path));
  return Parse(text, path);
}

}  // namespace spirecvm::hcl
