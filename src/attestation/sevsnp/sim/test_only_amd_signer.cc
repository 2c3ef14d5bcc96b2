#include "attestation/sevsnp/sim/test_only_amd_signer.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "attestation/sevsnp/certs/endorsement.h"
#include "common/files.h"
#include "common/random.h"
#include "common/status.h"

namespace spirecvm::sevsnp::sim {
namespace {

namespace fs = std::filesystem;

absl::Status SslError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", ssl::DrainErrors()));
}

absl::StatusOr<ssl::EvpPkeyPtr> GenRsa(int bits) {
  ssl::EvpPkeyPtr k(EVP_RSA_gen(static_cast<unsigned>(bits)));
  if (k == nullptr) return SslError("RSA key generation");
  return k;
}

absl::StatusOr<ssl::EvpPkeyPtr> GenP384() {
  ssl::EvpPkeyPtr k(EVP_EC_gen("P-384"));
  if (k == nullptr) return SslError("P-384 key generation");
  return k;
}

ssl::X509NamePtr AmdName(absl::string_view cn) {
  ssl::X509NamePtr n(X509_NAME_new());
  auto add = [&](const char* field, absl::string_view v) {
    X509_NAME_add_entry_by_txt(n.get(), field, MBSTRING_ASC, reinterpret_cast<const unsigned char*>(v.data()),
                               static_cast<int>(v.size()), -1, 0);
  };
  add("OU", "TEST ONLY simulation");
  add("C", "US");
  add("O", "spire-cvm test-only AMD-like signer");
  add("CN", cn);
  return n;
}

absl::Status SignPss(X509* cert, EVP_PKEY* key) {
  ssl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha384(), nullptr, key) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) != 1 || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) != 1) {
    return SslError("PSS sign setup");
  }
  if (X509_sign_ctx(cert, ctx.get()) <= 0) return SslError("X509_sign_ctx");
  return absl::OkStatus();
}

absl::Status SetTime(ASN1_TIME* t, absl::Time when) {
  if (ASN1_TIME_set(t, absl::ToTimeT(when)) == nullptr) return SslError("ASN1_TIME_set");
  return absl::OkStatus();
}

absl::Status AddConfExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ssl::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) return SslError("add extension");
  return absl::OkStatus();
}

absl::Status AddRawExt(X509* cert, const char* oid, absl::string_view der_value) {
  ssl::Asn1ObjectPtr obj(OBJ_txt2obj(oid, 1));
  ssl::Asn1OctetStringPtr os(ASN1_OCTET_STRING_new());
  if (obj == nullptr || os == nullptr ||
      ASN1_OCTET_STRING_set(os.get(), reinterpret_cast<const unsigned char*>(der_value.data()),
                            static_cast<int>(der_value.size())) != 1) {
    return SslError("extension value");
  }
  ssl::X509ExtensionPtr ext(X509_EXTENSION_create_by_OBJ(nullptr, obj.get(), 0, os.get()));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) return SslError("add AMD extension");
  return absl::OkStatus();
}

struct CertSpec {
  std::string subject_cn;
  X509* issuer = nullptr;  // null: self-signed
  EVP_PKEY* issuer_key = nullptr;
  EVP_PKEY* subject_key = nullptr;
  long serial = 0;
  absl::Time not_before, not_after;
  bool ca = false;
};

absl::StatusOr<ssl::X509Ptr> BuildCert(const CertSpec& s) {
  ssl::X509Ptr c(X509_new());
  if (c == nullptr || X509_set_version(c.get(), 2) != 1) return SslError("X509_new");
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), s.serial);
  ssl::X509NamePtr subject = AmdName(s.subject_cn);
  X509_set_subject_name(c.get(), subject.get());
  X509_set_issuer_name(c.get(), s.issuer ? X509_get_subject_name(s.issuer) : subject.get());
  RETURN_IF_ERROR(SetTime(X509_getm_notBefore(c.get()), s.not_before));
  RETURN_IF_ERROR(SetTime(X509_getm_notAfter(c.get()), s.not_after));
  if (X509_set_pubkey(c.get(), s.subject_key) != 1) return SslError("X509_set_pubkey");
  if (s.ca) {
    X509* issuer = s.issuer ? s.issuer : c.get();
    RETURN_IF_ERROR(AddConfExt(c.get(), issuer, NID_subject_key_identifier, "hash"));
    RETURN_IF_ERROR(AddConfExt(c.get(), issuer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
    RETURN_IF_ERROR(AddConfExt(c.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign"));
  }
  return c;
}

std::string ToPem(X509* c) {
  ssl::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), c);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n);
}

