#include "spiffe/x509_svid.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>

#include <algorithm>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "spiffe/ca_signing.h"

namespace spirecvm::spiffe {
namespace {

absl::Status SslInternal(std::string_view what) {
  std::string errs = ssl::DrainErrors();
  if (errs.empty()) return absl::InternalError(ToAbsl(what));
  return absl::InternalError(absl::StrCat(ToAbsl(what), ": ", errs));
}

absl::Status SetRandomSerial(X509* cert, Random& rnd) {
  const std::string bytes = internal::RandomSerialBytes(rnd);
  ssl::BignumPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), 16, nullptr));
  if (!bn) return SslInternal("serial: BIGNUM");
  ssl::Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial || X509_set_serialNumber(cert, serial.get()) != 1) return SslInternal("serial: set");
  return absl::OkStatus();
}

// ASN.1 PrintableString's alphabet (X.680 41.4), as Go's asn1 package decides between PrintableString and UTF8String.
bool IsPrintableString(std::string_view v) {
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view(" '()+,-./:=?").find(c) != std::string_view::npos;
  });
}

absl::Status AddNameEntry(X509_NAME* name, int nid, int type, std::string_view value) {
  if (X509_NAME_add_entry_by_NID(name, nid, type, reinterpret_cast<const unsigned char*>(value.data()),
                                 static_cast<int>(value.size()), -1, 0) != 1) {
    return SslInternal(absl::StrCat("subject: add ", OBJ_nid2sn(nid)));
  }
  return absl::OkStatus();
}

absl::Status AddExtConf(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ssl::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return SslInternal(absl::StrCat("extension ", OBJ_nid2sn(nid), "=", value));
  }
  return absl::OkStatus();
}

absl::Status PushName(GENERAL_NAMES* names, int type, std::string_view value) {
  ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
  if (ia5 == nullptr || ASN1_STRING_set(ia5, value.data(), static_cast<int>(value.size())) != 1) {
    ASN1_IA5STRING_free(ia5);
    return SslInternal("SAN: string");
  }
  GENERAL_NAME* gn = GENERAL_NAME_new();
  if (gn == nullptr) {
    ASN1_IA5STRING_free(ia5);
    return SslInternal("SAN: name");
  }
  GENERAL_NAME_set0_value(gn, type, ia5);
  if (sk_GENERAL_NAME_push(names, gn) <= 0) {
    GENERAL_NAME_free(gn);
    return SslInternal("SAN: push");
  }
  return absl::OkStatus();
}

absl::Status AddUriSan(X509* cert, std::string_view uri) {
  ssl::GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) return SslInternal("SAN: alloc");
  RETURN_IF_ERROR(PushName(names.get(), GEN_URI, uri));
  if (X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return SslInternal("SAN: add extension");
  }
  return absl::OkStatus();
}

// A CA certificate (leaves are written as DER by x509_svid_writer.cc).
struct CertSpec {
  const X509* issuer = nullptr;  // null: self-signed
  const crypto::Signer* signer = nullptr;
  const EVP_PKEY* public_key = nullptr;
  ssl::X509NamePtr subject;
  absl::Time not_before;
  absl::Time not_after;
  std::string uri_san;
};

// Checks the signer against the CA certificate and clamps notAfter to the CA's (as SPIRE does); the validity left
// must not be empty.
absl::Status CheckAndClampValidity(CertSpec& spec) {
  if (spec.public_key == nullptr) return absl::InvalidArgumentError("certificate: public key is null");
  if (spec.issuer != nullptr) {
    RETURN_IF_ERROR(internal::CheckSignerMatchesCa(spec.issuer, *spec.signer));
    absl::Time ca_not_after = crypto::NotAfter(spec.issuer);
    if (spec.not_after > ca_not_after) spec.not_after = ca_not_after;
  }
  if (spec.not_after <= spec.not_before) {
    return absl::InvalidArgumentError(absl::StrCat(
        "certificate validity is empty: not_after ", absl::FormatTime(spec.not_after), " <= not_before ",
        absl::FormatTime(spec.not_before), spec.issuer != nullptr ? " (after clamping to the CA's notAfter)" : ""));
  }
  return absl::OkStatus();
}

