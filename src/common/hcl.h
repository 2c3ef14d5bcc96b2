// A small HCL (v1/v2 "native syntax" subset) parser: Debian ships no C++ HCL library, and SPIRE's
// configuration files only use attributes, labelled blocks, literals, lists, objects, comments and heredocs.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace spirecvm::hcl {

struct Position {
  int line = 0;
  int column = 0;
};

struct Body;
struct Member;

struct Value {
  // kNull only comes from JSON configuration files (`"plugin_data": null`, as SPIRE's Helm chart renders an empty
  // YAML key): config::Section reads a null value as absent.
  enum class Kind { kString, kNumber, kBool, kList, kObject, kNull };
  Kind kind = Kind::kString;
  std::string str;             // kString (escapes decoded; heredocs too)
  double number = 0;           // kNumber
  std::string number_text;     // kNumber, as written
  bool boolean = false;        // kBool
  std::vector<Value> list;     // kList
  std::vector<Member> object;  // kObject, in source order
  Position pos;
};

// One key = value of an object. A named struct rather than std::pair<std::string, Value>: libstdc++ 12's C++20
// pair gives its default constructor an explicit(bool) specifier that asks whether Value is implicitly default
// constructible; clang (14 at least) evaluates that specifier as soon as pair<std::string, Value> is instantiated,
// which happens while Value's own destructor is being defined, so the question needs the incomplete pair
// (`arithmetic on a pointer to an incomplete type`). GCC defers the specifier and compiled it; clang-14, which
// the libFuzzer targets need, did not.
struct Member {
  Member() = default;
  Member(std::string k, Value v) : key(std::move(k)), value(std::move(v)) {}
  std::string key;
  Value value;
};

struct Attribute {
  std::string name;
  Value value;
  Position pos;
};

struct Block {
  std::string type;
  std::vector<std::string> labels;
  std::shared_ptr<Body> body;
  Position pos;
};

struct Body {
  std::vector<Attribute> attributes;
  std::vector<Block> blocks;
};

// Human-readable name of a value kind ("string", "number", "bool", "list", "object", "null") for error messages.
std::string_view KindName(Value::Kind kind);

// Parses a whole file. Errors: "<filename>:<line>:<column>: <what>" (1-based line and column).
absl::StatusOr<Body> Parse(std::string_view text, std::string_view filename);
// Reads and parses a file; errors name the path as given.
absl::StatusOr<Body> ParseFile(const std::string& path);

}  // namespace spirecvm::hcl
