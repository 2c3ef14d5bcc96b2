#include "attestation/sevsnp/cli/sev_verify.h"

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "attestation/sevsnp/policy/options_reader.h"
#include "attestation/sevsnp/policy/policy.h"
#include "attestation/sevsnp/verify/verifier.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/flags.h"
#include "common/status.h"

namespace spirecvm::sevsnp::cli {
namespace {

// The flags that are not policy knobs (those come from policy::PolicyFlags).
struct Args {
  std::string report_path, cert_path, chain_path, table_path, at, report_data_hex, product;
  std::string amd_certs_dir, output = "pretty", extra_roots_path, kds_cache_dir;
  bool fetch = false, check_crl = false;
};

void RegisterFlags(flags::FlagSet& fs, Args& a) {
  fs.String("report", &a.report_path, "Path to the 1184-byte attestation report (required)");
  fs.String("cert", &a.cert_path, "VCEK or VLEK certificate (DER or PEM)");
  fs.String("chain", &a.chain_path, "PEM: ASK or ASVK, optionally followed by the ARK");
  fs.String("certs-table", &a.table_path, "GHCB certificate table (extended report / configfs-tsm auxblob)");
  fs.String("at", &a.at, "Verification time, RFC 3339 (default: now)");
  fs.String("report-data", &a.report_data_hex, "Expected REPORT_DATA, 128 hex characters");
  fs.String("product", &a.product, "Milan|Genoa|Turin: product of a version 2 report (no CPUID)");
  fs.String("amd-certs-dir", &a.amd_certs_dir, "Directory of AMD certificates (see docs/sev-snp-verifier.md)");
  fs.Bool("fetch", &a.fetch, "Fetch missing VCEKs, chains and CRLs from AMD KDS");
  fs.String("kds-cache-dir", &a.kds_cache_dir, "On-disk cache for AMD KDS responses");
  fs.Bool("check-crl", &a.check_crl, "Check the ARK-signed CRL (from --amd-certs-dir or KDS)");
  fs.String("insecure-extra-roots", &a.extra_roots_path,
            "INSECURE: PEM of extra ARKs to trust (test signer / simulator only)");
  fs.String("output", &a.output, "Output format: pretty or json");
}

// Everything a run needs, built from the flags; `errors` lists every usage error at once.
struct Plan {
  verify::VerifyRequest request;
  verify::VerifierOptions verifier;
  policy::Policy policy;
  std::string extra_roots_pem;
  std::vector<std::string> errors;
};

void CheckArgs(const Args& a, const std::vector<std::string>& rest, Plan& plan) {
  if (a.output != "json" && a.output != "pretty") plan.errors.push_back("-output must be pretty or json");
  if (!rest.empty()) plan.errors.push_back(absl::StrCat("unexpected argument \"", rest[0], "\""));
  if (a.report_path.empty()) plan.errors.push_back("-report is required");
}

// -at, -product and -report-data: the request's time, product fallback and expected REPORT_DATA.
void BuildRequest(const Args& a, Plan& plan) {
  verify::VerifyRequest& req = plan.request;
  req.now = absl::Now();
  std::string why;
  if (!a.at.empty() && !absl::ParseTime(absl::RFC3339_full, a.at, &req.now, &why)) {
    plan.errors.push_back(absl::StrCat("-at \"", a.at, "\" is not RFC 3339: ", why));
  }
  if (!a.product.empty()) {
    auto p = abi::ParseProduct(a.product);
    if (!p.ok()) {
      plan.errors.emplace_back(Annotate(p.status(), "-product").message());
    } else {
      req.product_fallback = *p;
    }
  }
  if (!a.report_data_hex.empty()) {
    auto rd = HexDecode(a.report_data_hex);
    if (!rd.ok() || rd->size() != 64) {
      plan.errors.push_back("-report-data must be 128 hex characters (64 bytes)");
    } else {
      req.expected_report_data = *rd;
    }
  }
}

void ReadInputFiles(const Args& a, Plan& plan) {
  struct FileFlag {
    const std::string& path;
    std::string* dest;
    const char* flag;
  };
  verify::VerifyRequest& req = plan.request;
  for (FileFlag f :
       {FileFlag{a.report_path, &req.report, "-report"}, FileFlag{a.cert_path, &req.endorsement_cert, "-cert"},
        FileFlag{a.chain_path, &req.chain_pem, "-chain"}, FileFlag{a.table_path, &req.cert_table, "-certs-table"},
        FileFlag{a.extra_roots_path, &plan.extra_roots_pem, "-insecure-extra-roots"}}) {
    if (f.path.empty()) continue;
    auto data = files::ReadFile(f.path);
    if (!data.ok()) {
      plan.errors.emplace_back(Annotate(data, absl::StrCat(f.flag, ": cannot read \"", f.path, "\"")).message());
    } else {
      *f.dest = std::move(*data);
    }
  }
}

void BuildVerifierOptions(const Args& a, Plan& plan, std::ostream& err) {
  verify::VerifierOptions& vo = plan.verifier;
  vo.sources.amd_certs_dir = a.amd_certs_dir;
  vo.sources.kds_cache_dir = a.kds_cache_dir;
  vo.check_crl = a.check_crl;
  if (a.fetch) vo.sources.kds_fetcher = certs::NewCurlKdsFetcher();
  if (plan.extra_roots_pem.empty()) return;
  if (auto st = certs::AddInsecureExtraRootsPem(plan.extra_roots_pem, vo.trust); !st.ok()) {
    plan.errors.emplace_back(Annotate(st, "-insecure-extra-roots").message());
  } else {
    err << "WARNING: trusting " << vo.trust.insecure_extra_roots.size()
        << " insecure extra root(s) besides AMD's pinned ARKs: for tests and simulation only\n";
  }
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

void PrintPretty(const verify::VerifiedReport& v, std::ostream& out) {
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

// Verification, then policy; prints the facts or every reason.
int VerifyAndReport(Plan plan, bool json, std::ostream& out, std::ostream& err) {
  auto verifier = verify::Verifier::Create(std::move(plan.verifier));
  if (!verifier.ok()) return Fail(out, err, json, {std::string(verifier.status().message())});
  auto verified = (*verifier)->Verify(plan.request);
  if (!verified.ok()) {
    return Fail(out, err, json, {std::string(Annotate(verified.status(), "verification failed").message())});
  }
  std::vector<std::string> violations = policy::Violations(*verified, plan.policy);
  const std::string facts = verified->ToJson();
  if (!violations.empty()) {
    for (auto& v : violations) v = absl::StrCat("policy: ", v);
    return Fail(out, err, json, violations, facts);
  }
  if (!json) {
    PrintPretty(*verified, out);
    return 0;
  }
  nlohmann::json j;
  j["verified"] = true;
  j["report"] = nlohmann::json::parse(facts);
  out << j.dump(2) << "\n";
  return 0;
}

}  // namespace

int RunSevVerify(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Args a;
  policy::PolicyFlags policy_flags;
  flags::FlagSet fs("sev verify");
  RegisterFlags(fs, a);
  policy_flags.Register(fs);
  auto rest = fs.Parse(args);
  if (!rest.ok()) {
    err << rest.status().message() << "\n" << fs.Usage();
    return 1;
  }
  const bool json = a.output == "json";
  Plan plan;
  CheckArgs(a, *rest, plan);
  BuildRequest(a, plan);
  for (auto& e : policy_flags.Apply(fs, plan.policy)) plan.errors.push_back(std::move(e));
  ReadInputFiles(a, plan);
  BuildVerifierOptions(a, plan, err);
  if (!plan.errors.empty()) {
    if (!json) err << fs.Usage();
    return Fail(out, err, json, plan.errors);
  }
  return VerifyAndReport(std::move(plan), json, out, err);
}

}  // namespace spirecvm::sevsnp::cli
