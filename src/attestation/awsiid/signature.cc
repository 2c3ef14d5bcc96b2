#include "attestation/awsiid/signature.h"

#include <openssl/objects.h>

#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status.h"
#include "common/strings.h"

namespace spirecvm::awsiid {
namespace {

absl::Status Invalid(absl::string_view form, absl::string_view reason, bool drain = false) {
  std::string errors = drain ? ssl::DrainErrors() : std::string();
  return absl::InvalidArgumentError(absl::StrCat(form, " signature: ", reason, errors.empty() ? "" : ": ", errors));
}

struct FormRules {
  absl::string_view name;
  int key_type;                // EVP_PKEY_RSA / EVP_PKEY_DSA
  std::array<int, 2> digests;  // allowed digest NIDs (NID_undef = unused slot)
  std::array<int, 3> sigalgs;  // allowed signatureAlgorithm NIDs
};

FormRules RulesFor(SignatureForm form) {
  if (form == SignatureForm::kPkcs7) {
    return {"pkcs7", EVP_PKEY_DSA, {NID_sha1, NID_sha256}, {NID_dsa, NID_dsaWithSHA1, NID_dsa_with_SHA256}};
  }
  return {
      "rsa2048", EVP_PKEY_RSA, {NID_sha256, NID_undef}, {NID_rsaEncryption, NID_sha256WithRSAEncryption, NID_undef}};
}

bool Contains(const auto& arr, int nid) {
  if (nid == NID_undef) return false;
  for (int v : arr) {
    if (v == nid) return true;
  }
  return false;
}

absl::string_view AsView(const ASN1_STRING* s) {
  return absl::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                           static_cast<size_t>(ASN1_STRING_length(s)));
}

// EVP_DigestVerify of `data` with `md` and the certificate's public key.
bool DigestVerify(const EVP_MD* md, EVP_PKEY* key, absl::string_view data, absl::string_view signature) {
  ssl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

}  // namespace

// IMDS serves the blobs wrapped in lines: white space is dropped, then the one codec (common/encoding.h)
// decodes strictly (padding required, canonical trailing bits).
absl::StatusOr<std::string> DecodeBase64(absl::string_view what, absl::string_view b64) {
  std::string flat;
  flat.reserve(b64.size());
  for (char c : b64) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') flat.push_back(c);
  }
  if (flat.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  auto out = Base64Decode(flat);
  if (!out.ok()) return Annotate(out.status(), absl::StrCat(what, " is not valid base64"));
  return out;
}

std::string EncodeBase64(absl::string_view bytes, size_t line_width) {
  std::string flat = Base64Encode(ToStd(bytes));
  if (line_width == 0) return flat;
  std::string out;
  for (size_t k = 0; k < flat.size(); k += line_width) {
    if (k != 0) out.push_back('\n');
    out += flat.substr(k, line_width);
  }
  return out;
}

absl::StatusOr<ssl::CmsPtr> ParseSignedCms(SignatureForm form, absl::string_view cms_der) {
  const absl::string_view f = RulesFor(form).name;
  if (cms_der.size() > kMaxSignatureBytes) return Invalid(f, "CMS blob is too large");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(cms_der.data());
  ssl::CmsPtr cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(cms_der.size())));
  if (!cms) return Invalid(f, "not a CMS (PKCS#7) structure", /*drain=*/true);
  if (p != reinterpret_cast<const unsigned char*>(cms_der.data()) + cms_der.size()) {
    return Invalid(f, "trailing bytes after the CMS structure");
  }
  if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed) {
    return Invalid(f, "CMS content type is not SignedData");
  }
  if (OBJ_obj2nid(CMS_get0_eContentType(cms.get())) != NID_pkcs7_data) {
    return Invalid(f, "CMS encapsulated content type is not id-data");
  }
  ASN1_OCTET_STRING** content = CMS_get0_content(cms.get());
  if (content == nullptr || *content == nullptr) return Invalid(f, "CMS content is not attached");
  return cms;
}

namespace {

// The one SignerInfo, whose digest and signature algorithms the form allows; returns the digest.
absl::StatusOr<const EVP_MD*> CheckSigner(CMS_SignerInfo* si, const FormRules& rules) {
  const absl::string_view f = rules.name;
  X509_ALGOR* dig_alg = nullptr;
  X509_ALGOR* sig_alg = nullptr;
  CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &dig_alg, &sig_alg);
  const int dig_nid = dig_alg ? OBJ_obj2nid(dig_alg->algorithm) : NID_undef;
  const int sig_nid = sig_alg ? OBJ_obj2nid(sig_alg->algorithm) : NID_undef;
  if (!Contains(rules.digests, dig_nid)) {
    return Invalid(f, absl::StrCat("digest algorithm ", OBJ_nid2sn(dig_nid), " is not accepted for this form"));
  }
  if (!Contains(rules.sigalgs, sig_nid)) {
    return Invalid(f, absl::StrCat("signature algorithm ", OBJ_nid2sn(sig_nid), " is not accepted for this form"));
  }
  const EVP_MD* md = EVP_get_digestbynid(dig_nid);
  if (md == nullptr) return Invalid(f, "digest algorithm unavailable", true);
  return md;
}

