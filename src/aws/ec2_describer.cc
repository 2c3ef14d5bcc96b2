#include "aws/ec2_describer.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "aws/ec2_instance.h"
#include "common/status.h"

namespace spirecvm::aws {
namespace {

constexpr int64_t kMaxSecondsBetweenAttachments = 60;
constexpr int kMaxOrgPages = 100;
constexpr char kEc2Version[] = "2016-11-15";
constexpr char kIamVersion[] = "2010-05-08";

}  // namespace

absl::StatusOr<std::unique_ptr<Ec2Describer>> Ec2Describer::Create(Ec2DescriberSettings s, Clock& clock) {
  RETURN_IF_ERROR(CheckPartition(s.partition));
  if (s.organization.enabled && s.organization.management_account_id.empty()) {
    return absl::InvalidArgumentError("verify_organization needs management_account_id");
  }
  if (s.organization.account_map_ttl < absl::Minutes(1)) {
    return absl::InvalidArgumentError("verify_organization.org_account_map_ttl must be at least 1m");
  }
  if (!s.env) s.env = ProcessEnv();
  ChainOptions o{s.access_key_id, s.secret_access_key, s.env};
  o.use_imds = s.use_imds_credentials;
  ASSIGN_OR_RETURN(std::shared_ptr<CredentialProvider> base, NewDefaultChain(o, clock));
  return std::unique_ptr<Ec2Describer>(new Ec2Describer(std::move(s), std::move(base), clock));
}

std::shared_ptr<Client> Ec2Describer::ClientFor(const std::string& region, const std::string& account,
                                                const std::string& role) {
  const std::string key = absl::StrCat(region, "/", account, "/", role);
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = clients_.find(key); it != clients_.end()) return it->second;
  ClientOptions o;
  o.partition = s_.partition;
  o.region = region;
  o.env = s_.env;
  if (s_.sleep) o.sleep = s_.sleep;
  auto base = std::make_shared<Client>(o, base_);
  std::shared_ptr<Client> c = base;
  if (!role.empty()) {
    auto creds = NewAssumeRoleProvider(base, RoleArn(s_.partition, account, role), "spire-server-aws-iid", clock_);
    c = std::make_shared<Client>(o, std::move(creds));
  }
  clients_[key] = c;
  return c;
}

absl::Status Ec2Describer::CheckOrganization(const std::string& region, const std::string& account) {
  const OrganizationSettings& org = s_.organization;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (clock_.Now() - org_fetched_ < org.account_map_ttl && org_accounts_.count(account)) return absl::OkStatus();
  }
  // Refresh when stale, and also when the account is missing (it may have joined since).
  auto client = ClientFor(region, org.management_account_id, org.assume_org_role);
  std::set<std::string> active;
  std::string next;
  for (int page = 0; page < kMaxOrgPages; ++page) {
    nlohmann::json req = nlohmann::json::object();
    if (!next.empty()) req["NextToken"] = next;
    ASSIGN_OR_RETURN(nlohmann::json r, client->Json("organizations", "AWSOrganizationsV20161128", "ListAccounts", req));
    if (r.contains("Accounts") && r["Accounts"].is_array()) {
      for (const auto& a : r["Accounts"]) {
        if (a.is_object() && a.value("Status", "") == "ACTIVE" && a.contains("Id") && a["Id"].is_string()) {
          active.insert(a["Id"].get<std::string>());
        }
      }
    }
    next = r.contains("NextToken") && r["NextToken"].is_string() ? r["NextToken"].get<std::string>() : "";
    if (next.empty()) break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  org_accounts_ = std::move(active);
  org_fetched_ = clock_.Now();
  if (org_accounts_.count(account)) return absl::OkStatus();
  return absl::PermissionDeniedError(absl::StrCat("account ", account,
                                                  " is not an ACTIVE account of the AWS Organization managed by ",
                                                  org.management_account_id, " (verify_organization)"));
}

absl::Status Ec2Describer::CheckBlockDevice(const Ec2Instance& i) const {
  if (!i.eni0_device_index.has_value() || !i.eni0_attach_time.has_value()) {
    return absl::PermissionDeniedError("the instance has no network interface at device index 0 with an attach time");
  }
  if (i.root_device_type == "instance-store") return absl::OkStatus();
  for (const auto& [name, attach] : i.block_devices) {
    if (name != i.root_device_name) continue;
    if (!attach.has_value()) {
      return absl::PermissionDeniedError(absl::StrCat("the root device ", name, " has no EBS attach time"));
    }
    const int64_t gap = std::llabs(absl::ToInt64Seconds(*attach - *i.eni0_attach_time));
    if (gap > kMaxSecondsBetweenAttachments) {
      return absl::PermissionDeniedError(absl::StrCat(
          "the root volume ", name, " was attached ", gap,
          " s apart from the primary network interface (more than 60 s: it may have been swapped after launch; "
          "skip_block_device disables this check)"));
    }
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("the root device \"", i.root_device_name, "\" is not among the instance's block device mappings"));
}

absl::StatusOr<awsiid::InstanceDetails> Ec2Describer::Describe(const awsiid::InstanceIdentityDocument& doc) {
  if (s_.organization.enabled) RETURN_IF_ERROR(CheckOrganization(doc.region, doc.account_id));
  auto ec2 = ClientFor(doc.region, doc.account_id, s_.assume_role);
  ASSIGN_OR_RETURN(XmlElement answer,
                   ec2->Query("ec2", "DescribeInstances", kEc2Version, {{"InstanceId.1", doc.instance_id}}));
  ASSIGN_OR_RETURN(Ec2Instance inst, ParseDescribeInstances(answer, doc.instance_id));
  if (inst.state != "running") {
    return absl::PermissionDeniedError(
        absl::StrCat("EC2 reports instance ", doc.instance_id, " as \"", inst.state, "\", not running"));
  }
  if (!s_.skip_block_device) RETURN_IF_ERROR(CheckBlockDevice(inst));
  if (s_.require_sev_snp_cpu_option && inst.amd_sev_snp != "enabled") {
    return absl::PermissionDeniedError(
        absl::StrCat("EC2 reports CpuOptions.AmdSevSnp of instance ", doc.instance_id, " as \"",
                     inst.amd_sev_snp.empty() ? "(absent)" : inst.amd_sev_snp,
                     "\", not \"enabled\": it was not launched as an SEV-SNP guest (sev_snp is required)"));
  }
  awsiid::InstanceDetails d;
  d.tags = inst.tags;
  for (const auto& [id, name] : inst.security_groups) {
    d.security_group_ids.push_back(id);
    d.security_group_names.push_back(name);
  }
  d.amd_sev_snp_enabled = inst.amd_sev_snp == "enabled";
  if (!s_.disable_instance_profile_selectors && !inst.instance_profile_arn.empty()) {
    ASSIGN_OR_RETURN(std::string profile, InstanceProfileName(inst.instance_profile_arn));
    ASSIGN_OR_RETURN(XmlElement p,
                     ec2->Query("iam", "GetInstanceProfile", kIamVersion, {{"InstanceProfileName", profile}}));
    d.iam_role_arns = ParseInstanceProfileRoles(p);
  }
  return d;
}

}  // namespace spirecvm::aws
