#include "attestation/sevsnp/verify/verifier.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"

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

nlohmann::json PolicyFlagsJson(uint64_t policy) {
  namespace bit = abi::policy_bit;
  return {
      {"abi_major", (policy >> 8) & 0xff},
      {"abi_minor", policy & 0xff},
      {"smt", (policy & bit::kSmt) != 0},
      {"migrate_ma", (policy & bit::kMigrateMa) != 0},
      {"debug", (policy & bit::kDebug) != 0},
      {"single_socket", (policy & bit::kSingleSocket) != 0},
      {"cxl_allow", (policy & bit::kCxlAllow) != 0},
      {"mem_aes_256_xts", (policy & bit::kMemAes256Xts) != 0},
      {"rapl_dis", (policy & bit::kRaplDis) != 0},
      {"ciphertext_hiding", (policy & bit::kCiphertextHiding) != 0},
      {"page_swap_disable", (policy & bit::kPageSwapDisable) != 0},
  };
}

nlohmann::json PlatformFlagsJson(uint64_t platform_info) {
  namespace bit = abi::platform_bit;
  return {
      {"smt_en", (platform_info & bit::kSmtEn) != 0},
      {"tsme_en", (platform_info & bit::kTsmeEn) != 0},
      {"ecc_en", (platform_info & bit::kEccEn) != 0},
      {"rapl_dis", (platform_info & bit::kRaplDis) != 0},
      {"ciphertext_hiding_en", (platform_info & bit::kCiphertextHidingEn) != 0},
      {"alias_check_complete", (platform_info & bit::kAliasCheckComplete) != 0},
      {"tio_en", (platform_info & bit::kTioEn) != 0},
  };
}

nlohmann::json EndorsementJson(const certs::EndorsementInfo& endorsement, abi::Product product) {
  nlohmann::json e;
  e["kind"] = std::string(abi::SigningKeyName(endorsement.kind));
  e["struct_version"] = endorsement.struct_version;
  e["product_name"] = endorsement.product_name;
  e["tcb"] = TcbJson(endorsement.tcb, product);
  if (!endorsement.hw_id.empty()) e["hw_id"] = absl::BytesToHexString(endorsement.hw_id);
  if (!endorsement.csp_id.empty()) e["csp_id"] = endorsement.csp_id;
  return e;
}

std::shared_ptr<X509> Share(ssl::X509Ptr p) { return std::shared_ptr<X509>(p.release(), X509_free); }

absl::StatusOr<ssl::X509Ptr> ParseEndorsementCert(absl::string_view der_or_pem) {
  auto cert = certs::LoadCertificate(der_or_pem);
  RETURN_IF_ERROR(Annotate(cert, "endorsement certificate"));
  return std::move(*cert);
}

// The endorsement certificate the request supplied, else the certificate table's; nullopt: neither.
absl::StatusOr<std::optional<EndorsementCert>> SuppliedEndorsement(const VerifyRequest& request,
                                                                   const abi::CertTable& table,
                                                                   abi::SigningKey signing_key) {
  if (!request.endorsement_cert.empty()) {
    if (!LooksLikePem(request.endorsement_cert)) return EndorsementCert{request.endorsement_cert, nullptr};
    ASSIGN_OR_RETURN(ssl::X509Ptr cert, ParseEndorsementCert(request.endorsement_cert));
    std::string der = certs::CertDer(cert.get());
    return EndorsementCert{std::move(der), std::move(cert)};
  }
  auto from_table = table.Find(signing_key == abi::SigningKey::kVlek ? abi::VlekGuid() : abi::VcekGuid());
  if (from_table.has_value()) return EndorsementCert{std::string(*from_table), nullptr};
  return std::nullopt;
}

absl::StatusOr<abi::CertTable> OptionalCertTable(const std::string& bytes) {
  if (bytes.empty()) return abi::CertTable{};
  return abi::ParseCertTable(bytes);
}

