#include "attestation/sevsnp/verify/verifier.h"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace spirecvm::sevsnp::verify {
namespace {

template <size_t N>
std::string HexOf(const std::array<uint8_t, N>& a) {
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(a.data()), N));
}

nlohmann::json TcbJson(const abi::Tcb& t, abi::Product p) {
  nlohmann::json j = {{"bl", t.bl}, {"tee", t.tee}, {"snp", t.snp}, {"ucode", t.ucode}};
  if (p == abi::Product::kTurin) j["fmc"] = t.fmc;
  return j;
}

bool LooksLikePem(absl::string_view s) { return s.find("-----BEGIN") != absl::string_view::npos; }

}  // namespace

std::string VerifiedReport::MeasurementHex() const { return HexOf(report.measurement); }
std::string VerifiedReport::HostDataHex() const { return HexOf(report.host_data); }
std::string VerifiedReport::ReportDataHex() const { return HexOf(report.report_data); }
std::string VerifiedReport::ChipIdHex() const { return HexOf(report.chip_id); }
std::string VerifiedReport::ReportIdHex() const { return HexOf(report.report_id); }

std::string VerifiedReport::ToJson(int indent) const {
  const abi::Report& r = report;
  nlohmann::json j;
  j["version"] = r.version;
  j["product"] = std::string(abi::ProductName(product));
  j["signing_key"] = std::string(abi::SigningKeyName(signing_key));
  j["root_is_pinned_amd"] = root_is_pinned_amd;
  j["measurement"] = MeasurementHex();
  j["host_data"] = HostDataHex();
  j["report_data"] = ReportDataHex();
  j["report_id"] = ReportIdHex();
  j["report_id_ma"] = HexOf(r.report_id_ma);
  j["chip_id"] = ChipIdHex();
  j["family_id"] = HexOf(r.family_id);
  j["image_id"] = HexOf(r.image_id);
  j["id_key_digest"] = HexOf(r.id_key_digest);
  j["author_key_digest"] = HexOf(r.author_key_digest);
  j["guest_svn"] = r.guest_svn;
  j["vmpl"] = r.vmpl;
  j["policy"] = absl::StrFormat("0x%x", r.policy);
  j["policy_flags"] = {
      {"abi_major", (r.policy >> 8) & 0xff},
      {"abi_minor", r.policy & 0xff},
      {"smt", (r.policy & abi::policy_bit::kSmt) != 0},
      {"migrate_ma", (r.policy & abi::policy_bit::kMigrateMa) != 0},
      {"debug", (r.policy & abi::policy_bit::kDebug) != 0},
      {"single_socket", (r.policy & abi::policy_bit::kSingleSocket) != 0},
      {"cxl_allow", (r.policy & abi::policy_bit::kCxlAllow) != 0},
      {"mem_aes_256_xts", (r.policy & abi::policy_bit::kMemAes256Xts) != 0},
      {"rapl_dis", (r.policy & abi::policy_bit::kRaplDis) != 0},
      {"ciphertext_hiding", (r.policy & abi::policy_bit::kCiphertextHiding) != 0},
      {"page_swap_disable", (r.policy & abi::policy_bit::kPageSwapDisable) != 0},
  };
  j["platform_info"] = absl::StrFormat("0x%x", r.platform_info);
  j["platform_flags"] = {
      {"smt_en", (r.platform_info & abi::platform_bit::kSmtEn) != 0},
      {"tsme_en", (r.platform_info & abi::platform_bit::kTsmeEn) != 0},
      {"ecc_en", (r.platform_info & abi::platform_bit::kEccEn) != 0},
      {"rapl_dis", (r.platform_info & abi::platform_bit::kRaplDis) != 0},
      {"ciphertext_hiding_en", (r.platform_info & abi::platform_bit::kCiphertextHidingEn) != 0},
      {"alias_check_complete", (r.platform_info & abi::platform_bit::kAliasCheckComplete) != 0},
      {"tio_en", (r.platform_info & abi::platform_bit::kTioEn) != 0},
  };
  j["author_key_en"] = r.author_key_en();
  j["reported_tcb"] = TcbJson(reported_tcb, product);
  j["current_tcb"] = TcbJson(current_tcb, product);
  j["committed_tcb"] = TcbJson(committed_tcb, product);
  j["launch_tcb"] = TcbJson(launch_tcb, product);
  j["current_firmware"] = absl::StrFormat("%d.%d.%d", r.current_major, r.current_minor, r.current_build);
  j["committed_firmware"] = absl::StrFormat("%d.%d.%d", r.committed_major, r.committed_minor, r.committed_build);
  if (r.version >= 3) {
    j["cpuid"] = {{"family", r.cpuid_fam_id}, {"model", r.cpuid_mod_id}, {"stepping", r.cpuid_step}};
  }
  if (r.version >= 4) {
    j["launch_mit_vector"] = absl::StrFormat("0x%x", r.launch_mit_vector);
    j["current_mit_vector"] = absl::StrFormat("0x%x", r.current_mit_vector);
  }
  nlohmann::json e;
  e["kind"] = std::string(abi::SigningKeyName(endorsement.kind));
  e["struct_version"] = endorsement.struct_version;
  e["product_name"] = endorsement.product_name;
  e["tcb"] = TcbJson(endorsement.tcb, product);
  if (!endorsement.hw_id.empty()) e["hw_id"] = absl::BytesToHexString(endorsement.hw_id);
  if (!endorsement.csp_id.empty()) e["csp_id"] = endorsement.csp_id;
  j["endorsement"] = e;
  return j.dump(indent);
}