// The CA profile's constraints, key usages, key identifiers and URI SAN.
absl::Status AddCaExtensions(X509* cert, const CertSpec& spec) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, spec.issuer != nullptr ? const_cast<X509*>(spec.issuer) : cert, cert, nullptr, nullptr, 0);
  RETURN_IF_ERROR(AddExtConf(cert, &ctx, NID_basic_constraints, "critical,CA:TRUE"));
  RETURN_IF_ERROR(AddExtConf(cert, &ctx, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign"));
  RETURN_IF_ERROR(AddExtConf(cert, &ctx, NID_subject_key_identifier, "hash"));
  RETURN_IF_ERROR(AddExtConf(cert, &ctx, NID_authority_key_identifier, "keyid:always"));
  return AddUriSan(cert, spec.uri_san);
}

absl::StatusOr<ssl::X509Ptr> BuildAndSignCa(CertSpec spec, Random& rnd) {
  const EVP_MD* md = crypto::DigestFor(spec.signer->Type());
  RETURN_IF_ERROR(CheckAndClampValidity(spec));
  ssl::X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) return SslInternal("certificate: alloc");
  RETURN_IF_ERROR(SetRandomSerial(cert.get(), rnd));
  if (X509_set_subject_name(cert.get(), spec.subject.get()) != 1 ||
      X509_set_issuer_name(cert.get(),
                           spec.issuer != nullptr ? X509_get_subject_name(spec.issuer) : spec.subject.get()) != 1) {
    return SslInternal("certificate: names");
  }
  ASSIGN_OR_RETURN(auto nb, crypto::ToAsn1Time(spec.not_before));
  ASSIGN_OR_RETURN(auto na, crypto::ToAsn1Time(spec.not_after));
  if (X509_set1_notBefore(cert.get(), nb.get()) != 1 || X509_set1_notAfter(cert.get(), na.get()) != 1) {
    return SslInternal("certificate: validity");
  }
  if (X509_set_pubkey(cert.get(), const_cast<EVP_PKEY*>(spec.public_key)) != 1) {
    return SslInternal("certificate: public key");
  }
  RETURN_IF_ERROR(AddCaExtensions(cert.get(), spec));
  RETURN_IF_ERROR(crypto::SignCertificate(cert.get(), *spec.signer, md));
  return cert;
}

absl::StatusOr<ssl::X509NamePtr> CaSubject(const CaParams& p) {
  ssl::X509NamePtr name(X509_NAME_new());
  if (!name) return SslInternal("subject: alloc");
  if (!p.subject_country.empty()) {
    // As Go's pkix.Name (SPIRE): a printable country is written as a PrintableString of any length. OpenSSL's
    // MBSTRING path enforces X.520's two letters, which refuses SPIRE Helm chart's default country "ARPA".
    RETURN_IF_ERROR(AddNameEntry(name.get(), NID_countryName,
                                 IsPrintableString(p.subject_country) ? V_ASN1_PRINTABLESTRING : MBSTRING_UTF8,
                                 p.subject_country));
  }
  if (!p.subject_org.empty()) {
    RETURN_IF_ERROR(AddNameEntry(name.get(), NID_organizationName, MBSTRING_UTF8, p.subject_org));
  }
  if (!p.subject_cn.empty()) {
    RETURN_IF_ERROR(AddNameEntry(name.get(), NID_commonName, MBSTRING_UTF8, p.subject_cn));
  }
  return name;
}

// Extension view of a certificate (OpenSSL caches the decoded flags on first use).
struct ExtInfo {
  uint32_t flags;
  uint32_t ku;
  uint32_t xku;
};

ExtInfo Extensions(const X509* cert) {
  X509* c = const_cast<X509*>(cert);
  X509_check_purpose(c, -1, 0);  // populates the cached extension flags
  return ExtInfo{X509_get_extension_flags(c), X509_get_key_usage(c), X509_get_extended_key_usage(c)};
}

bool ExtensionCritical(const X509* cert, int nid) {
  int idx = X509_get_ext_by_NID(cert, nid, -1);
  if (idx < 0) return false;
  return X509_EXTENSION_get_critical(X509_get_ext(cert, idx)) == 1;
}

}  // namespace

absl::StatusOr<ssl::X509Ptr> SelfSignCa(EVP_PKEY* key, const CaParams& p, Random& rnd) {
  if (key == nullptr) return absl::InvalidArgumentError("CA: key is null");
  auto signer = crypto::NewLocalSigner(crypto::ShareKey(key));
  if (!signer.ok()) return absl::InvalidArgumentError(absl::StrCat("CA signing key: ", signer.status().message()));
  return SelfSignCa(**signer, p, rnd);
}