VerifiedReport MakeVerifiedReport(const abi::Report& report, abi::Product product, const certs::VerifiedChain& chain,
                                  bool from_cache) {
  VerifiedReport out;
  out.report = report;
  out.product = product;
  out.signing_key = static_cast<abi::SigningKey>(report.signing_key_raw());
  out.reported_tcb = abi::DecodeTcb(report.reported_tcb, product);
  out.current_tcb = abi::DecodeTcb(report.current_tcb, product);
  out.committed_tcb = abi::DecodeTcb(report.committed_tcb, product);
  out.launch_tcb = abi::DecodeTcb(report.launch_tcb, product);
  out.endorsement = chain.endorsement;
  out.root_is_pinned_amd = chain.root_is_pinned_amd;
  out.chain_from_cache = from_cache;
  return out;
}

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
  j["policy_flags"] = PolicyFlagsJson(r.policy);
  j["platform_info"] = absl::StrFormat("0x%x", r.platform_info);
  j["platform_flags"] = PlatformFlagsJson(r.platform_info);
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
  j["endorsement"] = EndorsementJson(endorsement, product);
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
  // CRLs are re-fetched when verified chains expire from the cache.
  options.sources.crl_refresh = std::min(options.sources.crl_refresh, options.chain_cache_ttl);
  for (const auto& root : options.trust.insecure_extra_roots) {
    if (root == nullptr) return absl::InvalidArgumentError("null insecure_extra_roots entry");
  }
  return std::unique_ptr<Verifier>(new Verifier(std::move(options)));
}

absl::StatusOr<std::vector<ChainCandidate>> SuppliedChainCandidates(absl::string_view chain_pem,
                                                                    const abi::CertTable& table) {
  std::shared_ptr<X509> table_inter, table_root;
  if (auto ask = table.Find(abi::AskGuid()); ask.has_value()) {
    auto c = certs::LoadCertificate(*ask);
    RETURN_IF_ERROR(Annotate(c, "certificate table ASK/ASVK"));
    table_inter = Share(std::move(*c));
  }
  if (auto ark = table.Find(abi::ArkGuid()); ark.has_value()) {
    auto c = certs::LoadCertificate(*ark);
    RETURN_IF_ERROR(Annotate(c, "certificate table ARK"));
    table_root = Share(std::move(*c));
  }
  std::vector<ChainCandidate> out;
  if (!chain_pem.empty()) {
    auto chain = certs::LoadCertificates(chain_pem);
    RETURN_IF_ERROR(Annotate(chain, "--chain"));
    if (chain->size() > 2) {
      return absl::InvalidArgumentError(absl::StrCat(
          "chain has ", chain->size(), " certificates, want intermediate (ASK/ASVK) and optionally the ARK"));
    }
    std::shared_ptr<X509> root = chain->size() == 2 ? Share(std::move((*chain)[1])) : table_root;
    out.push_back(ChainCandidate{Share(std::move((*chain)[0])), std::move(root), "supplied chain"});
  }
  if (table_inter != nullptr) out.push_back(ChainCandidate{table_inter, table_root, "certificate table"});
  return out;
}

absl::StatusOr<certs::VerifiedChain> FirstVerifiedChain(X509* leaf, const std::vector<ChainCandidate>& candidates,
                                                        absl::Time now, const certs::TrustConfig& trust,
                                                        const absl::Status& no_root_reason) {
  absl::Status first_error = absl::OkStatus();
  for (const auto& c : candidates) {
    absl::Status error;
    if (c.root == nullptr) {
      error = no_root_reason.ok() ? absl::NotFoundError(absl::StrCat("no ARK for the ", c.source)) : no_root_reason;
    } else {
      auto verified = certs::VerifyChain(leaf, c.intermediate.get(), c.root.get(), now, trust);
      if (verified.ok()) return verified;
      error = Annotate(verified.status(), c.source);
    }
    if (first_error.ok()) first_error = error;
  }
  if (first_error.ok()) return absl::NotFoundError("no certificate chain to verify the endorsement with");
  return first_error;
}

absl::StatusOr<abi::Product> ReportProduct(const abi::Report& report, abi::Product fallback) {
  const abi::Product product = report.product();
  if (product != abi::Product::kUnknown) return product;
  if (report.version >= 3 && fallback == abi::Product::kUnknown) {
    return absl::InvalidArgumentError(
        absl::StrFormat("report CPUID family 0x%02x model 0x%02x is not a known SEV-SNP product", report.cpuid_fam_id,
                        report.cpuid_mod_id));
  }
  return fallback;
}

