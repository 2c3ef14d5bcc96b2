// A small, bounded XML tree for AWS Query-protocol responses (EC2, IAM, STS), parsed by libxml2 with the network,
// DTD loading and entity substitution off. Element names are local names (namespaces dropped).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace spirecvm::aws {

struct XmlElement {
  std::string name;
  std::string text;  // concatenated direct text content, trimmed
  std::vector<XmlElement> children;

  // The first direct child named `name`, or nullptr.
  const XmlElement* Child(std::string_view name) const;
  // The text of the first direct child named `name`, or "".
  std::string ChildText(std::string_view name) const;
  // Follows a path of direct children ("a/b/c"); nullptr when any step is missing.
  const XmlElement* Path(std::string_view path) const;
  // The direct children named `name` (e.g. every <item> of a list).
  std::vector<const XmlElement*> Children(std::string_view name) const;
  // The first element named `name` anywhere below (depth-first), or nullptr.
  const XmlElement* Find(std::string_view name) const;
};

// At most `max_bytes` of input, 64 levels deep, 100000 elements.
absl::StatusOr<XmlElement> ParseXml(std::string_view doc, size_t max_bytes = 16 << 20);

}  // namespace spirecvm::aws
