// AMD certificate chain trust: ARK (pinned) -> ASK -> VCEK and ARK -> ASVK -> VLEK, every link an
// explicit RSASSA-PSS SHA-384 (MGF1-SHA-384, salt 48) signature check, validity at an injected time,
// optional ARK-signed CRL. OpenSSL's X509_verify_cert is not used: AMD's leaf certificates violate
// strict RFC 5280 profiles (serial 0, no AKI/KU) and the trust model here is a fixed 3-level chain.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attestation/sevsnp/abi/report.h"
#include "attestation/sevsnp/certs/endorsement.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::sevsnp::certs {

// SHA-256 (hex) of AMD's root keys, compiled in.
inline constexpr char kArkMilanSha256[] = "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd";
inline constexpr char kArkGenoaSha256[] = "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1";
inline constexpr char kArkTurinSha256[] = "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a";

// The product an ARK is pinned for, or kUnknown when its fingerprint is not one of AMD's.
abi::Product PinnedArkProduct(X509* ark);

// Verifies `cert`'s signature with `issuer_key` as RSASSA-PSS/SHA-384/MGF1-SHA-384/salt 48, after
// checking the certificate declares rsassaPss in both signature-algorithm fields (and they match).
absl::Status VerifyAmdPssSignature(X509* cert, EVP_PKEY* issuer_key, absl::string_view what);

// Trust configuration shared by every chain verification.
struct TrustConfig {
  // Roots trusted besides the pinned AMD ARKs. Insecure: only for the test signer/simulator. Parsed
  // certificates (PEM). The product of an extra root is taken from its CN "ARK-<Product>".
  std::vector<std::shared_ptr<X509>> insecure_extra_roots;
  // Optional CRLs (ARK-signed) by product; an intermediate whose serial is listed is rejected. A CRL listed for a
  // product must be issued by that chain's root: one from another issuer is an error, never skipped.
  std::map<abi::Product, std::vector<std::shared_ptr<X509_CRL>>> crls;
  // Fail closed: a chain whose product has no CRL here is refused (check_crl).
  bool require_crl = false;
};

// Adds PEM-encoded roots to `config.insecure_extra_roots`.
absl::Status AddInsecureExtraRootsPem(absl::string_view pem, TrustConfig& config);
// Parses a CRL from DER or PEM.
absl::StatusOr<std::shared_ptr<X509_CRL>> LoadCrl(absl::string_view der_or_pem);
// A CRL's nextUpdate (InfiniteFuture when it has none).
absl::StatusOr<absl::Time> CrlNextUpdate(X509_CRL* crl);

// A chain whose every link verified.
struct VerifiedChain {
  EndorsementInfo endorsement;
  abi::Product product = abi::Product::kUnknown;  // from the root
  bool root_is_pinned_amd = false;                // false: an insecure extra root
  std::shared_ptr<EVP_PKEY> leaf_key;             // P-384 public key of the VCEK/VLEK
  std::string leaf_fingerprint;                   // SHA-256 of the leaf DER (raw)
  std::string intermediate_fingerprint;
  std::string root_fingerprint;
  absl::Time valid_from;                          // latest notBefore on the chain
  absl::Time valid_until;                         // earliest notAfter on the chain
  absl::Time verified_at = absl::InfinitePast();  // the `now` of the verification (cache TTL)
};

// Verifies leaf <- intermediate <- root at `now`. The root always comes from a chain source; it is
// trusted only when its DER fingerprint is pinned or equals an insecure extra root.
absl::StatusOr<VerifiedChain> VerifyChain(X509* leaf, X509* intermediate, X509* root, absl::Time now,
                                          const TrustConfig& trust);

// Revocation alone: every CRL in `trust` for `root_product` must be issued by `root` (else an error), verify with
// the root's key and be current at `now`; PermissionDenied when one lists `intermediate`; FailedPrecondition when
// trust.require_crl and there is none. `until`, when set, is lowered to the earliest nextUpdate applied (a chain
// verified against a CRL is not reused past it).
absl::Status CheckRevocation(X509* intermediate, X509* root, abi::Product root_product, absl::Time now,
                             const TrustConfig& trust, absl::Time* until = nullptr);

// Verifies an intermediate + ARK pair alone (used for the published AMD chains).
absl::StatusOr<abi::Product> VerifyIntermediate(X509* intermediate, X509* root, absl::Time now,
                                                const TrustConfig& trust, abi::SigningKey* kind_out = nullptr);

// Thread-safe cache of verified chains keyed by the leaf's fingerprint. A hit is returned only when
// `now` lies within the chain's validity window and within `ttl` of the verification (so a newly
// published CRL, or a changed directory, takes effect within ttl; Clear() forces it at once).
class ChainCache {
 public:
  explicit ChainCache(size_t max_entries = 4096, absl::Duration ttl = absl::Hours(24))
      : max_entries_(max_entries), ttl_(ttl) {}
  std::shared_ptr<const VerifiedChain> Lookup(absl::string_view leaf_fingerprint, absl::Time now) const;
  void Insert(std::shared_ptr<const VerifiedChain> chain);
  void Clear();
  size_t size() const;

 private:
  size_t max_entries_;
  absl::Duration ttl_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const VerifiedChain>, std::less<>> entries_;
};

}  // namespace spirecvm::sevsnp::certs
