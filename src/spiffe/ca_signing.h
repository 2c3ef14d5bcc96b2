// What signing under a CA shares between the CA certificate builder (x509_svid.cc) and the X509-SVID writer
// (x509_svid_writer.cc). Internal to the spiffe library.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/random.h"
#include "crypto/signer.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::spiffe::internal {

// The signer a CaSigner names: its Signer, or a LocalSigner over its private key (held in `local`).
absl::StatusOr<const crypto::Signer*> SignerOf(const CaSigner& ca, std::shared_ptr<crypto::Signer>& local);

// InvalidArgument unless the signer's public key is the one in `ca_cert`.
absl::Status CheckSignerMatchesCa(const X509* ca_cert, const crypto::Signer& signer);

// A certificate serial as SPIRE draws it: 128 random bits, never all zero (big-endian bytes).
std::string RandomSerialBytes(Random& rnd);

}  // namespace spirecvm::spiffe::internal
