// Server side of the `aws_iid` node attestor, independent of gRPC and the datastore.
//
// Verify() checks the attestation payload an agent sent: the document parses strictly, its
// signature verifies with the AWS certificate of the document's own region (rsa2048 preferred;
// the older `signature` form only when allow_signature_form), the account is allowed, the
// document is not older than max_document_age. It returns the document, the agent path and the
// selectors. Trust-on-first-use (an instance that attested once cannot attest again until
// evicted) is the caller's job with the datastore, keyed on VerifiedIid::agent_path.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "attestation/awsiid/certs.h"
#include "attestation/awsiid/document.h"

namespace spirecvm::awsiid {

inline constexpr absl::string_view kPluginName = "aws_iid";
inline constexpr absl::string_view kSelectorType = "aws_iid";
// SPIRE's default; rendered under /spire/agent.
inline constexpr absl::string_view kDefaultAgentPathTemplate =
    "/{{ .PluginName }}/{{ .AccountID }}/{{ .Region }}/{{ .InstanceID }}";
inline constexpr size_t kMaxPayloadBytes = 128 * 1024;

// The payload member by which spire-cvm's agent announces that it answers the SEV-SNP challenge
// (attestation/sevsnp_binding/binding.h). SPIRE's agent never sends it; SPIRE's server ignores it
// (unknown JSON members), so the payload stays valid for both. See docs/plugins/server-aws_iid.md.
inline constexpr absl::string_view kSevSnpChallengeMember = "sev_snp_challenge";

// What the agent sends as the attestation payload: the strings exactly as IMDS served them
// (document bytes untouched, signatures base64 with IMDS's line breaks). JSON field names are
// SPIRE's: {"document": ..., "signature": ..., "rsa2048": ...}, plus spire-cvm's
// "sev_snp_challenge": true when the agent will answer a SEV-SNP challenge.
struct AttestationPayload {
  std::string document;
  std::string rsa2048;    // may be empty when only `signature` was fetched
  std::string signature;  // may be empty
  // The agent answers a SEV-SNP challenge round (with a report or its reason for having none).
  // Written only when true, so a payload without it is byte-for-byte SPIRE's.
  bool sev_snp_challenge = false;

  std::string ToJson() const;
  // Strict: a JSON object no larger than kMaxPayloadBytes, "document" a non-empty string,
  // "rsa2048"/"signature" strings when present, "sev_snp_challenge" a boolean when present
  // (anything else, null included, is InvalidArgument naming it). Other unknown keys are
  // ignored (SPIRE compatibility).
  static absl::StatusOr<AttestationPayload> FromJson(absl::string_view json);
};

struct Selector {
  std::string type;
  std::string value;
  bool operator==(const Selector&) const = default;
};

// SPIRE's Go-template agent path, restricted to plain field references: literal text and
// `{{ .Name }}` (spaces inside the braces optional). Names: PluginName, AccountID, Region,
// InstanceID, AvailabilityZone, ImageID, InstanceType, Architecture. Anything else (unknown
// names, .Tags, pipelines, functions, unbalanced braces) is a configuration error.
class AgentPathTemplate {
 public:
  static absl::StatusOr<AgentPathTemplate> Parse(absl::string_view tmpl);
  // Renders and checks the result is a valid SPIFFE path ("/seg/seg", segments of
  // [A-Za-z0-9._-], no empty, "." or ".." segment).
  absl::StatusOr<std::string> Render(const InstanceIdentityDocument& doc) const;
  const std::string& source() const { return source_; }