absl::StatusOr<ssl::X509Ptr> SelfSignCa(const crypto::Signer& signer, const CaParams& p, Random& rnd) {
  if (p.trust_domain.empty()) return absl::InvalidArgumentError("CA: trust domain is empty");
  CertSpec spec;
  spec.signer = &signer;
  spec.public_key = signer.PublicKey();
  spec.not_before = p.not_before;
  spec.not_after = p.not_after;
  spec.uri_san = p.trust_domain.IdString();
  ASSIGN_OR_RETURN(auto subject, CaSubject(p));
  spec.subject = std::move(subject);
  return BuildAndSignCa(std::move(spec), rnd);
}

absl::StatusOr<ssl::X509Ptr> SignIntermediateCa(const CaSigner& upstream, const CaParams& p, Random& rnd) {
  if (upstream.cert == nullptr || (upstream.key == nullptr && upstream.signer == nullptr)) {
    return absl::InvalidArgumentError("intermediate CA: upstream signer is incomplete");
  }
  if (p.trust_domain.empty()) return absl::InvalidArgumentError("intermediate CA: trust domain is empty");
  std::shared_ptr<crypto::Signer> local;
  CertSpec spec;
  spec.issuer = upstream.cert;
  ASSIGN_OR_RETURN(spec.signer, internal::SignerOf(upstream, local));
  spec.public_key = p.public_key;
  spec.not_before = p.not_before;
  spec.not_after = p.not_after;
  spec.uri_san = p.trust_domain.IdString();
  ASSIGN_OR_RETURN(auto subject, CaSubject(p));
  spec.subject = std::move(subject);
  return BuildAndSignCa(std::move(spec), rnd);
}

absl::StatusOr<SpiffeId> ValidateX509SvidLeafProfile(const X509* leaf) {
  if (leaf == nullptr) return absl::InvalidArgumentError("X509-SVID: certificate is null");
  ExtInfo ext = Extensions(leaf);
  if (ext.flags & EXFLAG_INVALID) {
    return absl::InvalidArgumentError("X509-SVID: certificate has malformed or duplicate extensions");
  }
  std::vector<std::string> uris = crypto::UriSans(leaf);
  if (uris.empty()) return absl::InvalidArgumentError("X509-SVID: certificate contains no URI SAN");
  if (uris.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("X509-SVID: certificate contains ", uris.size(), " URI SANs; exactly one is required"));
  }
  auto id = SpiffeId::Parse(uris[0]);
  if (!id.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("X509-SVID: URI SAN is not a valid SPIFFE ID: ", id.status().message()));
  }
  if (ext.flags & EXFLAG_CA) {
    return absl::InvalidArgumentError("X509-SVID: leaf certificate must not have CA flag set to true");
  }
  if (!(ext.flags & EXFLAG_KUSAGE)) {
    return absl::InvalidArgumentError("X509-SVID: leaf certificate must have the keyUsage extension");
  }
  if (!ExtensionCritical(leaf, NID_key_usage)) {
    return absl::InvalidArgumentError("X509-SVID: leaf certificate keyUsage extension must be critical");
  }
  if (!(ext.ku & KU_DIGITAL_SIGNATURE)) {
    return absl::InvalidArgumentError("X509-SVID: leaf certificate must have 'digitalSignature' set as key usage");
  }
  if (ext.ku & KU_KEY_CERT_SIGN) {
    return absl::InvalidArgumentError("X509-SVID: leaf certificate must not have 'keyCertSign' set as key usage");
  }
  if (ext.ku & KU_CRL_SIGN) {
    return absl::InvalidArgumentError("X509-SVID: leaf certificate must not have 'cRLSign' set as key usage");
  }
  if (ext.flags & EXFLAG_XKUSAGE) {
    if (!(ext.xku & XKU_SSL_SERVER) || !(ext.xku & XKU_SSL_CLIENT)) {
      return absl::InvalidArgumentError(
          "X509-SVID: leaf certificate extendedKeyUsage, when present, must include serverAuth and clientAuth");
    }
  }
  return *std::move(id);
}

