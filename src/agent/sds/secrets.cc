#include "agent/sds/secrets.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/encoding.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls_spiffe_validator_config.pb.h"

namespace spirecvm::agent::sds {

namespace tls = envoy::extensions::transport_sockets::tls::v3;
using envoy::service::discovery::v3::DiscoveryRequest;
using envoy::service::discovery::v3::DiscoveryResponse;

std::string PemBlock(const std::string& type, const std::string& der) {
  const std::string b64 = Base64Encode(der);
  std::string out = absl::StrCat("-----BEGIN ", type, "-----\n");
  for (size_t i = 0; i < b64.size(); i += 64) absl::StrAppend(&out, b64.substr(i, 64), "\n");
  absl::StrAppend(&out, "-----END ", type, "-----\n");
  return out;
}

namespace {

// Go's strconv.ParseBool, which SPIRE applies to a string-valued metadata flag.
std::optional<bool> ParseGoBool(const std::string& s) {
  static const std::set<std::string> kTrue = {"1", "t", "T", "TRUE", "true", "True"};
  static const std::set<std::string> kFalse = {"0", "f", "F", "FALSE", "false", "False"};
  if (kTrue.count(s)) return true;
  if (kFalse.count(s)) return false;
  return std::nullopt;
}

bool ValidationDisabled(const SdsOptions& opts, const envoy::config::core::v3::Node& node) {
  const auto& fields = node.metadata().fields();
  auto it = fields.find(kDisableValidationKey);
  if (it == fields.end()) return opts.disable_spiffe_cert_validation;
  if (it->second.has_bool_value()) return it->second.bool_value();
  if (it->second.has_string_value()) {
    // A value that is not a boolean is ignored: the configured option stands.
    return ParseGoBool(it->second.string_value()).value_or(opts.disable_spiffe_cert_validation);
  }
  return opts.disable_spiffe_cert_validation;
}

std::string AuthoritiesPem(const spiffe::Bundle& b) {
  std::string out;
  for (const std::string& der : b.x509_authorities_der) out += PemBlock("CERTIFICATE", der);
  return out;
}

google::protobuf::Any Pack(const tls::Secret& s) {
  google::protobuf::Any any;
  any.PackFrom(s);
  return any;
}

// Validation contexts, as plain trusted CAs or as SPIFFE certificate validator configs. `bundles` is keyed by
// trust domain ID and holds the own bundle and every federated one.
class ValidationBuilder {
 public:
  ValidationBuilder(bool spiffe, std::map<std::string, const spiffe::Bundle*> bundles)
      : spiffe_(spiffe), bundles_(std::move(bundles)) {}

  absl::StatusOr<google::protobuf::Any> One(const std::string& resource_name, const std::string& td_id) const {
    auto it = bundles_.find(td_id);
    if (it == bundles_.end()) {
      std::string msg = absl::StrCat("no bundle found for trust domain: \"", td_id, "\"");
      return spiffe_ ? absl::NotFoundError(msg) : absl::InternalError(msg);
    }
    tls::Secret s;
    s.set_name(resource_name);
    if (!spiffe_) {
      s.mutable_validation_context()->mutable_trusted_ca()->set_inline_bytes(AuthoritiesPem(*it->second));
      return Pack(s);
    }
    tls::SPIFFECertValidatorConfig cfg;
    AddTrustDomain(*it->second, cfg);
    SetValidator(cfg, s);
    return Pack(s);
  }

  absl::StatusOr<google::protobuf::Any> All(const std::string& resource_name) const {
    if (!spiffe_) return absl::InternalError("unable to use \"SPIFFE validator\" on Envoy below 1.17");
    // By trust domain name, as SPIRE orders them.
    std::vector<const spiffe::Bundle*> sorted;
    for (const auto& [id, b] : bundles_) sorted.push_back(b);
    std::sort(sorted.begin(), sorted.end(), [](const spiffe::Bundle* a, const spiffe::Bundle* b) {
      return a->trust_domain.name() < b->trust_domain.name();
    });
    tls::SPIFFECertValidatorConfig cfg;
    for (const spiffe::Bundle* b : sorted) AddTrustDomain(*b, cfg);
    tls::Secret s;
    s.set_name(resource_name);
    SetValidator(cfg, s);
    return Pack(s);
  }

 private:
  static void AddTrustDomain(const spiffe::Bundle& b, tls::SPIFFECertValidatorConfig& cfg) {
    auto* td = cfg.add_trust_domains();
    td->set_name(b.trust_domain.name());
    td->mutable_trust_bundle()->set_inline_bytes(AuthoritiesPem(b));
  }
  static void SetValidator(const tls::SPIFFECertValidatorConfig& cfg, tls::Secret& s) {
    auto* ext = s.mutable_validation_context()->mutable_custom_validator_config();
    ext->set_name(kSpiffeValidatorName);
    ext->mutable_typed_config()->PackFrom(cfg);
  }

