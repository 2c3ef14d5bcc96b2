#include "attestation/sevsnp/abi/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "attestation/sevsnp/test_util.h"

namespace spirecvm::sevsnp::abi {
namespace {

using ::testing::HasSubstr;

constexpr char kMilanReport[] = "snp/milan-vcek-debug/report.bin";
constexpr char kMilanMeasurement[] =
    "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01";

// A minimal well-formed report (no signature; parsing does not verify it).
std::string Valid(uint32_t version = 3) {
  Report r;
  r.version = version;
  r.policy = 0x30000;
  r.cpuid_fam_id = 0x19;
  r.cpuid_mod_id = 0x01;
  r.signature_r[0] = 1;
  r.signature_s[0] = 1;
  return SerializeReport(r);
}

void Put32(std::string& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<char>(v >> (8 * i));
}

absl::Span<const uint8_t> Bytes(const std::string& s) {
  return absl::Span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Each step of ParseReport refuses a defect in its own area and ignores the others'.
TEST(ReportTest, EachParseStepRefusesOnlyItsOwnArea) {
  using Step = absl::Status (*)(absl::Span<const uint8_t>, Report&);
  struct Case {
    const char* name;
    Step step;
    size_t offset;  // a byte of the step's area to corrupt
    uint8_t value;
    const char* want;
  } cases[] = {
      {"header", ParseReportHeader, off::kSignatureAlgo, 2, "SIGNATURE_ALGO is 2"},
      {"identity", ParseReportIdentity, off::kReserved18B, 1, "reserved field"},
      {"tcbs", ParseReportTcbs, off::kReserved1EB, 1, "reserved field"},
      {"signature", ParseReportSignature, off::kSigR + 60, 1, "SIGNATURE R has non-zero padding"},
  };
  const Step steps[] = {ParseReportHeader, ParseReportIdentity, ParseReportTcbs, ParseReportSignature};
  for (const Case& c : cases) {
    std::string bad = Valid();
    bad[c.offset] = static_cast<char>(c.value);
    Report r;
    r.version = 3;
    absl::Status st = c.step(Bytes(bad), r);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(st.message(), HasSubstr(c.want)) << c.name;
    for (Step other : steps) {
      if (other == c.step) continue;
      Report o;
      o.version = 3;
      EXPECT_TRUE(other(Bytes(bad), o).ok()) << c.name;
    }
    EXPECT_FALSE(ParseReport(bad).ok()) << c.name;
  }
  Report r;
  EXPECT_THAT(ParseReportSignature(Bytes("short"), r).message(), HasSubstr("want exactly 1184"));
}

TEST(ReportTest, ParsesRealMilanReport) {
  SEVSNP_READ_VECTOR(bytes, kMilanReport);
  auto r = ParseReport(bytes);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version, 2u);
  EXPECT_EQ(r->policy, 0xb0000u);
  EXPECT_EQ(r->signing_key_raw(), 0u);
  EXPECT_FALSE(r->mask_chip_key());
  EXPECT_EQ(absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(r->measurement.data()), 48)),
            kMilanMeasurement);
  Tcb t = DecodeTcb(r->reported_tcb, Product::kMilan);
  EXPECT_EQ(t, (Tcb{.fmc = 0, .bl = 2, .tee = 0, .snp = 5, .ucode = 68}));
  EXPECT_EQ(r->product(), Product::kUnknown);  // v2: no CPUID
  EXPECT_FALSE(r->chip_id_is_zero());
  // Round trip: serialisation reproduces the exact bytes.
  EXPECT_EQ(SerializeReport(*r), bytes);
}

TEST(ReportTest, AcceptsVersions2To5) {
  for (uint32_t v : {2u, 3u, 4u, 5u}) EXPECT_TRUE(ParseReport(Valid(v)).ok()) << v;
}

TEST(ReportTest, RejectsUnknownVersions) {
  for (uint32_t v : {0u, 1u, 6u, 0xFFFFFFFFu}) {
    std::string b = Valid();
    Put32(b, off::kVersion, v);
    EXPECT_THAT(ParseReport(b).status().message(), HasSubstr("VERSION is")) << v;
  }
}

