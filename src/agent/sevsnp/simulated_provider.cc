#include "agent/sevsnp/simulated_provider.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "attestation/sevsnp/abi/cert_table.h"
#include "attestation/sevsnp/certs/endorsement.h"
#include "common/random.h"
#include "common/status.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent::snp {
namespace {

namespace sabi = sevsnp::abi;

constexpr std::pair<Corruption, std::string_view> kCorruptions[] = {
    {Corruption::kNone, "none"},
    {Corruption::kSignature, "signature"},
    {Corruption::kReportData, "report_data"},
    {Corruption::kMeasurement, "measurement"},
    {Corruption::kCertTable, "cert_table"},
    {Corruption::kTruncate, "truncate"},
    {Corruption::kSigningKey, "signing_key"},
};

sabi::SigningKey Other(sabi::SigningKey k) {
  return k == sabi::SigningKey::kVcek ? sabi::SigningKey::kVlek : sabi::SigningKey::kVcek;
}

}  // namespace

absl::StatusOr<Corruption> ParseCorruption(std::string_view name) {
  for (const auto& [c, n] : kCorruptions) {
    if (n == name) return c;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown corruption \"", ToAbsl(name),
                   "\" (want none, signature, report_data, measurement, cert_table, truncate or signing_key)"));
}

std::string_view CorruptionName(Corruption c) {
  for (const auto& [k, n] : kCorruptions) {
    if (k == c) return n;
  }
  return "unknown";
}

SimulatedProvider::SimulatedProvider(SimulatorOptions options,
                                     std::shared_ptr<const sevsnp::sim::TestOnlyAmdSigner> signer)
    : options_(std::move(options)), signer_(std::move(signer)) {}

absl::StatusOr<std::unique_ptr<SimulatedProvider>> SimulatedProvider::Create(SimulatorOptions options) {
  if (options.dir.empty()) return absl::InvalidArgumentError("simulated SEV-SNP provider: simulator dir is not set");
  sevsnp::sim::SignerOptions signer_options;
  if (!options.csp_id.empty()) signer_options.csp_id = options.csp_id;
  auto signer = sevsnp::sim::TestOnlyAmdSigner::CreateOrLoad(options.dir, signer_options);
  if (!signer.ok()) {
    return Annotate(signer, absl::StrCat("simulated SEV-SNP provider: loading the simulator in ", options.dir));
  }
  return CreateWithSigner(std::move(options),
                          std::shared_ptr<const sevsnp::sim::TestOnlyAmdSigner>(*std::move(signer)));
}

absl::StatusOr<std::unique_ptr<SimulatedProvider>> SimulatedProvider::CreateWithSigner(
    SimulatorOptions options, std::shared_ptr<const sevsnp::sim::TestOnlyAmdSigner> signer) {
  if (signer == nullptr) return absl::InvalidArgumentError("simulated SEV-SNP provider: no signer");
  std::unique_ptr<SimulatedProvider> p(new SimulatedProvider(std::move(options), std::move(signer)));
  RETURN_IF_ERROR(p->Init());
  spdlog::warn(
      "!!! TEST/DEMO ONLY: SEV-SNP report provider \"simulated\" is in use. Reports are signed by a SIMULATED AMD "
      "hierarchy in {} ({}, corrupt={}), not by AMD hardware: they prove nothing about this machine. Never use this "
      "in production. !!!",
      p->options_.dir.empty() ? std::string("<in memory>") : p->options_.dir,
      std::string(sabi::SigningKeyName(p->options_.signing_key)), std::string(CorruptionName(p->options_.corrupt)));
  return p;
}

absl::Status SimulatedProvider::Init() {
  if (options_.report_id.has_value()) {
    report_id_ = *options_.report_id;
  } else {
    SystemRandom::Get().Fill(absl::MakeSpan(report_id_));
  }
  if (options_.tcb.has_value() && !(*options_.tcb == signer_->tcb())) {
    sevsnp::sim::EndorsementSpec spec = signer_->DefaultSpec(options_.signing_key);
    spec.tcb = *options_.tcb;
    auto issued = signer_->IssueEndorsement(spec);
    if (!issued.ok()) {
      return Annotate(issued, absl::StrCat("simulated SEV-SNP provider: issuing a ",
                                           sabi::SigningKeyName(options_.signing_key), " for the configured TCB"));
    }
    custom_endorsement_ = *std::move(issued);
  }
  return absl::OkStatus();
}

