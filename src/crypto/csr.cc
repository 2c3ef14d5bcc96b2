#include "crypto/csr.h"

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/ecdsa_verify.h"
#include "crypto/keys.h"

namespace spirecvm::crypto {
namespace {

absl::Status SslInvalid(std::string_view what) {
  std::string errs = ssl::DrainErrors();
  if (errs.empty()) return absl::InvalidArgumentError(ToAbsl(what));
  return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": ", errs));
}

absl::Status SslInternal(std::string_view what) {
  std::string errs = ssl::DrainErrors();
  if (errs.empty()) return absl::InternalError(ToAbsl(what));
  return absl::InternalError(absl::StrCat(ToAbsl(what), ": ", errs));
}

const EVP_MD* DigestFor(EVP_PKEY* key) {
  auto t = KeyTypeOf(key);
  if (t.ok() && *t == KeyType::kEcP384) return EVP_sha384();
  return EVP_sha256();
}

// ---- Fast path for the common case: an EC P-256/P-384 key with ECDSA SHA-256/384. ----
// d2i_X509_REQ decodes the public key through OpenSSL 3's decoder framework, which costs about
// 140 us per call, several times the ECDSA verification itself (docs/benchmarks.md). For EC keys the
// request is walked here with explicit bounds, and the signature is verified over the exact
// CertificationRequestInfo bytes with the key's curve and point (crypto/ecdsa_verify.h).
// Anything unusual returns nullopt, and the request goes through OpenSSL's own parser instead.

struct Tlv {
  uint8_t tag = 0;
  std::string_view whole;  // tag + length + content
  std::string_view content;
};

// Reads one DER TLV at the start of `in` (definite lengths only, at most 4 length bytes).
std::optional<Tlv> ReadTlv(std::string_view in) {
  if (in.size() < 2) return std::nullopt;
  const auto* b = reinterpret_cast<const uint8_t*>(in.data());
  size_t pos = 2;
  size_t len = b[1];
  if (len & 0x80) {
    size_t n = len & 0x7f;
    if (n == 0 || n > 4 || in.size() < 2 + n) return std::nullopt;
    len = 0;
    for (size_t i = 0; i < n; i++) len = (len << 8) | b[2 + i];
    if (len < 0x80) return std::nullopt;  // not minimal DER
    pos += n;
  }
  if (len > in.size() - pos) return std::nullopt;
  return Tlv{b[0], in.substr(0, pos + len), in.substr(pos, len)};
}

// Splits a constructed TLV's content into its elements.
std::optional<std::vector<Tlv>> Children(std::string_view content) {
  std::vector<Tlv> out;
  while (!content.empty()) {
    auto t = ReadTlv(content);
    if (!t) return std::nullopt;
    content.remove_prefix(t->whole.size());
    out.push_back(*t);
  }
  return out;
}

constexpr uint8_t kSeq = 0x30, kInt = 0x02, kOid = 0x06, kBitString = 0x03, kAttrs = 0xA0;
// DER of the OIDs involved.
constexpr std::string_view kOidEcPublicKey("\x2a\x86\x48\xce\x3d\x02\x01", 7);
constexpr std::string_view kOidP256("\x2a\x86\x48\xce\x3d\x03\x01\x07", 8);
constexpr std::string_view kOidP384("\x2b\x81\x04\x00\x22", 5);
constexpr std::string_view kOidEcdsaSha256("\x2a\x86\x48\xce\x3d\x04\x03\x02", 8);
constexpr std::string_view kOidEcdsaSha384("\x2a\x86\x48\xce\x3d\x04\x03\x03", 8);

absl::Status ReadUriSans(std::string_view attrs_content, std::vector<std::string>& out, bool& requests_ca);

