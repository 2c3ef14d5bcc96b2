// sevsnp-sim: TEST/DEMO ONLY. Creates (or loads) the SEV-SNP simulator's AMD-like certificate chain in a
// directory, so a server can be told to trust it with `insecure_extra_roots` and a simulated agent can sign
// reports with it. Nothing here is trusted by a server unless its configuration says so explicitly.
//
//   sevsnp-sim init -dir DIR [-product Milan|Genoa|Turin]   prints the path of the simulator's ARK
//   sevsnp-sim report -dir DIR -out FILE [-debug] [-measurement HEX] [-report-data HEX] [-signing-key vlek|vcek]
//                                                           writes a signed report (and FILE.certs: its certificate
//                                                           table)
#include <iostream>

#include "attestation/sevsnp/sim/test_only_amd_signer.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/flags.h"
#include "common/strings.h"

namespace snpabi = spirecvm::sevsnp::abi;
using namespace spirecvm;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || (args[0] != "init" && args[0] != "report")) {
    std::cerr
        << "usage: sevsnp-sim init -dir DIR [-product P] [-csp-id ID] | sevsnp-sim report -dir DIR -out FILE [flags]\n";
    return 1;
  }
  std::string cmd = args[0];
  flags::FlagSet fs("sevsnp-sim " + cmd);
  std::string dir, product = "Milan", out, measurement, report_data, signing_key = "vlek", csp_id;
  bool debug = false;
  fs.String("dir", &dir, "simulator directory (created on first use)");
  fs.String("product", &product, "Milan, Genoa or Turin (init)");
  fs.String("csp-id", &csp_id, "the VLEK's csp_id, e.g. CN=cc-us-east-1.amazonaws.com (init)");
  fs.String("out", &out, "report file to write (report)");
  fs.String("measurement", &measurement, "MEASUREMENT as 96 hex characters (report)");
  fs.String("report-data", &report_data, "REPORT_DATA as 128 hex characters (report)");
  fs.String("signing-key", &signing_key, "vlek or vcek (report)");
  fs.Bool("debug", &debug, "set the POLICY DEBUG bit (report)");
  auto rest = fs.Parse(std::vector<std::string>(args.begin() + 1, args.end()));
  if (!rest.ok() || dir.empty()) {
    std::cerr << (rest.ok() ? "-dir is required" : std::string(rest.status().message())) << "\n" << fs.Usage();
    return 1;
  }
  sevsnp::sim::SignerOptions opts;
  auto p = snpabi::ParseProduct(ToAbsl(product));
  if (!p.ok()) {
    std::cerr << "unknown product " << product << "\n";
    return 1;
  }
  opts.product = *p;
  if (!csp_id.empty()) opts.csp_id = csp_id;
  auto signer = sevsnp::sim::TestOnlyAmdSigner::CreateOrLoad(dir, opts);
  if (!signer.ok()) {
    std::cerr << "sevsnp-sim: " << signer.status().message() << "\n";
    return 1;
  }
  if (cmd == "init") {
    std::cout << dir << "/ark.pem\n";
    return 0;
  }
  snpabi::Report r = (*signer)->DefaultReport();
  if (debug) r.policy |= snpabi::policy_bit::kDebug;
  auto fill = [](const std::string& hex, auto& field, const char* name) {
    if (hex.empty()) return true;
    auto raw = HexDecode(hex);
    if (!raw.ok() || raw->size() != field.size()) {
      std::cerr << name << " must be " << field.size() * 2 << " hex characters\n";
      return false;
    }
    std::copy(raw->begin(), raw->end(), field.begin());
    return true;
  };
  if (!fill(measurement, r.measurement, "-measurement") || !fill(report_data, r.report_data, "-report-data")) return 1;
  auto kind = signing_key == "vcek" ? snpabi::SigningKey::kVcek : snpabi::SigningKey::kVlek;
  auto report = (*signer)->SignReport(r, kind);
  if (!report.ok() || out.empty()) {
    std::cerr << "sevsnp-sim: " << (report.ok() ? "-out is required" : std::string(report.status().message())) << "\n";
    return 1;
  }
  if (auto st = files::WriteFileAtomic(out, *report, 0644); !st.ok()) return (std::cerr << st.message() << "\n", 1);
  if (auto st = files::WriteFileAtomic(out + ".certs", (*signer)->CertTable(kind), 0644); !st.ok()) {
    std::cerr << st.message() << "\n";
    return 1;
  }
  std::cout << out << "\n";
  return 0;
}
