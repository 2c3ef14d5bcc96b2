#include "attestation/sevsnp/cli/sev_measure.h"

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "attestation/sevsnp/measure/launch_digest.h"
#include "attestation/sevsnp/measure/ovmf.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/flags.h"
#include "common/status.h"

namespace spirecvm::sevsnp::cli {
namespace {

struct Args {
  std::string ovmf, vcpu_type, vcpu_sig, vmm_type = "qemu", kernel, initrd, append, guest_features = "0x1";
  std::string output = "pretty";
  int64_t vcpus = 0;
};

void RegisterFlags(flags::FlagSet& fs, Args& a) {
  fs.String("ovmf", &a.ovmf, "OVMF firmware image the guest boots (required)");
  fs.Int("vcpus", &a.vcpus, "Number of guest vCPUs (required)");
  fs.String("vcpu-type", &a.vcpu_type, "Guest vCPU type, e.g. EPYC-v4, EPYC-Milan, EPYC-Genoa");
  fs.String("vcpu-sig", &a.vcpu_sig, "Guest vCPU signature (CPUID(1).EAX), instead of -vcpu-type");
  fs.String("vmm-type", &a.vmm_type, "VMM that launches the guest: ec2, qemu or gce");
  fs.String("kernel", &a.kernel, "Kernel booted directly (measured through the SEV hashes table)");
  fs.String("initrd", &a.initrd, "Initrd booted with -kernel");
  fs.String("append", &a.append, "Kernel command line booted with -kernel");
  fs.String("guest-features", &a.guest_features, "SEV_FEATURES of the VMSA (default 0x1)");
  fs.String("output", &a.output, "Output format: pretty or json");
}

absl::StatusOr<uint64_t> ParseNumber(const std::string& s, const char* flag) {
  uint64_t v = 0;
  bool ok =
      s.rfind("0x", 0) == 0 || s.rfind("0X", 0) == 0 ? absl::SimpleHexAtoi(s.substr(2), &v) : absl::SimpleAtoi(s, &v);
  if (!ok) return absl::InvalidArgumentError(absl::StrCat(flag, " \"", s, "\" is not a number"));
  return v;
}

void ReadInto(const std::string& path, const char* flag, std::string& dest, std::vector<std::string>& errors) {
  auto data = files::ReadFile(path);
  if (!data.ok()) {
    errors.emplace_back(Annotate(data, absl::StrCat(flag, ": cannot read \"", path, "\"")).message());
  } else {
    dest = std::move(*data);
  }
}

void CheckVcpus(const Args& a, measure::MeasureInput& in, std::vector<std::string>& errors) {
  if (a.vcpus < 1 || a.vcpus > 4096) errors.push_back("-vcpus is required: a number of vCPUs from 1 to 4096");
  in.vcpus = static_cast<uint32_t>(a.vcpus);
  if (a.vcpu_type.empty() == a.vcpu_sig.empty()) {
    errors.push_back("exactly one of -vcpu-type and -vcpu-sig is required");
  } else if (!a.vcpu_type.empty()) {
    auto sig = measure::VcpuSignature(a.vcpu_type);
    if (sig.ok()) {
      in.vcpu_signature = *sig;
    } else {
      errors.emplace_back(Annotate(sig, "-vcpu-type").message());
    }
  } else {
    auto sig = ParseNumber(a.vcpu_sig, "-vcpu-sig");
    if (sig.ok() && *sig > 0xffffffff) sig = absl::InvalidArgumentError("-vcpu-sig does not fit in 32 bits");
    if (sig.ok()) {
      in.vcpu_signature = static_cast<uint32_t>(*sig);
    } else {
      errors.emplace_back(sig.status().message());
    }
  }
}

// Builds the measurement input; `errors` lists every usage error at once.
measure::MeasureInput BuildInput(const Args& a, std::string& ovmf_image, std::vector<std::string>& errors) {
  measure::MeasureInput in;
  if (a.output != "json" && a.output != "pretty") errors.push_back("-output must be pretty or json");
  if (a.ovmf.empty()) errors.push_back("-ovmf is required");
  CheckVcpus(a, in, errors);
  auto vmm = measure::ParseVmmType(a.vmm_type);
  if (vmm.ok()) {
    in.vmm = *vmm;
  } else {
    errors.emplace_back(Annotate(vmm, "-vmm-type").message());
  }
  auto features = ParseNumber(a.guest_features, "-guest-features");
  if (features.ok()) {
    in.guest_features = *features;
  } else {
    errors.emplace_back(features.status().message());
  }
  if (!a.ovmf.empty()) ReadInto(a.ovmf, "-ovmf", ovmf_image, errors);
  if (a.kernel.empty()) {
    if (!a.initrd.empty() || !a.append.empty()) errors.push_back("-initrd and -append need -kernel");
    return in;
  }
  in.kernel.emplace();
  in.kernel->cmdline = a.append;
  ReadInto(a.kernel, "-kernel", in.kernel->kernel, errors);
  if (!a.initrd.empty()) ReadInto(a.initrd, "-initrd", in.kernel->initrd, errors);
  return in;
}

int Fail(std::ostream& err, const std::vector<std::string>& reasons) {
  for (const auto& r : reasons) err << "error: " << r << "\n";
  return 1;
}

}  // namespace

int RunSevMeasure(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Args a;
  flags::FlagSet fs("sev measure");
  RegisterFlags(fs, a);
  auto rest = fs.Parse(args);
  if (!rest.ok()) return Fail(err, {std::string(rest.status().message()), fs.Usage()});
  std::vector<std::string> errors;
  if (!rest->empty()) errors.push_back(absl::StrCat("unexpected argument \"", (*rest)[0], "\""));
  std::string image;
  measure::MeasureInput in = BuildInput(a, image, errors);
  if (!errors.empty()) return Fail(err, errors);
  auto ovmf = measure::Ovmf::Parse(std::move(image));
  if (!ovmf.ok()) return Fail(err, {std::string(Annotate(ovmf, absl::StrCat("-ovmf \"", a.ovmf, "\"")).message())});
  auto digest = measure::LaunchDigest(*ovmf, in);
  if (!digest.ok()) return Fail(err, {std::string(digest.status().message())});
  const std::string hex = HexEncode(*digest), selector = "aws_iid:measurements:" + hex;
  if (a.output == "json") {
    nlohmann::json j;
    j["measurement"] = hex;
    j["selector"] = selector;
    j["vcpus"] = in.vcpus;
    j["vmm_type"] = a.vmm_type;
    j["kernel_hashes"] = in.kernel.has_value();
    out << j.dump(2) << "\n";
  } else {
    out << "measurement: " << hex << "\nselector:    " << selector << "\n";
  }
  return 0;
}

}  // namespace spirecvm::sevsnp::cli
