// libFuzzer target: AMD CRLs (DER or PEM, from amd_certs_dir or KDS). LoadCrl, then CheckRevocation with the CRL
// against a chain whose ARK really signed the seeds (the test-only AMD signer, kept in build/fuzz/amd-signer so the
// saved corpus stays valid across runs): issuer match, RSASSA-PSS signature, thisUpdate/nextUpdate, and the lookup
// of the intermediate's serial. Seeds: CRLs revoking nothing and revoking the ASK, PEM and DER.
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "attestation/sevsnp/certs/chain.h"
#include "attestation/sevsnp/sim/test_only_amd_signer.h"
#include "fuzz_util.h"

namespace {

namespace snpabi = spirecvm::sevsnp::abi;
namespace certs = spirecvm::sevsnp::certs;
namespace sim = spirecvm::sevsnp::sim;

const absl::Time kNow = absl::FromUnixSeconds(1893456000);  // 2030-01-01
std::unique_ptr<sim::TestOnlyAmdSigner>* signer = nullptr;

void SeedCrl(const std::string& name, const std::vector<X509*>& revoked) {
  auto pem = (*signer)->IssueCrlPem(revoked, kNow - absl::Hours(1), kNow + absl::Hours(24));
  if (!pem.ok()) return;
  spirecvm::fuzz::WriteSeed(name + ".pem", *pem);
  auto crl = certs::LoadCrl(*pem);
  if (!crl.ok()) return;
  unsigned char* der = nullptr;
  const int len = i2d_X509_CRL(crl->get(), &der);
  if (len > 0) spirecvm::fuzz::WriteSeed(name + ".der", std::string(reinterpret_cast<char*>(der), len));
  OPENSSL_free(der);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("FUZZ_SIGNER_DIR");
  auto s = sim::TestOnlyAmdSigner::CreateOrLoad(dir ? dir : "build/fuzz/amd-signer", {.rsa_bits = 2048});
  if (!s.ok()) spirecvm::fuzz::Fail("test-only AMD signer: " + s.status().ToString());
  signer = new std::unique_ptr<sim::TestOnlyAmdSigner>(std::move(*s));
  SeedCrl("empty", {});
  SeedCrl("revokes-ask", {(*signer)->ask()});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto crl = certs::LoadCrl(spirecvm::fuzz::AsAbslView(data, size));
  if (!crl.ok()) return 0;
  const snpabi::Product product = (*signer)->product();
  certs::TrustConfig trust;
  trust.crls[product].push_back(*crl);
  (void)certs::CheckRevocation((*signer)->ask(), (*signer)->ark(), product, kNow, trust);
  (void)certs::CheckRevocation((*signer)->asvk(), (*signer)->ark(), product, kNow, trust);
  return 0;
}
