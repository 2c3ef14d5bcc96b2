// How the server's SVIDs carry a node's facts (docs/svid-evidence.md): as the X509-SVID extension and the JWT-SVID
// `cvm` claim, from the facts stored with the node at its last accepted attestation.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cvm/facts_extension.h"
#include "cvm/node_facts.h"

namespace spirecvm::server {

// The extension list for CaManager::SignX509Svid: empty without facts.
inline std::vector<std::pair<int, std::string>> FactsExtensions(std::string_view facts_der) {
  if (facts_der.empty()) return {};
  return {{NID_subject_directory_attributes, cvm::FactsExtensionValue(facts_der)}};
}

// The extra claims for CaManager::SignJwtSvid: {"cvm": <facts as JSON>}, empty without facts or when the stored
// facts do not decode.
inline std::string FactsClaims(std::string_view facts_der) {
  if (facts_der.empty()) return {};
  auto f = cvm::DecodeNodeFacts(facts_der);
  if (!f.ok()) return {};
  return "{\"cvm\":" + cvm::NodeFactsToJson(*f) + "}";
}

}  // namespace spirecvm::server
