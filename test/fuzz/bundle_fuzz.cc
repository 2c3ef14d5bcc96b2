// libFuzzer target: SPIFFE bundles (JWKS JSON). Federation fetches them from other trust domains' endpoints, the
// agent reads its persisted bundle.json and a `spiffe`-format bootstrap bundle, and the CLI takes them from files.
// BundleFromJwks (and, on what it accepts, BundleToJwks -> BundleFromJwks again, JwtKeysFromBundle, BundleToPem)
// and PublicKeyFromJwkJson run on every input. Seeds: a bundle with a real certificate, an EC and an RSA JWT key.
#include <cstddef>
#include <cstdint>
#include <string>

#include "crypto/keys.h"
#include "crypto/x509.h"
#include "fuzz_util.h"
#include "spiffe/bundle.h"

namespace {

namespace spiffe = spirecvm::spiffe;
namespace crypto = spirecvm::crypto;

spiffe::TrustDomain* td = nullptr;

void SeedBundle() {
  spiffe::Bundle b{.trust_domain = *td, .sequence_number = 7, .refresh_hint_seconds = 300};
  auto certs = crypto::ParseCertsPem(spirecvm::fuzz::ReadSourceFile("test/data/amd/ask_ark_milan_vcek.pem"));
  if (certs.ok() && !certs->empty()) b.x509_authorities_der.push_back(crypto::CertToDer(certs->back().get()));
  for (auto type : {crypto::KeyType::kEcP256, crypto::KeyType::kRsa2048}) {
    auto key = crypto::GenerateKey(type);
    if (!key.ok()) continue;
    auto der = crypto::PublicKeyToDer(key->get());
    if (der.ok()) b.jwt_authorities.push_back({.kid = std::string(crypto::KeyTypeName(type)), .public_key_der = *der});
    auto jwk = spiffe::PublicKeyToJwkJson(key->get(), "kid-1", "jwt-svid");
    if (jwk.ok()) spirecvm::fuzz::WriteSeed(std::string("jwk-") + std::string(crypto::KeyTypeName(type)), *jwk);
  }
  spirecvm::fuzz::WriteSeed("bundle", spiffe::BundleToJwks(b));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto parsed = spiffe::TrustDomain::Parse("example.org");
  if (!parsed.ok()) spirecvm::fuzz::Fail("trust domain");
  td = new spiffe::TrustDomain(*parsed);
  if (std::getenv("FUZZ_SEED_DIR") != nullptr) SeedBundle();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json = spirecvm::fuzz::AsView(data, size);
  if (auto b = spiffe::BundleFromJwks(*td, json); b.ok()) {
    (void)spiffe::JwtKeysFromBundle(*b);
    (void)spiffe::BundleToPem(*b);
    auto again = spiffe::BundleFromJwks(*td, spiffe::BundleToJwks(*b));
    if (!again.ok())
      spirecvm::fuzz::Fail("our own JWKS of an accepted bundle does not parse: " + again.status().ToString());
    if (again->x509_authorities_der != b->x509_authorities_der ||
        again->jwt_authorities.size() != b->jwt_authorities.size() || again->sequence_number != b->sequence_number) {
      spirecvm::fuzz::Fail("bundle changed in a JWKS round trip");
    }
  }
  (void)spiffe::PublicKeyFromJwkJson(json);
  return 0;
}
