// AWS partitions and service endpoints, with the SDKs' environment overrides: AWS_ENDPOINT_URL_<SERVICE> (e.g.
// AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL_KMS) wins over AWS_ENDPOINT_URL, which wins over the partition's default.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace spirecvm::aws {

// Reads an environment variable; injected so tests do not touch the process environment.
using Getenv = std::function<std::optional<std::string>(const std::string&)>;
Getenv ProcessEnv();

struct Endpoint {
  std::string url;             // scheme://host[:port], no trailing slash
  std::string signing_region;  // the region SigV4 signs for
};

// partition: aws, aws-cn or aws-us-gov. service: ec2, iam, sts, kms, organizations. `region` must belong to the
// partition (e.g. cn-* to aws-cn). IAM and Organizations are global: one endpoint per partition.
absl::StatusOr<Endpoint> ResolveEndpoint(const std::string& partition, const std::string& service,
                                         const std::string& region, const Getenv& env);

// "aws" -> "arn:aws"; used to build role ARNs for assume_role.
absl::Status CheckPartition(const std::string& partition);

}  // namespace spirecvm::aws