sabi::Report SimulatedProvider::BuildReport(const ReportData& report_data) const {
  const SimulatorOptions& o = options_;
  sabi::Report r = signer_->DefaultReport();
  r.version = o.version;
  if (o.version < 3) r.cpuid_fam_id = r.cpuid_mod_id = r.cpuid_step = 0;  // v2 reports have no CPUID fields
  r.guest_svn = o.guest_svn;
  r.policy = o.policy | (o.debug ? sabi::policy_bit::kDebug : 0);
  r.vmpl = o.vmpl;
  std::copy(report_data.begin(), report_data.end(), r.report_data.begin());
  if (o.measurement.has_value()) {
    r.measurement = *o.measurement;
  } else {
    r.measurement.fill(0x5A);
  }
  r.report_id = report_id_;
  if (o.host_data.has_value()) r.host_data = *o.host_data;
  if (o.signing_key == sabi::SigningKey::kVlek) r.chip_id.fill(0);  // AWS: CHIP_ID zero with a VLEK
  if (o.tcb.has_value()) {
    const uint64_t raw = sabi::EncodeTcb(*o.tcb, signer_->product());
    r.current_tcb = r.committed_tcb = r.launch_tcb = r.reported_tcb = raw;
  }
  if (o.corrupt == Corruption::kReportData) r.report_data[0] ^= 0x01;
  return r;
}

absl::StatusOr<std::string> SimulatedProvider::Sign(sabi::Report r) const {
  const SimulatorOptions& o = options_;
  absl::StatusOr<std::string> signed_report;
  if (custom_endorsement_.has_value()) {
    const sabi::SigningKey claimed = o.corrupt == Corruption::kSigningKey ? Other(o.signing_key) : o.signing_key;
    r.signer_info = (r.signer_info & ~(7u << 2)) | (static_cast<uint32_t>(claimed) << 2);
    signed_report = sevsnp::sim::TestOnlyAmdSigner::SignReportWithKey(r, custom_endorsement_->key.get());
  } else if (o.corrupt == Corruption::kSigningKey) {
    r.signer_info = (r.signer_info & ~(7u << 2)) | (static_cast<uint32_t>(Other(o.signing_key)) << 2);
    signed_report = signer_->SignReportRaw(r, o.signing_key);
  } else {
    signed_report = signer_->SignReport(r, o.signing_key);
  }
  if (!signed_report.ok()) return Annotate(signed_report, "simulated SEV-SNP provider: signing");
  return signed_report;
}

std::string SimulatedProvider::CertTable() const {
  if (!custom_endorsement_.has_value()) return signer_->CertTable(options_.signing_key);
  sabi::CertTable t;
  const bool vlek = options_.signing_key == sabi::SigningKey::kVlek;
  t.entries.push_back(
      {vlek ? sabi::VlekGuid() : sabi::VcekGuid(), sevsnp::certs::CertDer(custom_endorsement_->cert.get())});
  t.entries.push_back({sabi::AskGuid(), sevsnp::certs::CertDer(vlek ? signer_->asvk() : signer_->ask())});
  t.entries.push_back({sabi::ArkGuid(), sevsnp::certs::CertDer(signer_->ark())});
  return sabi::SerializeCertTable(t);
}

void SimulatedProvider::CorruptAfterSigning(Report& out) const {
  switch (options_.corrupt) {
    case Corruption::kSignature:
      out.report[sabi::off::kSigR] = static_cast<char>(out.report[sabi::off::kSigR] ^ 0x01);
      break;
    case Corruption::kMeasurement:
      out.report[sabi::off::kMeasurement] = static_cast<char>(out.report[sabi::off::kMeasurement] ^ 0x01);
      break;
    case Corruption::kCertTable:
      out.cert_table.clear();
      break;
    case Corruption::kTruncate:
      out.report.resize(1000);
      break;
    default:
      break;
  }
}

absl::StatusOr<Report> SimulatedProvider::GetReport(const ReportData& report_data) {
  Report out;
  ASSIGN_OR_RETURN(out.report, Sign(BuildReport(report_data)));
  out.cert_table = CertTable();
  CorruptAfterSigning(out);
  return out;
}

}  // namespace spirecvm::agent::snp
