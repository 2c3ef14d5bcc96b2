#include "server/config/federation_config.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "common/url.h"

namespace spirecvm::server {
namespace {

void ParseServingCertFile(config::Section& web, BundleEndpointConfig& out) {
  if (web.Has("acme")) {
    web.AddKeyError("acme",
                    "ACME is not supported by spire-cvm; use serving_cert_file { cert_file_path key_file_path }");
    web.MarkKnown("acme");
    return;
  }
  auto files = web.Child("serving_cert_file");
  if (!files) {
    web.AddError(web.pos(), "profile \"https_web\" needs serving_cert_file { cert_file_path key_file_path }");
    return;
  }
  auto cert = files->String("cert_file_path");
  auto key = files->String("key_file_path");
  files->Duration("file_sync_interval");  // accepted: the files are read on every new connection
  if (!cert || cert->empty()) files->AddError(files->pos(), "cert_file_path is required");
  if (!key || key->empty()) files->AddError(files->pos(), "key_file_path is required");
  if (cert) out.web_cert_file = *cert;
  if (key) out.web_key_file = *key;
}

void ParseBundleEndpoint(config::Section& be, BundleEndpointConfig& out) {
  if (auto v = be.String("address")) out.address = *v;
  if (auto v = be.Int("port")) {
    if (*v <= 0 || *v > 65535) be.AddKeyError("port", absl::StrCat("port ", *v, " is not a port number"));
    out.port = static_cast<int>(*v);
  }
  if (auto v = be.Duration("refresh_hint")) {
    if (*v < absl::Seconds(1)) be.AddKeyError("refresh_hint", "refresh_hint must be at least 1s");
    out.refresh_hint = *v;
  }
  if (be.Has("acme")) {
    be.AddKeyError("acme",
                   "ACME is not supported by spire-cvm; use profile \"https_web\" { serving_cert_file { ... } }");
    be.MarkKnown("acme");
  }
  auto profiles = be.Blocks("profile", 1);
  if (profiles.size() > 1) be.AddKeyError("profile", "only one profile may be configured");
  for (auto& [labels, block] : profiles) {
    if (labels.size() != 1) {
      block.AddError(block.pos(), "profile needs one label: \"https_spiffe\" or \"https_web\"");
    } else if (labels[0] == "https_spiffe") {
      out.profile = BundleEndpointProfile::kHttpsSpiffe;
    } else if (labels[0] == "https_web") {
      out.profile = BundleEndpointProfile::kHttpsWeb;
      ParseServingCertFile(block, out);
    } else {
      block.AddError(block.pos(), absl::StrCat("unknown bundle endpoint profile \"", labels[0],
                                               "\" (want \"https_spiffe\" or \"https_web\")"));
    }
  }
}

void ParseEndpointProfile(config::Section& fw, FederationRelationship& r) {
  auto profiles = fw.Blocks("bundle_endpoint_profile", 1);
  if (profiles.empty()) {
    fw.AddError(fw.pos(), "bundle_endpoint_profile \"https_spiffe\" { ... } or \"https_web\" {} is required");
    return;
  }
  if (profiles.size() > 1) fw.AddKeyError("bundle_endpoint_profile", "only one bundle_endpoint_profile may be set");
  auto& [labels, block] = profiles[0];
  if (labels.size() != 1) {
    block.AddError(block.pos(), "bundle_endpoint_profile needs one label: \"https_spiffe\" or \"https_web\"");
  } else if (labels[0] == "https_spiffe") {
    r.profile = BundleEndpointProfile::kHttpsSpiffe;
    if (auto v = block.String("endpoint_spiffe_id")) r.endpoint_spiffe_id = *v;
  } else if (labels[0] == "https_web") {
    r.profile = BundleEndpointProfile::kHttpsWeb;
  } else {
    block.AddError(block.pos(), absl::StrCat("unknown bundle endpoint profile \"", labels[0],
                                             "\" (want \"https_spiffe\" or \"https_web\")"));
  }
}

}  // namespace

absl::Status ValidateRelationship(const FederationRelationship& r, const spiffe::TrustDomain& own) {
  if (r.trust_domain == own) {
    return absl::InvalidArgumentError(absl::StrCat("cannot federate with our own trust domain \"", own.name(), "\""));
  }
  const std::string& url = r.bundle_endpoint_url;
  if (url.empty()) return absl::InvalidArgumentError("bundle endpoint URL is required");
  if (!absl::StartsWith(url, "https://")) {
    return absl::InvalidArgumentError(absl::StrCat("bundle endpoint URL \"", url, "\" must use the https scheme"));
  }
  // What the fetcher will connect to, checked now rather than at the first refresh: the host, the port, user info,
  // brackets ("bundle endpoint URL \"<url>\" has no host", ...).
  if (absl::StatusOr<http::Url> parsed = http::ParseUrl(url); !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("bundle endpoint ", parsed.status().message()));
  }
  if (r.profile == BundleEndpointProfile::kHttpsWeb) {
    if (!r.endpoint_spiffe_id.empty()) {
      return absl::InvalidArgumentError("endpoint SPIFFE ID is only used with the https_spiffe profile");
    }
    return absl::OkStatus();
  }
  if (r.endpoint_spiffe_id.empty()) {
    return absl::InvalidArgumentError("endpoint SPIFFE ID is required for the https_spiffe profile");
  }
  auto id = spiffe::SpiffeId::Parse(r.endpoint_spiffe_id);
  if (!id.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("endpoint SPIFFE ID \"", r.endpoint_spiffe_id, "\" is invalid: ", id.status().message()));
  }
  return absl::OkStatus();
}

void ParseFederation(config::Section& fed, const spiffe::TrustDomain& own, FederationConfig& out) {
  if (auto be = fed.Child("bundle_endpoint")) {
    out.bundle_endpoint.emplace();
    ParseBundleEndpoint(*be, *out.bundle_endpoint);
  }
  for (auto& [labels, fw] : fed.Blocks("federates_with", 1)) {
    if (labels.size() != 1) {
      fw.AddError(fw.pos(), "federates_with needs the trust domain as its label: federates_with \"<td>\" { ... }");
      continue;
    }
    auto td = spiffe::TrustDomain::Parse(labels[0]);
    if (!td.ok()) {
      fw.AddError(fw.pos(),
                  absl::StrCat("federates_with \"", labels[0], "\": invalid trust domain: ", td.status().message()));
      continue;
    }
    FederationRelationship r{.trust_domain = *td};
    if (auto v = fw.String("bundle_endpoint_url")) r.bundle_endpoint_url = *v;
    ParseEndpointProfile(fw, r);
    for (const auto& prev : out.federates_with) {
      if (prev.trust_domain == r.trust_domain) {
        fw.AddError(fw.pos(), absl::StrCat("federates_with \"", td->name(), "\" is configured twice"));
      }
    }
    if (auto st = ValidateRelationship(r, own); !st.ok()) {
      fw.AddError(fw.pos(), absl::StrCat("federates_with \"", td->name(), "\": ", st.message()));
      continue;
    }
    out.federates_with.push_back(std::move(r));
  }
}

}  // namespace spirecvm::server