// The fields of a request the fast path understands, as views into its DER.
struct EcCsrShape {
  Tlv info;                      // CertificationRequestInfo (the signed bytes)
  std::vector<Tlv> info_fields;  // version, subject, SubjectPublicKeyInfo[, attributes]
  EcCurve curve = EcCurve::kP256;
  KeyType key_type = KeyType::kEcP256;
  std::string_view point;      // uncompressed EC point
  const EVP_MD* md = nullptr;  // ECDSA digest
  std::string_view sig;        // DER ECDSA signature
};

// SubjectPublicKeyInfo: SEQUENCE { SEQUENCE { id-ecPublicKey, P-256|P-384 }, BIT STRING uncompressed point }.
bool MatchEcSpki(std::string_view spki_content, EcCsrShape& shape) {
  auto spki = Children(spki_content);
  if (!spki || spki->size() != 2 || (*spki)[0].tag != kSeq || (*spki)[1].tag != kBitString) return false;
  auto alg = Children((*spki)[0].content);
  if (!alg || alg->size() != 2 || (*alg)[0].tag != kOid || (*alg)[1].tag != kOid ||
      (*alg)[0].content != kOidEcPublicKey) {
    return false;
  }
  size_t coord = 0;
  if ((*alg)[1].content == kOidP256) {
    shape.curve = EcCurve::kP256;
    shape.key_type = KeyType::kEcP256;
    coord = 32;
  } else if ((*alg)[1].content == kOidP384) {
    shape.curve = EcCurve::kP384;
    shape.key_type = KeyType::kEcP384;
    coord = 48;
  } else {
    return false;
  }
  std::string_view bits = (*spki)[1].content;
  if (bits.size() != 2 + 2 * coord || bits[0] != 0 || bits[1] != 0x04) return false;
  shape.point = bits.substr(1);
  return true;
}

// signatureAlgorithm: SEQUENCE { ecdsa-with-SHA256|384 } (no parameters); signature: BIT STRING, no unused bits.
bool MatchEcdsaSignature(const Tlv& sig_alg_seq, const Tlv& sig_bits, EcCsrShape& shape) {
  auto sig_alg = Children(sig_alg_seq.content);
  if (!sig_alg || sig_alg->size() != 1 || (*sig_alg)[0].tag != kOid) return false;
  if ((*sig_alg)[0].content == kOidEcdsaSha256) {
    shape.md = EVP_sha256();
  } else if ((*sig_alg)[0].content == kOidEcdsaSha384) {
    shape.md = EVP_sha384();
  } else {
    return false;
  }
  if (sig_bits.content.empty() || sig_bits.content[0] != 0) return false;
  shape.sig = sig_bits.content.substr(1);
  return true;
}

// The request's structure when it is the common EC case; nullopt for anything else.
std::optional<EcCsrShape> MatchEcCsr(std::string_view der) {
  auto outer = ReadTlv(der);
  if (!outer || outer->tag != kSeq || outer->whole.size() != der.size()) return std::nullopt;
  auto top = Children(outer->content);
  if (!top || top->size() != 3 || (*top)[0].tag != kSeq || (*top)[1].tag != kSeq || (*top)[2].tag != kBitString) {
    return std::nullopt;
  }
  EcCsrShape shape;
  shape.info = (*top)[0];
  auto info_fields = Children(shape.info.content);
  if (!info_fields || info_fields->size() < 3 || info_fields->size() > 4) return std::nullopt;
  const auto& f = *info_fields;
  if (f[0].tag != kInt || f[0].content != std::string_view("\x00", 1) || f[1].tag != kSeq || f[2].tag != kSeq) {
    return std::nullopt;
  }
  if (f.size() == 4 && f[3].tag != kAttrs) return std::nullopt;
  if (!MatchEcSpki(f[2].content, shape) || !MatchEcdsaSignature((*top)[1], (*top)[2], shape)) return std::nullopt;
  shape.info_fields = std::move(*info_fields);
  return shape;
}

