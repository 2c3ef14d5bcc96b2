// ECDSA verification with a public key given as its curve and point, for the CSR check the server runs on every
// SVID it signs.
//
// OpenSSL 3's provider path (EVP_PKEY_fromdata, then EVP_DigestVerify) builds a new EC_GROUP from the curve's name
// for every key it imports and fetches the algorithm per context: about 20 us of a ~80 us check on this project's
// bench machine, for a verification that `openssl speed` does in ~59 us (docs/benchmarks.md). This unit uses the
// EC_KEY API, deprecated in OpenSSL 3 but present and maintained through the 3.x series: a key is a copy of one
// shared group plus the point, ~2 us. The checks are OpenSSL's own: the point must decode and lie on the curve
// (EC_POINT_oct2point), and the signature must be the one DER encoding of ECDSA-Sig-Value (ECDSA_verify).
#pragma once

#include <openssl/evp.h>

#include <string_view>

#include "absl/status/status.h"

namespace spirecvm::crypto {

enum class EcCurve { kP256, kP384 };

// Verifies `sig_der` (DER ECDSA-Sig-Value) over `data` hashed with `md`, with the public key `point` (an encoded
// point, as in a SubjectPublicKeyInfo) on `curve`. InvalidArgument naming the reason: the point ("public key: ...")
// or the signature ("signature does not verify"). Thread-safe.
absl::Status VerifyEcdsa(EcCurve curve, std::string_view point, const EVP_MD* md, std::string_view data,
                         std::string_view sig_der);

}  // namespace spirecvm::crypto
