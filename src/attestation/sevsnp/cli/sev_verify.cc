#include "attestation/sevsnp/cli/sev_verify.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "attestation/sevsnp/policy/policy.h"
#include "attestation/sevsnp/verify/verifier.h"
#include "common/encoding.h"
#include "common/flags.h"

namespace spirecvm::sevsnp::cli {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(flag, ": cannot read \"", path, "\""));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Fail(std::ostream& out, std::ostream& err, bool json, const std::vector<std::string>& reasons,
         const std::string& facts_json = "") {
  if (json) {
    nlohmann::json j;
    j["verified"] = false;
    j["errors"] = reasons;
    if (!facts_json.empty()) j["report"] = nlohmann::json::parse(facts_json);
    out << j.dump(2) << "\n";
  } else {
    for (const auto& r : reasons) err << "error: " << r << "\n";
  }
  return 1;
}

}  // namespace

int RunSevVerify(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  std::string report_path, cert_path, chain_path, table_path, at, report_data_hex, min_tcb, product;
  std::string amd_certs_dir, output = "pretty", extra_roots_path, kds_cache_dir;
  std::vector<std::string> measurements, platform_flags, csp_ids;
  bool allow_debug = false, allow_migration_agent = false, fetch = false, check_crl = false;
  int64_t max_vmpl = 0;

  flags::FlagSet fs("sev verify");
  fs.String("report", &report_path, "Path to the 1184-byte attestation report (required)");
  fs.String("cert", &cert_path, "VCEK or VLEK certificate (DER or PEM)");
  fs.String("chain", &chain_path, "PEM: ASK or ASVK, optionally followed by the ARK");
  fs.String("certs-table", &table_path, "GHCB certificate table (extended report / configfs-tsm auxblob)");
  fs.String("at", &at, "Verification time, RFC 3339 (default: now)");
  fs.String("report-data", &report_data_hex, "Expected REPORT_DATA, 128 hex characters");
  fs.Bool("allow-debug", &allow_debug, "Accept guests launched with POLICY.DEBUG");
  fs.Bool("allow-migration-agent", &allow_migration_agent, "Accept guests with POLICY.MIGRATE_MA");
  fs.Int("max-vmpl", &max_vmpl, "Highest VMPL accepted");
  fs.String("min-tcb", &min_tcb, "Minimum REPORTED_TCB, bl.tee.snp.ucode (Turin: bl.tee.snp.ucode.fmc)");
  fs.StringList("measurement", &measurements, "Allowed launch measurement, 96 hex characters (repeatable)");
  fs.StringList("require-platform-flag", &platform_flags,
                "Required PLATFORM_INFO flag, e.g. ALIAS_CHECK_COMPLETE (repeatable)");
  fs.StringList("csp-id", &csp_ids, "Allowed VLEK csp_id (repeatable)");
  fs.String("product", &product, "Milan|Genoa|Turin: product of a version 2 report (no CPUID)");
  fs.String("amd-certs-dir", &amd_certs_dir, "Directory of AMD certificates (see docs/sev-snp-verifier.md)");
  fs.Bool("fetch", &fetch, "Fetch missing VCEKs, chains and CRLs from AMD KDS");
  fs.String("kds-cache-dir", &kds_cache_dir, "On-disk cache for AMD KDS responses");
  fs.Bool("check-crl", &check_crl, "Check the ARK-signed CRL (from --amd-certs-dir or KDS)");
  fs.String("insecure-extra-roots", &extra_roots_path,
            "INSECURE: PEM of extra ARKs to trust (test signer / simulator only)");
  fs.String("output", &output, "Output format: pretty or json");

  auto rest = fs.Parse(args);
  if (!rest.ok()) {
    err << rest.status().message() << "\n" << fs.Usage();
    return 1;
  }
  const bool json = output == "json";
  std::vector<std::string> usage_errors;
  if (output != "json" && output != "pretty") usage_errors.push_back("-output must be pretty or json");
  if (!rest->empty()) usage_errors.push_back(absl::StrCat("unexpected argument \"", (*rest)[0], "\""));
  if (report_path.empty()) usage_errors.push_back("-report is required");
  if (max_vmpl < 0 || max_vmpl > 3) usage_errors.push_back("-max-vmpl must be 0..3");

  verify::VerifyRequest req;
  req.now = absl::Now();
  if (!at.empty()) {
    std::string why;
    if (!absl::ParseTime(absl::RFC3339_full, at, &req.now, &why)) {
      usage_errors.push_back(absl::StrCat("-at \"", at, "\" is not RFC 3339: ", why));
    }
  }
  if (!product.empty()) {
    auto p = abi::ParseProduct(product);
    if (!p.ok())
      usage_errors.push_back(absl::StrCat("-product: ", p.status().message()));
    else
      req.product_fallback = *p;
  }
  if (!report_data_hex.empty()) {
    auto rd = HexDecode(report_data_hex);
    if (!rd.ok() || rd->size() != 64) {
      usage_errors.push_back("-report-data must be 128 hex characters (64 bytes)");
    } else {
      req.expected_report_data = *rd;
    }
  }
  policy::Policy pol;
  pol.allow_debug = allow_debug;
  pol.allow_migration_agent = allow_migration_agent;
  pol.max_vmpl = static_cast<uint32_t>(max_vmpl);
  pol.allowed_measurements = measurements;
  pol.required_platform_flags = platform_flags;
  pol.allowed_csp_ids = csp_ids;
  if (!min_tcb.empty()) {
    auto t = policy::ParseTcb(min_tcb);
    if (!t.ok())
      usage_errors.push_back(absl::StrCat("-min-tcb: ", t.status().message()));
    else
      pol.min_reported_tcb = *t;
  }
  if (auto st = policy::ValidatePolicy(pol); !st.ok()) usage_errors.push_back(std::string(st.message()));

  verify::VerifierOptions vo;
  vo.sources.amd_certs_dir = amd_certs_dir;
  vo.sources.kds_cache_dir = kds_cache_dir;
  vo.check_crl = check_crl;
  if (fetch) vo.sources.kds_fetcher = certs::NewCurlKdsFetcher();
  struct FileFlag {
    const std::string& path;
    std::string* dest;
    const char* flag;
  };
  std::string extra_roots_pem;
  for (FileFlag f :
       {FileFlag{report_path, &req.report, "-report"}, FileFlag{cert_path, &req.endorsement_cert, "-cert"},
        FileFlag{chain_path, &req.chain_pem, "-chain"}, FileFlag{table_path, &req.cert_table, "-certs-table"},
        FileFlag{extra_roots_path, &extra_roots_pem, "-insecure-extra-roots"}}) {
    if (f.path.empty()) continue;
    auto data = ReadFile(f.path, f.flag);
    if (!data.ok())
      usage_errors.push_back(std::string(data.status().message()));
    else
      *f.dest = std::move(*data);
  }
  if (!extra_roots_pem.empty()) {
    if (auto st = certs::AddInsecureExtraRootsPem(extra_roots_pem, vo.trust); !st.ok()) {
      usage_errors.push_back(absl::StrCat("-insecure-extra-roots: ", st.message()));
    } else {
      err << "WARNING: trusting " << vo.trust.insecure_extra_roots.size()
          << " insecure extra root(s) besides AMD's pinned ARKs: for tests and simulation only\n";
    }
  }
  if (!usage_errors.empty()) {
    if (!json) err << fs.Usage();
    return Fail(out, err, json, usage_errors);
  }

  auto verifier = verify::Verifier::Create(std::move(vo));
  if (!verifier.ok()) return Fail(out, err, json, {std::string(verifier.status().message())});
  auto verified = (*verifier)->Verify(req);
  if (!verified.ok()) {
    return Fail(out, err, json, {absl::StrCat("verification failed: ", verified.status().message())});
  }
  std::vector<std::string> violations = policy::Violations(*verified, pol);
  const std::string facts = verified->ToJson();
  if (!violations.empty()) {
    for (auto& v : violations) v = absl::StrCat("policy: ", v);
    return Fail(out, err, json, violations, facts);
  }
  if (json) {
    nlohmann::json j;
    j["verified"] = true;
    j["report"] = nlohmann::json::parse(facts);
    out << j.dump(2) << "\n";
  } else {
    const auto& v = *verified;
    out << "SEV-SNP report verified and meets policy\n"
        << "  product:       " << abi::ProductName(v.product) << "\n"
        << "  signing key:   " << abi::SigningKeyName(v.signing_key)
        << (v.root_is_pinned_amd ? " (chains to the pinned AMD ARK)" : " (chains to an INSECURE extra root)") << "\n"
        << "  version:       " << v.report.version << "\n"
        << "  measurement:   " << v.MeasurementHex() << "\n"
        << "  host_data:     " << v.HostDataHex() << "\n"
        << "  report_data:   " << v.ReportDataHex() << "\n"
        << "  chip_id:       " << v.ChipIdHex() << "\n"
        << "  report_id:     " << v.ReportIdHex() << "\n"
        << "  vmpl:          " << v.report.vmpl << "\n"
        << "  policy:        0x" << std::hex << v.report.policy << std::dec
        << ((v.report.policy & abi::policy_bit::kDebug) ? " (DEBUG)" : "") << "\n"
        << "  reported_tcb:  " << abi::TcbString(v.reported_tcb, v.product) << "\n"
        << "  current_tcb:   " << abi::TcbString(v.current_tcb, v.product) << "\n"
        << "  committed_tcb: " << abi::TcbString(v.committed_tcb, v.product) << "\n"
        << "  launch_tcb:    " << abi::TcbString(v.launch_tcb, v.product) << "\n";
  }
  return 0;
}

}  // namespace spirecvm::sevsnp::cli
