#include "common/json_config.h"

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "nlohmann/json.hpp"

namespace spirecvm::config {
namespace {

using Json = nlohmann::json;

// A forward iterator over the text that records how many characters nlohmann's lexer has consumed, so each SAX
// event can be given a line and column (nlohmann 3.11 reports positions only with its errors).
class CountingIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator() = default;
  CountingIterator(const char* p, const char* base, size_t* consumed) : p_(p), base_(base), consumed_(consumed) {}
  reference operator*() const { return *p_; }
  CountingIterator& operator++() {
    ++p_;
    if (consumed_ != nullptr) *consumed_ = static_cast<size_t>(p_ - base_);
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const CountingIterator& o) const { return p_ == o.p_; }
  bool operator!=(const CountingIterator& o) const { return p_ != o.p_; }

 private:
  const char* p_ = nullptr;
  const char* base_ = nullptr;
  size_t* consumed_ = nullptr;
};

// Offsets to 1-based line:column.
class LineTable {
 public:
  explicit LineTable(std::string_view text) {
    starts_.push_back(0);
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '\n') starts_.push_back(i + 1);
    }
  }
  hcl::Position At(size_t offset) const {
    auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
    size_t line = static_cast<size_t>(it - starts_.begin());  // >= 1: starts_[0] == 0 <= offset
    return {static_cast<int>(line), static_cast<int>(offset - starts_[line - 1] + 1)};
  }

 private:
  std::vector<size_t> starts_;
};

// Builds an hcl::Value tree from nlohmann's SAX events (sax_parse is iterative; the depth limit bounds the tree).
class TreeBuilder {
 public:
  TreeBuilder(std::string_view text, std::string_view filename, const size_t* consumed)
      : text_(text), filename_(filename), lines_(text), consumed_(consumed) {}

  bool null() { return AddScalar(Scalar(hcl::Value::Kind::kNull)); }
  bool boolean(bool v) {
    hcl::Value out = Scalar(hcl::Value::Kind::kBool);
    out.boolean = v;
    return AddScalar(std::move(out));
  }
  bool number_integer(Json::number_integer_t v) { return AddNumber(static_cast<double>(v), std::to_string(v)); }
  bool number_unsigned(Json::number_unsigned_t v) { return AddNumber(static_cast<double>(v), std::to_string(v)); }
  bool number_float(Json::number_float_t v, const Json::string_t& text) { return AddNumber(v, text); }
  bool string(Json::string_t& v) {
    hcl::Value out = Scalar(hcl::Value::Kind::kString);
    out.str = std::move(v);
    return AddScalar(std::move(out));
  }
  bool binary(Json::binary_t&) { return Fail(Here(), "binary values are not JSON"); }
  bool start_object(std::size_t) { return Open(hcl::Value::Kind::kObject); }
  bool start_array(std::size_t) { return Open(hcl::Value::Kind::kList); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool key(Json::string_t& k) {
    Frame& top = stack_.back();
    top.key = k;
    top.key_pos = lines_.At(KeyStart());
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    return Fail(lines_.At(position == 0 ? 0 : position - 1), absl::StrCat("invalid JSON: ", WhatOf(ex.what())));
  }

  const std::string& error() const { return error_; }
  std::optional<hcl::Value>& result() { return result_; }

 private:
  struct Frame {
    hcl::Value value;
    std::string key;  // objects: the key of the member being read
    hcl::Position key_pos;
  };

  size_t Consumed() const { return *consumed_; }
  hcl::Position Here() const { return lines_.At(Consumed() == 0 ? 0 : Consumed() - 1); }

  // The lexer has just read the key's closing quote: walk back to its unescaped opening quote.
  size_t KeyStart() const {
    size_t close = std::min(Consumed(), text_.size());
    if (close < 2) return 0;
    for (size_t i = close - 1; i-- > 0;) {
      if (text_[i] != '"') continue;
      size_t backslashes = 0;
      while (backslashes < i && text_[i - 1 - backslashes] == '\\') ++backslashes;
      if (backslashes % 2 == 0) return i;
    }
    return 0;
  }

  // nlohmann's message without its "[json.exception.parse_error.101] parse error at line L, column C: " prefix
  // (our own position replaces it).
  static std::string WhatOf(std::string_view what) {
    size_t col = what.find("column ");
    if (col != std::string_view::npos) {
      size_t colon = what.find(": ", col);
      if (colon != std::string_view::npos) return std::string(what.substr(colon + 2));
    }
    return std::string(what);
  }

  bool Fail(hcl::Position pos, std::string_view what) {
    if (error_.empty()) error_ = absl::StrCat(ToAbsl(filename_), ":", pos.line, ":", pos.column, ": ", ToAbsl(what));
    return false;
  }

  static hcl::Value Scalar(hcl::Value::Kind kind) {
    hcl::Value v;
    v.kind = kind;
    return v;
  }

  bool AddNumber(double v, std::string text) {
    hcl::Value out = Scalar(hcl::Value::Kind::kNumber);
    out.number = v;
    out.number_text = std::move(text);
    return AddScalar(std::move(out));
  }

  bool AddScalar(hcl::Value v) {
    v.pos = Here();
    return Add(std::move(v));
  }

  // A member of an object takes its key's position: errors about the value then point at the key, as for HCL.
  bool Add(hcl::Value v) {
    if (stack_.empty()) {
      result_ = std::move(v);
      return true;
    }
    Frame& top = stack_.back();
    if (top.value.kind == hcl::Value::Kind::kObject) {
      v.pos = top.key_pos;
      top.value.object.emplace_back(std::move(top.key), std::move(v));
    } else {
      top.value.list.push_back(std::move(v));
    }
    return true;
  }

  bool Open(hcl::Value::Kind kind) {
    if (static_cast<int>(stack_.size()) >= kMaxJsonDepth) {
      return Fail(Here(), absl::StrCat("nesting deeper than ", kMaxJsonDepth, " levels"));
    }
    Frame f;
    f.value.kind = kind;
    f.value.pos = Here();
    stack_.push_back(std::move(f));
    return true;
  }

  bool Close() {
    hcl::Value v = std::move(stack_.back().value);
    stack_.pop_back();
    return Add(std::move(v));
  }

  std::string_view text_;
  std::string_view filename_;
  LineTable lines_;
  const size_t* consumed_;
  std::vector<Frame> stack_;
  std::optional<hcl::Value> result_;
  std::string error_;
};

}  // namespace

