// AWS's published per-region certificates for instance identity document signatures, loaded from
// the directory named by the server option `aws_certificates_path`:
//
//   <dir>/rsa2048/<region>.pem   certificate(s) for the `rsa2048` CMS form (preferred)
//   <dir>/rsa/<region>.pem       certificate(s) for the `signature` RSA PKCS#1 v1.5 form
//   <dir>/dsa/<region>.pem       certificate(s) for the `pkcs7` DSA-SHA1 CMS form (optional)
//
// A file may hold several certificates (AWS re-issued some with the same key); any of them may
// verify. Only the public key is used: validity periods and issuers are deliberately not checked.
// scripts/aws-iid-certs builds this directory from AWS's documentation page.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::awsiid {

// The three signature forms IMDS serves under /latest/dynamic/instance-identity/.
enum class SignatureForm {
  kRsa2048,    // `rsa2048`: CMS SignedData, RSA-2048 / SHA-256
  kSignature,  // `signature`: raw RSA PKCS#1 v1.5 / SHA-256 over the document
  kPkcs7,      // `pkcs7`: CMS SignedData, DSA / SHA-1
};

// "rsa2048", "signature", "pkcs7": the IMDS path component and the payload field name.
absl::string_view SignatureFormName(SignatureForm form);
// "rsa2048", "rsa", "dsa": the sub-directory of aws_certificates_path holding its certificates.
absl::string_view CertSubdir(SignatureForm form);

class CertStore {
 public:
  // Loads every <subdir>/<region>.pem under `dir`. Fails when `dir` is not a directory, when a
  // .pem file is not named after a region, holds no certificate, or holds a key of the wrong kind
  // for its form (RSA for rsa2048/ and rsa/, DSA for dsa/), or when no certificate at all is found.
  // Files not ending in .pem are ignored.
  static absl::StatusOr<CertStore> Load(const std::string& dir);

  CertStore(CertStore&&) = default;
  CertStore& operator=(CertStore&&) = default;

  // The certificates for (form, region), borrowed (valid while the store lives). NotFound names
  // the region, the option, the directory and the expected file, e.g.
  //   no AWS certificate for region "xx-1" in aws_certificates_path /dir (rsa2048/xx-1.pem)
  absl::StatusOr<std::vector<X509*>> Lookup(SignatureForm form, absl::string_view region) const;

  // "<subdir>/<region>.pem", relative to dir(); for messages.
  static std::string RelativePath(SignatureForm form, absl::string_view region);

  const std::string& dir() const { return dir_; }
  // Regions that have a certificate for `form`, sorted.
  std::vector<std::string> Regions(SignatureForm form) const;
  // Number of certificates loaded, all forms.
  size_t size() const;

 private:
  CertStore() = default;
  std::string dir_;
  std::map<std::pair<SignatureForm, std::string>, std::vector<ssl::X509Ptr>, std::less<>> certs_;
};

}  // namespace spirecvm::awsiid