std::string KeyPem(EVP_PKEY* k) {
  ssl::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n);
}

absl::Status WriteFile(const fs::path& p, absl::string_view data, bool secret) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", p.string()));
  if (secret) ::chmod(p.c_str(), 0600);
  return absl::OkStatus();
}

absl::StatusOr<ssl::EvpPkeyPtr> LoadKey(const fs::path& p) {
  ASSIGN_OR_RETURN(auto pem, files::ReadFile(p.string()));
  ssl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ssl::EvpPkeyPtr k(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (k == nullptr) return SslError(absl::StrCat("parse key ", p.string()));
  return k;
}

absl::StatusOr<ssl::X509Ptr> LoadCert(const fs::path& p) {
  ASSIGN_OR_RETURN(auto pem, files::ReadFile(p.string()));
  return certs::LoadCertificate(pem);
}

std::string ProductNameFor(abi::Product p) {
  switch (p) {
    case abi::Product::kMilan:
      return "Milan-B0";
    case abi::Product::kGenoa:
      return "Genoa-B1";
    case abi::Product::kTurin:
      return "Turin";
    default:
      return "Unknown";
  }
}

}  // namespace

std::string DerSmallInteger(int v, bool two_bytes) {
  if (v >= 128 || two_bytes) {
    return std::string({'\x02', '\x02', static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)});
  }
  return std::string({'\x02', '\x01', static_cast<char>(v)});
}

std::string DerIa5String(absl::string_view s) {
  std::string out;
  out += '\x16';
  out += static_cast<char>(s.size());  // < 128 for every value used here
  out.append(s.data(), s.size());
  return out;
}

absl::StatusOr<std::unique_ptr<TestOnlyAmdSigner>> TestOnlyAmdSigner::Create(const SignerOptions& options) {
  std::unique_ptr<TestOnlyAmdSigner> s(new TestOnlyAmdSigner());
  RETURN_IF_ERROR(s->Generate(options));
  return s;
}

