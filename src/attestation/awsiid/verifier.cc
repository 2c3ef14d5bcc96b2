#include "attestation/awsiid/verifier.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "attestation/awsiid/signature.h"
#include "common/status.h"

namespace spirecvm::awsiid {
namespace {

using json = nlohmann::json;

bool IsPathChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

absl::Status CheckSpiffePath(absl::string_view path) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("agent path \"", path, "\" must start with /"));
  }
  size_t start = 1;
  while (true) {
    size_t slash = path.find('/', start);
    absl::string_view seg =
        path.substr(start, slash == absl::string_view::npos ? absl::string_view::npos : slash - start);
    if (seg.empty() || seg == "." || seg == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("agent path \"", path, "\" has an empty, \".\" or \"..\" segment"));
    }
    for (char c : seg) {
      if (!IsPathChar(c)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "agent path \"", path, "\" has a character not allowed in a SPIFFE ID path: '", std::string(1, c), "'"));
      }
    }
    if (slash == absl::string_view::npos) break;
    start = slash + 1;
  }
  return absl::OkStatus();
}

}  // namespace

// ---- AttestationPayload ----

std::string AttestationPayload::ToJson() const {
  json j = json::object();
  j["document"] = document;
  if (!signature.empty()) j["signature"] = signature;
  if (!rsa2048.empty()) j["rsa2048"] = rsa2048;
  if (sev_snp_challenge) j[std::string(kSevSnpChallengeMember)] = true;
  // The document is ASCII JSON from IMDS; replace (not throw) should anything invalid slip in.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

absl::StatusOr<AttestationPayload> AttestationPayload::FromJson(absl::string_view text) {
  if (text.size() > kMaxPayloadBytes) {
    return absl::InvalidArgumentError(absl::StrCat("aws_iid attestation payload is ", text.size(),
                                                   " bytes, more than the limit of ", kMaxPayloadBytes));
  }
  json j;
  try {
    j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("aws_iid attestation payload is not valid JSON: ", e.what()));
  }
  if (j.is_discarded()) {
    return absl::InvalidArgumentError("aws_iid attestation payload is not valid JSON");
  }
  if (!j.is_object()) {
    return absl::InvalidArgumentError("aws_iid attestation payload is not a JSON object");
  }
  AttestationPayload p;
  auto get = [&](const char* key, std::string& out, bool required) -> absl::Status {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) {
      if (required) {
        return absl::InvalidArgumentError(absl::StrCat("aws_iid attestation payload has no \"", key, "\""));
      }
      return absl::OkStatus();
    }
    if (!it->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("aws_iid attestation payload: \"", key, "\" is not a string"));
    }
    out = it->get<std::string>();
    if (required && out.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("aws_iid attestation payload: \"", key, "\" is empty"));
    }
    return absl::OkStatus();
  };
  RETURN_IF_ERROR(get("document", p.document, true));
  RETURN_IF_ERROR(get("rsa2048", p.rsa2048, false));
  RETURN_IF_ERROR(get("signature", p.signature, false));
  if (auto it = j.find(kSevSnpChallengeMember); it != j.end()) {
    if (!it->is_boolean()) {
      return absl::InvalidArgumentError(absl::StrCat("aws_iid attestation payload: \"", kSevSnpChallengeMember,
                                                     "\" must be a boolean (true or false), not JSON ",
                                                     it->type_name()));
    }
    p.sev_snp_challenge = it->get<bool>();
  }
  return p;
}

// ---- AgentPathTemplate ----