bool LooksLikeJson(std::string_view text, std::string_view filename) {
  if (absl::EndsWithIgnoreCase(ToAbsl(filename), ".json")) return true;
  for (char c : text) {
    if (absl::ascii_isspace(static_cast<unsigned char>(c))) continue;
    return c == '{';
  }
  return false;
}

absl::StatusOr<hcl::Body> ParseJson(std::string_view text, std::string_view filename) {
  size_t consumed = 0;
  TreeBuilder builder(text, filename, &consumed);
  CountingIterator first(text.data(), text.data(), &consumed);
  CountingIterator last(text.data() + text.size(), text.data(), nullptr);
  const bool ok = Json::sax_parse(first, last, &builder, nlohmann::detail::input_format_t::json, /*strict=*/true,
                                  /*ignore_comments=*/false);
  if (!ok || !builder.error().empty()) {
    return absl::InvalidArgumentError(builder.error().empty() ? absl::StrCat(ToAbsl(filename), ": invalid JSON")
                                                              : builder.error());
  }
  std::optional<hcl::Value>& root = builder.result();
  if (!root || root->kind != hcl::Value::Kind::kObject) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(filename), ":1:1: a JSON configuration must be an object at the top level, got ",
                     root ? ToAbsl(hcl::KindName(root->kind)) : "nothing"));
  }
  hcl::Body body;
  for (hcl::Member& m : root->object) {
    hcl::Position pos = m.value.pos;
    body.attributes.push_back(hcl::Attribute{std::move(m.key), std::move(m.value), pos});
  }
  return body;
}

absl::StatusOr<hcl::Body> ParseConfigText(std::string_view text, std::string_view filename) {
  if (LooksLikeJson(text, filename)) return ParseJson(text, filename);
  return hcl::Parse(text, filename);
}

}  // namespace spirecvm::config
