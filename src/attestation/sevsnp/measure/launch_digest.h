// The SEV-SNP launch digest (the report's MEASUREMENT) a guest will have, computed from what the VMM loads:
// the OVMF image, its SEV metadata sections, the kernel hashes table (direct boot) and one VMSA page per vCPU.
// Follows AMD's SNP firmware ABI (SNP_LAUNCH_UPDATE, PAGE_INFO) and QEMU's / EC2's / GCE's initial register state,
// as the reference tool sev-snp-measure does; tested to agree with it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "attestation/sevsnp/measure/ovmf.h"

namespace spirecvm::sevsnp::measure {

enum class VmmType { kQemu, kEc2, kGce };
absl::StatusOr<VmmType> ParseVmmType(const std::string& name);  // qemu, ec2, gce (case-insensitive)

// The CPUID(1).EAX signature of a QEMU CPU model name ("EPYC-Milan", ...); NotFound lists the known names.
absl::StatusOr<uint32_t> VcpuSignature(const std::string& vcpu_type);

// Direct (kernel) boot: the hashes QEMU puts in the SEV hashes table.
struct KernelHashes {
  std::string kernel;   // file contents
  std::string initrd;   // file contents; empty when none
  std::string cmdline;  // --append, without the terminating NUL
};

struct MeasureInput {
  uint32_t vcpus = 1;
  uint32_t vcpu_signature = 0;
  uint64_t guest_features = 0x1;  // SEV_FEATURES in the VMSA (0x1: SNPActive)
  VmmType vmm = VmmType::kQemu;
  std::optional<KernelHashes> kernel;
};

// The 48-byte launch digest.
absl::StatusOr<std::string> LaunchDigest(const Ovmf& ovmf, const MeasureInput& in);

// One VMSA page (4096 bytes) as the VMM sets it up for a vCPU starting at `eip`.
std::string VmsaPage(uint32_t eip, uint64_t sev_features, uint32_t vcpu_signature, VmmType vmm);

}  // namespace spirecvm::sevsnp::measure
