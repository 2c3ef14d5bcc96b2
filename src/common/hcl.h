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

struct Value {
  enum class Kind { kString, kNumber, kBool, kList, kObject };
  Kind kind = Kind::kString;
  std::string str;                                    // kString (escapes decoded; heredocs too)
  double number = 0;                                  // kNumber
  std::string number_text;                            // kNumber, as written
  bool boolean = false;                               // kBool
  std::vector<Value> list;                            // kList
  std::vector<std::pair<std::string, Value>> object;  // kObject, in source order
  Position pos;
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

// Human-readable name of a value kind ("string", "number", "bool", "list", "object") for error messages.
std::string_view KindName(Value::Kind kind);

// Parses a whole file. Errors: "<filename>:<line>:<column>: <what>" (1-based line and column).
absl::StatusOr<Body> Parse(std::string_view text, std::string_view filename);
// Reads and parses a file; errors name the path as given.
absl::StatusOr<Body> ParseFile(const std::string& path);

}  // namespace spirecvm::hcl
