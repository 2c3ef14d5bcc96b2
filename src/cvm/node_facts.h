// The attested facts of a node, as SVIDs carry them (docs/svid-evidence.md): what the server verified at the node's
// last accepted attestation (AWS instance identity document + SEV-SNP report). A compact, versioned DER structure;
// the decoder is for untrusted bytes (a peer's certificate) and checks every field's shape.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace spirecvm::cvm {

// The structure's OID, 2.25.<UUID 1a15a7ea-3da9-4e5e-899e-502e19397e21 as an integer>: the attribute type under
// which an SVID's subjectDirectoryAttributes extension carries the facts (facts_extension.h).
inline constexpr std::string_view kNodeFactsOid = "2.25.34672371845314146393626899942651559457";
// Its DER content octets (without tag and length).
inline constexpr std::string_view kNodeFactsOidDer =
    "\x69\xb4\x95\xd3\xfa\xc7\xda\xca\xb9\xbd\x89\xcf\x94\x85\xe1\xc9\xe5\xfc\x21";

inline constexpr int64_t kNodeFactsVersion = 1;
// SPIRE's agent.v1 GetAgent has no field for the facts: the server sends the node's stored facts (DER) in this
// trailing gRPC metadata key, which SPIRE's CLI ignores and `spire-server agent show` prints.
inline constexpr std::string_view kNodeFactsMetadataKey = "x-spirecvm-node-facts-bin";
inline constexpr std::string_view kAwsIidSevSnp = "aws_iid+sev_snp";
// Bounds the decoder applies: the whole structure, and each text field (printable ASCII only).
inline constexpr size_t kMaxNodeFactsBytes = 1024;
inline constexpr size_t kMaxFactText = 128;

enum class SigningKeyKind : uint8_t { kVcek = 0, kVlek = 1 };
std::string_view SigningKeyKindName(SigningKeyKind k);  // "VCEK" / "VLEK"

struct NodeFacts {
  int64_t version = kNodeFactsVersion;
  std::string attestation_kind{kAwsIidSevSnp};
  std::string measurement;  // 48 bytes: the launch MEASUREMENT
  uint32_t report_version = 0;
  std::string product;  // "Milan", "Genoa", "Turin" or "Unknown"
  SigningKeyKind signing_key = SigningKeyKind::kVlek;
  std::string csp_id;         // the VLEK's csp_id (e.g. "CN=cc-us-east-1.amazonaws.com"); empty for a VCEK
  uint64_t reported_tcb = 0;  // REPORTED_TCB as the report carries it (its layout depends on the product)
  bool policy_debug = false;
  bool policy_migrate_ma = false;
  bool policy_smt = false;
  uint32_t vmpl = 0;
  std::string host_data;  // 32 bytes: HOST_DATA
  std::string report_id;  // 32 bytes: REPORT_ID (the launch)
  std::string aws_account_id;
  std::string aws_region;
  absl::Time attested_at = absl::UnixEpoch();  // the attestation that produced these facts (whole seconds)

  bool operator==(const NodeFacts&) const = default;
};

// The DER encoding; InvalidArgument (naming the field) when a field breaks the shape the decoder enforces, so that
// nothing the server mints is refused by a relying party.
absl::StatusOr<std::string> EncodeNodeFacts(const NodeFacts& f);
// Exactly one NodeFacts structure of version 1 and nothing after it; InvalidArgument naming the field otherwise.
absl::StatusOr<NodeFacts> DecodeNodeFacts(std::string_view der);

// The facts as a JSON object (the JWT-SVID `cvm` claim, the CLIs): byte strings in lowercase hex, the time RFC 3339.
std::string NodeFactsToJson(const NodeFacts& f, int indent = -1);
// The facts for people (the CLIs): one "<name>:\t<value>" line per fact, each line starting with `indent`.
std::string NodeFactsText(const NodeFacts& f, std::string_view indent = "  ");

}  // namespace spirecvm::cvm
