#include "attestation/sevsnp/certs/chain.h"

#include <ctime>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"

namespace spirecvm::sevsnp::certs {
namespace {

std::string Hex(absl::string_view raw) { return absl::BytesToHexString(raw); }

absl::StatusOr<absl::Time> Asn1ToTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError("unparseable ASN.1 time");
  }
  return absl::FromTimeT(timegm(&tm));
}

std::string Describe(X509* cert) {
  std::string cn = CommonName(cert);
  return cn.empty() ? "certificate" : absl::StrCat("certificate \"", cn, "\"");
}

absl::Status CheckValidity(X509* cert, absl::Time now, absl::Time& from, absl::Time& until) {
  auto nb = Asn1ToTime(X509_get0_notBefore(cert));
  auto na = Asn1ToTime(X509_get0_notAfter(cert));
  if (!nb.ok() || !na.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(Describe(cert), " has an unparseable validity"));
  }
  if (now < *nb) {
    return absl::InvalidArgumentError(absl::StrCat(Describe(cert), " is not yet valid: notBefore ",
                                                   absl::FormatTime(*nb), " is after ", absl::FormatTime(now)));
  }
  if (now > *na) {
    return absl::InvalidArgumentError(absl::StrCat(Describe(cert), " has expired: notAfter ", absl::FormatTime(*na),
                                                   " is before ", absl::FormatTime(now)));
  }
  from = std::max(from, *nb);
  until = std::min(until, *na);
  return absl::OkStatus();
}

bool NamesEqual(X509_NAME* a, X509_NAME* b) { return X509_NAME_cmp(a, b) == 0; }

// Product named by a CN suffix: "ARK-Milan", "SEV-Milan", "SEV-VLEK-Genoa".
abi::Product ProductFromCn(absl::string_view cn) {
  auto dash = cn.rfind('-');
  if (dash == absl::string_view::npos) return abi::Product::kUnknown;
  auto p = abi::ParseProduct(cn.substr(dash + 1));
  return p.ok() ? *p : abi::Product::kUnknown;
}

absl::StatusOr<abi::Product> TrustedRootProduct(X509* root, const TrustConfig& trust, bool& pinned) {
  abi::Product p = PinnedArkProduct(root);
  if (p != abi::Product::kUnknown) {
    pinned = true;
    return p;
  }
  const std::string fp = CertFingerprint(root);
  for (const auto& extra : trust.insecure_extra_roots) {
    if (CertFingerprint(extra.get()) == fp) {
      pinned = false;
      return ProductFromCn(CommonName(root));
    }
  }
  return absl::PermissionDeniedError(
      absl::StrCat("root ", Describe(root), " (SHA-256 ", Hex(fp),
                   ") is not a pinned AMD ARK (Milan, Genoa, Turin) nor an insecure_extra_roots entry"));
}

absl::Status CheckRoot(X509* root, absl::Time now, const TrustConfig& trust, abi::Product& product, bool& pinned,
                       absl::Time& from, absl::Time& until) {
  ASSIGN_OR_RETURN(product, TrustedRootProduct(root, trust, pinned));
  if (!NamesEqual(X509_get_subject_name(root), X509_get_issuer_name(root))) {
    return absl::InvalidArgumentError(absl::StrCat("root ", Describe(root), " is not self-issued"));
  }
  EVP_PKEY* key = X509_get0_pubkey(root);
  if (key == nullptr) return absl::InvalidArgumentError("root has no usable public key");
  RETURN_IF_ERROR(VerifyAmdPssSignature(root, key, "ARK self-signature"));
  return CheckValidity(root, now, from, until);
}

// The intermediate's kind from its CN (ASK "SEV-<Product>", ASVK "SEV-VLEK-<Product>"), which must
// name the root's product.
absl::StatusOr<abi::SigningKey> IntermediateKind(X509* inter, abi::Product root_product) {
  const std::string cn = CommonName(inter);
  abi::SigningKey kind;
  if (absl::StartsWith(cn, "SEV-VLEK-")) {
    kind = abi::SigningKey::kVlek;  // ASVK
  } else if (absl::StartsWith(cn, "SEV-")) {
    kind = abi::SigningKey::kVcek;  // ASK
  } else {
    return absl::InvalidArgumentError(absl::StrCat("intermediate CN \"", cn,
                                                   "\" is neither an ASK (SEV-<Product>) nor an ASVK "
                                                   "(SEV-VLEK-<Product>)"));
  }
  abi::Product inter_product = ProductFromCn(cn);
  if (root_product != abi::Product::kUnknown && inter_product != root_product) {
    return absl::InvalidArgumentError(absl::StrCat("intermediate CN \"", cn, "\" names product ",
                                                   abi::ProductName(inter_product), ", root is ",
                                                   abi::ProductName(root_product)));
  }
  return kind;
}