std::optional<absl::StatusOr<ParsedCsr>> FastParseEcCsr(std::string_view der) {
  std::optional<EcCsrShape> shape = MatchEcCsr(der);
  if (!shape) return std::nullopt;
  // The point must lie on the curve, and the signature must verify over the exact CertificationRequestInfo bytes.
  absl::Status st = VerifyEcdsa(shape->curve, shape->point, shape->md, shape->info.whole, shape->sig);
  if (!st.ok()) {
    if (st.code() != absl::StatusCode::kInvalidArgument) return absl::StatusOr<ParsedCsr>(st);
    if (absl::StartsWith(st.message(), "public key")) {
      return absl::StatusOr<ParsedCsr>(absl::InvalidArgumentError(absl::StrCat("CSR: ", st.message())));
    }
    return absl::StatusOr<ParsedCsr>(absl::InvalidArgumentError("CSR signature does not verify"));
  }
  ParsedCsr out;
  out.key_type = shape->key_type;
  const auto& f = shape->info_fields;
  out.spki_der = std::string(f[2].whole);
  if (f.size() == 4) {
    if (auto st = ReadUriSans(f[3].content, out.uri_sans, out.requests_ca); !st.ok())
      return absl::StatusOr<ParsedCsr>(st);
  }
  return absl::StatusOr<ParsedCsr>(std::move(out));
}

// Whether requested extensions ask for a CA certificate (basicConstraints CA:TRUE).
bool RequestsCa(const STACK_OF(X509_EXTENSION) * exts) {
  ssl::BasicConstraintsPtr bc(
      static_cast<BASIC_CONSTRAINTS*>(X509V3_get_d2i(exts, NID_basic_constraints, nullptr, nullptr)));
  return bc != nullptr && bc->ca != 0;
}

