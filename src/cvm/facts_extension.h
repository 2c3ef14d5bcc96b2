// Where an SVID carries its node's facts: a non-critical subjectDirectoryAttributes extension (2.5.29.9, RFC 5280
// §4.2.1.8) holding one attribute of type kNodeFactsOid whose single value is the NodeFacts structure. The
// extension's own OID is a standard one because Go's X.509 parser (go-spiffe, SPIRE) refuses a whole certificate
// whose extension OID has an arc above 2^31, as every 2.25 UUID arc is (docs/svid-evidence.md).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/ssl_ptr.h"
#include "cvm/node_facts.h"

namespace spirecvm::cvm {

inline constexpr std::string_view kFactsExtensionOid = "2.5.29.9";  // id-ce-subjectDirectoryAttributes

// The extension's value (the contents of extnValue) carrying the encoded facts `node_facts_der`.
std::string FactsExtensionValue(std::string_view node_facts_der);
// The facts in an extension value; other attributes are skipped. NotFound when none is of kNodeFactsOid,
// InvalidArgument when the value is malformed or carries the facts twice.
absl::StatusOr<NodeFacts> FactsFromExtensionValue(std::string_view value);

// The relying party's call: the facts the peer's certificate (an X509-SVID leaf) carries. NotFound when it has none
// (e.g. a node attested by join_token), InvalidArgument when they are malformed. It reads the certificate only:
// verify the SVID's chain to the trust bundle first (the facts are as trustworthy as the CA that signed them).
absl::StatusOr<NodeFacts> PeerFacts(const X509* cert);

}  // namespace spirecvm::cvm
