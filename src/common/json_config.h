// JSON configuration files, read into the same tree as HCL (hcl::Body) so one strict reader (config::Section) and
// one validation path serve both. SPIRE reads JSON because HCL1's parser does, and SPIRE's Helm chart renders
// server.conf and agent.conf as JSON: blocks as objects, repeated or labelled blocks as lists of objects
// (`"plugins": {"DataStore": [{"sql": {"plugin_data": {...}}}]}`), and an empty YAML key as null.
//
// Mapping: the top-level object's members become attributes of the body; objects become kObject values, arrays
// kList values, null kNull. config::Section reads an object like a block, a list of objects like repeated blocks,
// nested single-key objects as block labels where a caller asks for labels (Section::Blocks), and null as absent.
// Positions (line:column, 1-based) point at each key, so errors read as they do for HCL.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "common/hcl.h"

namespace spirecvm::config {

// Nesting deeper than this is refused (the reader and the tree it builds recurse over it).
inline constexpr int kMaxJsonDepth = 64;

// True when `filename` ends in ".json" (any case) or the first non-whitespace character of `text` is '{'.
bool LooksLikeJson(std::string_view text, std::string_view filename);

// Parses a JSON configuration document; its top level must be an object. Errors: "<filename>:<line>:<col>: <what>".
absl::StatusOr<hcl::Body> ParseJson(std::string_view text, std::string_view filename);

// JSON when LooksLikeJson, HCL otherwise.
absl::StatusOr<hcl::Body> ParseConfigText(std::string_view text, std::string_view filename);

}  // namespace spirecvm::config
