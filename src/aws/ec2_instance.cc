#include "aws/ec2_instance.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace spirecvm::aws {
namespace {

constexpr size_t kMaxItems = 1000;

std::optional<absl::Time> ParseTime(const std::string& s) {
  absl::Time t;
  std::string why;
  if (s.empty() || !absl::ParseTime(absl::RFC3339_full, s, &t, &why)) return std::nullopt;
  return t;
}

std::vector<const XmlElement*> Items(const XmlElement& parent, const char* list) {
  const XmlElement* l = parent.Child(list);
  if (l == nullptr) return {};
  auto items = l->Children("item");
  if (items.size() > kMaxItems) items.resize(kMaxItems);
  return items;
}

Ec2Instance FromItem(const XmlElement& i) {
  Ec2Instance out;
  out.instance_id = i.ChildText("instanceId");
  if (const XmlElement* st = i.Child("instanceState")) out.state = st->ChildText("name");
  for (const XmlElement* t : Items(i, "tagSet")) out.tags.emplace_back(t->ChildText("key"), t->ChildText("value"));
  for (const XmlElement* g : Items(i, "groupSet")) {
    out.security_groups.emplace_back(g->ChildText("groupId"), g->ChildText("groupName"));
  }
  if (const XmlElement* p = i.Child("iamInstanceProfile")) out.instance_profile_arn = p->ChildText("arn");
  out.root_device_type = i.ChildText("rootDeviceType");
  out.root_device_name = i.ChildText("rootDeviceName");
  for (const XmlElement* b : Items(i, "blockDeviceMapping")) {
    const XmlElement* ebs = b->Child("ebs");
    out.block_devices.emplace_back(b->ChildText("deviceName"),
                                   ebs ? ParseTime(ebs->ChildText("attachTime")) : std::nullopt);
  }
  for (const XmlElement* n : Items(i, "networkInterfaceSet")) {
    const XmlElement* a = n->Child("attachment");
    int idx = 0;
    if (a == nullptr || !absl::SimpleAtoi(a->ChildText("deviceIndex"), &idx) || idx != 0) continue;
    out.eni0_device_index = idx;
    out.eni0_attach_time = ParseTime(a->ChildText("attachTime"));
  }
  if (const XmlElement* c = i.Child("cpuOptions")) out.amd_sev_snp = c->ChildText("amdSevSnp");
  return out;
}

}  // namespace

absl::StatusOr<Ec2Instance> ParseDescribeInstances(const XmlElement& answer, const std::string& instance_id) {
  for (const XmlElement* r : Items(answer, "reservationSet")) {
    for (const XmlElement* i : Items(*r, "instancesSet")) {
      if (i->ChildText("instanceId") == instance_id) return FromItem(*i);
    }
  }
  return absl::NotFoundError(absl::StrCat("EC2 DescribeInstances does not know instance ", instance_id));
}

std::vector<std::string> ParseInstanceProfileRoles(const XmlElement& answer) {
  std::vector<std::string> out;
  const XmlElement* p = answer.Find("InstanceProfile");
  if (p == nullptr) return out;
  const XmlElement* roles = p->Child("Roles");
  if (roles == nullptr) return out;
  for (const XmlElement* m : roles->Children("member")) {
    if (out.size() >= kMaxItems) break;
    std::string arn = m->ChildText("Arn");
    if (!arn.empty()) out.push_back(arn);
  }
  return out;
}

absl::StatusOr<std::string> InstanceProfileName(const std::string& arn) {
  std::vector<std::string> parts = absl::StrSplit(arn, absl::MaxSplits(':', 5));
  if (parts.size() != 6 || parts[0] != "arn" || parts[2] != "iam") {
    return absl::InvalidArgumentError(absl::StrCat("\"", arn, "\" is not an IAM ARN"));
  }
  const std::string& res = parts[5];
  const std::string prefix = "instance-profile";
  if (res.rfind(prefix, 0) != 0 || res.size() <= prefix.size() + 1 ||
      (res[prefix.size()] != '/' && res[prefix.size()] != ':')) {
    return absl::InvalidArgumentError(absl::StrCat("\"", arn, "\" is not an instance profile ARN"));
  }
  std::string rest = res.substr(prefix.size() + 1);
  return std::string(rest.substr(rest.rfind('/') == std::string::npos ? 0 : rest.rfind('/') + 1));
}

}  // namespace spirecvm::aws
