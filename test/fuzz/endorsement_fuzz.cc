// libFuzzer target: the AMD extensions of a VCEK/VLEK certificate (1.3.6.1.4.1.3704.1.*). The certificate comes
// from the agent's certificate table or from KDS, and its extensions are read before its chain is verified.
// Input: byte 0 selects the form.
//   even: the rest is a certificate (DER or PEM): LoadCertificate + ParseEndorsementExtensions.
//   odd:  the rest is the extension values themselves, each as <OID index byte><2-byte big-endian length><DER>,
//         fed straight to the three parsing steps (so the fuzzer mutates the inner DER, not the X.509 wrapper).
#include <cstddef>
#include <cstdint>
#include <string>

#include "attestation/sevsnp/certs/endorsement.h"
#include "attestation/sevsnp/sim/test_only_amd_signer.h"
#include "fuzz_util.h"

namespace {

namespace snpabi = spirecvm::sevsnp::abi;
namespace certs = spirecvm::sevsnp::certs;
namespace sim = spirecvm::sevsnp::sim;

constexpr const char* kOids[] = {certs::kOidStructVersion, certs::kOidProductName, certs::kOidBlSpl,
                                 certs::kOidTeeSpl,        certs::kOidSnpSpl,      certs::kOidUcodeSpl,
                                 certs::kOidFmcSpl,        certs::kOidHwId,        certs::kOidCspId};
constexpr size_t kNumOids = sizeof(kOids) / sizeof(kOids[0]);

// The odd-form encoding of a certificate's AMD extensions (seeds).
std::string EncodeExtensions(X509* cert) {
  auto ext = certs::CollectAmdExtensions(cert);
  std::string out(1, '\x01');
  if (!ext.ok()) return out;
  for (size_t i = 0; i < kNumOids; ++i) {
    auto it = ext->find(kOids[i]);
    if (it == ext->end()) continue;
    out.push_back(static_cast<char>(i));
    out.push_back(static_cast<char>(it->second.size() >> 8));
    out.push_back(static_cast<char>(it->second.size() & 0xff));
    out += it->second;
  }
  return out;
}

void SeedFromCert(const std::string& name, const std::string& der) {
  if (der.empty()) return;
  spirecvm::fuzz::WriteSeed(name + "-cert", std::string(1, '\x00') + der);
  auto cert = certs::LoadCertificate(der);
  if (cert.ok()) spirecvm::fuzz::WriteSeed(name + "-ext", EncodeExtensions(cert->get()));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  SeedFromCert("milan-vcek", spirecvm::fuzz::ReadSourceFile("test/data/snp/milan-vcek-debug/vcek.der"));
  SeedFromCert("turin-vcek", spirecvm::fuzz::ReadSourceFile("test/data/snp/turin-vcek/vcek.der"));
  if (std::getenv("FUZZ_SEED_DIR") != nullptr) {
    auto signer = sim::TestOnlyAmdSigner::Create({.rsa_bits = 2048});
    if (signer.ok()) SeedFromCert("sim-vlek", (*signer)->EndorsementDer(snpabi::SigningKey::kVlek));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  absl::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 1) == 0) {
    auto cert = certs::LoadCertificate(in);
    if (cert.ok()) (void)certs::ParseEndorsementExtensions(cert->get());
    return 0;
  }
  certs::AmdExtensions ext;
  while (in.size() >= 3) {
    size_t len = (static_cast<uint8_t>(in[1]) << 8) | static_cast<uint8_t>(in[2]);
    const char* oid = kOids[static_cast<uint8_t>(in[0]) % kNumOids];
    in.remove_prefix(3);
    len = std::min(len, in.size());
    ext.emplace(oid, std::string(in.substr(0, len)));
    in.remove_prefix(len);
  }
  certs::EndorsementInfo info;
  if (!certs::ParseEndorsementProduct(ext, info).ok()) return 0;
  if (!certs::ParseEndorsementTcb(ext, info).ok()) return 0;
  if (certs::ParseEndorsementKeyId(ext, info).ok() && info.kind == snpabi::SigningKey::kVcek &&
      info.hw_id.size() != 8 && info.hw_id.size() != 64) {
    spirecvm::fuzz::Fail("accepted a hwID of " + std::to_string(info.hw_id.size()) + " bytes");
  }
  return 0;
}
