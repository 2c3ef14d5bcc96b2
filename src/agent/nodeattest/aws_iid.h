// NodeAttestor "aws_iid" (agent side): proves the agent runs on an EC2 instance (instance identity document from
// IMDSv2) and inside an AMD SEV-SNP VM (an attestation report bound to the server's nonce, the CSR key and the
// document). See docs/plugins/agent-aws_iid.md and docs/report-providers.md.
//
//   payload    the AttestationPayload JSON ({"document", "rsa2048", "sev_snp_challenge": true}), strings exactly as
//              IMDS served them; "sev_snp_challenge" announces that this agent answers the challenge below (SPIRE's
//              agent does not send it, SPIRE's server ignores it)
//   challenge  {"sev_snp_nonce": "<base64 of 32 bytes>"}
//   answer     {"report": "<base64>", "cert_table": "<base64>"}  or  {"unavailable": "<reason>"}
//              REPORT_DATA = SevSnpReportData(nonce, CSR SPKI DER, document bytes sent in the payload)
//
// The agent never decides whether SEV-SNP is required: it always announces the challenge, and when it has no
// report it says why and the server accepts or refuses. A server without sev_snp (or SPIRE's) sends no challenge.
//
// plugin_data:
//   ec2_metadata_endpoint = "http://169.254.169.254"
//   sev_snp { report_provider = "auto" ... }   (agent/sevsnp/provider_config.h)
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "agent/nodeattest/node_attestor.h"
#include "agent/sevsnp/provider_config.h"
#include "agent/sevsnp/report_provider.h"
#include "attestation/awsiid/imds_client.h"
#include "common/config_reader.h"

namespace spirecvm::agent {

inline constexpr char kAwsIidPluginName[] = "aws_iid";

struct AwsIidAgentConfig {
  std::string ec2_metadata_endpoint = "http://169.254.169.254";
  snp::SevSnpConfig sev_snp;
};

// Reads plugin_data; every problem is recorded in `plugin_data` (the caller runs Finish() to collect them
// together with unknown keys). No side effects.
AwsIidAgentConfig ParseAwsIidConfig(config::Section& plugin_data);

class AwsIidAttestor final : public NodeAttestorClient {
 public:
  // Builds the IMDS client and the report provider ("simulated" loads or creates its hierarchy here).
  static absl::StatusOr<std::unique_ptr<AwsIidAttestor>> Create(const AwsIidAgentConfig& config);
  // Tests: any IMDS options and provider (null provider = "none").
  static absl::StatusOr<std::unique_ptr<AwsIidAttestor>> Create(awsiid::ImdsClientOptions imds,
                                                                std::unique_ptr<snp::ReportProvider> provider);

  std::string type() const override { return kAwsIidPluginName; }
  absl::StatusOr<std::unique_ptr<NodeAttestationSession>> Start(const AttestationKeyInfo& key) override;
  // The IID is static and the server applies its own re-attestation rules (TOFU, same-launch REPORT_ID).
  bool CanReattest() const override { return true; }

  // Shared with sessions so a session never outlives what it uses.
  struct Shared {
    std::unique_ptr<awsiid::ImdsClient> imds;
    std::mutex provider_mu;  // providers keep per-process state (tsm entry names); one report at a time
    std::unique_ptr<snp::ReportProvider> provider;
  };

 private:
  explicit AwsIidAttestor(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  std::shared_ptr<Shared> shared_;
};

// The catalog's builder (agent/catalog.h): the attestor a parsed plugin_data describes.
absl::StatusOr<std::unique_ptr<NodeAttestorClient>> BuildAwsIidAttestor(const AwsIidAgentConfig& config,
                                                                        const NodeAttestorDeps& deps);

}  // namespace spirecvm::agent