absl::Status CheckIntermediate(X509* inter, X509* root, abi::Product root_product, absl::Time now,
                               const TrustConfig& trust, abi::SigningKey& kind, absl::Time& from, absl::Time& until) {
  if (!NamesEqual(X509_get_issuer_name(inter), X509_get_subject_name(root))) {
    return absl::InvalidArgumentError(
        absl::StrCat("intermediate ", Describe(inter), " was not issued by ", Describe(root)));
  }
  RETURN_IF_ERROR(VerifyAmdPssSignature(inter, X509_get0_pubkey(root), "ASK/ASVK signature by the ARK"));
  RETURN_IF_ERROR(CheckValidity(inter, now, from, until));
  if ((X509_get_extension_flags(inter) & EXFLAG_CA) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("intermediate ", Describe(inter), " is not a CA (basicConstraints)"));
  }
  if ((X509_get_key_usage(inter) & KU_KEY_CERT_SIGN) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("intermediate ", Describe(inter), " key usage lacks keyCertSign"));
  }
  ASSIGN_OR_RETURN(kind, IntermediateKind(inter, root_product));
  return CheckRevocation(inter, root, root_product, now, trust, &until);
}

// A CRL the root issued must carry a good RSASSA-PSS signature by it and be current at `now`.
absl::Status CheckCrl(X509_CRL* crl, X509* root, abi::Product product, absl::Time now) {
  const ASN1_BIT_STRING* crl_sig = nullptr;
  const X509_ALGOR* crl_alg = nullptr;
  X509_CRL_get0_signature(crl, &crl_sig, &crl_alg);
  if (crl_alg == nullptr || OBJ_obj2nid(crl_alg->algorithm) != NID_rsassaPss) {
    return absl::InvalidArgumentError("CRL is not signed with RSASSA-PSS");
  }
  if (X509_CRL_verify(crl, X509_get0_pubkey(root)) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("CRL for ", abi::ProductName(product), " has a bad ARK signature: ", ssl::DrainErrors()));
  }
  auto this_update = Asn1ToTime(X509_CRL_get0_lastUpdate(crl));
  if (!this_update.ok() || now < *this_update) {
    return absl::InvalidArgumentError(absl::StrCat("CRL for ", abi::ProductName(product), " has a thisUpdate after ",
                                                   absl::FormatTime(now), " (or none)"));
  }
  if (const ASN1_TIME* nu = X509_CRL_get0_nextUpdate(crl); nu != nullptr) {
    auto next_update = Asn1ToTime(nu);
    if (!next_update.ok() || now > *next_update) {
      return absl::InvalidArgumentError(absl::StrCat("CRL for ", abi::ProductName(product),
                                                     " is stale: nextUpdate is before ", absl::FormatTime(now)));
    }
  }
  return absl::OkStatus();
}

// The leaf's public key: P-384 (secp384r1) EC.
absl::StatusOr<EVP_PKEY*> EndorsementKey(X509* leaf) {
  EVP_PKEY* key = X509_get0_pubkey(leaf);
  if (key == nullptr || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) {
    return absl::InvalidArgumentError("endorsement key is not an EC key");
  }
  char curve[64] = {0};
  size_t curve_len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, "group", curve, sizeof(curve), &curve_len) != 1 ||
      absl::string_view(curve, curve_len) != "secp384r1") {
    ssl::DrainErrors();
    return absl::InvalidArgumentError(
        absl::StrCat("endorsement key curve is \"", absl::string_view(curve, curve_len), "\", want P-384 (secp384r1)"));
  }
  return key;
}

// The leaf's claims must match its issuer's kind and the root's product.
absl::Status CheckEndorsementClaims(const EndorsementInfo& info, abi::SigningKey inter_kind, abi::Product product) {
  if (info.kind != inter_kind) {
    return absl::InvalidArgumentError(
        absl::StrCat("endorsement certificate is a ", abi::SigningKeyName(info.kind), " but was issued by ",
                     inter_kind == abi::SigningKey::kVlek ? "an ASVK (VLEK chain)" : "an ASK (VCEK chain)"));
  }
  if (product != abi::Product::kUnknown && info.product != abi::Product::kUnknown && info.product != product) {
    return absl::InvalidArgumentError(absl::StrCat("endorsement productName \"", info.product_name,
                                                   "\" does not match the root's product ", abi::ProductName(product)));
  }
  return absl::OkStatus();
}

}  // namespace

abi::Product PinnedArkProduct(X509* ark) {
  const std::string fp = Hex(CertFingerprint(ark));
  if (fp == kArkMilanSha256) return abi::Product::kMilan;
  if (fp == kArkGenoaSha256) return abi::Product::kGenoa;
  if (fp == kArkTurinSha256) return abi::Product::kTurin;
  return abi::Product::kUnknown;
}

