// Typed, strict reading of an HCL body. SPIRE rejects unknown configuration keys, so every key a caller
// does not read (or MarkKnown) is reported by Finish(), together with all type errors, in one go: an
// operator fixes a config file in one round instead of one error per restart.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/hcl.h"

namespace spirecvm::config {

using hcl::Position;

// A section is a block body or an object value: `plugin_data { a = 1 }` and `plugin_data = { a = 1 }` read the same.
// Sections are cheap to copy; copies share the known-key set and the error sink. A Section points into the
// hcl::Body/Value it was made from: keep that alive while using the Section.
class Section {
 public:
  static Section FromBody(const hcl::Body& body, std::string path, std::string filename);
  static Section FromObject(const hcl::Value& object, std::string path, std::string filename);
  // A Section points into its Body/Value: refuse temporaries, which would dangle.
  static Section FromBody(hcl::Body&& body, std::string path, std::string filename) = delete;
  static Section FromObject(hcl::Value&& object, std::string path, std::string filename) = delete;

  const std::string& path() const;      // e.g. "server" or "plugins.NodeAttestor \"aws_iid\".plugin_data"
  const std::string& filename() const;  // the file errors are attributed to
  Position pos() const;                 // where the section starts (0:0 for a top-level body)
  bool Has(std::string_view key) const;
  // Position of attribute/block `key` (first occurrence), or pos() if absent.
  Position PosOf(std::string_view key) const;

  // Each getter marks the key as known. A missing key returns std::nullopt; a wrong type records an error
  // ("server.conf:3:5: server.bind_port: want a number, got string") and returns std::nullopt.
  std::optional<std::string> String(std::string_view key);
  std::optional<int64_t> Int(std::string_view key);  // rejects non-integers and out-of-range
  std::optional<bool> Bool(std::string_view key);
  // Go duration string ("1h30m", "90s"); a bare number is an error.
  std::optional<absl::Duration> Duration(std::string_view key);
  std::optional<std::vector<std::string>> StringList(std::string_view key);
  // Nested block (exactly one, no labels) or object attribute.
  std::optional<Section> Child(std::string_view key);
  // Blocks named `key` with their labels (e.g. plugins { NodeAttestor "join_token" { ... } }): (labels, section).
  // Object attributes named `key` are returned too, and a list of objects as one block per object (HCL1's reading
  // of JSON). `labels`: how many labels the caller wants; a block with fewer whose members are all blocks or
  // objects has its members' keys read as the missing labels, as HCL1 does, so `DataStore { sql { ... } }`,
  // `DataStore = { sql = { ... } }` and JSON's `"DataStore": [{"sql": {...}}]` all read as DataStore "sql" { ... }.
  using LabeledBlocks = std::vector<std::pair<std::vector<std::string>, Section>>;
  LabeledBlocks Blocks(std::string_view key, size_t labels = 0);
  // Raw access for free-form data (e.g. plugin_data forwarded as JSON). Marks the key known.
  // std::nullopt if absent; a block (exactly one) comes back as a synthesized kObject value.
  std::optional<hcl::Value> Raw(std::string_view key);

  // All block types / attribute names present, in source order, without duplicates (to iterate plugin kinds).
  std::vector<std::string> Keys() const;
  void MarkKnown(std::string_view key);
  // For callers' semantic errors; recorded as "<file>:<line>:<col>: <path>: <message>".
  void AddError(Position pos, std::string message);
  // Same, at the position of `key` and naming "<path>.<key>".
  void AddKeyError(std::string_view key, std::string message);

  // Every recorded error plus every key never read, all at once, one per line:
  // "unknown key \"bind_prot\" in server (server.conf:4:3)". Children created through Child()/Blocks()
  // report into the same error list, so calling Finish() on the root covers the whole tree.
  // InvalidArgument when anything is wrong.
  absl::Status Finish();

  struct Shared;  // implementation detail: error sink + every section created from the root

 private:
  struct Node;
  Section(std::shared_ptr<Shared> shared, std::shared_ptr<Node> node)
      : shared_(std::move(shared)), node_(std::move(node)) {}
  static Section Make(std::shared_ptr<Shared> shared, const hcl::Body* body, const hcl::Value* object, std::string path,
                      Position pos);
  Section MakeChild(const hcl::Body* body, const hcl::Value* object, std::string path, Position pos) const;
  std::string Where(Position pos) const;
  // Marks `key` known and returns its single attribute value (nullptr if absent or, with an error, a block).
  const hcl::Value* Single(std::string_view key, std::string_view want);
  void AddKeyErrorAt(std::string_view key, Position pos, std::string message);
  void CollectLabeled(const hcl::Body* body, const hcl::Value* object, std::vector<std::string> labels,
                      const std::string& base, Position pos, size_t want, LabeledBlocks& out) const;
  void TypeError(std::string_view key, const hcl::Value& v, std::string_view want);

  std::shared_ptr<Shared> shared_;
  std::shared_ptr<Node> node_;
};

}  // namespace spirecvm::config
