// A throwaway trust domain CA for agent tests: signs agent and workload SVIDs and JWT-SVIDs.
#pragma once

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/random.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "spiffe/bundle.h"
#include "spiffe/jwt_svid.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::agent::testing {

struct TestCa {
  spiffe::TrustDomain td;
  ssl::EvpPkeyPtr key;
  ssl::X509Ptr cert;
  ssl::EvpPkeyPtr jwt_key;
  std::string jwt_kid = "kid1";

  static TestCa Make(absl::Time now, const char* td = "example.org") {
    TestCa ca;
    ca.td = *spiffe::TrustDomain::Parse(td);
    ca.key = *crypto::GenerateKey(crypto::KeyType::kEcP256);
    spiffe::CaParams p;
    p.trust_domain = ca.td;
    p.not_before = now - absl::Hours(1);
    p.not_after = now + absl::Hours(240);
    ca.cert = *spiffe::SelfSignCa(ca.key.get(), p, SystemRandom::Get());
    ca.jwt_key = *crypto::GenerateKey(crypto::KeyType::kEcP256);
    return ca;
  }

  // Leaf for `id` over `pub`, valid [nb, na).
  std::string Sign(const std::string& id, const EVP_PKEY* pub, absl::Time nb, absl::Time na) const {
    spiffe::X509SvidParams p;
    p.id = *spiffe::SpiffeId::Parse(id);
    p.public_key = pub;
    p.not_before = nb;
    p.not_after = na;
    auto cert = spiffe::SignX509Svid(spiffe::CaSigner{cert_ptr(), key.get()}, p, SystemRandom::Get());
    return crypto::CertToDer(cert->get());
  }
  // The same over a SubjectPublicKeyInfo (a parsed CSR's key).
  std::string SignSpki(const std::string& id, std::string_view spki_der, absl::Time nb, absl::Time na) const {
    spiffe::X509SvidParams p;
    p.id = *spiffe::SpiffeId::Parse(id);
    p.spki_der = spki_der;
    p.not_before = nb;
    p.not_after = na;
    return spiffe::MintX509Svid(spiffe::CaSigner{cert_ptr(), key.get()}, p, SystemRandom::Get())->der;
  }
  const X509* cert_ptr() const { return cert.get(); }

  std::string Jwt(const std::string& sub, const std::vector<std::string>& aud, absl::Time iat, absl::Time exp) const {
    return *spiffe::SignJwtSvid(spiffe::JwtSigner{jwt_key.get(), jwt_kid}, *spiffe::SpiffeId::Parse(sub), aud, iat,
                                exp);
  }

  spiffe::Bundle Bundle(uint64_t seq = 1) const {
    spiffe::Bundle b;
    b.trust_domain = td;
    b.x509_authorities_der.push_back(crypto::CertToDer(cert.get()));
    b.jwt_authorities.push_back({jwt_kid, *crypto::PublicKeyToDer(jwt_key.get()), absl::InfinitePast()});
    b.sequence_number = seq;
    return b;
  }
};

}  // namespace spirecvm::agent::testing
