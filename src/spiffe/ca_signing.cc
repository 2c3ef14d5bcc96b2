#include "spiffe/ca_signing.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "crypto/keys.h"

namespace spirecvm::spiffe::internal {

absl::StatusOr<const crypto::Signer*> SignerOf(const CaSigner& ca, std::shared_ptr<crypto::Signer>& local) {
  auto s = crypto::SignerOrLocal(ca.signer, ca.key, local);
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat("CA signing key: ", s.status().message()));
  return s;
}

absl::Status CheckSignerMatchesCa(const X509* ca_cert, const crypto::Signer& signer) {
  const EVP_PKEY* issuer_key = X509_get0_pubkey(ca_cert);
  if (issuer_key == nullptr || EVP_PKEY_eq(issuer_key, signer.PublicKey()) != 1) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError("CA signer: the signing key does not match the CA certificate");
  }
  return absl::OkStatus();
}

std::string RandomSerialBytes(Random& rnd) {
  std::string bytes = rnd.Bytes(16);
  if (std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; })) bytes[15] = 1;
  return bytes;
}

}  // namespace spirecvm::spiffe::internal
