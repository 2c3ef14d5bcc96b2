// The facts the aws_iid attestor reads from EC2 DescribeInstances and IAM GetInstanceProfile answers, parsed from
// the Query-protocol XML with every list bounded.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "aws/xml.h"

namespace spirecvm::aws {

struct Ec2Instance {
  std::string instance_id;
  std::string state;  // pending, running, stopping, stopped, shutting-down, terminated
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<std::pair<std::string, std::string>> security_groups;  // (id, name)
  std::string instance_profile_arn;                                  // empty when none
  std::string root_device_type, root_device_name;
  std::vector<std::pair<std::string, std::optional<absl::Time>>> block_devices;  // (device name, EBS attach time)
  std::optional<int> eni0_device_index;
  std::optional<absl::Time> eni0_attach_time;
  std::string amd_sev_snp;  // CpuOptions.AmdSevSnp: "enabled", "disabled" or "" when AWS reports none
};

// The instance `instance_id` from a DescribeInstances answer; NotFound when it is not there.
absl::StatusOr<Ec2Instance> ParseDescribeInstances(const XmlElement& answer, const std::string& instance_id);

// The role ARNs of an IAM GetInstanceProfile answer.
std::vector<std::string> ParseInstanceProfileRoles(const XmlElement& answer);

// "arn:aws:iam::123:instance-profile/path/name" -> "name"; InvalidArgument when it is not an instance profile ARN.
absl::StatusOr<std::string> InstanceProfileName(const std::string& arn);

}  // namespace spirecvm::aws
