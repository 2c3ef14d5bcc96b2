// The aws_iid attestor's AWS API checks, as SPIRE's aws_iid does them, plus the SEV-SNP CPU option:
//   - verify_organization: the IID's account is an ACTIVE account of the configured AWS Organization
//     (Organizations ListAccounts in the management account, cached for org_account_map_ttl);
//   - ec2:DescribeInstances: the instance exists and is running;
//   - unless skip_block_device: the root EBS volume was attached within 60 s of the primary network interface
//     (a root volume swapped after launch is refused);
//   - with sev_snp required: CpuOptions.AmdSevSnp is "enabled";
//   - selectors tag:, sg:id:, sg:name:, and (unless disable_instance_profile_selectors) iamrole: through
//     iam:GetInstanceProfile.
// Credentials: the default chain (config keys, environment, IMDSv2 role); with assume_role, STS AssumeRole of
// arn:<partition>:iam::<IID account>:role/<assume_role> per account. Every AWS failure refuses the attestation
// with the AWS error named. Thread-safe: Describe may be called concurrently.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "attestation/awsiid/verifier.h"
#include "aws/client.h"
#include "common/clock.h"

namespace spirecvm::aws {

struct OrganizationSettings {
  bool enabled = false;
  std::string management_account_id;
  std::string assume_org_role;  // role in the management account; empty: the base credentials
  absl::Duration account_map_ttl = absl::Minutes(3);
};

struct Ec2DescriberSettings {
  std::string access_key_id, secret_access_key;
  std::string assume_role;
  std::string partition = "aws";
  bool skip_block_device = false;
  bool disable_instance_profile_selectors = false;
  bool require_sev_snp_cpu_option = false;
  OrganizationSettings organization;
  // Tests: environment (AWS_ENDPOINT_URL*, AWS_ACCESS_KEY_ID...), retry pacing. Defaults: the process's.
  Getenv env;
  std::function<void(absl::Duration)> sleep;
  bool use_imds_credentials = true;
};

class Ec2Describer final : public awsiid::InstanceDescriber {
 public:
  static absl::StatusOr<std::unique_ptr<Ec2Describer>> Create(Ec2DescriberSettings settings, Clock& clock);
  absl::StatusOr<awsiid::InstanceDetails> Describe(const awsiid::InstanceIdentityDocument& doc) override;

 private:
  Ec2Describer(Ec2DescriberSettings s, std::shared_ptr<CredentialProvider> base, Clock& clock)
      : s_(std::move(s)), base_(std::move(base)), clock_(clock) {}
  std::shared_ptr<Client> ClientFor(const std::string& region, const std::string& account, const std::string& role);
  absl::Status CheckOrganization(const std::string& region, const std::string& account);
  absl::Status CheckBlockDevice(const struct Ec2Instance& i) const;

  Ec2DescriberSettings s_;
  std::shared_ptr<CredentialProvider> base_;
  Clock& clock_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Client>> clients_;  // key: region/account/role
  std::set<std::string> org_accounts_;                      // ACTIVE accounts
  absl::Time org_fetched_ = absl::InfinitePast();
};

}  // namespace spirecvm::aws