absl::Status VerifyAmdPssSignature(X509* cert, EVP_PKEY* issuer_key, absl::string_view what) {
  const ASN1_BIT_STRING* sig = nullptr;
  const X509_ALGOR* outer = nullptr;
  X509_get0_signature(&sig, &outer, cert);
  const X509_ALGOR* inner = X509_get0_tbs_sigalg(cert);
  if (sig == nullptr || outer == nullptr || inner == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": certificate has no signature"));
  }
  if (OBJ_obj2nid(outer->algorithm) != NID_rsassaPss) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", Describe(cert), " signature algorithm is ",
                                                   OBJ_nid2ln(OBJ_obj2nid(outer->algorithm)), ", want RSASSA-PSS"));
  }
  if (X509_ALGOR_cmp(outer, inner) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", Describe(cert), " outer and TBS signature algorithms differ"));
  }
  if (issuer_key == nullptr || EVP_PKEY_get_base_id(issuer_key) != EVP_PKEY_RSA) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": issuer key is not RSA"));
  }
  // The signed bytes are the TBSCertificate exactly as received: take them out of the DER (OpenSSL
  // 3.0 caches the original encoding of a parsed certificate) instead of re-encoding.
  const std::string der = CertDer(cert);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  long len = 0;
  int tag = 0, xclass = 0;
  if (der.empty() || (ASN1_get_object(&p, &len, &tag, &xclass, static_cast<long>(der.size())) & 0x80) != 0 ||
      tag != V_ASN1_SEQUENCE) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError(absl::StrCat(what, ": certificate is not a DER SEQUENCE"));
  }
  const unsigned char* tbs = p;
  const long remaining = static_cast<long>(der.size()) - (p - reinterpret_cast<const unsigned char*>(der.data()));
  if ((ASN1_get_object(&p, &len, &tag, &xclass, remaining) & 0x80) != 0 || tag != V_ASN1_SEQUENCE) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError(absl::StrCat(what, ": TBSCertificate is not a DER SEQUENCE"));
  }
  const size_t tbs_len = static_cast<size_t>((p - tbs) + len);
  ssl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha384(), nullptr, issuer_key) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) != 1 || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) != 1) {
    return absl::InternalError(absl::StrCat(what, ": cannot set up RSASSA-PSS verification: ", ssl::DrainErrors()));
  }
  if (EVP_DigestVerify(ctx.get(), ASN1_STRING_get0_data(sig), ASN1_STRING_length(sig), tbs, tbs_len) != 1) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError(absl::StrCat(what, ": RSASSA-PSS SHA-384 (MGF1-SHA-384, salt 48) signature of ",
                                                   Describe(cert), " does not verify"));
  }
  return absl::OkStatus();
}

absl::Status AddInsecureExtraRootsPem(absl::string_view pem, TrustConfig& config) {
  ASSIGN_OR_RETURN(std::vector<ssl::X509Ptr> certs, LoadCertificates(pem));
  for (auto& c : certs) config.insecure_extra_roots.emplace_back(c.release(), X509_free);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<X509_CRL>> LoadCrl(absl::string_view bytes) {
  ssl::X509CrlPtr crl;
  if (bytes.find("-----BEGIN") != absl::string_view::npos) {
    ssl::BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    crl.reset(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  } else {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
    crl.reset(d2i_X509_CRL(nullptr, &p, static_cast<long>(bytes.size())));
  }
  if (crl == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("not a DER or PEM CRL: ", ssl::DrainErrors()));
  }
  return std::shared_ptr<X509_CRL>(crl.release(), X509_CRL_free);
}

absl::StatusOr<absl::Time> CrlNextUpdate(X509_CRL* crl) {
  const ASN1_TIME* nu = X509_CRL_get0_nextUpdate(crl);
  if (nu == nullptr) return absl::InfiniteFuture();
  return Asn1ToTime(nu);
}

absl::Status CheckRevocation(X509* intermediate, X509* root, abi::Product root_product, absl::Time now,
                             const TrustConfig& trust, absl::Time* until) {
  auto it = trust.crls.find(root_product);
  if (it == trust.crls.end() || it->second.empty()) {
    if (!trust.require_crl) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat("no CRL for ", abi::ProductName(root_product),
                                                      " is available and check_crl requires one: refusing ",
                                                      Describe(intermediate)));
  }
  for (const auto& crl : it->second) {
    if (!NamesEqual(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(root))) {
      return absl::InvalidArgumentError(absl::StrCat("the ", abi::ProductName(root_product),
                                                     " CRL was not issued by the chain's root ", Describe(root)));
    }
    RETURN_IF_ERROR(CheckCrl(crl.get(), root, root_product, now));
    X509_REVOKED* revoked = nullptr;
    if (X509_CRL_get0_by_cert(crl.get(), &revoked, intermediate) == 1) {
      ssl::Asn1IntegerPtr dup(ASN1_INTEGER_dup(X509_get0_serialNumber(intermediate)));
      ssl::BignumPtr bn(ASN1_INTEGER_to_BN(dup.get(), nullptr));
      ssl::OpensslStringPtr hex(bn ? BN_bn2hex(bn.get()) : nullptr);
      return absl::PermissionDeniedError(absl::StrCat("intermediate ", Describe(intermediate), " (serial ",
                                                      hex ? hex.get() : "?", ") is revoked by the ", CommonName(root),
                                                      " CRL"));
    }
    auto next = CrlNextUpdate(crl.get());
    if (until != nullptr && next.ok() && *next < *until) *until = *next;
  }
  return absl::OkStatus();
}

