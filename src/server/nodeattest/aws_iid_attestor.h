// NodeAttestor "aws_iid" with the SEV-SNP challenge: the agent proves it is an EC2 instance (the
// instance identity document, signed by AWS) and, in the same attestation, that it runs in an
// AMD SEV-SNP VM (a report bound to a fresh server nonce, the agent's CSR key and the document).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attestation/awsiid/verifier.h"
#include "attestation/sevsnp/policy/policy.h"
#include "attestation/sevsnp/verify/verifier.h"
#include "aws/ec2_describer.h"
#include "common/clock.h"
#include "common/config_reader.h"
#include "common/random.h"
#include "server/nodeattest/node_attestor.h"

namespace spirecvm::server {

struct SevSnpSettings {
  bool enabled = false;             // a sev_snp block is present
  bool required = false;            // an agent without a valid report is refused
  bool allow_reattestation = true;  // same instance, same guest launch (REPORT_ID): may attest again
  // A VCEK-signed report (AWS Dedicated Hosts) is refused unless allowed: only a VLEK's csp_id ties the report to
  // AWS and to the IID's region (docs/security.md, finding 1).
  bool allow_vcek = false;
  // How long an agent admitted with a report may renew its SVID (RenewAgent) without a fresh report from the same
  // launch. Zero (the default): never; every agent SVID rotation is a re-attestation with a fresh report,
  // checked against the current policy. A positive interval needs allow_reattestation = false (a re-attestable
  // agent always re-attests instead of renewing).
  absl::Duration reattest_interval = absl::ZeroDuration();
  absl::Duration nonce_ttl = absl::Seconds(60);
  sevsnp::policy::Policy policy;
  std::string amd_certs_dir;
  std::string kds_url = "https://kdsintf.amd.com";
  bool kds_fetch = false;
  std::string kds_cache_dir;
  bool check_crl = false;
  std::vector<std::string> insecure_extra_roots;  // PEM files: trusted besides the pinned AMD roots
  sevsnp::abi::Product product_fallback = sevsnp::abi::Product::kUnknown;
  // Workload X509-SVIDs (and JWT-SVIDs, as a `cvm` claim) minted for a node admitted with a report carry its facts,
  // except for SPIFFE IDs starting with one of svid_evidence_exclude (docs/svid-evidence.md). The agent's own SVID
  // always carries them.
  bool svid_evidence = false;
  std::vector<std::string> svid_evidence_exclude;
};

struct AwsIidAttestorConfig {
  awsiid::Config iid;
  SevSnpSettings sev;
  // The AWS API checks (DescribeInstances, GetInstanceProfile, Organizations): on with describe_instances = true or
  // any of SPIRE's AWS API keys (access_key_id, assume_role, skip_block_device, verify_organization, ...).
  bool describe_instances = false;
  aws::Ec2DescriberSettings aws;
};

// The rules between settings: with sev_snp, account_ids must be non-empty; reattest_interval only with
// allow_reattestation = false, and then required. InvalidArgument naming the key otherwise.
absl::Status CheckSevSnpSettings(const AwsIidAttestorConfig& cfg);

// Reads plugin_data; errors (and unknown keys) go into the section.
AwsIidAttestorConfig ParseAwsIidAttestorConfig(config::Section& data);

// Builds the attestor: loads the AWS certificates, AMD roots and CRLs.
absl::StatusOr<std::unique_ptr<NodeAttestor>> NewAwsIidAttestor(const AwsIidAttestorConfig& cfg,
                                                                const spiffe::TrustDomain& td, Clock& clock,
                                                                Random& rnd);

// The csp_id a genuine AWS VLEK carries for `region`: "CN=cc-<region>.amazonaws.com".
std::string AwsVlekCspId(std::string_view region);

// The aws_iid:* selectors derived from a verified report (without the "aws_iid" type).
std::vector<std::string> SevSnpSelectorValues(const sevsnp::verify::VerifiedReport& r);

}  // namespace spirecvm::server
