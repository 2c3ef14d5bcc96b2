#include "attestation/awsiid/testing/test_signer.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "attestation/awsiid/signature.h"
#include "common/files.h"
#include "common/status.h"

namespace spirecvm::awsiid::testing {
namespace {

absl::Status SslError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", ssl::DrainErrors()));
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

absl::Status WriteFile(const std::filesystem::path& p, absl::string_view data, mode_t mode) {
  std::error_code ec;
  std::filesystem::create_directories(p.parent_path(), ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create ", p.parent_path().string(), ": ", ec.message()));
  }
  std::filesystem::path tmp = p;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return absl::FailedPreconditionError(absl::StrCat("cannot write ", tmp.string()));
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) return absl::FailedPreconditionError(absl::StrCat("cannot write ", tmp.string()));
  }
  ::chmod(tmp.c_str(), mode);
  std::filesystem::rename(tmp, p, ec);
  if (ec) {
    return absl::FailedPreconditionError(absl::StrCat("cannot rename ", tmp.string(), ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<TestAwsSigner> TestAwsSigner::Generate() {
  TestAwsSigner s;
  s.key.reset(EVP_RSA_gen(2048));
  if (!s.key) return SslError("generating the test AWS RSA-2048 key");
  s.cert.reset(X509_new());
  if (!s.cert) return SslError("X509_new");
  X509_set_version(s.cert.get(), 2);
  ASN1_INTEGER_set_int64(X509_get_serialNumber(s.cert.get()), static_cast<int64_t>(absl::ToUnixMicros(absl::Now())));
  X509_gmtime_adj(X509_getm_notBefore(s.cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(s.cert.get()), 10L * 365 * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(s.cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("spire-cvm tests"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("TEST ONLY AWS IID signer"), -1, -1, 0);
  X509_set_issuer_name(s.cert.get(), name);
  X509_set_pubkey(s.cert.get(), s.key.get());
  if (X509_sign(s.cert.get(), s.key.get(), EVP_sha256()) <= 0) {
    return SslError("self-signing the test AWS certificate");
  }
  return s;
}

absl::StatusOr<TestAwsSigner> TestAwsSigner::LoadOrCreate(const std::string& state_dir) {
  namespace fs = std::filesystem;
  const fs::path key_path = fs::path(state_dir) / "test-aws-iid-key.pem";
  const fs::path cert_path = fs::path(state_dir) / "test-aws-iid-cert.pem";
  std::error_code ec;
  if (fs::exists(key_path, ec) && fs::exists(cert_path, ec)) {
    ASSIGN_OR_RETURN(auto key_pem, files::ReadFile(key_path.string()));
    ASSIGN_OR_RETURN(auto cert_pem, files::ReadFile(cert_path.string()));
    TestAwsSigner s;
    ssl::BioPtr kb(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
    s.key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    ssl::BioPtr cb(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
    s.cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    if (!s.key || !s.cert) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot load the test AWS signer from ", state_dir, ": ", ssl::DrainErrors()));
    }
    if (X509_check_private_key(s.cert.get(), s.key.get()) != 1) {
      return absl::FailedPreconditionError(
          absl::StrCat("test AWS signer in ", state_dir, ": certificate does not match the key"));
    }
    return s;
  }
  ASSIGN_OR_RETURN(auto s, Generate());
  ssl::BioPtr kb(BIO_new(BIO_s_mem()));
  if (!kb || PEM_write_bio_PrivateKey(kb.get(), s.key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return SslError("encoding the test AWS key");
  }
  RETURN_IF_ERROR(WriteFile(key_path, BioToString(kb.get()), 0600));
  RETURN_IF_ERROR(WriteFile(cert_path, s.CertPem(), 0644));
  return s;
}

std::string TestAwsSigner::CertPem() const {
  ssl::BioPtr b(BIO_new(BIO_s_mem()));
  if (!b || PEM_write_bio_X509(b.get(), cert.get()) != 1) return {};
  return BioToString(b.get());
}

absl::Status TestAwsSigner::WriteCertsDir(const std::string& certs_dir, absl::string_view region) const {
  namespace fs = std::filesystem;
  const std::string pem = CertPem();
  const std::string file = absl::StrCat(region, ".pem");
  for (const char* sub : {"rsa2048", "rsa"}) {
    RETURN_IF_ERROR(WriteFile(fs::path(certs_dir) / sub / file, pem, 0644));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> SignRsa2048(const TestAwsSigner& signer, absl::string_view content, CmsForm form) {
  ssl::DrainErrors();
  int flags = CMS_BINARY | CMS_NOCERTS | CMS_NOSMIMECAP | CMS_PARTIAL;
  if (form == CmsForm::kWithoutSignedAttributes) flags |= CMS_NOATTR;
  ssl::CmsPtr cms(CMS_sign(nullptr, nullptr, nullptr, nullptr, flags));
  if (!cms) return SslError("CMS_sign");
  CMS_SignerInfo* si = CMS_add1_signer(cms.get(), signer.cert.get(), signer.key.get(), EVP_sha256(), flags);
  if (si == nullptr) return SslError("CMS_add1_signer");
  if (form == CmsForm::kWithSignedAttributes) {
    // AWS's newer blobs name the signature algorithm sha256WithRSAEncryption; OpenSSL writes
    // rsaEncryption. The signatureAlgorithm field is outside the signed attributes.
    X509_ALGOR* sig_alg = nullptr;
    CMS_SignerInfo_get0_algs(si, nullptr, nullptr, nullptr, &sig_alg);
    X509_ALGOR_set0(sig_alg, OBJ_nid2obj(NID_sha256WithRSAEncryption), V_ASN1_NULL, nullptr);
  }
  ssl::BioPtr in(BIO_new_mem_buf(content.data(), static_cast<int>(content.size())));
  if (!in || CMS_final(cms.get(), in.get(), nullptr, flags) != 1) return SslError("CMS_final");
  int len = i2d_CMS_ContentInfo(cms.get(), nullptr);
  if (len <= 0) return SslError("i2d_CMS_ContentInfo");
  std::string der(static_cast<size_t>(len), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_CMS_ContentInfo(cms.get(), &p) != len) return SslError("i2d_CMS_ContentInfo");
  return EncodeBase64(der, 64);
}

absl::StatusOr<std::string> SignRsaSignature(const TestAwsSigner& signer, absl::string_view content) {
  ssl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, signer.key.get()) != 1) {
    return SslError("EVP_DigestSignInit");
  }
  size_t len = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(content.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, data, content.size()) != 1) {
    return SslError("EVP_DigestSign");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data, content.size()) != 1) {
    return SslError("EVP_DigestSign");
  }
  sig.resize(len);
  return EncodeBase64(sig, 64);
}

std::string MakeDocument(const DocumentFields& f) {
  auto q = [](absl::string_view s) { return nlohmann::json(std::string(s)).dump(); };
  const std::string az = f.availability_zone.empty() ? f.region + "a" : f.availability_zone;
  std::string out = "{\n";
  auto line = [&](absl::string_view key, const std::string& value, bool last = false) {
    absl::StrAppend(&out, "  \"", key, "\" : ", value, last ? "\n" : ",\n");
  };
  line("accountId", q(f.account_id));
  line("architecture", q(f.architecture));
  line("availabilityZone", q(az));
  line("billingProducts", "null");
  line("devpayProductCodes", "null");
  line("marketplaceProductCodes", "null");
  line("imageId", q(f.image_id));
  line("instanceId", q(f.instance_id));
  line("instanceType", q(f.instance_type));
  line("kernelId", "null");
  line("pendingTime", q(absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", f.pending_time, absl::UTCTimeZone())));
  line("privateIp", q(f.private_ip));
  line("ramdiskId", "null");
  line("region", q(f.region));
  line("version", q("2017-09-30"), /*last=*/true);
  out += "}";
  return out;
}

}  // namespace spirecvm::awsiid::testing
