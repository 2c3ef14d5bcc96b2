#include "agent/nodeattest/aws_iid.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "attestation/sevsnp_binding/binding.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent {
namespace {

class AwsIidSession final : public NodeAttestationSession {
 public:
  AwsIidSession(std::shared_ptr<AwsIidAttestor::Shared> shared, AttestationKeyInfo key)
      : shared_(std::move(shared)), key_(std::move(key)) {}

  absl::StatusOr<std::string> Payload() override {
    absl::StatusOr<awsiid::AttestationPayload> p = shared_->imds->FetchInstanceIdentity();
    if (!p.ok()) return Annotate(p, "aws_iid: fetching the instance identity document");
    document_ = p->document;
    have_document_ = true;
    // Always announced, even with provider "none": the answer then carries the reason, and the server decides.
    p->sev_snp_challenge = true;
    return p->ToJson();
  }

  absl::StatusOr<std::string> AnswerChallenge(std::string_view challenge) override {
    if (!have_document_) {
      return absl::FailedPreconditionError("aws_iid: a challenge arrived before the payload was sent");
    }
    absl::StatusOr<sevsnp::SevSnpChallenge> c = sevsnp::SevSnpChallenge::FromJson(challenge);
    if (!c.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("aws_iid: bad challenge from the server: ", c.status().message()));
    }
    const std::string rd = sevsnp::SevSnpReportData(c->nonce, key_.spki_der, document_);
    snp::ReportData report_data{};
    std::copy(rd.begin(), rd.end(), report_data.begin());

    sevsnp::SevSnpAnswer answer;
    std::lock_guard<std::mutex> l(shared_->provider_mu);
    if (shared_->provider == nullptr) {
      answer.unavailable = "SEV-SNP report provider is \"none\" in the agent configuration";
    } else {
      absl::StatusOr<snp::Report> r = shared_->provider->GetReport(report_data);
      if (r.ok()) {
        answer.report = std::move(r->report);
        answer.cert_table = std::move(r->cert_table);
      } else {
        answer.unavailable =
            absl::StrCat("SEV-SNP report provider \"", shared_->provider->name(), "\": ", r.status().message());
        spdlog::warn("aws_iid: answering the SEV-SNP challenge without a report: {}", answer.unavailable);
      }
    }
    return answer.ToJson();
  }

 private:
  std::shared_ptr<AwsIidAttestor::Shared> shared_;
  AttestationKeyInfo key_;
  std::string document_;  // exactly the bytes sent in the payload: REPORT_DATA hashes these
  bool have_document_ = false;
};

}  // namespace

AwsIidAgentConfig ParseAwsIidConfig(config::Section& plugin_data) {
  AwsIidAgentConfig c;
  if (auto v = plugin_data.String("ec2_metadata_endpoint")) {
    awsiid::ImdsClientOptions o;
    o.endpoint = *v;
    if (auto client = awsiid::ImdsClient::Create(o); !client.ok()) {
      plugin_data.AddKeyError("ec2_metadata_endpoint", std::string(client.status().message()));
    } else {
      c.ec2_metadata_endpoint = *v;
    }
  }
  if (std::optional<config::Section> s = plugin_data.Child("sev_snp")) c.sev_snp = snp::ParseSevSnpConfig(*s);
  return c;
}

absl::StatusOr<std::unique_ptr<AwsIidAttestor>> AwsIidAttestor::Create(const AwsIidAgentConfig& config) {
  awsiid::ImdsClientOptions o;
  o.endpoint = config.ec2_metadata_endpoint;
  ASSIGN_OR_RETURN(std::unique_ptr<snp::ReportProvider> provider, snp::NewReportProvider(config.sev_snp));
  return Create(std::move(o), std::move(provider));
}

absl::StatusOr<std::unique_ptr<AwsIidAttestor>> AwsIidAttestor::Create(awsiid::ImdsClientOptions imds,
                                                                       std::unique_ptr<snp::ReportProvider> provider) {
  auto client = awsiid::ImdsClient::Create(std::move(imds));
  if (!client.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("aws_iid: ec2_metadata_endpoint: ", client.status().message()));
  }
  auto shared = std::make_shared<Shared>();
  shared->imds = *std::move(client);
  shared->provider = std::move(provider);
  spdlog::info("aws_iid: IMDS at {}, SEV-SNP report provider {}", shared->imds->options().endpoint,
               shared->provider == nullptr ? std::string("none") : shared->provider->name());
  return std::unique_ptr<AwsIidAttestor>(new AwsIidAttestor(std::move(shared)));
}

absl::StatusOr<std::unique_ptr<NodeAttestationSession>> AwsIidAttestor::Start(const AttestationKeyInfo& key) {
  if (key.spki_der.empty()) return absl::InvalidArgumentError("aws_iid: the CSR's public key is empty");
  return std::make_unique<AwsIidSession>(shared_, key);
}

absl::StatusOr<std::unique_ptr<NodeAttestorClient>> BuildAwsIidAttestor(const AwsIidAgentConfig& config,
                                                                        const NodeAttestorDeps&) {
  ASSIGN_OR_RETURN(std::unique_ptr<AwsIidAttestor> a, AwsIidAttestor::Create(config));
  return std::unique_ptr<NodeAttestorClient>(std::move(a));
}

}  // namespace spirecvm::agent
