#include "server/nodeattest/aws_iid_attestor.h"

#include <algorithm>
#include <cstdio>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "attestation/sevsnp/certs/chain.h"
#include "attestation/sevsnp/certs/sources.h"
#include "attestation/sevsnp/policy/options_reader.h"
#include "attestation/sevsnp_binding/binding.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/keys.h"
#include "nlohmann/json.hpp"
#include "server/nodeattest/sev_snp_facts.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server {
namespace {

std::string Hex(const uint8_t* p, size_t n) { return HexEncode(std::string_view(reinterpret_cast<const char*>(p), n)); }
template <size_t N>
std::string Hex(const std::array<uint8_t, N>& a) {
  return Hex(a.data(), N);
}

std::string Lower(std::string_view s) {
  std::string o(s);
  absl::AsciiStrToLower(&o);
  return o;
}

// SPIRE's aws_iid AWS API keys (docs/plugins/server-aws_iid.md); any of them turns the API checks on.
void ParseAwsApiSettings(config::Section& d, AwsIidAttestorConfig& cfg) {
  aws::Ec2DescriberSettings& a = cfg.aws;
  bool any = false;
  for (auto [key, dest] : {std::pair<const char*, std::string*>{"access_key_id", &a.access_key_id},
                           {"secret_access_key", &a.secret_access_key},
                           {"assume_role", &a.assume_role},
                           {"partition", &a.partition}}) {
    if (auto v = d.String(key)) *dest = *v, any = true;
  }
  for (auto [key, dest] : {std::pair<const char*, bool*>{"skip_block_device", &a.skip_block_device},
                           {"disable_instance_profile_selectors", &a.disable_instance_profile_selectors}}) {
    if (auto v = d.Bool(key)) *dest = *v, any = true;
  }
  if (auto org = d.Child("verify_organization")) {
    any = true;
    a.organization.enabled = true;
    if (auto v = org->String("management_account_id")) a.organization.management_account_id = *v;
    if (auto v = org->String("assume_org_role")) a.organization.assume_org_role = *v;
    if (auto v = org->Duration("org_account_map_ttl")) a.organization.account_map_ttl = *v;
    if (a.organization.management_account_id.empty()) {
      org->AddError(org->pos(), "NodeAttestor \"aws_iid\": verify_organization needs management_account_id");
    }
  }
  cfg.describe_instances = d.Bool("describe_instances").value_or(any);
  if (auto st = aws::CheckPartition(a.partition); !st.ok()) d.AddKeyError("partition", std::string(st.message()));
}

// The HCL face of the one SEV-SNP policy front end (the same knob table as `sev verify`'s flags).
void ParsePolicy(config::Section& p, sevsnp::policy::Policy& pol) { sevsnp::policy::ReadPolicySection(p, pol); }

class AwsIidAttestor final : public NodeAttestor {
 public:
  AwsIidAttestor(AwsIidAttestorConfig cfg, spiffe::TrustDomain td, std::unique_ptr<awsiid::Verifier> iid,
                 std::unique_ptr<sevsnp::verify::Verifier> snp, Clock& clock, Random& rnd)
      : cfg_(std::move(cfg)),
        td_(std::move(td)),
        iid_(std::move(iid)),
        snp_(std::move(snp)),
        clock_(clock),
        rnd_(rnd) {}

  std::string_view Name() const override { return "aws_iid"; }

  // Nodes admitted with a report: with allow_reattestation (the default) they re-attest at every rotation (RenewAgent
  // refuses re-attestable agents), otherwise they renew for reattest_interval after their report.
  std::optional<absl::Duration> MaxEvidenceAge() const override {
    if (!cfg_.sev.enabled) return std::nullopt;
    return cfg_.sev.reattest_interval;
  }

  bool FactsInWorkloadSvids(std::string_view workload_id) const override {
    return cfg_.sev.enabled && cfg_.sev.svid_evidence &&
           !ExcludedFromSvidEvidence(workload_id, cfg_.sev.svid_evidence_exclude);
  }