TEST(ReportTest, RejectsWrongSizes) {
  for (size_t n : {size_t{0}, size_t{1183}, size_t{1185}, size_t{4000}}) {
    std::string b = Valid();
    b.resize(n);
    auto r = ParseReport(b);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("want exactly 1184"));
  }
}

TEST(ReportTest, RejectsSignatureAlgo) {
  std::string b = Valid();
  Put32(b, off::kSignatureAlgo, 2);
  EXPECT_THAT(ParseReport(b).status().message(), HasSubstr("SIGNATURE_ALGO is 2, want 1 (ECDSA P-384 SHA-384)"));
  Put32(b, off::kSignatureAlgo, 0);
  EXPECT_THAT(ParseReport(b).status().message(), HasSubstr("SIGNATURE_ALGO is 0"));
}

TEST(ReportTest, RejectsMaskChipKey) {
  std::string b = Valid();
  Put32(b, off::kSignerInfo, 2);
  EXPECT_THAT(ParseReport(b).status().message(), HasSubstr("MASK_CHIP_KEY is 1"));
}

TEST(ReportTest, RejectsUnknownSigningKey) {
  for (uint32_t key : {2u, 3u, 6u, 7u}) {
    std::string b = Valid();
    Put32(b, off::kSignerInfo, key << 2);
    EXPECT_THAT(ParseReport(b).status().message(), HasSubstr("SIGNING_KEY is " + std::to_string(key)));
  }
  std::string b = Valid();
  Put32(b, off::kSignerInfo, 7u << 2);
  EXPECT_THAT(ParseReport(b).status().message(), HasSubstr("none"));
  Put32(b, off::kSignerInfo, 1u << 2);  // VLEK
  EXPECT_TRUE(ParseReport(b).ok());
  Put32(b, off::kSignerInfo, 1u);  // AUTHOR_KEY_EN
  EXPECT_TRUE(ParseReport(b).ok());
  Put32(b, off::kSignerInfo, 1u << 5);  // reserved bit
  EXPECT_THAT(ParseReport(b).status().message(), HasSubstr("bits 31:5"));
}

TEST(ReportTest, RejectsNonZeroSignaturePadding) {
  struct Case {
    size_t offset;
    const char* want;
  } cases[] = {
      {off::kSigR + 48, "SIGNATURE R has non-zero padding"}, {off::kSigR + 71, "SIGNATURE R has non-zero padding"},
      {off::kSigS + 48, "SIGNATURE S has non-zero padding"}, {off::kSigS + 71, "SIGNATURE S has non-zero padding"},
      {off::kSigReserved, "SIGNATURE reserved area"},        {kReportSize - 1, "SIGNATURE reserved area"}};
  for (const auto& c : cases) {
    std::string b = Valid();
    b[c.offset] = 1;
    EXPECT_THAT(ParseReport(b).status().message(), HasSubstr(c.want)) << c.offset;
  }
}

TEST(ReportTest, RejectsNonZeroReservedFieldsPerVersion) {
  struct Case {
    uint32_t version;
    size_t offset;
    bool ok;
  } cases[] = {
      {3, 0x04C, false}, {3, 0x04F, false}, {3, 0x18B, false},
      {3, 0x19F, false}, {2, 0x188, false},  // v2 has no CPUID fields
      {3, 0x188, true},                      // v3 CPUID family
      {3, 0x1EB, false}, {3, 0x1EF, false}, {3, 0x1F8, false},
      {3, 0x29F, false}, {5, 0x1F8, true},  // v5 LAUNCH_MIT_VECTOR
      {5, 0x200, true},                     // v5 CURRENT_MIT_VECTOR
      {5, 0x208, false}, {5, 0x29F, false},
  };
  for (const auto& c : cases) {
    std::string b = Valid(c.version);
    b[c.offset] = static_cast<char>(0x19);
    auto r = ParseReport(b);
    EXPECT_EQ(r.ok(), c.ok) << "v" << c.version << " offset 0x" << std::hex << c.offset << ": " << r.status();
    if (!c.ok) {
      EXPECT_THAT(r.status().message(), HasSubstr("must be zero"));
    }
  }
}

