// libFuzzer target: the signatures over the instance identity document, as an unauthenticated agent sends them.
// Input: byte 0 selects the form (0 rsa2048 CMS, 1 pkcs7 CMS, 2 `signature`; +3: the rest is base64 as IMDS
// serves it and goes through DecodeBase64 first); the rest is the signature blob. It is checked against the real
// us-west-2 document and AWS's us-west-2 certificates from test/data, so the real blobs (the seeds) verify and
// every mutation of them exercises the CMS walk (one SignerInfo, allowed algorithms, signed attributes,
// messageDigest, content == document) and the RSA check.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "attestation/awsiid/signature.h"
#include "fuzz_util.h"

namespace {

namespace awsiid = spirecvm::awsiid;

struct Fixture {
  std::string document;
  std::unique_ptr<awsiid::CertStore> store;
};

Fixture* fixture = nullptr;

constexpr awsiid::SignatureForm kForms[] = {awsiid::SignatureForm::kRsa2048, awsiid::SignatureForm::kPkcs7,
                                            awsiid::SignatureForm::kSignature};
constexpr const char* kFiles[] = {"rsa2048", "pkcs7", "signature"};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fixture = new Fixture;
  const std::string dir = "test/data/aws/iid/us-west-2-2018/";
  fixture->document = spirecvm::fuzz::ReadSourceFile(dir + "document");
  const char* root = std::getenv("SPIRECVM_SOURCE_DIR");
  auto store = awsiid::CertStore::Load(std::string(root ? root : ".") + "/test/data/aws/certs");
  if (!store.ok() || fixture->document.empty())
    spirecvm::fuzz::Fail("test/data/aws is missing (set SPIRECVM_SOURCE_DIR)");
  fixture->store = std::make_unique<awsiid::CertStore>(std::move(*store));
  for (int i = 0; i < 3; ++i) {
    std::string b64 = spirecvm::fuzz::ReadSourceFile(dir + kFiles[i]);
    spirecvm::fuzz::WriteSeed(std::string(kFiles[i]) + "-b64", std::string(1, static_cast<char>(i + 3)) + b64);
    auto raw = awsiid::DecodeBase64(kFiles[i], b64);
    if (raw.ok()) spirecvm::fuzz::WriteSeed(kFiles[i], std::string(1, static_cast<char>(i)) + *raw);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0 || size > awsiid::kMaxSignatureBytes) return 0;
  const int mode = data[0] % 6;
  const awsiid::SignatureForm form = kForms[mode % 3];
  std::string blob(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode >= 3) {
    auto decoded = awsiid::DecodeBase64("fuzz", blob);
    if (!decoded.ok()) return 0;
    blob = std::move(*decoded);
  }
  auto certs = fixture->store->Lookup(form, "us-west-2");
  if (!certs.ok()) spirecvm::fuzz::Fail("no us-west-2 certificate");
  for (X509* cert : *certs) {
    if (form == awsiid::SignatureForm::kSignature) {
      (void)awsiid::VerifyRsaSignatureWithCert(fixture->document, blob, cert);
    } else {
      (void)awsiid::VerifyCmsWithCert(form, fixture->document, blob, cert);
    }
  }
  return 0;
}
