// TEST/SIMULATION ONLY. An AMD-like key hierarchy (ARK -> ASK -> VCEK, ARK -> ASVK -> VLEK) with the
// real certificate profiles and extension encodings, that builds and signs SEV-SNP reports with any
// field set. Used by unit tests for every negative case, by the agent's `simulated` report provider
// and by the demo. Its ARK is NOT one of AMD's pinned roots: a verifier accepts its reports only when
// its ARK is passed explicitly as an insecure_extra_roots entry.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attestation/sevsnp/abi/cert_table.h"
#include "attestation/sevsnp/abi/report.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::sevsnp::sim {

struct SignerOptions {
  abi::Product product = abi::Product::kMilan;
  int rsa_bits = 4096;                                                // AMD uses RSA-4096; tests may use 2048 for speed
  abi::Tcb tcb{.fmc = 0, .bl = 3, .tee = 0, .snp = 8, .ucode = 115};  // the VCEK/VLEK TCB
  std::string csp_id = "CN=simulated.spire-cvm.test";                 // VLEK csp_id
  absl::Time not_before = absl::FromUnixSeconds(1577836800);          // 2020-01-01
  absl::Time not_after = absl::FromUnixSeconds(4102444800);           // 2100-01-01
};

// What an endorsement certificate issued by IssueEndorsement should say (negative tests).
struct EndorsementSpec {
  abi::SigningKey kind = abi::SigningKey::kVcek;  // VCEK (issued by the ASK) or VLEK (by the ASVK)
  abi::Tcb tcb;
  std::string hw_id;  // VCEK: raw bytes (64, or 8 for Turin)
  bool wrap_hw_id_in_octet_string = false;
  std::string csp_id;  // VLEK
  int struct_version = 0;
  std::string product_name;        // e.g. "Milan-B0"
  bool two_byte_integers = false;  // force 02 02 00 xx even for values < 128 (non-DER; negative tests)
  absl::Time not_before, not_after;
  // Issue with the other intermediate (e.g. a VLEK-profile certificate under the ASK).
  bool issue_with_other_intermediate = false;
};

struct IssuedEndorsement {
  ssl::X509Ptr cert;
  ssl::EvpPkeyPtr key;
};

class TestOnlyAmdSigner {
 public:
  static absl::StatusOr<std::unique_ptr<TestOnlyAmdSigner>> Create(const SignerOptions& options);
  // Loads the hierarchy saved in `dir` by Save(), or creates one and saves it there.
  static absl::StatusOr<std::unique_ptr<TestOnlyAmdSigner>> CreateOrLoad(const std::string& dir,
                                                                         const SignerOptions& options = {});
  static absl::StatusOr<std::unique_ptr<TestOnlyAmdSigner>> Load(const std::string& dir);
  // Writes ark.pem/.key, ask.pem/.key, asvk.pem/.key, vcek.pem/.der/.key, vlek.pem/.der/.key,
  // ask_ark_<product>_vcek.pem and ask_ark_<product>_vlek.pem (so `dir` also works as an
  // amd_certs_dir), cert_table_vcek.bin and cert_table_vlek.bin. Keys are 0600.
  absl::Status Save(const std::string& dir) const;

  abi::Product product() const { return product_; }
  const abi::Tcb& tcb() const { return tcb_; }
  // The 64-byte CHIP_ID matching the VCEK's hwID (Turin: the first 8 bytes are the hwID).
  const std::array<uint8_t, 64>& chip_id() const { return chip_id_; }
  std::string csp_id() const { return csp_id_; }

  // A well-formed v3 report for this chip: POLICY 0x30000, VMPL 0, all TCBs = tcb(), CPUID of the
  // product, CHIP_ID, REPORT_ID_MA all 0xFF, firmware 1.55.21, PLATFORM_INFO SMT_EN.
  abi::Report DefaultReport() const;
  // Sets SIGNING_KEY to `key` and signs with that key.
  absl::StatusOr<std::string> SignReport(abi::Report fields, abi::SigningKey key) const;
  // Signs exactly the given fields (SIGNING_KEY untouched) with `key`'s private key.
  absl::StatusOr<std::string> SignReportRaw(const abi::Report& fields, abi::SigningKey key) const;
  // Signs with an arbitrary P-384 key (e.g. an IssuedEndorsement's).
  static absl::StatusOr<std::string> SignReportWithKey(const abi::Report& fields, EVP_PKEY* key);

  // GHCB certificate table: VCEK or VLEK, its intermediate, and the ARK.
  std::string CertTable(abi::SigningKey key) const;

  std::string ArkPem() const;
  std::string AskPem() const;
  std::string AsvkPem() const;
  std::string EndorsementDer(abi::SigningKey key) const;
  std::string EndorsementPem(abi::SigningKey key) const;
  // Intermediate then ARK, as KDS serves /<vcek|vlek>/v1/<Product>/cert_chain.
  std::string ChainPem(abi::SigningKey key) const;
  X509* ark() const { return ark_.get(); }
  X509* ask() const { return ask_.get(); }
  X509* asvk() const { return asvk_.get(); }

  // A default spec for a VCEK/VLEK of this chip (negative tests modify it).
  EndorsementSpec DefaultSpec(abi::SigningKey kind) const;
  absl::StatusOr<IssuedEndorsement> IssueEndorsement(const EndorsementSpec& spec) const;
  // An ARK-signed CRL listing the given intermediates as revoked.
  absl::StatusOr<std::string> IssueCrlPem(const std::vector<X509*>& revoked, absl::Time this_update,
                                          absl::Time next_update) const;

 private:
  TestOnlyAmdSigner() = default;
  absl::Status Generate(const SignerOptions& options);

  abi::Product product_ = abi::Product::kMilan;
  abi::Tcb tcb_;
  std::string csp_id_;
  std::array<uint8_t, 64> chip_id_{};
  absl::Time not_before_, not_after_;
  ssl::EvpPkeyPtr ark_key_, ask_key_, asvk_key_, vcek_key_, vlek_key_;
  ssl::X509Ptr ark_, ask_, asvk_, vcek_, vlek_;
};

// DER encodings of the AMD extension values (exposed for tests of the parser).
std::string DerSmallInteger(int v, bool two_bytes = false);
std::string DerIa5String(absl::string_view s);

}  // namespace spirecvm::sevsnp::sim
