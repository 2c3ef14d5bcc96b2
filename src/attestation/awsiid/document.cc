#include "attestation/awsiid/document.h"

#include <nlohmann/json.hpp>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace spirecvm::awsiid {
namespace {

using json = nlohmann::json;

// A real document nests at most two levels (object -> array of strings). Refusing deeper input
// before handing it to the JSON library keeps recursion bounded whatever the library does.
constexpr int kMaxNesting = 4;

absl::Status CheckNesting(absl::string_view raw) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : raw) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kMaxNesting) {
        return absl::InvalidArgumentError(
            absl::StrCat("instance identity document nests deeper than ", kMaxNesting, " levels"));
      }
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return absl::OkStatus();
}

bool AllOf(absl::string_view s, bool (*pred)(unsigned char)) {
  for (char c : s) {
    if (!pred(static_cast<unsigned char>(c))) return false;
  }
  return true;
}
bool IsDigit(unsigned char c) { return c >= '0' && c <= '9'; }
bool IsLowerHex(unsigned char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }
bool IsLower(unsigned char c) { return c >= 'a' && c <= 'z'; }
// Characters that may appear in a SPIFFE path segment and a selector value.
bool IsSafeChar(unsigned char c) {
  return IsDigit(c) || IsLower(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '-' || c == '_';
}

absl::Status FieldError(absl::string_view field, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat("instance identity document: field \"", field, "\" ", reason));
}

absl::StatusOr<std::string> RequiredString(const json& doc, absl::string_view field) {
  auto it = doc.find(std::string(field));
  if (it == doc.end()) return FieldError(field, "is missing");
  if (!it->is_string()) return FieldError(field, "is not a string");
  std::string value = it->get<std::string>();
  if (value.empty()) return FieldError(field, "is empty");
  return value;
}

absl::StatusOr<std::string> OptionalString(const json& doc, absl::string_view field) {
  auto it = doc.find(std::string(field));
  if (it == doc.end() || it->is_null()) return std::string();
  if (!it->is_string()) return FieldError(field, "is neither a string nor null");
  return it->get<std::string>();
}

absl::StatusOr<std::vector<std::string>> OptionalStringList(const json& doc, absl::string_view field) {
  std::vector<std::string> out;
  auto it = doc.find(std::string(field));
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_array()) return FieldError(field, "is neither an array nor null");
  for (const auto& v : *it) {
    if (!v.is_string()) return FieldError(field, "holds a non-string element");
    out.push_back(v.get<std::string>());
  }
  return out;
}

// The document as a JSON object whose top-level keys are unique.
absl::StatusOr<json> ParseJsonObject(absl::string_view raw) {
  std::set<std::string> top_level_keys;
  std::string duplicate;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && parsed.is_string()) {
      if (!top_level_keys.insert(parsed.get<std::string>()).second && duplicate.empty()) {
        duplicate = parsed.get<std::string>();
      }
    }
    return true;
  };
  json doc = json::parse(raw.begin(), raw.end(), cb, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return absl::InvalidArgumentError("instance identity document is not valid JSON");
  }
  if (!doc.is_object()) {
    return absl::InvalidArgumentError("instance identity document is not a JSON object");
  }
  if (!duplicate.empty()) return FieldError(duplicate, "appears more than once");
  return doc;
}

// accountId, region and availabilityZone (a zone of that region).
absl::Status ParseLocation(const json& doc, InstanceIdentityDocument& out) {
  ASSIGN_OR_RETURN(out.account_id, RequiredString(doc, "accountId"));
  if (!IsValidAccountId(out.account_id)) {
    return FieldError("accountId", absl::StrCat("\"", out.account_id, "\" is not 12 digits"));
  }
  ASSIGN_OR_RETURN(out.region, RequiredString(doc, "region"));
  if (!IsValidRegion(out.region)) {
    return FieldError("region", absl::StrCat("\"", out.region, "\" is not an AWS region name"));
  }
  ASSIGN_OR_RETURN(out.availability_zone, RequiredString(doc, "availabilityZone"));
  if (!absl::StartsWith(out.availability_zone, out.region) || out.availability_zone.size() == out.region.size() ||
      !AllOf(out.availability_zone, IsSafeChar)) {
    return FieldError(
        "availabilityZone",
        absl::StrCat("\"", out.availability_zone, "\" is not an availability zone of region \"", out.region, "\""));
  }
  return absl::OkStatus();
}