  absl::StatusOr<AttestationResult> Attest(const AttestationRequest& req, ChallengeChannel& channel) const override {
    if (req.payload.size() > awsiid::kMaxPayloadBytes) {
      return absl::InvalidArgumentError("aws_iid: attestation payload is too large");
    }
    auto payload = awsiid::AttestationPayload::FromJson(ToAbsl(req.payload));
    if (!payload.ok()) return absl::InvalidArgumentError(absl::StrCat("aws_iid: ", payload.status().message()));
    absl::Time now = clock_.Now();
    auto verified = iid_->Verify(*payload, now);
    if (!verified.ok())
      return absl::Status(verified.status().code(), absl::StrCat("aws_iid: ", verified.status().message()));
    auto agent_id =
        spiffe::SpiffeId::FromPath(td_, absl::StrCat("/spire/agent", verified->agent_path.rfind("/spire/agent", 0) == 0
                                                                         ? verified->agent_path.substr(12)
                                                                         : verified->agent_path));
    if (!agent_id.ok())
      return absl::InvalidArgumentError(absl::StrCat("aws_iid: agent ID: ", agent_id.status().message()));

    AttestationResult result{.agent_id = *agent_id, .selectors = {}, .can_reattest = false, .launch_id = {}};
    for (auto& s : verified->selectors) result.selectors.push_back({s.type, s.value});

    std::optional<std::string> report_id_hex;
    if (cfg_.sev.enabled) {
      ASSIGN_OR_RETURN(std::optional<sevsnp::verify::VerifiedReport> snp,
                       SevSnpEvidence(req, *payload, verified->document.region, result.agent_id, channel));
      if (snp.has_value()) {
        const auto& vr = *snp;
        for (auto& v : SevSnpSelectorValues(vr)) result.selectors.push_back({"aws_iid", v});
        report_id_hex = vr.ReportIdHex();
        auto facts =
            cvm::EncodeNodeFacts(SevSnpNodeFacts(vr, verified->document.account_id, verified->document.region, now));
        if (!facts.ok()) return absl::PermissionDeniedError(absl::StrCat("sev_snp: ", facts.status().message()));
        result.facts = *std::move(facts);
      }
    }

    // Trust on first use, made safe by SEV-SNP: the same guest launch (REPORT_ID) may attest again. The node service
    // enforces it in its conditional admission write (DataStore::AdmitAttestedNode), not by reading here.
    if (report_id_hex) {
      result.launch_id = *report_id_hex;
      result.can_reattest = cfg_.sev.allow_reattestation;
    }
    return result;
  }

 private:
  // The decision table of docs/plugins/server-aws_iid.md: a challenge only for an agent that announced it will
  // answer one; without the announcement (SPIRE's plain aws_iid), refused when required, else the IID alone.
  // No downgrade: an agent that leaves the announcement out gets what an agent without a report gets.
  absl::StatusOr<std::optional<sevsnp::verify::VerifiedReport>> SevSnpEvidence(
      const AttestationRequest& req, const awsiid::AttestationPayload& payload, const std::string& region,
      const spiffe::SpiffeId& agent_id, ChallengeChannel& channel) const {
    if (payload.sev_snp_challenge) return ChallengeSevSnp(req, payload.document, region, channel);
    if (cfg_.sev.required) {
      return absl::PermissionDeniedError(absl::StrCat(
          "aws_iid: SEV-SNP evidence is required (sev_snp.required), and this aws_iid attestation of ",
          agent_id.ToString(), " carries none: its payload does not announce \"", awsiid::kSevSnpChallengeMember,
          "\": true (a SPIRE agent's plain aws_iid cannot answer the SEV-SNP challenge); attest with "
          "spire-cvm's agent on an SEV-SNP VM"));
    }
    spdlog::warn(
        "aws_iid: {} did not announce \"{}\" (e.g. a SPIRE agent's plain aws_iid); sev_snp is not required, "
        "continuing on the instance identity document alone, without sev_snp or measurements selectors",
        agent_id.ToString(), std::string(awsiid::kSevSnpChallengeMember));
    return std::optional<sevsnp::verify::VerifiedReport>();
  }

