#include "attestation/awsiid/certs.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "attestation/awsiid/document.h"
#include "common/status.h"

namespace spirecvm::awsiid {
namespace {

constexpr uintmax_t kMaxPemFileBytes = 1 << 20;
constexpr SignatureForm kAllForms[] = {SignatureForm::kRsa2048, SignatureForm::kSignature, SignatureForm::kPkcs7};

absl::StatusOr<std::vector<ssl::X509Ptr>> ReadPemCertificates(const std::filesystem::path& path, SignatureForm form) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read AWS certificate ", path.string(), ": ", ec.message()));
  }
  if (size > kMaxPemFileBytes) {
    return absl::FailedPreconditionError(absl::StrCat("AWS certificate file ", path.string(), " is larger than 1 MiB"));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) {
    return absl::FailedPreconditionError(absl::StrCat("cannot read AWS certificate ", path.string()));
  }
  std::string pem = ss.str();
  ssl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return absl::InternalError("BIO_new_mem_buf failed");
  std::vector<ssl::X509Ptr> out;
  while (true) {
    ssl::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    out.push_back(std::move(cert));
  }
  // The loop ends on "no start line" at EOF: expected. Anything else means a damaged PEM.
  unsigned long err = ERR_peek_last_error();
  bool clean_eof = ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  std::string errors = ssl::DrainErrors();
  if (out.empty() || (!clean_eof && err != 0)) {
    return absl::FailedPreconditionError(
        absl::StrCat("AWS certificate file ", path.string(),
                     out.empty() ? " holds no PEM certificate" : " holds a damaged PEM certificate",
                     errors.empty() ? "" : ": ", errors));
  }
  int want = form == SignatureForm::kPkcs7 ? EVP_PKEY_DSA : EVP_PKEY_RSA;
  for (const auto& cert : out) {
    EVP_PKEY* key = X509_get0_pubkey(cert.get());
    if (key == nullptr || EVP_PKEY_get_base_id(key) != want) {
      ssl::DrainErrors();
      return absl::FailedPreconditionError(
          absl::StrCat("AWS certificate file ", path.string(), " holds a certificate whose key is not ",
                       want == EVP_PKEY_DSA ? "DSA" : "RSA", " (expected for the ", SignatureFormName(form), " form)"));
    }
  }
  return out;
}

}  // namespace

absl::string_view SignatureFormName(SignatureForm form) {
  switch (form) {
    case SignatureForm::kRsa2048:
      return "rsa2048";
    case SignatureForm::kSignature:
      return "signature";
    case SignatureForm::kPkcs7:
      return "pkcs7";
  }
  return "unknown";
}

absl::string_view CertSubdir(SignatureForm form) {
  switch (form) {
    case SignatureForm::kRsa2048:
      return "rsa2048";
    case SignatureForm::kSignature:
      return "rsa";
    case SignatureForm::kPkcs7:
      return "dsa";
  }
  return "unknown";
}

std::string CertStore::RelativePath(SignatureForm form, absl::string_view region) {
  return absl::StrCat(CertSubdir(form), "/", region, ".pem");
}

absl::StatusOr<CertStore> CertStore::Load(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (dir.empty()) {
    return absl::InvalidArgumentError("aws_certificates_path is not set");
  }
  if (!fs::is_directory(dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat("aws_certificates_path ", dir, " is not a directory",
                                                      ec ? absl::StrCat(" (", ec.message(), ")") : std::string()));
  }
  CertStore store;
  store.dir_ = dir;
  for (SignatureForm form : kAllForms) {
    fs::path sub = fs::path(dir) / std::string(CertSubdir(form));
    if (!fs::is_directory(sub, ec)) continue;
    for (fs::directory_iterator it(sub, ec), end; !ec && it != end; it.increment(ec)) {
      const fs::path& p = it->path();
      if (p.extension() != ".pem") continue;
      std::string region = p.stem().string();
      if (!IsValidRegion(region)) {
        return absl::FailedPreconditionError(
            absl::StrCat("aws_certificates_path ", dir, ": file ", CertSubdir(form), "/", p.filename().string(),
                         " is not named after an AWS region (expected e.g. ", CertSubdir(form), "/us-east-1.pem)"));
      }
      ASSIGN_OR_RETURN(auto certs, ReadPemCertificates(p, form));
      store.certs_[{form, region}] = std::move(certs);
    }
    if (ec) {
      return absl::FailedPreconditionError(absl::StrCat("cannot list ", sub.string(), ": ", ec.message()));
    }
  }
  if (store.certs_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("aws_certificates_path ", dir,
                     " holds no AWS certificates (expected rsa2048/<region>.pem, rsa/<region>.pem, "
                     "dsa/<region>.pem; build it with scripts/aws-iid-certs)"));
  }
  return store;
}

absl::StatusOr<std::vector<X509*>> CertStore::Lookup(SignatureForm form, absl::string_view region) const {
  auto it = certs_.find(std::make_pair(form, std::string(region)));
  if (it == certs_.end()) {
    return absl::NotFoundError(absl::StrCat("no AWS certificate for region \"", region, "\" in aws_certificates_path ",
                                            dir_, " (", RelativePath(form, region), ")"));
  }
  std::vector<X509*> out;
  for (const auto& c : it->second) out.push_back(c.get());
  return out;
}

std::vector<std::string> CertStore::Regions(SignatureForm form) const {
  std::vector<std::string> out;
  for (const auto& [key, certs] : certs_) {
    if (key.first == form) out.push_back(key.second);
  }
  return out;
}

size_t CertStore::size() const {
  size_t n = 0;
  for (const auto& [key, certs] : certs_) n += certs.size();
  return n;
}

}  // namespace spirecvm::awsiid
