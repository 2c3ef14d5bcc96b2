#include "crypto/csr.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "crypto/absl_sv.h"
#include "crypto/keys.h"

namespace spirecvm::crypto {
namespace {

absl::Status SslInvalid(std::string_view what) {
  std::string errs = ssl::DrainErrors();
  if (errs.empty()) return absl::InvalidArgumentError(Av(what));
  return absl::InvalidArgumentError(absl::StrCat(Av(what), ": ", errs));
}

absl::Status SslInternal(std::string_view what) {
  std::string errs = ssl::DrainErrors();
  if (errs.empty()) return absl::InternalError(Av(what));
  return absl::InternalError(absl::StrCat(Av(what), ": ", errs));
}

const EVP_MD* DigestFor(EVP_PKEY* key) {
  auto t = KeyTypeOf(key);
  if (t.ok() && *t == KeyType::kEcP384) return EVP_sha384();
  return EVP_sha256();
}

}  // namespace

absl::StatusOr<ParsedCsr> ParseAndVerifyCsr(std::string_view der) {
  if (der.empty()) return absl::InvalidArgumentError("CSR: empty input");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ssl::X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req) return SslInvalid("CSR: not a parsable PKCS#10 request");
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("CSR: trailing bytes after the request");
  }
  ParsedCsr out;
  out.public_key.reset(X509_REQ_get_pubkey(req.get()));
  if (!out.public_key) return SslInvalid("CSR: public key not parsable");
  auto kt = KeyTypeOf(out.public_key.get());
  if (!kt.ok()) return absl::InvalidArgumentError(absl::StrCat("CSR: ", kt.status().message()));
  if (X509_REQ_verify(req.get(), out.public_key.get()) != 1) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError("CSR signature does not verify");
  }
  auto spki = PublicKeyToDer(out.public_key.get());
  if (!spki.ok()) return spki.status();
  out.spki_der = *std::move(spki);

  STACK_OF(X509_EXTENSION)* exts_raw = X509_REQ_get_extensions(req.get());
  if (exts_raw != nullptr) {
    ssl::X509ExtensionStackPtr exts(exts_raw);
    ssl::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
        X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
    if (names) {
      for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
        if (gn->type != GEN_URI) continue;
        const ASN1_IA5STRING* s = gn->d.uniformResourceIdentifier;
        out.uri_sans.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                  static_cast<size_t>(ASN1_STRING_length(s)));
      }
    }
  }
  ERR_clear_error();
  return out;
}

absl::StatusOr<std::string> CreateCsr(EVP_PKEY* key, std::optional<std::string> uri_san) {
  if (key == nullptr) return absl::InvalidArgumentError("CSR: key is null");
  ssl::X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1 || X509_REQ_set_pubkey(req.get(), key) != 1) {
    return SslInternal("CSR: build");
  }
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  if (X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("US"),
                                 -1, -1, 0) != 1 ||
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("SPIRE"), -1, -1, 0) != 1) {
    return SslInternal("CSR: subject");
  }
  if (uri_san.has_value()) {
    ssl::GeneralNamesPtr names(GENERAL_NAMES_new());
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
    if (!names || gn == nullptr || ia5 == nullptr ||
        ASN1_STRING_set(ia5, uri_san->data(), static_cast<int>(uri_san->size())) != 1) {
      GENERAL_NAME_free(gn);
      ASN1_IA5STRING_free(ia5);
      return SslInternal("CSR: URI SAN");
    }
    GENERAL_NAME_set0_value(gn, GEN_URI, ia5);
    sk_GENERAL_NAME_push(names.get(), gn);
    ssl::X509ExtensionPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get()));
    ssl::X509ExtensionStackPtr exts(sk_X509_EXTENSION_new_null());
    if (!ext || !exts || sk_X509_EXTENSION_push(exts.get(), ext.get()) <= 0) {
      return SslInternal("CSR: extensions");
    }
    ext.release();  // owned by the stack now
    if (X509_REQ_add_extensions(req.get(), exts.get()) != 1) {
      return SslInternal("CSR: extensions");
    }
  }
  if (X509_REQ_sign(req.get(), key, DigestFor(key)) <= 0) return SslInternal("CSR: sign");
  unsigned char* out = nullptr;
  int len = i2d_X509_REQ(req.get(), &out);
  if (len <= 0) return SslInternal("CSR: encode");
  ssl::OpensslBytesPtr owned(out);
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(len));
}

}  // namespace spirecvm::crypto