  bool spiffe_;
  std::map<std::string, const spiffe::Bundle*> bundles_;
};

google::protobuf::Any TlsCertificate(const X509SvidRecord& svid, const std::string& name) {
  tls::Secret s;
  s.set_name(name);
  std::string chain;
  for (const std::string& der : svid.chain_der) chain += PemBlock("CERTIFICATE", der);
  s.mutable_tls_certificate()->mutable_certificate_chain()->set_inline_bytes(chain);
  s.mutable_tls_certificate()->mutable_private_key()->set_inline_bytes(PemBlock("PRIVATE KEY", svid.key_pkcs8_der));
  return Pack(s);
}

// The own trust domain's validation context, under its ID, the default bundle name or the all-bundles name (the
// first that was asked for, as SPIRE: asking for two of them leaves the others unanswered).
absl::Status AddOwnBundle(const SdsOptions& opts, const ValidationBuilder& vb, const spiffe::Bundle& own, bool all,
                          std::set<std::string>& names, DiscoveryResponse& resp) {
  const std::string td_id = own.trust_domain.IdString();
  std::optional<absl::StatusOr<google::protobuf::Any>> vc;
  if (all || names.count(td_id)) {
    vc = vb.One(td_id, td_id);
    names.erase(td_id);
  } else if (names.count(opts.default_bundle_name)) {
    vc = vb.One(opts.default_bundle_name, td_id);
    names.erase(opts.default_bundle_name);
  } else if (names.count(opts.default_all_bundles_name)) {
    vc = vb.All(opts.default_all_bundles_name);
    names.erase(opts.default_all_bundles_name);
  }
  if (!vc.has_value()) return absl::OkStatus();
  if (!vc->ok()) return vc->status();
  *resp.add_resources() = std::move(**vc);
  return absl::OkStatus();
}

}  // namespace

bool UseSpiffeValidator(const SdsOptions& opts, const envoy::config::core::v3::Node& node) {
  if (ValidationDisabled(opts, node)) return false;
  if (node.has_user_agent_build_version()) {
    const auto& v = node.user_agent_build_version().version();
    return (v.major_number() == 1 && v.minor_number() > 17) || v.major_number() > 1;
  }
  return true;
}

absl::StatusOr<DiscoveryResponse> BuildSecretsResponse(const SdsOptions& opts, const DiscoveryRequest& req,
                                                       const SdsState& state, const std::string& version,
                                                       const std::string& nonce) {
  DiscoveryResponse resp;
  resp.set_type_url(req.type_url());
  resp.set_version_info(version);
  if (!version.empty()) resp.set_nonce(nonce);

  std::set<std::string> names;
  for (const std::string& n : req.resource_names()) {
    if (!n.empty()) names.insert(n);
  }
  const bool all = names.empty();

  std::map<std::string, const spiffe::Bundle*> bundles;
  if (state.bundle) bundles[state.bundle->trust_domain.IdString()] = state.bundle.get();
  for (const auto& [td_id, b] : state.federated) bundles[td_id] = &b;
  const ValidationBuilder vb(UseSpiffeValidator(opts, req.node()), std::move(bundles));

  if (state.bundle) {
    absl::Status st = AddOwnBundle(opts, vb, *state.bundle, all, names, resp);
    if (!st.ok()) return st;
  }
  for (const auto& [td_id, b] : state.federated) {
    if (!all && !names.count(td_id)) continue;
    auto vc = vb.One(td_id, td_id);
    if (!vc.ok()) return vc.status();
    names.erase(td_id);
    *resp.add_resources() = std::move(*vc);
  }
  for (size_t i = 0; i < state.svids.size(); ++i) {
    const X509SvidRecord& svid = *state.svids[i];
    if (all || names.count(svid.spiffe_id)) {
      names.erase(svid.spiffe_id);
      *resp.add_resources() = TlsCertificate(svid, svid.spiffe_id);
    } else if (i == 0 && names.count(opts.default_svid_name)) {
      names.erase(opts.default_svid_name);
      *resp.add_resources() = TlsCertificate(svid, opts.default_svid_name);
    }
  }
  if (!names.empty()) {
    std::vector<std::string> quoted;
    for (const std::string& n : names) quoted.push_back(absl::StrCat("\"", n, "\""));
    return absl::InvalidArgumentError(
        absl::StrCat("workload is not authorized for the requested identities [", absl::StrJoin(quoted, " "), "]"));
  }
  return resp;
}

}  // namespace spirecvm::agent::sds