  // Runs the challenge. Returns the verified report, nullopt when the agent has none and it is not
  // required, or the reason it is refused.
  absl::StatusOr<std::optional<sevsnp::verify::VerifiedReport>> ChallengeSevSnp(const AttestationRequest& req,
                                                                                const std::string& document,
                                                                                const std::string& region,
                                                                                ChallengeChannel& channel) const {
    // The nonce exists only in this call: sent on this stream, checked against its one answer, then gone. So it is
    // single use and bound to this stream without a DataStore round trip (docs/security.md); it expires after
    // nonce_ttl.
    const std::string nonce = rnd_.Bytes(sevsnp::kNonceSize);
    const absl::Time expires = clock_.Now() + cfg_.sev.nonce_ttl;
    ASSIGN_OR_RETURN(std::string answer, channel.Challenge(sevsnp::SevSnpChallenge{nonce}.ToJson()));
    if (clock_.Now() >= expires) {
      return absl::PermissionDeniedError("sev_snp: the challenge nonce expired before the report arrived");
    }
    if (answer.size() > sevsnp::kMaxAnswerBytes) {
      return absl::InvalidArgumentError(absl::StrCat("sev_snp: the challenge answer is ", answer.size(),
                                                     " bytes, more than the limit of ", sevsnp::kMaxAnswerBytes));
    }
    auto parsed = sevsnp::SevSnpAnswer::FromJson(answer);
    if (!parsed.ok()) return absl::InvalidArgumentError(absl::StrCat("sev_snp: ", parsed.status().message()));
    if (parsed->is_unavailable()) {
      if (cfg_.sev.required) {
        return absl::PermissionDeniedError(
            absl::StrCat("sev_snp: SEV-SNP evidence is required, and the agent has no report: ", parsed->unavailable));
      }
      spdlog::warn("aws_iid: agent sent no SEV-SNP report ({}); sev_snp is not required, continuing without it",
                   parsed->unavailable);
      return std::optional<sevsnp::verify::VerifiedReport>();
    }
    sevsnp::verify::VerifyRequest vreq;
    vreq.report = std::move(parsed->report);
    vreq.cert_table = std::move(parsed->cert_table);
    vreq.now = clock_.Now();
    vreq.expected_report_data = sevsnp::SevSnpReportData(nonce, req.csr_spki_der, document);
    vreq.product_fallback = cfg_.sev.product_fallback;
    auto vr = snp_->Verify(vreq);
    if (!vr.ok()) {
      auto code = absl::IsInvalidArgument(vr.status()) ? absl::StatusCode::kInvalidArgument
                                                       : absl::StatusCode::kPermissionDenied;
      return absl::Status(code, absl::StrCat("sev_snp: report rejected: ", vr.status().message()));
    }
    RETURN_IF_ERROR(CheckAwsSigningKey(*vr, region));
    if (auto st = sevsnp::policy::Evaluate(*vr, cfg_.sev.policy); !st.ok()) {
      return absl::PermissionDeniedError(absl::StrCat("sev_snp: report violates policy: ", st.message()));
    }
    if (!vr->root_is_pinned_amd) {
      spdlog::warn("aws_iid: SEV-SNP report chains to an insecure_extra_roots certificate, not to AMD");
    }
    return std::optional<sevsnp::verify::VerifiedReport>(std::move(*vr));
  }

  // The guest chooses REPORT_DATA, so the report's binding to the IID is only as strong as who could have signed
  // it: a VLEK whose csp_id names AWS and the IID's region (another cloud, CSP or region cannot carry the IID).
  absl::Status CheckAwsSigningKey(const sevsnp::verify::VerifiedReport& vr, const std::string& region) const {
    if (vr.signing_key == sevsnp::abi::SigningKey::kVcek) {
      if (cfg_.sev.allow_vcek) {
        spdlog::warn("aws_iid: accepting a VCEK-signed SEV-SNP report (sev_snp.allow_vcek): nothing ties it to AWS");
        return absl::OkStatus();
      }
      return absl::PermissionDeniedError(
          "sev_snp: the report is signed by a VCEK, which names a chip, not AWS nor a region; EC2 shared tenancy "
          "signs with a VLEK (set sev_snp.allow_vcek = true only for Dedicated Hosts)");
    }
    if (vr.signing_key != sevsnp::abi::SigningKey::kVlek) {
      return absl::PermissionDeniedError("sev_snp: the report is signed by neither a VLEK nor a VCEK");
    }
    const std::string want = AwsVlekCspId(region);
    if (vr.endorsement.csp_id != want) {
      return absl::PermissionDeniedError(absl::StrCat("sev_snp: the VLEK's csp_id is \"", vr.endorsement.csp_id,
                                                      "\", not \"", want, "\" (AWS, the IID's region ", region,
                                                      "): the report does not come from that region of AWS"));
    }
    return absl::OkStatus();
  }

  AwsIidAttestorConfig cfg_;
  spiffe::TrustDomain td_;
  std::unique_ptr<awsiid::Verifier> iid_;
  std::unique_ptr<sevsnp::verify::Verifier> snp_;
  Clock& clock_;
  Random& rnd_;
};

}  // namespace

std::string AwsVlekCspId(std::string_view region) { return absl::StrCat("CN=cc-", ToAbsl(region), ".amazonaws.com"); }

