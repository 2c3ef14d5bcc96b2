#include "attestation/sevsnp/measure/launch_digest.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <cstring>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"

namespace spirecvm::sevsnp::measure {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kDigest = 48;
constexpr uint64_t kVmsaGpa = 0xFFFFFFFFF000;  // the VMSA's RMP GPA: (u64)-1, page aligned, bits above 51 clear
constexpr uint32_t kBspEip = 0xfffffff0;

enum PageType : uint8_t { kNormal = 1, kVmsa = 2, kZero = 3, kUnmeasured = 4, kSecrets = 5, kCpuid = 6 };

std::string Sha384(std::string_view data) {
  std::string out(kDigest, '\0');
  SHA384(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}
std::string Sha256(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

void PutLe(std::string& buf, size_t at, uint64_t v, size_t width) {
  for (size_t i = 0; i < width; ++i) buf[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// The guest context's running digest: each SNP_LAUNCH_UPDATE hashes a PAGE_INFO (SNP ABI, Table "PAGE_INFO").
class Gctx {
 public:
  void Update(PageType type, uint64_t gpa, const std::string& contents) {
    std::string info(0x70, '\0');
    std::memcpy(info.data(), ld_.data(), kDigest);
    std::memcpy(info.data() + kDigest, contents.data(), kDigest);
    PutLe(info, 0x60, 0x70, 2);  // length
    info[0x62] = static_cast<char>(type);
    // 0x63 is_imi, 0x64..0x66 vmpl3/2/1 permissions, 0x67 reserved: all zero.
    PutLe(info, 0x68, gpa, 8);
    ld_ = Sha384(info);
  }
  void NormalPages(uint64_t gpa, std::string_view data) {
    for (size_t off = 0; off < data.size(); off += kPage) Update(kNormal, gpa + off, Sha384(data.substr(off, kPage)));
  }
  void EmptyPages(PageType type, uint64_t gpa, uint64_t length) {
    for (uint64_t off = 0; off < length; off += kPage) Update(type, gpa + off, zeros_);
  }
  const std::string& ld() const { return ld_; }

 private:
  std::string ld_ = std::string(kDigest, '\0');
  const std::string zeros_ = std::string(kDigest, '\0');
};

std::string GuidEntry(const char* guid, uint16_t length) {
  std::string e = GuidLe(guid);
  e.push_back(static_cast<char>(length & 0xff));
  e.push_back(static_cast<char>(length >> 8));
  return e;
}

// QEMU's SEV hashes table (header + cmdline, initrd, kernel SHA-256 entries), padded to 16 bytes.
std::string HashesTable(const KernelHashes& k) {
  constexpr uint16_t kEntrySize = 16 + 2 + 32, kTableSize = 16 + 2 + 3 * kEntrySize;
  std::string t = GuidEntry("9438d606-4f22-4cc9-b479-a793d411fd21", kTableSize);
  t += GuidEntry("97d02dd8-bd20-4c94-aa78-e7714d36ab2a", kEntrySize) + Sha256(k.cmdline + std::string(1, '\0'));
  t += GuidEntry("44baf731-3a2f-4bd7-9af1-41e29169781d", kEntrySize) + Sha256(k.initrd);
  t += GuidEntry("4de79437-abd2-427f-b835-d5b172d2045b", kEntrySize) + Sha256(k.kernel);
  t.resize((t.size() + 15) & ~size_t{15}, '\0');
  return t;
}

absl::Status KernelHashesPages(Gctx& g, const Ovmf& ovmf, const MetadataSection& s, const MeasureInput& in) {
  if (!in.kernel) {
    if (s.size % kPage != 0) return absl::InvalidArgumentError("OVMF kernel hashes section is not page-sized");
    g.EmptyPages(kZero, s.gpa, s.size);
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(uint32_t table_gpa, ovmf.SevHashTableGpa());
  const size_t offset = table_gpa & (kPage - 1);
  const std::string table = HashesTable(*in.kernel);
  if (s.size != kPage || offset + table.size() > kPage) {
    return absl::InvalidArgumentError(absl::StrCat("OVMF kernel hashes section (size ", s.size, ", table offset ",
                                                   offset, ") cannot hold the hashes table"));
  }
  std::string page(kPage, '\0');
  std::memcpy(page.data() + offset, table.data(), table.size());
  g.NormalPages(s.gpa, page);
  return absl::OkStatus();
}

absl::Status MetadataPages(Gctx& g, const Ovmf& ovmf, const MeasureInput& in) {
  for (const MetadataSection& s : ovmf.sections()) {
    if ((s.type == SectionType::kSnpSecMem || s.type == SectionType::kSvsmCaa) && s.size % kPage != 0) {
      return absl::InvalidArgumentError(absl::StrFormat("OVMF SEV metadata section at 0x%x is not page-sized", s.gpa));
    }
    switch (s.type) {
      case SectionType::kSnpSecMem:
        g.EmptyPages(in.vmm == VmmType::kGce ? kUnmeasured : kZero, s.gpa, s.size);
        break;
      case SectionType::kSnpSecrets:
        g.Update(kSecrets, s.gpa, std::string(kDigest, '\0'));
        break;
      case SectionType::kCpuid:
        if (in.vmm != VmmType::kEc2) g.Update(kCpuid, s.gpa, std::string(kDigest, '\0'));
        break;
      case SectionType::kSnpKernelHashes:
        RETURN_IF_ERROR(KernelHashesPages(g, ovmf, s, in));
        break;
      case SectionType::kSvsmCaa:
        g.EmptyPages(kZero, s.gpa, s.size);
        break;
    }
  }
  // EC2 loads the CPUID page last.
  if (in.vmm == VmmType::kEc2) {
    for (const MetadataSection& s : ovmf.sections()) {
      if (s.type == SectionType::kCpuid) g.Update(kCpuid, s.gpa, std::string(kDigest, '\0'));
    }
  }
  return absl::OkStatus();
}

void PutSegment(std::string& p, size_t at, uint16_t selector, uint16_t attrib, uint32_t limit, uint64_t base) {
  PutLe(p, at, selector, 2);
  PutLe(p, at + 2, attrib, 2);
  PutLe(p, at + 4, limit, 4);
  PutLe(p, at + 8, base, 8);
}

}  // namespace

absl::StatusOr<VmmType> ParseVmmType(const std::string& name) {
  const std::string n = absl::AsciiStrToLower(name);
  if (n == "qemu") return VmmType::kQemu;
  if (n == "ec2") return VmmType::kEc2;
  if (n == "gce") return VmmType::kGce;
  return absl::InvalidArgumentError(absl::StrCat("VMM type \"", name, "\" is not one of qemu, ec2, gce"));
}

absl::StatusOr<uint32_t> VcpuSignature(const std::string& vcpu_type) {
  // CPUID Fn0000_0001_EAX: family 0xf + extended family, model split in low/high nibbles (AMD pub. 25481).
  auto sig = [](uint32_t family, uint32_t model, uint32_t stepping) {
    const uint32_t fam_lo = family > 0xf ? 0xf : family, fam_hi = family > 0xf ? (family - 0xf) & 0xff : 0;
    return fam_hi << 20 | ((model >> 4) & 0xf) << 16 | fam_lo << 8 | (model & 0xf) << 4 | (stepping & 0xf);
  };
  static const std::pair<const char*, uint32_t> kTypes[] = {
      {"EPYC", sig(23, 1, 2)},          {"EPYC-v1", sig(23, 1, 2)},       {"EPYC-v2", sig(23, 1, 2)},
      {"EPYC-IBPB", sig(23, 1, 2)},     {"EPYC-v3", sig(23, 1, 2)},       {"EPYC-v4", sig(23, 1, 2)},
      {"EPYC-Rome", sig(23, 49, 0)},    {"EPYC-Rome-v1", sig(23, 49, 0)}, {"EPYC-Rome-v2", sig(23, 49, 0)},
      {"EPYC-Rome-v3", sig(23, 49, 0)}, {"EPYC-Milan", sig(25, 1, 1)},    {"EPYC-Milan-v1", sig(25, 1, 1)},
      {"EPYC-Milan-v2", sig(25, 1, 1)}, {"EPYC-Genoa", sig(25, 17, 0)},   {"EPYC-Genoa-v1", sig(25, 17, 0)},
      {"EPYC-Turin", sig(26, 0, 0)},
  };
  std::string known;
  for (const auto& [name, s] : kTypes) {
    if (vcpu_type == name) return s;
    absl::StrAppend(&known, known.empty() ? "" : ", ", name);
  }
  return absl::NotFoundError(absl::StrCat("vCPU type \"", vcpu_type, "\" is not one of ", known));
}

std::string VmsaPage(uint32_t eip, uint64_t sev_features, uint32_t vcpu_signature, VmmType vmm) {
  uint16_t cs_flags = 0x9b, ss_flags = 0x93, tr_flags = 0x8b, fcw = 0x37f;
  uint32_t mxcsr = 0x1f80;
  uint64_t rdx = vcpu_signature, g_pat = 0x7040600070406;  // PAT MSR reset value (AMD APM vol. 2, A.3)
  if (vmm == VmmType::kEc2) {
    cs_flags = eip == kBspEip ? 0x9a : 0x9b;
    ss_flags = 0x92;
    tr_flags = 0x83;
    rdx = 0x600, mxcsr = 0, fcw = 0;
  } else if (vmm == VmmType::kGce) {
    g_pat = 0x00070106, rdx = 0x600, mxcsr = 0, fcw = 0;
  }
  std::string p(kPage, '\0');                                       // layout: AMD APM vol. 2, Table B-4 (VMSA)
  PutSegment(p, 0x00, 0, 0x93, 0xffff, 0);                          // es
  PutSegment(p, 0x10, 0xf000, cs_flags, 0xffff, eip & 0xffff0000);  // cs
  PutSegment(p, 0x20, 0, ss_flags, 0xffff, 0);                      // ss
  PutSegment(p, 0x30, 0, 0x93, 0xffff, 0);                          // ds
  PutSegment(p, 0x40, 0, 0x93, 0xffff, 0);                          // fs
  PutSegment(p, 0x50, 0, 0x93, 0xffff, 0);                          // gs
  PutSegment(p, 0x60, 0, 0, 0xffff, 0);                             // gdtr
  PutSegment(p, 0x70, 0, 0x82, 0xffff, 0);                          // ldtr
  PutSegment(p, 0x80, 0, 0, 0xffff, 0);                             // idtr
  PutSegment(p, 0x90, 0, tr_flags, 0xffff, 0);                      // tr
  const std::pair<size_t, uint64_t> k64[] = {
      {0xd0, 0x1000} /* efer: SVME */,
      {0x148, 0x40} /* cr4: MCE */,
      {0x158, 0x10} /* cr0 */,
      {0x160, 0x400} /* dr7 */,
      {0x168, 0xffff0ff0} /* dr6 */,
      {0x170, 0x2} /* rflags */,
      {0x178, eip & 0xffff} /* rip */,
      {0x268, g_pat},
      {0x310, rdx},
      {0x3b0, sev_features},
      {0x3e8, 0x1} /* xcr0 */,
  };
  for (const auto& [at, v] : k64) PutLe(p, at, v, 8);
  PutLe(p, 0x408, mxcsr, 4);
  PutLe(p, 0x410, fcw, 2);  // x87_fcw
  return p;
}

absl::StatusOr<std::string> LaunchDigest(const Ovmf& ovmf, const MeasureInput& in) {
  if (in.vcpus == 0) return absl::InvalidArgumentError("the number of vCPUs must be at least 1");
  if (in.kernel && !ovmf.HasSection(SectionType::kSnpKernelHashes)) {
    return absl::InvalidArgumentError("a kernel was given but the OVMF SEV metadata has no SNP_KERNEL_HASHES section");
  }
  Gctx g;
  g.NormalPages(ovmf.gpa(), ovmf.data());
  RETURN_IF_ERROR(MetadataPages(g, ovmf, in));
  auto ap_eip = ovmf.SevEsResetEip();
  if (!ap_eip.ok()) return Annotate(ap_eip, "the OVMF image cannot start vCPUs under SEV-SNP");
  if (*ap_eip == 0 && in.vcpus > 1) {
    return absl::InvalidArgumentError("the OVMF SEV-ES reset EIP is 0: it cannot start more than one vCPU");
  }
  const std::string bsp = Sha384(VmsaPage(kBspEip, in.guest_features, in.vcpu_signature, in.vmm));
  const std::string ap = Sha384(VmsaPage(*ap_eip, in.guest_features, in.vcpu_signature, in.vmm));
  for (uint32_t i = 0; i < in.vcpus; ++i) g.Update(kVmsa, kVmsaGpa, i == 0 ? bsp : ap);
  return g.ld();
}

}  // namespace spirecvm::sevsnp::measure