absl::Status TestOnlyAmdSigner::Generate(const SignerOptions& o) {
  if (o.product == abi::Product::kUnknown) return absl::InvalidArgumentError("product must be set");
  product_ = o.product;
  tcb_ = o.tcb;
  if (product_ != abi::Product::kTurin) tcb_.fmc = 0;
  csp_id_ = o.csp_id;
  not_before_ = o.not_before;
  not_after_ = o.not_after;
  SystemRandom::Get().Fill(absl::MakeSpan(chip_id_));
  if (product_ == abi::Product::kTurin) std::fill(chip_id_.begin() + 8, chip_id_.end(), 0);
  for (auto* k : {&ark_key_, &ask_key_, &asvk_key_}) {
    ASSIGN_OR_RETURN(auto key, GenRsa(o.rsa_bits));
    *k = std::move(key);
  }
  for (auto* k : {&vcek_key_, &vlek_key_}) {
    ASSIGN_OR_RETURN(auto key, GenP384());
    *k = std::move(key);
  }
  const std::string p(abi::ProductName(product_));
  ASSIGN_OR_RETURN(ark_, BuildCert({absl::StrCat("ARK-", p), nullptr, ark_key_.get(), ark_key_.get(), 1, not_before_,
                                    not_after_, true}));
  RETURN_IF_ERROR(SignPss(ark_.get(), ark_key_.get()));
  ASSIGN_OR_RETURN(auto ask, BuildCert({absl::StrCat("SEV-", p), ark_.get(), ark_key_.get(), ask_key_.get(), 2,
                                        not_before_, not_after_, true}));
  ask_ = std::move(ask);
  RETURN_IF_ERROR(SignPss(ask_.get(), ark_key_.get()));
  ASSIGN_OR_RETURN(auto asvk, BuildCert({absl::StrCat("SEV-VLEK-", p), ark_.get(), ark_key_.get(), asvk_key_.get(), 3,
                                         not_before_, not_after_, true}));
  asvk_ = std::move(asvk);
  RETURN_IF_ERROR(SignPss(asvk_.get(), ark_key_.get()));

  // VCEK/VLEK with this signer's own keys (IssueEndorsement makes fresh keys; here we keep ours).
  for (auto kind : {abi::SigningKey::kVcek, abi::SigningKey::kVlek}) {
    EndorsementSpec spec = DefaultSpec(kind);
    ASSIGN_OR_RETURN(auto issued, IssueEndorsement(spec));
    // Re-issue for the stored key: replace the public key and re-sign.
    X509* c = issued.cert.get();
    EVP_PKEY* key = kind == abi::SigningKey::kVcek ? vcek_key_.get() : vlek_key_.get();
    X509_set_pubkey(c, key);
    RETURN_IF_ERROR(SignPss(c, kind == abi::SigningKey::kVcek ? ask_key_.get() : asvk_key_.get()));
    (kind == abi::SigningKey::kVcek ? vcek_ : vlek_) = std::move(issued.cert);
  }
  return absl::OkStatus();
}

EndorsementSpec TestOnlyAmdSigner::DefaultSpec(abi::SigningKey kind) const {
  EndorsementSpec s;
  s.kind = kind;
  s.tcb = tcb_;
  s.struct_version = product_ == abi::Product::kTurin ? 1 : 0;
  s.product_name = ProductNameFor(product_);
  s.not_before = not_before_;
  s.not_after = not_after_;
  if (kind == abi::SigningKey::kVcek) {
    s.hw_id.assign(reinterpret_cast<const char*>(chip_id_.data()), product_ == abi::Product::kTurin ? 8 : 64);
  } else {
    s.csp_id = csp_id_;
  }
  return s;
}

absl::StatusOr<IssuedEndorsement> TestOnlyAmdSigner::IssueEndorsement(const EndorsementSpec& s) const {
  ASSIGN_OR_RETURN(auto key, GenP384());
  bool by_ask = s.kind == abi::SigningKey::kVcek;
  if (s.issue_with_other_intermediate) by_ask = !by_ask;
  X509* issuer = by_ask ? ask_.get() : asvk_.get();
  EVP_PKEY* issuer_key = by_ask ? ask_key_.get() : asvk_key_.get();
  ASSIGN_OR_RETURN(auto cert, BuildCert({s.kind == abi::SigningKey::kVcek ? "SEV-VCEK" : "SEV-VLEK", issuer, issuer_key,
                                         key.get(), 0, s.not_before, s.not_after, false}));
  X509* c = cert.get();
  const bool two = s.two_byte_integers;
  RETURN_IF_ERROR(AddRawExt(c, certs::kOidStructVersion, DerSmallInteger(s.struct_version, two)));
  RETURN_IF_ERROR(AddRawExt(c, certs::kOidProductName, DerIa5String(s.product_name)));
  if (product_ == abi::Product::kTurin || s.struct_version == 1) {
    RETURN_IF_ERROR(AddRawExt(c, certs::kOidFmcSpl, DerSmallInteger(s.tcb.fmc, two)));
  }
  RETURN_IF_ERROR(AddRawExt(c, certs::kOidBlSpl, DerSmallInteger(s.tcb.bl, two)));
  RETURN_IF_ERROR(AddRawExt(c, certs::kOidTeeSpl, DerSmallInteger(s.tcb.tee, two)));
  RETURN_IF_ERROR(AddRawExt(c, certs::kOidSnpSpl, DerSmallInteger(s.tcb.snp, two)));
  RETURN_IF_ERROR(AddRawExt(c, certs::kOidUcodeSpl, DerSmallInteger(s.tcb.ucode, two)));
  if (!s.hw_id.empty()) {
    std::string v = s.hw_id;
    if (s.wrap_hw_id_in_octet_string) v = std::string({'\x04', static_cast<char>(v.size())}) + v;
    RETURN_IF_ERROR(AddRawExt(c, certs::kOidHwId, v));
  }
  if (!s.csp_id.empty()) {
    RETURN_IF_ERROR(AddRawExt(c, certs::kOidCspId, DerIa5String(s.csp_id)));
  }
  RETURN_IF_ERROR(SignPss(c, issuer_key));
  return IssuedEndorsement{std::move(cert), std::move(key)};
}