// instanceId, imageId, instanceType and pendingTime.
absl::Status ParseInstance(const json& doc, InstanceIdentityDocument& out) {
  ASSIGN_OR_RETURN(out.instance_id, RequiredString(doc, "instanceId"));
  if (!IsValidInstanceId(out.instance_id)) {
    return FieldError("instanceId", absl::StrCat("\"", out.instance_id, "\" is not an EC2 instance id"));
  }
  ASSIGN_OR_RETURN(out.image_id, RequiredString(doc, "imageId"));
  if (!absl::StartsWith(out.image_id, "ami-") || out.image_id.size() < 5 || out.image_id.size() > 4 + 32 ||
      !AllOf(out.image_id.substr(4), IsLowerHex)) {
    return FieldError("imageId", absl::StrCat("\"", out.image_id, "\" is not an AMI id"));
  }
  ASSIGN_OR_RETURN(out.instance_type, RequiredString(doc, "instanceType"));
  if (out.instance_type.size() > 64 || !AllOf(out.instance_type, IsSafeChar)) {
    return FieldError("instanceType", absl::StrCat("\"", out.instance_type, "\" is not an instance type"));
  }
  ASSIGN_OR_RETURN(const std::string pending, RequiredString(doc, "pendingTime"));
  std::string time_err;
  if (!absl::ParseTime(absl::RFC3339_full, pending, &out.pending_time, &time_err)) {
    return FieldError("pendingTime", absl::StrCat("\"", pending, "\" is not an RFC 3339 time: ", time_err));
  }
  return absl::OkStatus();
}

// The informational fields: strings or lists of strings, each may be absent or null.
absl::Status ParseOptionalFields(const json& doc, InstanceIdentityDocument& out) {
  ASSIGN_OR_RETURN(out.architecture, OptionalString(doc, "architecture"));
  ASSIGN_OR_RETURN(out.private_ip, OptionalString(doc, "privateIp"));
  ASSIGN_OR_RETURN(out.version, OptionalString(doc, "version"));
  ASSIGN_OR_RETURN(out.kernel_id, OptionalString(doc, "kernelId"));
  ASSIGN_OR_RETURN(out.ramdisk_id, OptionalString(doc, "ramdiskId"));
  ASSIGN_OR_RETURN(out.billing_products, OptionalStringList(doc, "billingProducts"));
  ASSIGN_OR_RETURN(out.marketplace_product_codes, OptionalStringList(doc, "marketplaceProductCodes"));
  ASSIGN_OR_RETURN(out.devpay_product_codes, OptionalStringList(doc, "devpayProductCodes"));
  return absl::OkStatus();
}

absl::StatusOr<InstanceIdentityDocument> ParseChecked(absl::string_view raw) {
  ASSIGN_OR_RETURN(const json doc, ParseJsonObject(raw));
  InstanceIdentityDocument out;
  out.raw = std::string(raw);
  RETURN_IF_ERROR(ParseLocation(doc, out));
  RETURN_IF_ERROR(ParseInstance(doc, out));
  RETURN_IF_ERROR(ParseOptionalFields(doc, out));
  return out;
}

}  // namespace

bool IsValidAccountId(absl::string_view s) { return s.size() == 12 && AllOf(s, IsDigit); }

bool IsValidRegion(absl::string_view s) {
  // [a-z]+ ( -[a-z]+ )+ -[0-9]+   e.g. us-west-2, us-gov-west-1, eusc-de-east-1, us-isob-east-1
  if (s.size() < 4 || s.size() > 32) return false;
  size_t last_dash = s.rfind('-');
  if (last_dash == absl::string_view::npos) return false;
  absl::string_view number = s.substr(last_dash + 1);
  if (number.empty() || !AllOf(number, IsDigit)) return false;
  absl::string_view words = s.substr(0, last_dash);  // e.g. "us-west" or "us-gov-west"
  int count = 0;
  size_t start = 0;
  while (true) {
    size_t dash = words.find('-', start);
    absl::string_view word = words.substr(start, dash == absl::string_view::npos ? dash : dash - start);
    if (word.empty() || !AllOf(word, IsLower)) return false;
    ++count;
    if (dash == absl::string_view::npos) break;
    start = dash + 1;
  }
  return count >= 2;
}

bool IsValidInstanceId(absl::string_view s) {
  if (!absl::StartsWith(s, "i-")) return false;
  absl::string_view hex = s.substr(2);
  return (hex.size() == 8 || hex.size() == 17) && AllOf(hex, IsLowerHex);
}

absl::StatusOr<InstanceIdentityDocument> ParseDocument(absl::string_view raw) {
  if (raw.empty()) return absl::InvalidArgumentError("instance identity document is empty");
  if (raw.size() > kMaxDocumentBytes) {
    return absl::InvalidArgumentError(absl::StrCat("instance identity document is ", raw.size(),
                                                   " bytes, more than the limit of ", kMaxDocumentBytes));
  }
  RETURN_IF_ERROR(CheckNesting(raw));
  try {
    return ParseChecked(raw);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("instance identity document could not be parsed: ", e.what()));
  }
}

}  // namespace spirecvm::awsiid
