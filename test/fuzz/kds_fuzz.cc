// libFuzzer target: AMD KDS responses. The server fetches the ASK/ARK chain, VCEKs and CRLs from KDS over HTTPS,
// but nothing is trusted until it chains to a pinned ARK, so a response is untrusted input (a KDS mirror or a
// proxy in the path). The fetcher here returns the input as the HTTP body, and the response goes where the
// verifier sends it. Byte 0 selects the request:
//   0: /vcek/v1/Milan/cert_chain  -> ChainSources::IntermediateAndRoot -> VerifyIntermediate
//   1: /vcek/v1/Milan/<hwid>?...  -> ChainSources::Vcek -> LoadCertificate -> ParseEndorsementExtensions ->
//                                    VerifyChain under AMD's real Milan ASK and ARK (test/data)
//   2: /vcek/v1/Milan/crl         -> ChainSources::Crl -> LoadCrl -> CheckRevocation under the real Milan chain
// Seeds: AMD's real Milan chain and a real Milan VCEK (test/data), and a CRL from the test-only AMD signer.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "attestation/sevsnp/certs/chain.h"
#include "attestation/sevsnp/certs/endorsement.h"
#include "attestation/sevsnp/certs/sources.h"
#include "attestation/sevsnp/sim/test_only_amd_signer.h"
#include "fuzz_util.h"

namespace {

namespace snpabi = spirecvm::sevsnp::abi;
namespace certs = spirecvm::sevsnp::certs;
namespace sim = spirecvm::sevsnp::sim;

const absl::Time kNow = absl::FromUnixSeconds(1717200000);  // 2024-06-01, inside the real certificates' validity

class BodyFetcher final : public certs::KdsFetcher {
 public:
  explicit BodyFetcher(std::string body) : body_(std::move(body)) {}
  absl::StatusOr<std::string> Get(const std::string&) override { return body_; }

 private:
  std::string body_;
};

struct Fixture {
  std::vector<spirecvm::ssl::X509Ptr> milan;  // ASK, ARK
  certs::TrustConfig trust;
};
Fixture* fx = nullptr;

certs::ChainSources SourcesReturning(absl::string_view body) {
  return certs::ChainSources({.kds_fetcher = std::make_shared<BodyFetcher>(std::string(body))});
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fx = new Fixture;
  const std::string chain = spirecvm::fuzz::ReadSourceFile("test/data/amd/ask_ark_milan_vcek.pem");
  auto loaded = certs::LoadCertificates(chain);
  if (!loaded.ok() || loaded->size() != 2) spirecvm::fuzz::Fail("test/data/amd is missing (set SPIRECVM_SOURCE_DIR)");
  fx->milan = std::move(*loaded);
  spirecvm::fuzz::WriteSeed("cert-chain", std::string(1, '\0') + chain);
  spirecvm::fuzz::WriteSeed(
      "vcek", std::string(1, '\1') + spirecvm::fuzz::ReadSourceFile("test/data/snp/milan-vcek-debug/vcek.der"));
  if (std::getenv("FUZZ_SEED_DIR") != nullptr) {
    auto signer = sim::TestOnlyAmdSigner::Create({.rsa_bits = 2048});
    if (signer.ok()) {
      auto crl = (*signer)->IssueCrlPem({(*signer)->ask()}, kNow - absl::Hours(1), kNow + absl::Hours(24));
      if (crl.ok()) spirecvm::fuzz::WriteSeed("crl", std::string(1, '\2') + *crl);
    }
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const absl::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  certs::ChainSources sources = SourcesReturning(body);
  X509* ask = fx->milan[0].get();
  X509* ark = fx->milan[1].get();
  switch (data[0] % 3) {
    case 0: {
      auto chain = sources.IntermediateAndRoot(snpabi::Product::kMilan, snpabi::SigningKey::kVcek, kNow);
      if (chain.ok()) (void)certs::VerifyIntermediate((*chain)[0].get(), (*chain)[1].get(), kNow, fx->trust);
      break;
    }
    case 1: {
      auto der = sources.Vcek(snpabi::Product::kMilan, std::string(64, '\x5a'), snpabi::Tcb{.bl = 3, .snp = 8}, kNow);
      if (!der.ok()) break;
      auto leaf = certs::LoadCertificate(*der);
      if (!leaf.ok()) break;
      (void)certs::ParseEndorsementExtensions(leaf->get());
      (void)certs::VerifyChain(leaf->get(), ask, ark, kNow, fx->trust);
      break;
    }
    default: {
      auto bytes = sources.Crl(snpabi::Product::kMilan, snpabi::SigningKey::kVcek, kNow);
      if (!bytes.ok()) break;
      auto crl = certs::LoadCrl(*bytes);
      if (!crl.ok()) break;
      certs::TrustConfig trust;
      trust.crls[snpabi::Product::kMilan].push_back(*crl);
      (void)certs::CheckRevocation(ask, ark, snpabi::Product::kMilan, kNow, trust);
    }
  }
  return 0;
}
