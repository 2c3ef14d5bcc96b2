#include "aws/kms.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status.h"
#include "common/strings.h"

namespace spirecvm::aws {
namespace {

using nlohmann::json;

std::string StringField(const json& o, const char* name) {
  auto it = o.find(name);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::optional<absl::Time> TimeField(const json& o, const char* name) {
  auto it = o.find(name);
  if (it == o.end() || !it->is_number()) return std::nullopt;
  double secs = it->get<double>();
  if (!std::isfinite(secs)) return std::nullopt;
  return absl::FromUnixMillis(static_cast<int64_t>(secs * 1000));
}

absl::StatusOr<std::string> BlobField(const json& o, const char* name, std::string_view action) {
  std::string b64 = StringField(o, name);
  if (b64.empty()) return absl::InvalidArgumentError(absl::StrCat("AWS kms ", ToAbsl(action), " answer has no ", name));
  auto raw = Base64Decode(b64);
  if (!raw.ok())
    return absl::InvalidArgumentError(absl::StrCat("AWS kms ", ToAbsl(action), " answer: ", name, " is not Base64"));
  return raw;
}

// Every page of a paginated List* call: `collect` reads one page.
template <typename Call, typename Collect>
absl::Status AllPages(json request, Call call, Collect collect) {
  for (int page = 0; page < 10000; ++page) {
    ASSIGN_OR_RETURN(json answer, call(request));
    RETURN_IF_ERROR(collect(answer));
    std::string marker = StringField(answer, "NextMarker");
    auto truncated = answer.find("Truncated");
    if (truncated == answer.end() || !truncated->is_boolean() || !truncated->get<bool>() || marker.empty()) {
      return absl::OkStatus();
    }
    request["Marker"] = marker;
  }
  return absl::ResourceExhaustedError("AWS kms: too many pages");
}

}  // namespace

absl::StatusOr<KmsKeyMetadata> ParseKeyMetadata(const json& answer) {
  auto it = answer.find("KeyMetadata");
  if (it == answer.end() || !it->is_object()) return absl::InvalidArgumentError("AWS kms answer has no KeyMetadata");
  KmsKeyMetadata m;
  m.key_id = StringField(*it, "KeyId");
  m.arn = StringField(*it, "Arn");
  m.key_spec = StringField(*it, "KeySpec");
  if (m.key_spec.empty()) m.key_spec = StringField(*it, "CustomerMasterKeySpec");
  m.key_state = StringField(*it, "KeyState");
  m.description = StringField(*it, "Description");
  auto enabled = it->find("Enabled");
  m.enabled = enabled != it->end() && enabled->is_boolean() && enabled->get<bool>();
  m.creation_date = TimeField(*it, "CreationDate").value_or(absl::InfinitePast());
  if (m.key_id.empty() || m.arn.empty()) return absl::InvalidArgumentError("AWS kms KeyMetadata lacks KeyId or Arn");
  return m;
}

absl::StatusOr<json> Kms::Call(const std::string& action, const json& body) const {
  return client_->Json("kms", "TrentService", action, body);
}

absl::StatusOr<KmsKeyMetadata> Kms::CreateKey(const std::string& key_spec, const std::string& description,
                                              const std::string& policy) const {
  json body = {{"KeySpec", key_spec}, {"KeyUsage", "SIGN_VERIFY"}, {"Description", description}};
  if (!policy.empty()) body["Policy"] = policy;
  ASSIGN_OR_RETURN(json answer, Call("CreateKey", body));
  return ParseKeyMetadata(answer);
}

absl::StatusOr<KmsKeyMetadata> Kms::DescribeKey(const std::string& key_id) const {
  ASSIGN_OR_RETURN(json answer, Call("DescribeKey", {{"KeyId", key_id}}));
  return ParseKeyMetadata(answer);
}

absl::StatusOr<std::string> Kms::GetPublicKey(const std::string& key_id) const {
  ASSIGN_OR_RETURN(json answer, Call("GetPublicKey", {{"KeyId", key_id}}));
  return BlobField(answer, "PublicKey", "GetPublicKey");
}

absl::StatusOr<std::string> Kms::SignDigest(const std::string& key_id, const std::string& algorithm,
                                            std::string_view digest) const {
  ASSIGN_OR_RETURN(json answer, Call("Sign", {{"KeyId", key_id},
                                              {"Message", Base64Encode(digest)},
                                              {"MessageType", "DIGEST"},
                                              {"SigningAlgorithm", algorithm}}));
  return BlobField(answer, "Signature", "Sign");
}

absl::Status Kms::CreateAlias(const std::string& alias, const std::string& key_id) const {
  return Call("CreateAlias", {{"AliasName", alias}, {"TargetKeyId", key_id}}).status();
}

absl::Status Kms::UpdateAlias(const std::string& alias, const std::string& key_id) const {
  return Call("UpdateAlias", {{"AliasName", alias}, {"TargetKeyId", key_id}}).status();
}

absl::Status Kms::DeleteAlias(const std::string& alias) const {
  return Call("DeleteAlias", {{"AliasName", alias}}).status();
}

absl::StatusOr<std::vector<KmsAlias>> Kms::ListAliases(const std::string& key_id) const {
  std::vector<KmsAlias> out;
  json request = {{"Limit", 100}};
  if (!key_id.empty()) request["KeyId"] = key_id;
  auto collect = [&out](const json& answer) -> absl::Status {
    auto it = answer.find("Aliases");
    if (it == answer.end() || !it->is_array()) return absl::OkStatus();
    for (const json& a : *it) {
      if (!a.is_object()) continue;
      out.push_back({StringField(a, "AliasName"), StringField(a, "AliasArn"), StringField(a, "TargetKeyId"),
                     TimeField(a, "LastUpdatedDate")});
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(AllPages(
      request, [this](const json& r) { return Call("ListAliases", r); }, collect));
  return out;
}

absl::StatusOr<std::vector<std::string>> Kms::ListKeys() const {
  std::vector<std::string> out;
  auto collect = [&out](const json& answer) -> absl::Status {
    auto it = answer.find("Keys");
    if (it == answer.end() || !it->is_array()) return absl::OkStatus();
    for (const json& k : *it) {
      if (k.is_object() && !StringField(k, "KeyArn").empty()) out.push_back(StringField(k, "KeyArn"));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(AllPages(
      json{{"Limit", 1000}}, [this](const json& r) { return Call("ListKeys", r); }, collect));
  return out;
}

absl::Status Kms::ScheduleKeyDeletion(const std::string& key_id, int pending_window_days) const {
  return Call("ScheduleKeyDeletion", {{"KeyId", key_id}, {"PendingWindowInDays", pending_window_days}}).status();
}

absl::StatusOr<std::pair<std::string, std::string>> Kms::CallerIdentity() const {
  ASSIGN_OR_RETURN(XmlElement x, client_->Query("sts", "GetCallerIdentity", "2011-06-15", {}));
  const XmlElement* r = x.Find("GetCallerIdentityResult");
  const XmlElement& res = r != nullptr ? *r : x;
  return std::make_pair(res.ChildText("Arn"), res.ChildText("Account"));
}

}  // namespace spirecvm::aws
