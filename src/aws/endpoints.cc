#include "aws/endpoints.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace spirecvm::aws {
namespace {

struct Partition {
  const char* name;
  const char* region_prefix;  // regions of this partition start with it ("" = any not claimed by another)
  const char* dns_suffix;
  const char* global_region;  // where IAM / Organizations sign
};

constexpr Partition kPartitions[] = {
    {"aws", "", "amazonaws.com", "us-east-1"},
    {"aws-cn", "cn-", "amazonaws.com.cn", "cn-north-1"},
    {"aws-us-gov", "us-gov-", "amazonaws.com", "us-gov-west-1"},
};

const Partition* Find(const std::string& name) {
  for (const auto& p : kPartitions) {
    if (name == p.name) return &p;
  }
  return nullptr;
}

bool ValidRegion(const std::string& r) {
  if (r.empty() || r.size() > 32) return false;
  for (char c : r) {
    if (!absl::ascii_isalnum(c) && c != '-') return false;
  }
  return true;
}

std::string EnvName(const std::string& service) {
  std::string s = absl::AsciiStrToUpper(service);
  for (char& c : s) {
    if (c == '-' || c == ' ') c = '_';
  }
  return "AWS_ENDPOINT_URL_" + s;
}

}  // namespace

Getenv ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
}

absl::Status CheckPartition(const std::string& partition) {
  if (Find(partition) == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("partition \"", partition, "\" is not one of aws, aws-cn, aws-us-gov"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Endpoint> ResolveEndpoint(const std::string& partition, const std::string& service,
                                         const std::string& region, const Getenv& env) {
  const Partition* p = Find(partition);
  if (p == nullptr) return CheckPartition(partition);
  if (!ValidRegion(region)) return absl::InvalidArgumentError(absl::StrCat("AWS region \"", region, "\" is not valid"));
  const bool in_cn = absl::StartsWith(region, "cn-"), in_gov = absl::StartsWith(region, "us-gov-");
  if ((partition == "aws" && (in_cn || in_gov)) || (partition == "aws-cn" && !in_cn) ||
      (partition == "aws-us-gov" && !in_gov)) {
    return absl::InvalidArgumentError(
        absl::StrCat("AWS region \"", region, "\" does not belong to partition \"", partition, "\""));
  }
  const bool global = service == "iam" || service == "organizations";
  Endpoint e;
  e.signing_region = global ? p->global_region : region;
  if (auto v = env(EnvName(service))) {
    e.url = *v;
  } else if (auto all = env("AWS_ENDPOINT_URL")) {
    e.url = *all;
  } else if (service == "iam") {
    e.url = partition == "aws"      ? "https://iam.amazonaws.com"
            : partition == "aws-cn" ? "https://iam.cn-north-1.amazonaws.com.cn"
                                    : "https://iam.us-gov.amazonaws.com";
  } else {
    e.url = absl::StrCat("https://", service, ".", global ? p->global_region : region, ".", p->dns_suffix);
  }
  while (absl::EndsWith(e.url, "/")) e.url.pop_back();
  if (!absl::StartsWith(e.url, "https://") && !absl::StartsWith(e.url, "http://")) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint \"", e.url, "\" for AWS ", service, " must start with http:// or https://"));
  }
  return e;
}

}  // namespace spirecvm::aws
