// Signer: a signing key seen only through its public key and a Sign(digest) operation, so that the CA's X.509 and
// JWT signing work the same whether the private key is in this process (a LocalSigner over an EVP_PKEY) or held
// elsewhere (AWS KMS, src/server/keymanager/aws_kms_key_manager.h), where it never leaves.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "crypto/keys.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::crypto {

// Thread-safety: every method may be called concurrently.
class Signer {
 public:
  virtual ~Signer() = default;
  // The public key only (no private part); lives as long as the signer.
  virtual EVP_PKEY* PublicKey() const = 0;
  virtual KeyType Type() const = 0;
  // Signs `digest`, the output of `md` (SHA-256 or SHA-384) over the data. EC keys answer a DER ECDSA-Sig-Value,
  // RSA keys a PKCS#1 v1.5 signature.
  virtual absl::StatusOr<std::string> SignDigest(const EVP_MD* md, std::string_view digest) const = 0;
};

// A signer over a private key in this process. InvalidArgument for a key that is not EC P-256/P-384 or RSA.
absl::StatusOr<std::shared_ptr<Signer>> NewLocalSigner(ssl::EvpPkeyPtr private_key);

// `signer` when set, else a LocalSigner over `key` (shared, not copied; its owner keeps it alive), held in `local`.
absl::StatusOr<const Signer*> SignerOrLocal(const Signer* signer, EVP_PKEY* key, std::shared_ptr<Signer>& local);

// The digest the CA uses with a key type: SHA-384 for P-384, SHA-256 otherwise.
const EVP_MD* DigestFor(KeyType t);

// Hashes `data` with `md` and signs the digest.
absl::StatusOr<std::string> SignData(const Signer& signer, const EVP_MD* md, std::string_view data);

// Signs a certificate whose fields are all set: writes the signature algorithm (both copies) for the signer's key
// type and `md`, DER-encodes the TBSCertificate, signs its digest and stores the signature.
absl::Status SignCertificate(X509* cert, const Signer& signer, const EVP_MD* md);

}  // namespace spirecvm::crypto