absl::StatusOr<abi::Product> ReconcileProduct(const abi::Report& report, abi::Product report_product,
                                              abi::Product chain_product) {
  if (report_product != abi::Product::kUnknown && chain_product != abi::Product::kUnknown &&
      report_product != chain_product) {
    return absl::InvalidArgumentError(absl::StrCat("report product ", abi::ProductName(report_product), " (",
                                                   report.version >= 3 ? "from CPUID" : "from the product fallback",
                                                   ") does not match the certificate chain's product ",
                                                   abi::ProductName(chain_product)));
  }
  const abi::Product product = chain_product != abi::Product::kUnknown ? chain_product : report_product;
  if (product == abi::Product::kUnknown) {
    return absl::InvalidArgumentError(
        "cannot tell the report's product (v2 report, no product fallback, chain names none)");
  }
  return product;
}

absl::Status CheckReportData(const abi::Report& report, const std::optional<std::string>& expected) {
  if (!expected.has_value()) return absl::OkStatus();
  if (expected->size() != report.report_data.size() ||
      CRYPTO_memcmp(expected->data(), report.report_data.data(), report.report_data.size()) != 0) {
    return absl::PermissionDeniedError(
        "report field REPORT_DATA does not equal the expected value (stale, replayed or for "
        "another key)");
  }
  return absl::OkStatus();
}

absl::StatusOr<certs::TrustConfig> Verifier::TrustWithCrl(abi::Product product, abi::SigningKey kind,
                                                          absl::Time now) const {
  certs::TrustConfig trust = options_.trust;
  if (!options_.check_crl) return trust;
  trust.require_crl = true;  // fail closed: no applicable CRL, no chain
  if (product == abi::Product::kUnknown) {
    return absl::InvalidArgumentError("CRL check: the chain's product is unknown");
  }
  ASSIGN_OR_RETURN(std::string crl_bytes, sources_->Crl(product, kind, now));
  ASSIGN_OR_RETURN(std::shared_ptr<X509_CRL> crl, certs::LoadCrl(crl_bytes));
  trust.crls[product].push_back(std::move(crl));
  return trust;
}