absl::Status VerifyReportSignature(absl::string_view report_bytes, EVP_PKEY* key) {
  if (report_bytes.size() != abi::kReportSize) {
    return absl::InvalidArgumentError("report has the wrong size for signature verification");
  }
  const auto* b = reinterpret_cast<const unsigned char*>(report_bytes.data());
  ssl::BignumPtr r(BN_lebin2bn(b + abi::off::kSigR, abi::kSigComponentSize, nullptr));
  ssl::BignumPtr s(BN_lebin2bn(b + abi::off::kSigS, abi::kSigComponentSize, nullptr));
  ssl::EcdsaSigPtr sig(ECDSA_SIG_new());
  if (r == nullptr || s == nullptr || sig == nullptr) {
    return absl::InternalError(absl::StrCat("out of memory: ", ssl::DrainErrors()));
  }
  if (BN_is_zero(r.get()) || BN_is_zero(s.get())) {
    return absl::InvalidArgumentError("report SIGNATURE R or S is zero");
  }
  if (ECDSA_SIG_set0(sig.get(), r.get(), s.get()) != 1) {
    return absl::InternalError("ECDSA_SIG_set0 failed");
  }
  r.release();  // owned by sig now
  s.release();
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return absl::InternalError("i2d_ECDSA_SIG failed");
  ssl::OpensslBytesPtr der_owner(der);
  ssl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha384(), nullptr, key) != 1) {
    return absl::InternalError(absl::StrCat("cannot set up ECDSA verification: ", ssl::DrainErrors()));
  }
  if (EVP_DigestVerify(ctx.get(), der, der_len, b, abi::kSignedSize) != 1) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError(
        "report signature does not verify with the VCEK/VLEK public key (ECDSA P-384 SHA-384 over "
        "bytes 0x000..0x29F)");
  }
  return absl::OkStatus();
}