absl::Status ValidateSigningCaProfile(const X509* ca, const TrustDomain& td) {
  if (ca == nullptr) return absl::InvalidArgumentError("signing CA: certificate is null");
  ExtInfo ext = Extensions(ca);
  if (ext.flags & EXFLAG_INVALID) {
    return absl::InvalidArgumentError("signing CA: certificate has malformed or duplicate extensions");
  }
  if (!(ext.flags & EXFLAG_BCONS) || !(ext.flags & EXFLAG_CA)) {
    return absl::InvalidArgumentError("signing CA: basicConstraints must be present with cA=true");
  }
  if (!(ext.flags & EXFLAG_KUSAGE) || !(ext.ku & KU_KEY_CERT_SIGN)) {
    return absl::InvalidArgumentError("signing CA: keyUsage must include keyCertSign");
  }
  std::vector<std::string> uris = crypto::UriSans(ca);
  if (uris.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("signing CA: has ", uris.size(), " URI SANs; at most one is allowed"));
  }
  if (uris.size() == 1) {
    auto id = SpiffeId::Parse(uris[0]);
    if (!id.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("signing CA: URI SAN is not a SPIFFE ID: ", id.status().message()));
    }
    if (!id->path().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("signing CA: URI SAN \"", uris[0], "\" must be the trust domain ID with no path"));
    }
    if (!id->MemberOf(td)) {
      return absl::InvalidArgumentError(
          absl::StrCat("signing CA: URI SAN \"", uris[0], "\" is not the trust domain ", td.IdString()));
    }
  }
  return absl::OkStatus();
}

namespace {

// The intersection of the validity periods of `path` (OpenSSL's rule: notBefore <= t < notAfter, whole seconds);
// empty when a time does not parse.
void PathValidity(STACK_OF(X509) * path, VerifiedX509Svid& v) {
  v.valid_from = std::numeric_limits<int64_t>::min();
  v.valid_until = std::numeric_limits<int64_t>::max();
  for (int i = 0; i < sk_X509_num(path); ++i) {
    const X509* c = sk_X509_value(path, i);
    auto from = crypto::FromAsn1Time(X509_get0_notBefore(c));
    auto until = crypto::FromAsn1Time(X509_get0_notAfter(c));
    if (!from.ok() || !until.ok()) {
      v.valid_until = v.valid_from;
      return;
    }
    v.valid_from = std::max(v.valid_from, absl::ToUnixSeconds(*from));
    v.valid_until = std::min(v.valid_until, absl::ToUnixSeconds(*until));
  }
}

}  // namespace

absl::StatusOr<SpiffeId> VerifyX509Svid(const std::vector<const X509*>& chain, const std::vector<const X509*>& roots,
                                        absl::Time now) {
  ASSIGN_OR_RETURN(VerifiedX509Svid v, VerifyX509SvidPath(chain, roots, now));
  return std::move(v.id);
}

absl::StatusOr<VerifiedX509Svid> VerifyX509SvidPath(const std::vector<const X509*>& chain,
                                                    const std::vector<const X509*>& roots, absl::Time now) {
  if (chain.empty() || chain[0] == nullptr) return absl::InvalidArgumentError("X509-SVID: empty certificate chain");
  if (roots.empty()) return absl::InvalidArgumentError("X509-SVID: no trust roots to verify against");
  ASSIGN_OR_RETURN(auto id, ValidateX509SvidLeafProfile(chain[0]));
  for (size_t i = 1; i < chain.size(); ++i) {
    if (absl::Status st = ValidateSigningCaProfile(chain[i], id.trust_domain()); !st.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("X509-SVID: intermediate #", i, ": ", st.message()));
    }
  }
  ssl::X509StorePtr store(X509_STORE_new());
  ssl::X509StackPtr untrusted(sk_X509_new_null());
  ssl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !untrusted || !ctx) return SslInternal("X509-SVID verify: alloc");
  for (const X509* r : roots) {
    if (r == nullptr || X509_STORE_add_cert(store.get(), const_cast<X509*>(r)) != 1) {
      return SslInternal("X509-SVID verify: add root");
    }
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    ssl::X509Ptr c = crypto::ShareCert(const_cast<X509*>(chain[i]));
    if (!c || sk_X509_push(untrusted.get(), c.get()) <= 0) return SslInternal("X509-SVID verify: intermediates");
    c.release();  // now owned by the stack
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), const_cast<X509*>(chain[0]), untrusted.get()) != 1) {
    return SslInternal("X509-SVID verify: init");
  }
  // Any certificate in `roots` is an anchor (like Go's x509 pools), self-signed or not.
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_PARTIAL_CHAIN);
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(absl::ToUnixSeconds(now)));
  if (X509_verify_cert(ctx.get()) != 1) {
    int err = X509_STORE_CTX_get_error(ctx.get());
    int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    ssl::DrainErrors();
    return absl::InvalidArgumentError(absl::StrCat("X509-SVID ", id.ToString(), ": chain does not verify at depth ",
                                                   depth, ": ", X509_verify_cert_error_string(err)));
  }
  VerifiedX509Svid v{std::move(id)};
  PathValidity(X509_STORE_CTX_get0_chain(ctx.get()), v);
  return v;
}

}  // namespace spirecvm::spiffe