absl::StatusOr<std::string> TestOnlyAmdSigner::IssueCrlPem(const std::vector<X509*>& revoked, absl::Time this_update,
                                                           absl::Time next_update) const {
  ssl::X509CrlPtr crl(X509_CRL_new());
  if (crl == nullptr || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ark_.get())) != 1) {
    return SslError("X509_CRL_new");
  }
  ssl::Asn1TimePtr tu(ASN1_TIME_set(nullptr, absl::ToTimeT(this_update)));
  ssl::Asn1TimePtr nu(ASN1_TIME_set(nullptr, absl::ToTimeT(next_update)));
  X509_CRL_set1_lastUpdate(crl.get(), tu.get());
  X509_CRL_set1_nextUpdate(crl.get(), nu.get());
  for (X509* c : revoked) {
    X509_REVOKED* r = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(r, X509_get_serialNumber(c));
    X509_REVOKED_set_revocationDate(r, tu.get());
    X509_CRL_add0_revoked(crl.get(), r);
  }
  X509_CRL_sort(crl.get());
  ssl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha384(), nullptr, ark_key_.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
      EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) != 1 || EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) != 1 ||
      X509_CRL_sign_ctx(crl.get(), ctx.get()) <= 0) {
    return SslError("CRL signing");
  }
  ssl::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(bio.get(), crl.get());
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, n);
}

abi::Report TestOnlyAmdSigner::DefaultReport() const {
  abi::Report r;
  r.version = 3;
  r.policy = abi::policy_bit::kSmt | abi::policy_bit::kReserved17;  // 0x30000
  r.vmpl = 0;
  r.signature_algo = abi::kSignatureAlgoEcdsaP384Sha384;
  const uint64_t tcb = abi::EncodeTcb(tcb_, product_);
  r.current_tcb = r.committed_tcb = r.launch_tcb = r.reported_tcb = tcb;
  r.platform_info = abi::platform_bit::kSmtEn;
  switch (product_) {
    case abi::Product::kMilan:
      r.cpuid_fam_id = 0x19, r.cpuid_mod_id = 0x01, r.cpuid_step = 0x01;
      break;
    case abi::Product::kGenoa:
      r.cpuid_fam_id = 0x19, r.cpuid_mod_id = 0x11, r.cpuid_step = 0x01;
      break;
    case abi::Product::kTurin:
      r.cpuid_fam_id = 0x1A, r.cpuid_mod_id = 0x02, r.cpuid_step = 0x00;
      break;
    default:
      break;
  }
  r.chip_id = chip_id_;
  r.report_id_ma.fill(0xFF);
  SystemRandom::Get().Fill(absl::MakeSpan(r.report_id));
  r.current_major = r.committed_major = 1;
  r.current_minor = r.committed_minor = 55;
  r.current_build = r.committed_build = 21;
  return r;
}

absl::StatusOr<std::string> TestOnlyAmdSigner::SignReport(abi::Report fields, abi::SigningKey key) const {
  fields.signer_info = (fields.signer_info & ~(7u << 2)) | (static_cast<uint32_t>(key) << 2);
  return SignReportRaw(fields, key);
}