std::vector<std::string> SevSnpSelectorValues(const sevsnp::verify::VerifiedReport& r) {
  namespace pb = sevsnp::abi::policy_bit;
  const auto& rep = r.report;
  auto flag = [](uint64_t v, uint64_t bit) { return (v & bit) ? std::string("true") : std::string("false"); };
  std::vector<std::string> out;
  out.push_back("measurements:" + r.MeasurementHex());
  out.push_back("sev_snp:verified:true");
  out.push_back("sev_snp:signing_key:" + Lower(ToStd(sevsnp::abi::SigningKeyName(r.signing_key))));
  out.push_back("sev_snp:product:" + Lower(ToStd(sevsnp::abi::ProductName(r.product))));
  out.push_back(absl::StrCat("sev_snp:report_version:", rep.version));
  out.push_back("sev_snp:policy:debug:" + flag(rep.policy, pb::kDebug));
  out.push_back("sev_snp:policy:migrate_ma:" + flag(rep.policy, pb::kMigrateMa));
  out.push_back("sev_snp:policy:smt:" + flag(rep.policy, pb::kSmt));
  out.push_back("sev_snp:policy:single_socket:" + flag(rep.policy, pb::kSingleSocket));
  out.push_back(absl::StrCat("sev_snp:policy:abi:", (rep.policy >> 8) & 0xff, ".", rep.policy & 0xff));
  out.push_back(absl::StrCat("sev_snp:vmpl:", rep.vmpl));
  out.push_back(absl::StrCat("sev_snp:guest_svn:", rep.guest_svn));
  const auto& t = r.reported_tcb;
  out.push_back(absl::StrCat("sev_snp:tcb:bl:", t.bl));
  out.push_back(absl::StrCat("sev_snp:tcb:tee:", t.tee));
  out.push_back(absl::StrCat("sev_snp:tcb:snp:", t.snp));
  out.push_back(absl::StrCat("sev_snp:tcb:ucode:", t.ucode));
  if (r.product == sevsnp::abi::Product::kTurin) out.push_back(absl::StrCat("sev_snp:tcb:fmc:", t.fmc));
  out.push_back("sev_snp:host_data:" + r.HostDataHex());
  out.push_back("sev_snp:family_id:" + Hex(rep.family_id));
  out.push_back("sev_snp:image_id:" + Hex(rep.image_id));
  out.push_back("sev_snp:id_key_digest:" + Hex(rep.id_key_digest));
  out.push_back("sev_snp:report_id:" + r.ReportIdHex());
  if (!r.endorsement.csp_id.empty()) out.push_back("sev_snp:csp_id:" + r.endorsement.csp_id);
  return out;
}

absl::Status CheckSevSnpSettings(const AwsIidAttestorConfig& cfg) {
  if (!cfg.sev.enabled) return absl::OkStatus();
  // A report binds the IID only as far as the VLEK's region: any SEV-SNP guest in that region holding a copy of an
  // IID could answer for it, so the accounts whose instances may attest must be named.
  if (cfg.iid.account_ids.empty()) {
    return absl::InvalidArgumentError(
        "NodeAttestor \"aws_iid\": account_ids must list the AWS accounts allowed to attest when sev_snp is "
        "configured (an IID is not secret: without it any EC2 account's instance in the region could be admitted)");
  }
  if (cfg.sev.reattest_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("NodeAttestor \"aws_iid\": sev_snp.reattest_interval is negative");
  }
  if (cfg.sev.allow_reattestation && cfg.sev.reattest_interval > absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "NodeAttestor \"aws_iid\": sev_snp.reattest_interval applies to agents that renew (allow_reattestation = "
        "false); re-attestable agents bring a fresh report at every SVID rotation");
  }
  if (!cfg.sev.allow_reattestation && cfg.sev.reattest_interval == absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "NodeAttestor \"aws_iid\": sev_snp.allow_reattestation = false needs sev_snp.reattest_interval (how long "
        "an agent may renew its SVID without a fresh report; after it the agent must be evicted to attest again)");
  }
  return absl::OkStatus();
}