absl::StatusOr<AgentPathTemplate> AgentPathTemplate::Parse(absl::string_view tmpl) {
  static const std::pair<absl::string_view, Field> kNames[] = {
      {"PluginName", Field::kPluginName},
      {"AccountID", Field::kAccountId},
      {"Region", Field::kRegion},
      {"InstanceID", Field::kInstanceId},
      {"AvailabilityZone", Field::kAvailabilityZone},
      {"ImageID", Field::kImageId},
      {"InstanceType", Field::kInstanceType},
      {"Architecture", Field::kArchitecture},
  };
  auto err = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("agent_path_template \"", tmpl, "\": ", why));
  };
  AgentPathTemplate t;
  t.source_ = std::string(tmpl);
  if (tmpl.empty() || tmpl[0] != '/') return err("must start with /");
  size_t pos = 0;
  while (pos < tmpl.size()) {
    size_t open = tmpl.find("{{", pos);
    absl::string_view literal = tmpl.substr(pos, open == absl::string_view::npos ? open : open - pos);
    if (literal.find("}}") != absl::string_view::npos) return err("\"}}\" without \"{{\"");
    if (!literal.empty()) t.parts_.push_back({Field::kLiteral, std::string(literal)});
    if (open == absl::string_view::npos) break;
    size_t close = tmpl.find("}}", open + 2);
    if (close == absl::string_view::npos) return err("\"{{\" without \"}}\"");
    absl::string_view inner = absl::StripAsciiWhitespace(tmpl.substr(open + 2, close - open - 2));
    if (inner.empty() || inner[0] != '.') {
      return err(absl::StrCat("\"{{ ", inner, " }}\" is not a field reference; only {{ .Name }} is supported"));
    }
    absl::string_view name = inner.substr(1);
    bool found = false;
    for (const auto& [n, f] : kNames) {
      if (n == name) {
        t.parts_.push_back({f, {}});
        found = true;
      }
    }
    if (!found) {
      std::vector<absl::string_view> names;
      for (const auto& [n, f] : kNames) names.push_back(n);
      return err(absl::StrCat("unknown placeholder \"", inner, "\"",
                              name.rfind("Tags", 0) == 0 ? " (tags need AWS API calls, which are not supported)" : "",
                              "; supported: .", absl::StrJoin(names, ", .")));
    }
    pos = close + 2;
  }
  return t;
}

absl::StatusOr<std::string> AgentPathTemplate::Render(const InstanceIdentityDocument& doc) const {
  std::string out;
  for (const Part& p : parts_) {
    switch (p.field) {
      case Field::kLiteral:
        out += p.literal;
        break;
      case Field::kPluginName:
        out.append(kPluginName.data(), kPluginName.size());
        break;
      case Field::kAccountId:
        out += doc.account_id;
        break;
      case Field::kRegion:
        out += doc.region;
        break;
      case Field::kInstanceId:
        out += doc.instance_id;
        break;
      case Field::kAvailabilityZone:
        out += doc.availability_zone;
        break;
      case Field::kImageId:
        out += doc.image_id;
        break;
      case Field::kInstanceType:
        out += doc.instance_type;
        break;
      case Field::kArchitecture:
        out += doc.architecture;
        break;
    }
  }
  RETURN_IF_ERROR(
      Annotate(CheckSpiffePath(out), absl::StrCat("agent_path_template \"", source_, "\" rendered an invalid path")));
  return out;
}

// ---- Verifier ----

Verifier::Verifier(Config config, CertStore certs, AgentPathTemplate tmpl, std::unique_ptr<InstanceDescriber> describer)
    : config_(std::move(config)),
      certs_(std::move(certs)),
      template_(std::move(tmpl)),
      describer_(std::move(describer)) {}

absl::StatusOr<std::unique_ptr<Verifier>> Verifier::Create(Config config,
                                                           std::unique_ptr<InstanceDescriber> describer) {
  std::vector<std::string> problems;
  for (const std::string& id : config.account_ids) {
    if (!IsValidAccountId(id)) {
      problems.push_back(absl::StrCat("account_ids: \"", id, "\" is not a 12-digit AWS account id"));
    }
  }
  if (config.max_document_age.has_value() && *config.max_document_age <= absl::ZeroDuration()) {
    problems.push_back("max_document_age must be positive");
  }
  auto tmpl = AgentPathTemplate::Parse(config.agent_path_template);
  if (!tmpl.ok()) problems.push_back(std::string(tmpl.status().message()));
  auto certs = CertStore::Load(config.aws_certificates_path);
  if (!certs.ok()) problems.push_back(std::string(certs.status().message()));
  if (!problems.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("aws_iid configuration: ", absl::StrJoin(problems, "; ")));
  }
  std::unique_ptr<Verifier> v(
      new Verifier(std::move(config), *std::move(certs), *std::move(tmpl), std::move(describer)));
  if (v->config_.account_ids.empty()) {
    v->warnings_.push_back(
        "aws_iid: account_ids is empty: instances of ANY AWS account can attest; set account_ids "
        "to restrict attestation to your accounts");
  }
  if (v->certs_.Regions(SignatureForm::kRsa2048).empty()) {
    v->warnings_.push_back(absl::StrCat("aws_iid: aws_certificates_path ", v->certs_.dir(),
                                        " has no rsa2048/ certificates: rsa2048 documents will "
                                        "be rejected"));
  }
  return v;
}