absl::StatusOr<std::string> TestOnlyAmdSigner::SignReportRaw(const abi::Report& fields, abi::SigningKey key) const {
  return SignReportWithKey(fields, key == abi::SigningKey::kVcek ? vcek_key_.get() : vlek_key_.get());
}

absl::StatusOr<std::string> TestOnlyAmdSigner::SignReportWithKey(const abi::Report& fields, EVP_PKEY* key) {
  abi::Report r = fields;
  r.signature_r.fill(0);
  r.signature_s.fill(0);
  std::string bytes = abi::SerializeReport(r);
  ssl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t sig_len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &sig_len, reinterpret_cast<const unsigned char*>(bytes.data()),
                     abi::kSignedSize) != 1) {
    return SslError("ECDSA sign setup");
  }
  std::string der(sig_len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &sig_len,
                     reinterpret_cast<const unsigned char*>(bytes.data()), abi::kSignedSize) != 1) {
    return SslError("ECDSA sign");
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ssl::EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig_len)));
  if (sig == nullptr) return SslError("d2i_ECDSA_SIG");
  const BIGNUM* bn_r = nullptr;
  const BIGNUM* bn_s = nullptr;
  ECDSA_SIG_get0(sig.get(), &bn_r, &bn_s);
  // Only the first 48 bytes of each 72-byte component carry the P-384 value; the rest stays zero.
  if (BN_bn2lebinpad(bn_r, r.signature_r.data(), abi::kP384ComponentSize) < 0 ||
      BN_bn2lebinpad(bn_s, r.signature_s.data(), abi::kP384ComponentSize) < 0) {
    return SslError("BN_bn2lebinpad");
  }
  return abi::SerializeReport(r);
}

std::string TestOnlyAmdSigner::CertTable(abi::SigningKey key) const {
  abi::CertTable t;
  const bool vlek = key == abi::SigningKey::kVlek;
  t.entries.push_back({vlek ? abi::VlekGuid() : abi::VcekGuid(), EndorsementDer(key)});
  t.entries.push_back({abi::AskGuid(), certs::CertDer(vlek ? asvk_.get() : ask_.get())});
  t.entries.push_back({abi::ArkGuid(), certs::CertDer(ark_.get())});
  return abi::SerializeCertTable(t);
}

std::string TestOnlyAmdSigner::ArkPem() const { return ToPem(ark_.get()); }
std::string TestOnlyAmdSigner::AskPem() const { return ToPem(ask_.get()); }
std::string TestOnlyAmdSigner::AsvkPem() const { return ToPem(asvk_.get()); }
std::string TestOnlyAmdSigner::EndorsementDer(abi::SigningKey key) const {
  return certs::CertDer(key == abi::SigningKey::kVcek ? vcek_.get() : vlek_.get());
}
std::string TestOnlyAmdSigner::EndorsementPem(abi::SigningKey key) const {
  return ToPem(key == abi::SigningKey::kVcek ? vcek_.get() : vlek_.get());
}
std::string TestOnlyAmdSigner::ChainPem(abi::SigningKey key) const {
  return (key == abi::SigningKey::kVcek ? AskPem() : AsvkPem()) + ArkPem();
}