// Signed attributes: the signature covers their DER encoding; they carry the content digest.
absl::Status VerifySignedAttributes(absl::string_view f, CMS_SignerInfo* si, X509* cert, absl::string_view content,
                                    const EVP_MD* md) {
  ASN1_OBJECT* ctype =
      static_cast<ASN1_OBJECT*>(CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT));
  if (ctype == nullptr || OBJ_obj2nid(ctype) != NID_pkcs7_data) {
    return Invalid(f, "signed contentType attribute is missing or not id-data", true);
  }
  ASN1_OCTET_STRING* digest_attr = static_cast<ASN1_OCTET_STRING*>(
      CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3, V_ASN1_OCTET_STRING));
  if (digest_attr == nullptr) return Invalid(f, "signed messageDigest attribute is missing", true);
  // set1_signer_cert takes its own reference; the signature check uses only the key.
  CMS_SignerInfo_set1_signer_cert(si, cert);
  if (CMS_SignerInfo_verify(si) != 1) {
    return Invalid(f, "signature over the signed attributes does not verify", true);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  if (EVP_Digest(content.data(), content.size(), digest, &digest_len, md, nullptr) != 1) {
    return Invalid(f, "cannot digest the signed content", true);
  }
  if (AsView(digest_attr) != absl::string_view(reinterpret_cast<const char*>(digest), digest_len)) {
    return Invalid(f, "messageDigest attribute does not match the signed content");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status VerifyCmsWithCert(SignatureForm form, absl::string_view document, absl::string_view cms_der, X509* cert) {
  const FormRules rules = RulesFor(form);
  const absl::string_view f = rules.name;
  ssl::DrainErrors();
  ASSIGN_OR_RETURN(ssl::CmsPtr cms, ParseSignedCms(form, cms_der));
  const absl::string_view content = AsView(*CMS_get0_content(cms.get()));
  STACK_OF(CMS_SignerInfo)* signers = CMS_get0_SignerInfos(cms.get());
  if (signers == nullptr || sk_CMS_SignerInfo_num(signers) != 1) {
    return Invalid(
        f, absl::StrCat("CMS holds ", signers ? sk_CMS_SignerInfo_num(signers) : 0, " signers, expected exactly 1"));
  }
  CMS_SignerInfo* si = sk_CMS_SignerInfo_value(signers, 0);
  ASSIGN_OR_RETURN(const EVP_MD* md, CheckSigner(si, rules));
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr || EVP_PKEY_get_base_id(key) != rules.key_type) {
    return Invalid(f, "the AWS certificate's key is of the wrong type for this form", true);
  }
  if (CMS_signed_get_attr_count(si) > 0) {
    RETURN_IF_ERROR(VerifySignedAttributes(f, si, cert, content, md));
  } else {
    // No signed attributes: the signature is over the content itself.
    ASN1_OCTET_STRING* sig = CMS_SignerInfo_get0_signature(si);
    if (sig == nullptr || !DigestVerify(md, key, content, AsView(sig))) {
      return Invalid(f, "signature over the content does not verify", true);
    }
  }
  // Only now, with the signature known to be AWS's, is the comparison meaningful.
  if (content != document) {
    return Invalid(f,
                   "signed content differs from the instance identity document (a valid "
                   "signature over another document: substitution)");
  }
  ssl::DrainErrors();
  return absl::OkStatus();
}

absl::Status VerifyRsaSignatureWithCert(absl::string_view document, absl::string_view signature, X509* cert) {
  ssl::DrainErrors();
  EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
    return Invalid("signature", "the AWS certificate's key is not RSA", true);
  }
  if (!DigestVerify(EVP_sha256(), key, document, signature)) {
    return Invalid("signature", "RSA PKCS#1 v1.5 SHA-256 signature over the document does not verify", true);
  }
  return absl::OkStatus();
}

absl::Status VerifyDocumentSignature(const CertStore& store, SignatureForm form, absl::string_view region,
                                     absl::string_view document, absl::string_view blob_base64) {
  const absl::string_view name = SignatureFormName(form);
  ASSIGN_OR_RETURN(const std::string blob, DecodeBase64(absl::StrCat(name, " signature"), blob_base64));
  if (blob.size() > kMaxSignatureBytes) {
    return absl::InvalidArgumentError(absl::StrCat(name, " signature is too large"));
  }
  ASSIGN_OR_RETURN(const auto certs, store.Lookup(form, region));
  absl::Status last;
  for (X509* cert : certs) {
    last = form == SignatureForm::kSignature ? VerifyRsaSignatureWithCert(document, blob, cert)
                                             : VerifyCmsWithCert(form, document, blob, cert);
    if (last.ok()) return last;
    // A structural or content error does not depend on which certificate was tried.
    if (last.message().find("does not verify") == absl::string_view::npos) break;
  }
  return absl::InvalidArgumentError(absl::StrCat(last.message(), " [with the AWS certificate for region \"", region,
                                                 "\": aws_certificates_path ", store.dir(), ", ",
                                                 CertStore::RelativePath(form, region), "]"));
}

}  // namespace spirecvm::awsiid
