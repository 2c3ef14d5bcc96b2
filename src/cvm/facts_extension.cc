#include "cvm/facts_extension.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "crypto/der.h"

namespace spirecvm::cvm {

std::string FactsExtensionValue(std::string_view node_facts_der) {
  std::string attribute = der::Tlv(
      der::kSequence, absl::StrCat(der::Tlv(der::kOid, kNodeFactsOidDer), der::Tlv(der::kSet, node_facts_der)));
  return der::Tlv(der::kSequence, attribute);
}

absl::StatusOr<NodeFacts> FactsFromExtensionValue(std::string_view value) {
  der::Reader outer(value);
  ASSIGN_OR_RETURN(std::string_view attrs, outer.Next(der::kSequence, "subjectDirectoryAttributes"));
  if (!outer.empty()) return absl::InvalidArgumentError("subjectDirectoryAttributes: trailing bytes");
  der::Reader list(attrs);
  std::optional<NodeFacts> found;
  while (!list.empty()) {
    ASSIGN_OR_RETURN(std::string_view attr, list.Next(der::kSequence, "subjectDirectoryAttributes attribute"));
    der::Reader a(attr);
    ASSIGN_OR_RETURN(std::string_view type, a.Next(der::kOid, "attribute type"));
    ASSIGN_OR_RETURN(std::string_view values, a.Next(der::kSet, "attribute values"));
    if (!a.empty()) return absl::InvalidArgumentError("subjectDirectoryAttributes attribute: trailing bytes");
    if (type != kNodeFactsOidDer) continue;
    if (found) return absl::InvalidArgumentError("the node facts attribute appears twice");
    // One value: the SET holds exactly one NodeFacts SEQUENCE.
    der::Reader set(values);
    ASSIGN_OR_RETURN(std::string_view facts_body, set.Next(der::kSequence, "node facts attribute value"));
    if (!set.empty()) return absl::InvalidArgumentError("the node facts attribute has more than one value");
    ASSIGN_OR_RETURN(NodeFacts f, DecodeNodeFacts(der::Tlv(der::kSequence, facts_body)));
    found = std::move(f);
  }
  if (!found) return absl::NotFoundError("no node facts attribute in subjectDirectoryAttributes");
  return *std::move(found);
}

absl::StatusOr<NodeFacts> PeerFacts(const X509* cert) {
  if (cert == nullptr) return absl::InvalidArgumentError("PeerFacts: no certificate");
  const int idx = X509_get_ext_by_NID(cert, NID_subject_directory_attributes, -1);
  if (idx < 0) return absl::NotFoundError("the certificate carries no node facts (no subjectDirectoryAttributes)");
  if (X509_get_ext_by_NID(cert, NID_subject_directory_attributes, idx) >= 0) {
    return absl::InvalidArgumentError("the certificate has two subjectDirectoryAttributes extensions");
  }
  X509_EXTENSION* ext = X509_get_ext(cert, idx);
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(ext);
  if (data == nullptr) return absl::InvalidArgumentError("subjectDirectoryAttributes: no value");
  std::string_view value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                         static_cast<size_t>(ASN1_STRING_length(data)));
  return FactsFromExtensionValue(value);
}

}  // namespace spirecvm::cvm