AwsIidAttestorConfig ParseAwsIidAttestorConfig(config::Section& d) {
  AwsIidAttestorConfig cfg;
  if (auto v = d.String("aws_certificates_path"))
    cfg.iid.aws_certificates_path = *v;
  else
    d.AddError(d.pos(),
               "NodeAttestor \"aws_iid\": aws_certificates_path is required (a directory of AWS region certificates; "
               "see scripts/aws-iid-certs)");
  if (auto v = d.StringList("account_ids")) cfg.iid.account_ids = *v;
  if (auto v = d.String("agent_path_template")) cfg.iid.agent_path_template = *v;
  if (auto v = d.Duration("max_document_age")) cfg.iid.max_document_age = *v;
  if (auto v = d.Bool("allow_signature_form")) cfg.iid.allow_signature_form = *v;
  if (auto sev = d.Child("sev_snp")) {
    cfg.sev.enabled = true;
    cfg.sev.required = sev->Bool("required").value_or(true);
    if (auto v = sev->Bool("allow_reattestation")) cfg.sev.allow_reattestation = *v;
    if (auto v = sev->Bool("allow_vcek")) cfg.sev.allow_vcek = *v;
    if (auto v = sev->Duration("reattest_interval")) cfg.sev.reattest_interval = *v;
    if (auto v = sev->Duration("nonce_ttl")) cfg.sev.nonce_ttl = *v;
    if (auto v = sev->String("amd_certs_dir")) cfg.sev.amd_certs_dir = *v;
    if (auto v = sev->String("kds_url")) cfg.sev.kds_url = *v;
    if (auto v = sev->Bool("kds_fetch")) cfg.sev.kds_fetch = *v;
    if (auto v = sev->String("kds_cache_dir")) cfg.sev.kds_cache_dir = *v;
    if (auto v = sev->Bool("check_crl")) cfg.sev.check_crl = *v;
    if (auto v = sev->StringList("insecure_extra_roots")) cfg.sev.insecure_extra_roots = *v;
    if (auto v = sev->Bool("svid_evidence")) cfg.sev.svid_evidence = *v;
    if (auto v = sev->StringList("svid_evidence_exclude")) {
      for (const auto& p : *v) {
        if (p.rfind("spiffe://", 0) != 0) {
          sev->AddKeyError("svid_evidence_exclude",
                           absl::StrCat("\"", p, "\" is not a SPIFFE ID prefix (spiffe://...)"));
        }
      }
      cfg.sev.svid_evidence_exclude = *v;
    }
    if (auto v = sev->String("product")) {
      auto p = sevsnp::abi::ParseProduct(ToAbsl(*v));
      if (!p.ok())
        sev->AddKeyError("product", absl::StrCat("product \"", *v, "\" is not Milan, Genoa or Turin"));
      else
        cfg.sev.product_fallback = *p;
    }
    if (auto pol = sev->Child("policy")) ParsePolicy(*pol, cfg.sev.policy);
    if (auto st = CheckSevSnpSettings(cfg); !st.ok()) sev->AddError(sev->pos(), std::string(st.message()));
  }
  ParseAwsApiSettings(d, cfg);
  return cfg;
}

absl::StatusOr<std::unique_ptr<NodeAttestor>> NewAwsIidAttestor(const AwsIidAttestorConfig& cfg,
                                                                const spiffe::TrustDomain& td, Clock& clock,
                                                                Random& rnd) {
  RETURN_IF_ERROR(CheckSevSnpSettings(cfg));
  std::unique_ptr<awsiid::InstanceDescriber> describer;
  if (cfg.describe_instances) {
    aws::Ec2DescriberSettings s = cfg.aws;
    s.require_sev_snp_cpu_option = cfg.sev.enabled && cfg.sev.required;
    auto d = aws::Ec2Describer::Create(std::move(s), clock);
    if (!d.ok()) return Annotate(d, "NodeAttestor \"aws_iid\"");
    describer = std::move(*d);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<awsiid::Verifier> iid, awsiid::Verifier::Create(cfg.iid, std::move(describer)));
  for (auto& w : iid->warnings()) spdlog::warn("NodeAttestor \"aws_iid\": {}", std::string(w));
  std::unique_ptr<sevsnp::verify::Verifier> snp;
  if (cfg.sev.enabled) {
    sevsnp::verify::VerifierOptions o;
    for (auto& path : cfg.sev.insecure_extra_roots) {
      ASSIGN_OR_RETURN(std::string pem, files::ReadFile(path));
      if (auto st = sevsnp::certs::AddInsecureExtraRootsPem(ToAbsl(pem), o.trust); !st.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("sev_snp.insecure_extra_roots ", path, ": ", st.message()));
      }
      spdlog::warn(
          "INSECURE: sev_snp.insecure_extra_roots trusts {} besides AMD's pinned roots; never do this in production",
          path);
    }
    o.sources.amd_certs_dir = cfg.sev.amd_certs_dir;
    o.sources.kds_base_url = cfg.sev.kds_url;
    o.sources.kds_cache_dir = cfg.sev.kds_cache_dir;
    if (cfg.sev.kds_fetch) o.sources.kds_fetcher = sevsnp::certs::NewCurlKdsFetcher();
    o.check_crl = cfg.sev.check_crl;
    ASSIGN_OR_RETURN(snp, sevsnp::verify::Verifier::Create(std::move(o)));
  }
  return std::unique_ptr<NodeAttestor>(new AwsIidAttestor(cfg, td, std::move(iid), std::move(snp), clock, rnd));
}

}  // namespace spirecvm::server
