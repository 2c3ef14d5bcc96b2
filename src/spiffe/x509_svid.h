// X509-SVID and SPIFFE CA certificates: minting, profile checks and chain verification.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/random.h"
#include "crypto/signer.h"
#include "crypto/ssl_ptr.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::spiffe {

// The CA that signs: its certificate and its key, either a crypto::Signer (the server's CA keys, from a KeyManager)
// or a local private key (wrapped in a LocalSigner). Non-owning.
struct CaSigner {
  const X509* cert = nullptr;
  EVP_PKEY* key = nullptr;                 // a local private key, or
  const crypto::Signer* signer = nullptr;  // a signer (wins over `key`)
};

struct X509SvidParams {
  SpiffeId id{};
  // The subject's key: its SubjectPublicKeyInfo DER (a key the caller has checked, in its one DER encoding, as
  // crypto::ParseAndVerifyCsr and crypto::PublicKeyToDer give it), or else an EVP_PKEY, which is encoded here.
  std::string_view spki_der{};
  const EVP_PKEY* public_key = nullptr;
  absl::Time not_before{};
  absl::Time not_after{};
  std::vector<std::string> dns_names{};  // first one also becomes the subject CN, as SPIRE does
  // Extra non-critical extensions (by NID, with their DER value), after the profile's: how the server adds a node's
  // attested facts (src/cvm/facts_extension.h). A NID the profile already sets, or a repeated one, is refused.
  std::vector<std::pair<int, std::string>> extra_extensions{};
};

// Leaf per the X509-SVID spec: random 128-bit serial, exactly one URI SAN (+ DNS SANs), basicConstraints
// cA=false (critical), keyUsage critical digitalSignature|keyEncipherment|keyAgreement, EKU
// serverAuth+clientAuth, SKI, AKI from the CA, subject "C=US, O=SPIRE, x500UniqueIdentifier=<hex>"
// like SPIRE (+ CN = first DNS name); not_after clamped to the CA's notAfter. Digest: SHA-256 for
// P-256/RSA CA keys, SHA-384 for P-384.
//
// MintX509Svid writes the certificate's DER directly (x509_svid_writer.cc): what the server does for every SVID.
// SignX509Svid is the same certificate, parsed.
struct MintedX509Svid {
  std::string der;
  std::string serial_decimal;  // as SPIRE prints serials
  absl::Time not_after;        // after clamping, in whole seconds
};
absl::StatusOr<MintedX509Svid> MintX509Svid(const CaSigner& ca, const X509SvidParams& p, Random& rnd);
absl::StatusOr<ssl::X509Ptr> SignX509Svid(const CaSigner& ca, const X509SvidParams& p, Random& rnd);

struct CaParams {
  TrustDomain trust_domain{};
  const EVP_PKEY* public_key = nullptr;
  absl::Time not_before{};
  absl::Time not_after{};
  std::string subject_country = "US";
  std::string subject_org = "SPIFFE";
  std::string subject_cn{};  // omitted when empty
};

// CA per spec: basicConstraints cA=true critical, keyUsage critical keyCertSign|cRLSign|digitalSignature,
// URI SAN = trust domain ID (no path), SKI (and AKI = SKI for the self-signed case). Random 128-bit serial.
// Signed by `signer`, whose public key the certificate carries (p.public_key is ignored and may be null).
absl::StatusOr<ssl::X509Ptr> SelfSignCa(const crypto::Signer& signer, const CaParams& p, Random& rnd);
// The same with a local private key.
absl::StatusOr<ssl::X509Ptr> SelfSignCa(EVP_PKEY* key, const CaParams& p, Random& rnd);
// Intermediate CA signed by `upstream`; not_after clamped to the upstream's notAfter.
absl::StatusOr<ssl::X509Ptr> SignIntermediateCa(const CaSigner& upstream, const CaParams& p, Random& rnd);

// Profile checks (every rule in facts.md §5); returns the SPIFFE ID of a valid leaf.
absl::StatusOr<SpiffeId> ValidateX509SvidLeafProfile(const X509* leaf);
absl::Status ValidateSigningCaProfile(const X509* ca, const TrustDomain& td);

// Chain (leaf first, then intermediates) verified to any of `roots` at time `now`; the leaf profile
// is checked, and every intermediate must be a valid signing CA for the leaf's trust domain.
// Returns the leaf's SPIFFE ID.
absl::StatusOr<SpiffeId> VerifyX509Svid(const std::vector<const X509*>& chain, const std::vector<const X509*>& roots,
                                        absl::Time now);

// The same, with the validity of the verified path (leaf to the root it chained to) in the verifier's whole
// seconds: the same chain and roots verify at every time t with valid_from <= t < valid_until.
struct VerifiedX509Svid {
  SpiffeId id;
  int64_t valid_from = 0;
  int64_t valid_until = 0;
};
absl::StatusOr<VerifiedX509Svid> VerifyX509SvidPath(const std::vector<const X509*>& chain,
                                                    const std::vector<const X509*>& roots, absl::Time now);

}  // namespace spirecvm::spiffe