absl::Status Verifier::CompleteFromSources(std::vector<ChainCandidate>& candidates, abi::Product product,
                                           abi::SigningKey kind, absl::Time now) const {
  const bool needed = candidates.empty() || std::any_of(candidates.begin(), candidates.end(),
                                                        [](const ChainCandidate& c) { return c.root == nullptr; });
  if (!needed) return absl::OkStatus();
  ASSIGN_OR_RETURN(std::vector<ssl::X509Ptr> chain, sources_->IntermediateAndRoot(product, kind, now));
  std::shared_ptr<X509> root = Share(std::move(chain[1]));
  if (candidates.empty()) {
    candidates.push_back(ChainCandidate{Share(std::move(chain[0])), root, "AMD certificate source"});
  }
  for (auto& c : candidates) {
    if (c.root == nullptr) c.root = root;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const certs::VerifiedChain>> Verifier::VerifyChainFor(
    X509* leaf, abi::Product report_product, const VerifyRequest& request, const abi::CertTable& table) const {
  // Which chain kind and product to look for: the leaf's own claims (verified by VerifyChain anyway).
  ASSIGN_OR_RETURN(const certs::EndorsementInfo info, certs::ParseEndorsementExtensions(leaf));
  const abi::Product product = report_product != abi::Product::kUnknown ? report_product : info.product;
  ASSIGN_OR_RETURN(std::vector<ChainCandidate> candidates, SuppliedChainCandidates(request.chain_pem, table));
  const bool supplied = !candidates.empty();
  const absl::Status source_status = CompleteFromSources(candidates, product, info.kind, request.now);
  if (!supplied) RETURN_IF_ERROR(source_status);
  ASSIGN_OR_RETURN(const certs::TrustConfig trust, TrustWithCrl(product, info.kind, request.now));
  ASSIGN_OR_RETURN(certs::VerifiedChain chain, FirstVerifiedChain(leaf, candidates, request.now, trust, source_status));
  chain.verified_at = request.now;
  return std::make_shared<const certs::VerifiedChain>(std::move(chain));
}

absl::StatusOr<EndorsementCert> Verifier::FindEndorsement(const VerifyRequest& request, const abi::CertTable& table,
                                                          const abi::Report& report,
                                                          abi::Product report_product) const {
  const auto signing_key = static_cast<abi::SigningKey>(report.signing_key_raw());
  ASSIGN_OR_RETURN(std::optional<EndorsementCert> supplied, SuppliedEndorsement(request, table, signing_key));
  if (supplied.has_value()) return std::move(*supplied);
  if (signing_key == abi::SigningKey::kVlek) {
    return absl::InvalidArgumentError(
        "report is VLEK-signed but no VLEK was supplied and the certificate table has none (a VLEK "
        "cannot be fetched from AMD KDS)");
  }
  if (report.chip_id_is_zero()) {
    return absl::InvalidArgumentError("report CHIP_ID is zero (masked) and no VCEK was supplied: cannot look it up");
  }
  std::string chip(reinterpret_cast<const char*>(report.chip_id.data()), report.chip_id.size());
  ASSIGN_OR_RETURN(std::string der, sources_->Vcek(report_product, chip,
                                                   abi::DecodeTcb(report.reported_tcb, report_product), request.now));
  return EndorsementCert{std::move(der), nullptr};
}

absl::StatusOr<std::shared_ptr<const certs::VerifiedChain>> Verifier::ChainFor(EndorsementCert& leaf,
                                                                               abi::Product report_product,
                                                                               const VerifyRequest& request,
                                                                               const abi::CertTable& table,
                                                                               bool& from_cache) const {
  // Warm path: one hash of the leaf's bytes.
  std::shared_ptr<const certs::VerifiedChain> chain = cache_->Lookup(certs::Sha256(leaf.der), request.now);
  from_cache = chain != nullptr;
  if (from_cache) return chain;
  if (leaf.cert == nullptr) {
    ASSIGN_OR_RETURN(leaf.cert, ParseEndorsementCert(leaf.der));
  }
  ASSIGN_OR_RETURN(chain, VerifyChainFor(leaf.cert.get(), report_product, request, table));
  cache_->Insert(chain);
  return chain;
}

absl::StatusOr<VerifiedReport> Verifier::Verify(const VerifyRequest& request) const {
  if (request.now == absl::InfinitePast()) {
    return absl::InvalidArgumentError("VerifyRequest.now is not set");
  }
  ASSIGN_OR_RETURN(const abi::Report report, abi::ParseReport(request.report));
  ASSIGN_OR_RETURN(const abi::Product report_product, ReportProduct(report, request.product_fallback));
  ASSIGN_OR_RETURN(const abi::CertTable table, OptionalCertTable(request.cert_table));
  // The chain: the endorsement certificate up to a trusted ARK (cached per endorsement).
  ASSIGN_OR_RETURN(EndorsementCert leaf, FindEndorsement(request, table, report, report_product));
  bool from_cache = false;
  ASSIGN_OR_RETURN(std::shared_ptr<const certs::VerifiedChain> chain,
                   ChainFor(leaf, report_product, request, table, from_cache));
  // The signature first: every later check reads fields that only the signature makes authentic.
  RETURN_IF_ERROR(VerifyReportSignature(request.report, chain->leaf_key.get()));
  // Products must agree: CPUID (v3+) or the operator's fallback (v2) vs the pinned root.
  ASSIGN_OR_RETURN(const abi::Product product, ReconcileProduct(report, report_product, chain->product));
  // Binding: the certificate is the one that signed this report.
  RETURN_IF_ERROR(CheckBinding(report, product, chain->endorsement));
  RETURN_IF_ERROR(CheckReportData(report, request.expected_report_data));
  return MakeVerifiedReport(report, product, *chain, from_cache);
}

}  // namespace spirecvm::sevsnp::verify