 private:
  enum class Field {
    kLiteral,
    kPluginName,
    kAccountId,
    kRegion,
    kInstanceId,
    kAvailabilityZone,
    kImageId,
    kInstanceType,
    kArchitecture
  };
  struct Part {
    Field field;
    std::string literal;
  };
  std::string source_;
  std::vector<Part> parts_;
};

// Facts that need AWS API calls (ec2:DescribeInstances, iam:GetInstanceProfile), from a describer
// (src/aws/ec2_describer.h): `tag:<k>:<v>`, `sg:id:<id>`, `sg:name:<name>`, `iamrole:<arn>` and
// `sev_snp:cpu_option:enabled` selectors.
struct InstanceDetails {
  std::vector<std::pair<std::string, std::string>> tags;
  std::vector<std::string> security_group_ids;
  std::vector<std::string> security_group_names;
  std::vector<std::string> iam_role_arns;
  bool amd_sev_snp_enabled = false;  // EC2 reports CpuOptions.AmdSevSnp = enabled
};

class InstanceDescriber {
 public:
  virtual ~InstanceDescriber() = default;
  // Called only after the document's signature and policy checks passed. An error fails the
  // attestation (the caller cannot tell a missing tag from an API outage).
  virtual absl::StatusOr<InstanceDetails> Describe(const InstanceIdentityDocument& doc) = 0;
};

struct Config {
  std::string aws_certificates_path;
  // 12-digit account ids allowed to attest; empty allows any account (warnings() says so).
  std::vector<std::string> account_ids;
  std::string agent_path_template = std::string(kDefaultAgentPathTemplate);
  // Reject documents whose pendingTime is older than this (the IID is static for the life of an
  // instance launch; this bounds how old a leaked document can be).
  std::optional<absl::Duration> max_document_age;
  // Accept the older RSA `signature` form when the payload has no rsa2048 blob.
  bool allow_signature_form = false;
};

struct VerifiedIid {
  InstanceIdentityDocument document;
  SignatureForm verified_form = SignatureForm::kRsa2048;
  // The agent's SPIFFE ID path: "/spire/agent" + the rendered template, e.g.
  // "/spire/agent/aws_iid/123456789012/us-east-1/i-0123456789abcdef0". The agent ID is
  // "spiffe://<trust domain>" + agent_path; TOFU is keyed on it.
  std::string agent_path;
  // Type "aws_iid": account_id:, region:, az:, instance:id:, image:id:, instance:type:
  // (+ tag:/sg:/iamrole: from an InstanceDescriber).
  std::vector<Selector> selectors;
};

// The steps of Verifier::Verify that need no certificate store, each callable alone.

// rsa2048 when the payload has it; else the RSA `signature` form when allowed; else InvalidArgument.
absl::StatusOr<SignatureForm> ChooseSignatureForm(const AttestationPayload& payload, bool allow_signature_form);
// Policy on a verified document: account_ids (when set) and max_document_age; PermissionDenied.
absl::Status CheckDocumentPolicy(const InstanceIdentityDocument& doc, const Config& config, absl::Time now);
// The document's own selectors: account_id, region, az, instance:id, image:id, instance:type.
std::vector<Selector> DocumentSelectors(const InstanceIdentityDocument& doc);

class Verifier {
 public:
  // Validates the configuration (every problem at once) and loads the certificate store.
  // `describer` may be null: no AWS API calls.
  static absl::StatusOr<std::unique_ptr<Verifier>> Create(Config config,
                                                          std::unique_ptr<InstanceDescriber> describer = nullptr);

  // Error codes: InvalidArgument for bad evidence (malformed payload, document or base64, a
  // signature that does not verify, signed content != document, no usable signature form);
  // PermissionDenied for policy (account not allowed, document older than max_document_age);
  // NotFound when aws_certificates_path has no certificate for the document's region (the
  // message names the region, the directory and the expected file). Messages name the reason.
  absl::StatusOr<VerifiedIid> Verify(const AttestationPayload& payload, absl::Time now) const;

  // Messages for the caller to log once at WARN level (e.g. the empty account allow-list).
  const std::vector<std::string>& warnings() const { return warnings_; }
  bool allows_any_account() const { return config_.account_ids.empty(); }
  const Config& config() const { return config_; }
  const CertStore& certs() const { return certs_; }

 private:
  Verifier(Config config, CertStore certs, AgentPathTemplate tmpl, std::unique_ptr<InstanceDescriber> describer);
  // tag:, sg: and iamrole: selectors from the describer, if any.
  absl::Status AddDescribedSelectors(const InstanceIdentityDocument& doc, std::vector<Selector>& selectors) const;
  Config config_;
  CertStore certs_;
  AgentPathTemplate template_;
  std::unique_ptr<InstanceDescriber> describer_;
  std::vector<std::string> warnings_;
};

}  // namespace spirecvm::awsiid