absl::Status TestOnlyAmdSigner::Save(const std::string& dir) const {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  const fs::path d(dir);
  const std::string lower = absl::AsciiStrToLower(abi::ProductName(product_));
  struct F {
    std::string name, data;
    bool secret;
  };
  std::vector<F> files = {
      {"ark.pem", ArkPem(), false},
      {"ark.key", KeyPem(ark_key_.get()), true},
      {"ask.pem", AskPem(), false},
      {"ask.key", KeyPem(ask_key_.get()), true},
      {"asvk.pem", AsvkPem(), false},
      {"asvk.key", KeyPem(asvk_key_.get()), true},
      {"vcek.pem", EndorsementPem(abi::SigningKey::kVcek), false},
      {"vcek.der", EndorsementDer(abi::SigningKey::kVcek), false},
      {"vcek.key", KeyPem(vcek_key_.get()), true},
      {"vlek.pem", EndorsementPem(abi::SigningKey::kVlek), false},
      {"vlek.der", EndorsementDer(abi::SigningKey::kVlek), false},
      {"vlek.key", KeyPem(vlek_key_.get()), true},
      {absl::StrCat("ask_ark_", lower, "_vcek.pem"), ChainPem(abi::SigningKey::kVcek), false},
      {absl::StrCat("ask_ark_", lower, "_vlek.pem"), ChainPem(abi::SigningKey::kVlek), false},
      {"cert_table_vcek.bin", CertTable(abi::SigningKey::kVcek), false},
      {"cert_table_vlek.bin", CertTable(abi::SigningKey::kVlek), false},
      {"README",
       "TEST ONLY: a simulated AMD SEV-SNP key hierarchy made by spire-cvm's "
       "TestOnlyAmdSigner. Its ARK is not AMD's; trust it only via insecure_extra_roots.\n",
       false},
  };
  for (const auto& f : files) {
    RETURN_IF_ERROR(WriteFile(d / f.name, f.data, f.secret));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<TestOnlyAmdSigner>> TestOnlyAmdSigner::Load(const std::string& dir) {
  const fs::path d(dir);
  std::unique_ptr<TestOnlyAmdSigner> s(new TestOnlyAmdSigner());
  struct K {
    const char* name;
    ssl::EvpPkeyPtr* key;
  };
  for (K k : {K{"ark.key", &s->ark_key_}, K{"ask.key", &s->ask_key_}, K{"asvk.key", &s->asvk_key_},
              K{"vcek.key", &s->vcek_key_}, K{"vlek.key", &s->vlek_key_}}) {
    ASSIGN_OR_RETURN(auto key, LoadKey(d / k.name));
    *k.key = std::move(key);
  }
  struct C {
    const char* name;
    ssl::X509Ptr* cert;
  };
  for (C c : {C{"ark.pem", &s->ark_}, C{"ask.pem", &s->ask_}, C{"asvk.pem", &s->asvk_}, C{"vcek.pem", &s->vcek_},
              C{"vlek.pem", &s->vlek_}}) {
    ASSIGN_OR_RETURN(auto cert, LoadCert(d / c.name));
    *c.cert = std::move(cert);
  }
  std::string cn = certs::CommonName(s->ark_.get());
  ASSIGN_OR_RETURN(auto product, abi::ParseProduct(cn.substr(cn.rfind('-') + 1)));
  s->product_ = product;
  ASSIGN_OR_RETURN(auto vcek, certs::ParseEndorsementExtensions(s->vcek_.get()));
  ASSIGN_OR_RETURN(auto vlek, certs::ParseEndorsementExtensions(s->vlek_.get()));
  s->tcb_ = vcek.tcb;
  s->csp_id_ = vlek.csp_id;
  std::copy(vcek.hw_id.begin(), vcek.hw_id.end(), s->chip_id_.begin());
  struct tm tm {};
  ASN1_TIME_to_tm(X509_get0_notBefore(s->ark_.get()), &tm);
  s->not_before_ = absl::FromTimeT(timegm(&tm));
  ASN1_TIME_to_tm(X509_get0_notAfter(s->ark_.get()), &tm);
  s->not_after_ = absl::FromTimeT(timegm(&tm));
  return s;
}

absl::StatusOr<std::unique_ptr<TestOnlyAmdSigner>> TestOnlyAmdSigner::CreateOrLoad(const std::string& dir,
                                                                                   const SignerOptions& options) {
  std::error_code ec;
  if (fs::exists(fs::path(dir) / "ark.pem", ec)) return Load(dir);
  ASSIGN_OR_RETURN(auto s, Create(options));
  RETURN_IF_ERROR(s->Save(dir));
  return s;
}

}  // namespace spirecvm::sevsnp::sim