absl::StatusOr<abi::Product> VerifyIntermediate(X509* intermediate, X509* root, absl::Time now,
                                                const TrustConfig& trust, abi::SigningKey* kind_out) {
  abi::Product product;
  bool pinned = false;
  absl::Time from = absl::InfinitePast(), until = absl::InfiniteFuture();
  RETURN_IF_ERROR(CheckRoot(root, now, trust, product, pinned, from, until));
  abi::SigningKey kind;
  RETURN_IF_ERROR(CheckIntermediate(intermediate, root, product, now, trust, kind, from, until));
  if (kind_out != nullptr) *kind_out = kind;
  return product;
}

absl::StatusOr<VerifiedChain> VerifyChain(X509* leaf, X509* intermediate, X509* root, absl::Time now,
                                          const TrustConfig& trust) {
  if (leaf == nullptr || intermediate == nullptr || root == nullptr) {
    return absl::InvalidArgumentError("incomplete certificate chain");
  }
  VerifiedChain out;
  out.valid_from = absl::InfinitePast();
  out.valid_until = absl::InfiniteFuture();
  RETURN_IF_ERROR(CheckRoot(root, now, trust, out.product, out.root_is_pinned_amd, out.valid_from, out.valid_until));
  abi::SigningKey inter_kind;
  RETURN_IF_ERROR(
      CheckIntermediate(intermediate, root, out.product, now, trust, inter_kind, out.valid_from, out.valid_until));
  if (!NamesEqual(X509_get_issuer_name(leaf), X509_get_subject_name(intermediate))) {
    return absl::InvalidArgumentError(
        absl::StrCat("endorsement ", Describe(leaf), " was not issued by ", Describe(intermediate)));
  }
  RETURN_IF_ERROR(VerifyAmdPssSignature(leaf, X509_get0_pubkey(intermediate), "VCEK/VLEK signature by the ASK/ASVK"));
  RETURN_IF_ERROR(CheckValidity(leaf, now, out.valid_from, out.valid_until));
  ASSIGN_OR_RETURN(EVP_PKEY * key, EndorsementKey(leaf));
  ASSIGN_OR_RETURN(EndorsementInfo info, ParseEndorsementExtensions(leaf));
  RETURN_IF_ERROR(CheckEndorsementClaims(info, inter_kind, out.product));
  if (out.product == abi::Product::kUnknown) out.product = info.product;
  out.endorsement = std::move(info);
  EVP_PKEY_up_ref(key);
  out.leaf_key = std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
  out.leaf_fingerprint = CertFingerprint(leaf);
  out.intermediate_fingerprint = CertFingerprint(intermediate);
  out.root_fingerprint = CertFingerprint(root);
  return out;
}

std::shared_ptr<const VerifiedChain> ChainCache::Lookup(absl::string_view leaf_fingerprint, absl::Time now) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(leaf_fingerprint);
  if (it == entries_.end()) return nullptr;
  const VerifiedChain& c = *it->second;
  if (now < c.valid_from || now > c.valid_until) return nullptr;
  if (now < c.verified_at || now - c.verified_at > ttl_) return nullptr;
  return it->second;
}

void ChainCache::Insert(std::shared_ptr<const VerifiedChain> chain) {
  std::lock_guard<std::mutex> l(mu_);
  if (entries_.size() >= max_entries_) entries_.clear();  // bounded; a miss only costs a re-verify
  entries_[chain->leaf_fingerprint] = std::move(chain);
}

void ChainCache::Clear() {
  std::lock_guard<std::mutex> l(mu_);
  entries_.clear();
}

size_t ChainCache::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return entries_.size();
}

}  // namespace spirecvm::sevsnp::certs