absl::StatusOr<SignatureForm> ChooseSignatureForm(const AttestationPayload& payload, bool allow_signature_form) {
  if (!payload.rsa2048.empty()) return SignatureForm::kRsa2048;
  if (!payload.signature.empty() && allow_signature_form) return SignatureForm::kSignature;
  if (!payload.signature.empty()) {
    return absl::InvalidArgumentError(
        "aws_iid attestation payload has no rsa2048 signature, and the RSA `signature` form is "
        "not accepted (allow_signature_form is false)");
  }
  return absl::InvalidArgumentError("aws_iid attestation payload has no rsa2048 signature");
}

absl::Status CheckDocumentPolicy(const InstanceIdentityDocument& doc, const Config& config, absl::Time now) {
  if (!config.account_ids.empty() &&
      std::find(config.account_ids.begin(), config.account_ids.end(), doc.account_id) == config.account_ids.end()) {
    return absl::PermissionDeniedError(absl::StrCat("aws_iid: account ", doc.account_id, " (instance ", doc.instance_id,
                                                    ") is not in account_ids [",
                                                    absl::StrJoin(config.account_ids, ", "), "]"));
  }
  if (!config.max_document_age.has_value()) return absl::OkStatus();
  const absl::Duration age = now - doc.pending_time;
  if (age > *config.max_document_age) {
    return absl::PermissionDeniedError(
        absl::StrCat("aws_iid: instance identity document of ", doc.instance_id, " is too old: pendingTime ",
                     absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", doc.pending_time, absl::UTCTimeZone()), " is ",
                     absl::FormatDuration(absl::Trunc(age, absl::Seconds(1))), " ago, more than max_document_age ",
                     absl::FormatDuration(*config.max_document_age)));
  }
  return absl::OkStatus();
}

std::vector<Selector> DocumentSelectors(const InstanceIdentityDocument& doc) {
  std::vector<Selector> out;
  for (std::string value :
       {absl::StrCat("account_id:", doc.account_id), absl::StrCat("region:", doc.region),
        absl::StrCat("az:", doc.availability_zone), absl::StrCat("instance:id:", doc.instance_id),
        absl::StrCat("image:id:", doc.image_id), absl::StrCat("instance:type:", doc.instance_type)}) {
    out.push_back({std::string(kSelectorType), std::move(value)});
  }
  return out;
}

absl::Status Verifier::AddDescribedSelectors(const InstanceIdentityDocument& doc,
                                             std::vector<Selector>& selectors) const {
  if (describer_ == nullptr) return absl::OkStatus();
  auto details = describer_->Describe(doc);
  RETURN_IF_ERROR(Annotate(details, absl::StrCat("aws_iid: describing instance ", doc.instance_id)));
  auto add = [&](std::string value) { selectors.push_back({std::string(kSelectorType), std::move(value)}); };
  for (const auto& [k, v] : details->tags) add(absl::StrCat("tag:", k, ":", v));
  for (const auto& id : details->security_group_ids) add(absl::StrCat("sg:id:", id));
  for (const auto& name : details->security_group_names) add(absl::StrCat("sg:name:", name));
  for (const auto& arn : details->iam_role_arns) add(absl::StrCat("iamrole:", arn));
  if (details->amd_sev_snp_enabled) add("sev_snp:cpu_option:enabled");
  return absl::OkStatus();
}

absl::StatusOr<VerifiedIid> Verifier::Verify(const AttestationPayload& payload, absl::Time now) const {
  ASSIGN_OR_RETURN(InstanceIdentityDocument doc, ParseDocument(payload.document));
  VerifiedIid out;
  // rsa2048 when present. A present-but-bad rsa2048 blob fails: falling back would let an
  // attacker choose the weaker form.
  ASSIGN_OR_RETURN(out.verified_form, ChooseSignatureForm(payload, config_.allow_signature_form));
  const std::string& blob = out.verified_form == SignatureForm::kRsa2048 ? payload.rsa2048 : payload.signature;
  RETURN_IF_ERROR(VerifyDocumentSignature(certs_, out.verified_form, doc.region, payload.document, blob));
  // Policy, on a document now known to be AWS's.
  RETURN_IF_ERROR(CheckDocumentPolicy(doc, config_, now));
  ASSIGN_OR_RETURN(const std::string rendered, template_.Render(doc));
  out.agent_path = absl::StrCat("/spire/agent", rendered);
  out.selectors = DocumentSelectors(doc);
  RETURN_IF_ERROR(AddDescribedSelectors(doc, out.selectors));
  out.document = std::move(doc);
  return out;
}

}  // namespace spirecvm::awsiid