absl::Status CheckBinding(const abi::Report& report, abi::Product product, const certs::EndorsementInfo& e) {
  const auto report_key = static_cast<abi::SigningKey>(report.signing_key_raw());
  if (e.kind != report_key) {
    return absl::InvalidArgumentError(absl::StrCat("report field SIGNING_KEY says ", abi::SigningKeyName(report_key),
                                                   " but the endorsement certificate is a ",
                                                   abi::SigningKeyName(e.kind)));
  }
  const abi::Tcb reported = abi::DecodeTcb(report.reported_tcb, product);
  abi::Tcb cert = e.tcb;
  if (product != abi::Product::kTurin) cert.fmc = 0;
  if (!(reported == cert)) {
    return absl::InvalidArgumentError(absl::StrCat("report field REPORTED_TCB (", abi::TcbString(reported, product),
                                                   ") does not equal the endorsement certificate's TCB (",
                                                   abi::TcbString(cert, product), ")"));
  }
  if (e.kind == abi::SigningKey::kVcek && !report.chip_id_is_zero()) {
    const size_t n = e.hw_id.size();
    if (n == 0 || n > report.chip_id.size() || CRYPTO_memcmp(e.hw_id.data(), report.chip_id.data(), n) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "report field CHIP_ID (",
          absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(report.chip_id.data()), n)),
          ") does not match the VCEK hwID (", absl::BytesToHexString(e.hw_id), "): the VCEK belongs to another chip"));
    }
  }
  return absl::OkStatus();
}

Verifier::Verifier(VerifierOptions options)
    : options_(std::move(options)),
      sources_(std::make_unique<certs::ChainSources>(options_.sources)),
      cache_(std::make_unique<certs::ChainCache>(options_.chain_cache_entries, options_.chain_cache_ttl)) {}

absl::StatusOr<std::unique_ptr<Verifier>> Verifier::Create(VerifierOptions options) {
  for (const auto& root : options.trust.insecure_extra_roots) {
    if (root == nullptr) return absl::InvalidArgumentError("null insecure_extra_roots entry");
  }
  return std::unique_ptr<Verifier>(new Verifier(std::move(options)));
}

absl::StatusOr<std::shared_ptr<const certs::VerifiedChain>> Verifier::VerifyChainFor(
    const abi::Report& report, abi::Product report_product, const std::string& leaf_der, X509* leaf,
    const VerifyRequest& request, const abi::CertTable& table) const {
  (void)report;
  (void)leaf_der;
  // Which chain kind and product to look for: the leaf's own claims (verified below anyway).
  auto info = certs::ParseEndorsementExtensions(leaf);
  if (!info.ok()) return info.status();
  abi::Product product = report_product != abi::Product::kUnknown ? report_product : info->product;

  // Candidate (intermediate, root) pairs, in order of preference.
  struct Pair {
    std::shared_ptr<X509> inter, root;
    std::string source;
  };
  std::vector<Pair> pairs;
  auto share = [](ssl::X509Ptr p) { return std::shared_ptr<X509>(p.release(), X509_free); };
  std::shared_ptr<X509> table_inter, table_root;
  if (auto ask = table.Find(abi::AskGuid()); ask.has_value()) {
    auto c = certs::LoadCertificate(*ask);
    if (!c.ok()) return absl::InvalidArgumentError(absl::StrCat("certificate table ASK/ASVK: ", c.status().message()));
    table_inter = share(std::move(*c));
  }
  if (auto ark = table.Find(abi::ArkGuid()); ark.has_value()) {
    auto c = certs::LoadCertificate(*ark);
    if (!c.ok()) return absl::InvalidArgumentError(absl::StrCat("certificate table ARK: ", c.status().message()));
    table_root = share(std::move(*c));
  }
  std::shared_ptr<X509> source_inter, source_root;
  absl::Status source_status = absl::OkStatus();
  bool sources_tried = false;
  auto load_sources = [&]() {
    if (sources_tried) return;
    sources_tried = true;
    auto chain = sources_->IntermediateAndRoot(product, info->kind);
    if (!chain.ok()) {
      source_status = chain.status();
      return;
    }
    source_inter = share(std::move((*chain)[0]));
    source_root = share(std::move((*chain)[1]));
  };
  if (!request.chain_pem.empty()) {
    auto chain = certs::LoadCertificates(request.chain_pem);
    if (!chain.ok()) return absl::InvalidArgumentError(absl::StrCat("--chain: ", chain.status().message()));
    if (chain->size() > 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "chain has ", chain->size(), " certificates, want intermediate (ASK/ASVK) and optionally the ARK"));
    }
    Pair p;
    p.source = "supplied chain";
    p.inter = share(std::move((*chain)[0]));
    if (chain->size() == 2) {
      p.root = share(std::move((*chain)[1]));
    } else if (table_root != nullptr) {
      p.root = table_root;
    } else {
      load_sources();
      p.root = source_root;
    }
    pairs.push_back(std::move(p));
  }
  if (table_inter != nullptr) {
    Pair p{table_inter, table_root, "certificate table"};
    if (p.root == nullptr) {
      load_sources();
      p.root = source_root;
    }
    pairs.push_back(std::move(p));
  }
  if (pairs.empty()) {
    load_sources();
    if (!source_status.ok()) return source_status;
    pairs.push_back(Pair{source_inter, source_root, "AMD certificate source"});
  }

  certs::TrustConfig trust = options_.trust;
  if (options_.check_crl) {
    abi::Product crl_product = product;
    if (crl_product == abi::Product::kUnknown) {
      return absl::InvalidArgumentError("CRL check: the chain's product is unknown");
    }
    auto crl_bytes = sources_->Crl(crl_product, info->kind);
    if (!crl_bytes.ok()) return crl_bytes.status();
    auto crl = certs::LoadCrl(*crl_bytes);
    if (!crl.ok()) return crl.status();
    trust.crls[crl_product].push_back(*crl);
  }

  absl::Status first_error = absl::OkStatus();
  for (const auto& p : pairs) {
    if (p.root == nullptr) {
      if (first_error.ok()) {
        first_error =
            source_status.ok() ? absl::NotFoundError(absl::StrCat("no ARK for the ", p.source)) : source_status;
      }
      continue;
    }
    auto verified = certs::VerifyChain(leaf, p.inter.get(), p.root.get(), request.now, trust);
    if (verified.ok()) {
      verified->verified_at = request.now;
      return std::shared_ptr<const certs::VerifiedChain>(std::make_shared<certs::VerifiedChain>(std::move(*verified)));
    }
    if (first_error.ok()) {
      first_error = absl::Status(verified.status().code(), absl::StrCat(p.source, ": ", verified.status().message()));
    }
  }
  return first_error;
}