// Attributes: SET OF Attribute, each parsed by OpenSSL; URI SANs (and a CA request) from an extensionRequest.
absl::Status ReadUriSans(std::string_view attrs_content, std::vector<std::string>& out, bool& requests_ca) {
  auto attrs = Children(attrs_content);
  if (!attrs) return absl::InvalidArgumentError("CSR: malformed attributes");
  for (const Tlv& a : *attrs) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(a.whole.data());
    ssl::X509AttributePtr attr(d2i_X509_ATTRIBUTE(nullptr, &p, static_cast<long>(a.whole.size())));
    if (!attr) return SslInvalid("CSR: malformed attribute");
    int nid = OBJ_obj2nid(X509_ATTRIBUTE_get0_object(attr.get()));
    if (nid != NID_ext_req && nid != NID_ms_ext_req) continue;
    ASN1_TYPE* t = X509_ATTRIBUTE_get0_type(attr.get(), 0);
    if (t == nullptr || t->type != V_ASN1_SEQUENCE)
      return absl::InvalidArgumentError("CSR: malformed extension request");
    const unsigned char* q = t->value.sequence->data;
    ssl::X509ExtensionStackPtr exts(d2i_X509_EXTENSIONS(nullptr, &q, t->value.sequence->length));
    if (!exts) return SslInvalid("CSR: malformed extensions");
    requests_ca = requests_ca || RequestsCa(exts.get());
    ssl::GeneralNamesPtr names(
        static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
    if (!names) continue;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
      if (gn->type != GEN_URI) continue;
      const ASN1_IA5STRING* s = gn->d.uniformResourceIdentifier;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<size_t>(ASN1_STRING_length(s)));
    }
  }
  ERR_clear_error();
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ParsedCsr> ParseAndVerifyCsr(std::string_view der) {
  if (der.empty()) return absl::InvalidArgumentError("CSR: empty input");
  if (auto fast = FastParseEcCsr(der)) return std::move(*fast);
  ERR_clear_error();
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ssl::X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req) return SslInvalid("CSR: not a parsable PKCS#10 request");
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("CSR: trailing bytes after the request");
  }
  ParsedCsr out;
  ssl::EvpPkeyPtr key(X509_REQ_get_pubkey(req.get()));
  if (!key) return SslInvalid("CSR: public key not parsable");
  auto kt = KeyTypeOf(key.get());
  if (!kt.ok()) return absl::InvalidArgumentError(absl::StrCat("CSR: ", kt.status().message()));
  out.key_type = *kt;
  if (X509_REQ_verify(req.get(), key.get()) != 1) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError("CSR signature does not verify");
  }
  // The request's own SubjectPublicKeyInfo, re-serialised as parsed: no trip through OpenSSL 3's key
  // encoders, which cost more than the signature check itself.
  {
    unsigned char* buf = nullptr;
    int len = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(req.get()), &buf);
    if (len <= 0) return SslInvalid("CSR: public key not encodable");
    ssl::OpensslBytesPtr owned(buf);
    out.spki_der.assign(reinterpret_cast<const char*>(buf), static_cast<size_t>(len));
  }

  STACK_OF(X509_EXTENSION)* exts_raw = X509_REQ_get_extensions(req.get());
  if (exts_raw != nullptr) {
    ssl::X509ExtensionStackPtr exts(exts_raw);
    out.requests_ca = RequestsCa(exts.get());
    ssl::GeneralNamesPtr names(
        static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
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

namespace {

// Appends one IA5String name (URI or DNS) to `names`.
absl::Status PushName(GENERAL_NAMES* names, int type, const std::string& value) {
  GENERAL_NAME* gn = GENERAL_NAME_new();
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  if (gn == nullptr || ia5 == nullptr || ASN1_STRING_set(ia5, value.data(), static_cast<int>(value.size())) != 1) {
    GENERAL_NAME_free(gn);
    ASN1_IA5STRING_free(ia5);
    return SslInternal("CSR: SAN");
  }
  GENERAL_NAME_set0_value(gn, type, ia5);
  if (sk_GENERAL_NAME_push(names, gn) <= 0) {
    GENERAL_NAME_free(gn);
    return SslInternal("CSR: SAN");
  }
  return absl::OkStatus();
}

absl::Status AddSans(X509_REQ* req, const std::optional<std::string>& uri_san,
                     const std::vector<std::string>& dns_sans) {
  if (!uri_san.has_value() && dns_sans.empty()) return absl::OkStatus();
  ssl::GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) return SslInternal("CSR: SAN");
  if (uri_san.has_value()) RETURN_IF_ERROR(PushName(names.get(), GEN_URI, *uri_san));
  for (const auto& d : dns_sans) RETURN_IF_ERROR(PushName(names.get(), GEN_DNS, d));
  ssl::X509ExtensionPtr ext(X509V3_EXT_i2d(NID_subject_alt_name, 0, names.get()));
  ssl::X509ExtensionStackPtr exts(sk_X509_EXTENSION_new_null());
  if (!ext || !exts || sk_X509_EXTENSION_push(exts.get(), ext.get()) <= 0) return SslInternal("CSR: extensions");
  ext.release();  // owned by the stack now
  if (X509_REQ_add_extensions(req, exts.get()) != 1) return SslInternal("CSR: extensions");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> CreateCsr(EVP_PKEY* key, std::optional<std::string> uri_san,
                                      const std::vector<std::string>& dns_sans) {
  if (key == nullptr) return absl::InvalidArgumentError("CSR: key is null");
  ssl::X509ReqPtr req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1 || X509_REQ_set_pubkey(req.get(), key) != 1) {
    return SslInternal("CSR: build");
  }
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  if (X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("US"), -1, -1, 0) !=
          1 ||
      X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("SPIRE"), -1, -1, 0) !=
          1) {
    return SslInternal("CSR: subject");
  }
  RETURN_IF_ERROR(AddSans(req.get(), uri_san, dns_sans));
  if (X509_REQ_sign(req.get(), key, DigestFor(key)) <= 0) return SslInternal("CSR: sign");
  unsigned char* out = nullptr;
  int len = i2d_X509_REQ(req.get(), &out);
  if (len <= 0) return SslInternal("CSR: encode");
  ssl::OpensslBytesPtr owned(out);
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(len));
}

}  // namespace spirecvm::crypto