TEST(ReportTest, RejectsBadPolicyReservedBits) {
  std::string b = Valid();
  b[off::kPolicy + 2] = 0x01;  // bit 17 clear
  EXPECT_THAT(ParseReport(b).status().message(), HasSubstr("bit 17 must be 1"));
  b = Valid();
  b[off::kPolicy + 3] = 0x04;  // bit 26
  EXPECT_THAT(ParseReport(b).status().message(), HasSubstr("bits 63:26"));
}

TEST(ReportTest, MitigationVectorsParsedForV5Only) {
  Report r;
  r.version = 5;
  r.policy = 0x30000;
  r.launch_mit_vector = 0x11;
  r.current_mit_vector = 0x22;
  auto p = ParseReport(SerializeReport(r));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->launch_mit_vector, 0x11u);
  EXPECT_EQ(p->current_mit_vector, 0x22u);
}

TEST(TcbTest, LayoutsDifferPerProduct) {
  const uint64_t raw = 0x4405000000000002ull;  // Milan: bl=2 snp=5 ucode=0x44
  EXPECT_EQ(DecodeTcb(raw, Product::kMilan), (Tcb{.fmc = 0, .bl = 2, .tee = 0, .snp = 5, .ucode = 0x44}));
  EXPECT_EQ(DecodeTcb(raw, Product::kGenoa), DecodeTcb(raw, Product::kMilan));
  const uint64_t turin = 0x4800000004030201ull;  // fmc=1 bl=2 tee=3 snp=4 ucode=0x48
  EXPECT_EQ(DecodeTcb(turin, Product::kTurin), (Tcb{.fmc = 1, .bl = 2, .tee = 3, .snp = 4, .ucode = 0x48}));
  for (Product p : {Product::kMilan, Product::kTurin}) {
    Tcb t{.fmc = p == Product::kTurin ? uint8_t{9} : uint8_t{0}, .bl = 7, .tee = 1, .snp = 22, .ucode = 213};
    EXPECT_EQ(DecodeTcb(EncodeTcb(t, p), p), t);
  }
}

TEST(TcbTest, ComparesComponentWise) {
  Tcb a{.fmc = 0, .bl = 3, .tee = 0, .snp = 8, .ucode = 115};
  Tcb b = a;
  std::string lower;
  EXPECT_TRUE(TcbAtLeast(a, b, Product::kMilan, &lower));
  b.bl = 4;  // a higher ucode must not compensate a lower bl (no integer comparison)
  a.ucode = 255;
  EXPECT_FALSE(TcbAtLeast(a, b, Product::kMilan, &lower));
  EXPECT_EQ(lower, "bl");
  Tcb c{.fmc = 1, .bl = 3, .tee = 0, .snp = 8, .ucode = 115};
  Tcb d{.fmc = 2, .bl = 3, .tee = 0, .snp = 8, .ucode = 115};
  EXPECT_TRUE(TcbAtLeast(c, d, Product::kMilan));  // fmc ignored off Turin
  EXPECT_FALSE(TcbAtLeast(c, d, Product::kTurin, &lower));
  EXPECT_EQ(lower, "fmc");
}

TEST(ProductTest, FromCpuid) {
  EXPECT_EQ(ProductFromCpuid(0x19, 0x01), Product::kMilan);
  EXPECT_EQ(ProductFromCpuid(0x19, 0x0F), Product::kMilan);
  EXPECT_EQ(ProductFromCpuid(0x19, 0x11), Product::kGenoa);
  EXPECT_EQ(ProductFromCpuid(0x19, 0xA0), Product::kGenoa);
  EXPECT_EQ(ProductFromCpuid(0x19, 0x30), Product::kUnknown);
  EXPECT_EQ(ProductFromCpuid(0x1A, 0x02), Product::kTurin);
  EXPECT_EQ(ProductFromCpuid(0x17, 0x01), Product::kUnknown);
  EXPECT_EQ(*ParseProduct("Milan-B0"), Product::kMilan);
  EXPECT_EQ(*ParseProduct("genoa"), Product::kGenoa);
  EXPECT_EQ(*ParseProduct("Turin"), Product::kTurin);
  EXPECT_FALSE(ParseProduct("Rome").ok());
}

}  // namespace
}  // namespace spirecvm::sevsnp::abi