absl::StatusOr<VerifiedReport> Verifier::Verify(const VerifyRequest& request) const {
  if (request.now == absl::InfinitePast()) {
    return absl::InvalidArgumentError("VerifyRequest.now is not set");
  }
  auto parsed = abi::ParseReport(request.report);
  if (!parsed.ok()) return parsed.status();
  const abi::Report& report = *parsed;
  const auto signing_key = static_cast<abi::SigningKey>(report.signing_key_raw());

  abi::Product report_product = report.product();
  if (report.version >= 3 && report_product == abi::Product::kUnknown &&
      request.product_fallback == abi::Product::kUnknown) {
    return absl::InvalidArgumentError(
        absl::StrFormat("report CPUID family 0x%02x model 0x%02x is not a known SEV-SNP product", report.cpuid_fam_id,
                        report.cpuid_mod_id));
  }
  if (report_product == abi::Product::kUnknown) report_product = request.product_fallback;

  abi::CertTable table;
  if (!request.cert_table.empty()) {
    auto t = abi::ParseCertTable(request.cert_table);
    if (!t.ok()) return t.status();
    table = std::move(*t);
  }

  // The endorsement certificate: supplied, else from the certificate table, else (VCEK) a source.
  std::string leaf_der;
  ssl::X509Ptr leaf;
  if (!request.endorsement_cert.empty()) {
    if (LooksLikePem(request.endorsement_cert)) {
      auto c = certs::LoadCertificate(request.endorsement_cert);
      if (!c.ok()) return absl::InvalidArgumentError(absl::StrCat("endorsement certificate: ", c.status().message()));
      leaf = std::move(*c);
      leaf_der = certs::CertDer(leaf.get());
    } else {
      leaf_der = request.endorsement_cert;
    }
  } else if (auto from_table = table.Find(signing_key == abi::SigningKey::kVlek ? abi::VlekGuid() : abi::VcekGuid());
             from_table.has_value()) {
    leaf_der = std::string(*from_table);
  } else if (signing_key == abi::SigningKey::kVlek) {
    return absl::InvalidArgumentError(
        "report is VLEK-signed but no VLEK was supplied and the certificate table has none (a VLEK "
        "cannot be fetched from AMD KDS)");
  } else {
    if (report.chip_id_is_zero()) {
      return absl::InvalidArgumentError("report CHIP_ID is zero (masked) and no VCEK was supplied: cannot look it up");
    }
    std::string chip(reinterpret_cast<const char*>(report.chip_id.data()), report.chip_id.size());
    auto vcek = sources_->Vcek(report_product, chip, abi::DecodeTcb(report.reported_tcb, report_product));
    if (!vcek.ok()) return vcek.status();
    leaf_der = std::move(*vcek);
  }

  // Warm path: one hash of the leaf's bytes and one P-384 verification.
  const std::string fingerprint = certs::Sha256(leaf_der);
  std::shared_ptr<const certs::VerifiedChain> chain = cache_->Lookup(fingerprint, request.now);
  const bool from_cache = chain != nullptr;
  if (chain == nullptr) {
    if (leaf == nullptr) {
      auto c = certs::LoadCertificate(leaf_der);
      if (!c.ok()) return absl::InvalidArgumentError(absl::StrCat("endorsement certificate: ", c.status().message()));
      leaf = std::move(*c);
    }
    auto verified = VerifyChainFor(report, report_product, leaf_der, leaf.get(), request, table);
    if (!verified.ok()) return verified.status();
    chain = std::move(*verified);
    cache_->Insert(chain);
  }

  // The signature first: every later check reads fields that only the signature makes authentic.
  if (absl::Status s = VerifyReportSignature(request.report, chain->leaf_key.get()); !s.ok()) return s;

  // Products must agree: CPUID (v3+) or the operator's fallback (v2) vs the pinned root.
  abi::Product product = chain->product;
  if (report_product != abi::Product::kUnknown && product != abi::Product::kUnknown && report_product != product) {
    return absl::InvalidArgumentError(absl::StrCat("report product ", abi::ProductName(report_product), " (",
                                                   report.version >= 3 ? "from CPUID" : "from the product fallback",
                                                   ") does not match the certificate chain's product ",
                                                   abi::ProductName(product)));
  }
  if (product == abi::Product::kUnknown) product = report_product;
  if (product == abi::Product::kUnknown) {
    return absl::InvalidArgumentError(
        "cannot tell the report's product (v2 report, no product fallback, chain names none)");
  }

  if (absl::Status s = CheckBinding(report, product, chain->endorsement); !s.ok()) return s;

  if (request.expected_report_data.has_value()) {
    const std::string& want = *request.expected_report_data;
    if (want.size() != report.report_data.size() ||
        CRYPTO_memcmp(want.data(), report.report_data.data(), report.report_data.size()) != 0) {
      return absl::PermissionDeniedError(
          "report field REPORT_DATA does not equal the expected value (stale, replayed or for "
          "another key)");
    }
  }

  VerifiedReport out;
  out.report = report;
  out.product = product;
  out.signing_key = signing_key;
  out.reported_tcb = abi::DecodeTcb(report.reported_tcb, product);
  out.current_tcb = abi::DecodeTcb(report.current_tcb, product);
  out.committed_tcb = abi::DecodeTcb(report.committed_tcb, product);
  out.launch_tcb = abi::DecodeTcb(report.launch_tcb, product);
  out.endorsement = chain->endorsement;
  out.root_is_pinned_amd = chain->root_is_pinned_amd;
  out.chain_from_cache = from_cache;
  return out;
}

}  // namespace spirecvm::sevsnp::verify
