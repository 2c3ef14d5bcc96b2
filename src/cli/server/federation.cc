// spire-server federation create|update|delete|list|show|refresh: SPIRE's trustdomain.v1 calls, with SPIRE's flags
// (-trustDomain -bundleEndpointURL -bundleEndpointProfile -endpointSpiffeID -trustDomainBundlePath
// -trustDomainBundleFormat, or -data with {"federationRelationships": [...]}) and SPIRE's output.
#include <optional>

#include "absl/strings/str_cat.h"
#include "cli/server/cli_common.h"
#include "spiffe/spiffe_id.h"
#include "spire/api/server/trustdomain/v1/trustdomain.grpc.pb.h"

namespace spirecvm::cli {
namespace {

namespace tdv1 = ::spire::api::server::trustdomain::v1;

// What one relationship is made of, from the flags or one item of -data.
struct RelationshipConfig {
  std::string trust_domain{}, url{}, profile{}, endpoint_id{}, bundle_path{}, bundle_format = "pem";
  std::optional<nlohmann::json> bundle_json{};  // -data's trustDomainBundle (a PEM string or a SPIFFE document)
  bool Empty() const {
    return trust_domain.empty() && url.empty() && profile.empty() && endpoint_id.empty() && bundle_path.empty() &&
           bundle_format == "pem";
  }
};

void RegisterConfigFlags(flags::FlagSet& fs, RelationshipConfig& c) {
  fs.String("trustDomain", &c.trust_domain, "Name of the trust domain to federate with (e.g., example.org)");
  fs.String("bundleEndpointURL", &c.url,
            "URL of the SPIFFE bundle endpoint that provides the trust bundle (must use the HTTPS protocol)");
  fs.String("bundleEndpointProfile", &c.profile, "Endpoint profile type (either \"https_web\" or \"https_spiffe\")");
  fs.String("endpointSpiffeID", &c.endpoint_id,
            "SPIFFE ID of the SPIFFE bundle endpoint server. Only used for 'spiffe' profile.");
  fs.String("trustDomainBundlePath", &c.bundle_path, "Path to the trust domain bundle data (optional).");
  fs.String("trustDomainBundleFormat", &c.bundle_format,
            "The format of the bundle data (optional). Either \"pem\" or \"spiffe\".");
}

absl::StatusOr<stypes::Bundle> BundleOf(const RelationshipConfig& c, const std::string& td) {
  if (c.bundle_format != "pem" && c.bundle_format != "spiffe") {
    return absl::InvalidArgumentError(absl::StrCat("bundle format ", GoQuote(c.bundle_format), " is unsupported"));
  }
  if (!c.bundle_path.empty()) {
    auto data = ReadInput(c.bundle_path);
    if (!data.ok())
      return absl::InvalidArgumentError(absl::StrCat("cannot read bundle file: ", data.status().message()));
    auto b = ParseBundleData(*data, c.bundle_format, td);
    if (!b.ok()) return absl::InvalidArgumentError(absl::StrCat("cannot parse bundle file: ", b.status().message()));
    return b;
  }
  std::string raw;
  if (c.bundle_format == "pem") {
    if (!c.bundle_json->is_string()) {
      return absl::InvalidArgumentError("cannot parse bundle raw message: failed to unmarshal json: not a string");
    }
    raw = c.bundle_json->get<std::string>();
  } else {
    raw = c.bundle_json->dump();
  }
  auto b = ParseBundleData(raw, c.bundle_format, td);
  if (!b.ok())
    return absl::InvalidArgumentError(absl::StrCat("cannot parse bundle raw message: ", b.status().message()));
  return b;
}

// SPIRE's jsonToProto: the relationship on the wire, the bundle read for the endpoint's trust domain.
absl::StatusOr<stypes::FederationRelationship> ToProto(const RelationshipConfig& c) {
  if (c.trust_domain.empty()) return absl::InvalidArgumentError("trust domain is required");
  if (c.url.empty()) return absl::InvalidArgumentError("bundle endpoint URL is required");
  stypes::FederationRelationship fr;
  fr.set_trust_domain(c.trust_domain);
  fr.set_bundle_endpoint_url(c.url);
  std::string bundle_td = c.trust_domain;
  if (c.profile == "https_web") {
    fr.mutable_https_web();
  } else if (c.profile == "https_spiffe") {
    if (c.endpoint_id.empty()) {
      return absl::InvalidArgumentError("endpoint SPIFFE ID is required if 'https_spiffe' endpoint profile is set");
    }
    auto id = spiffe::SpiffeId::Parse(c.endpoint_id);
    if (!id.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot parse bundle endpoint SPIFFE ID: ", id.status().message()));
    }
    bundle_td = id->trust_domain().name();
    fr.mutable_https_spiffe()->set_endpoint_spiffe_id(c.endpoint_id);
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown bundle endpoint profile type: ", GoQuote(c.profile)));
  }
  if (!c.bundle_path.empty() || c.bundle_json.has_value()) {
    auto b = BundleOf(c, bundle_td);
    if (!b.ok()) return b.status();
    *fr.mutable_trust_domain_bundle() = *std::move(b);
  }
  return fr;
}

absl::StatusOr<std::vector<stypes::FederationRelationship>> FromData(const std::string& path) {
  auto data = ReadInput(path);
  if (!data.ok()) return data.status();
  auto doc = nlohmann::json::parse(*data, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return absl::InvalidArgumentError("failed to parse JSON: invalid JSON");
  std::vector<stypes::FederationRelationship> out;
  const auto list = doc.value("federationRelationships", nlohmann::json::array());
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& j = list[i];
    RelationshipConfig c{.trust_domain = j.value("trustDomain", ""),
                         .url = j.value("bundleEndpointURL", ""),
                         .profile = j.value("bundleEndpointProfile", ""),
                         .endpoint_id = j.value("endpointSPIFFEID", ""),
                         .bundle_format = j.value("trustDomainBundleFormat", "pem")};
    if (j.contains("trustDomainBundle")) c.bundle_json = j["trustDomainBundle"];
    auto fr = ToProto(c);
    if (!fr.ok())
      return absl::InvalidArgumentError(absl::StrCat("could not parse item ", i, ": ", fr.status().message()));
    out.push_back(*std::move(fr));
  }
  return out;
}

absl::StatusOr<std::vector<stypes::FederationRelationship>> Relationships(const RelationshipConfig& c,
                                                                          const std::string& data) {
  if (!data.empty()) {
    if (!c.Empty()) {
      return absl::InvalidArgumentError(
          "cannot use other flags to specify relationship fields when 'data' flag is set");
    }
    return FromData(data);
  }
  auto fr = ToProto(c);
  if (!fr.ok()) return fr.status();
  return std::vector<stypes::FederationRelationship>{*std::move(fr)};
}

void PrintRelationship(const stypes::FederationRelationship& fr, std::ostream& out) {
  out << "Trust domain              : " << fr.trust_domain() << "\n";
  out << "Bundle endpoint URL       : " << fr.bundle_endpoint_url() << "\n";
  if (fr.has_https_web()) out << "Bundle endpoint profile   : https_web\n";
  if (fr.has_https_spiffe()) {
    out << "Bundle endpoint profile   : https_spiffe\n";
    out << "Endpoint SPIFFE ID        : " << fr.https_spiffe().endpoint_spiffe_id() << "\n";
  }
}

// create and update print alike: the relationships that succeeded, then those that failed (from the request).
template <typename Resp>
int PrintBatch(const Resp& resp, const std::vector<stypes::FederationRelationship>& sent, const char* verb, Io io) {
  bool failed = false;
  for (const auto& r : resp.results()) {
    if (r.status().code() != 0) continue;
    io.out << "\n";
    PrintRelationship(r.federation_relationship(), io.out);
  }
  for (int i = 0; i < resp.results_size(); ++i) {
    const auto& r = resp.results(i);
    if (r.status().code() == 0) continue;
    failed = true;
    io.out << "\n";
    io.err << "Failed to " << verb << " the following federation relationship (code: " << CodeName(r.status().code())
           << ", msg: " << GoQuote(r.status().message()) << "):\n";
    if (static_cast<size_t>(i) < sent.size()) PrintRelationship(sent[static_cast<size_t>(i)], io.err);
  }
  if (failed) return Fail(io, absl::StrCat("failed to ", verb, " one or more federation relationships"));
  return 0;
}

}  // namespace

int FederationCreate(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("federation create");
  ServerFlags server;
  RelationshipConfig c;
  std::string data;
  server.Register(fs);
  fs.String("data", &data,
            "Path to a file containing federation relationships in JSON format (optional). If set to '-', read the "
            "JSON from stdin.");
  RegisterConfigFlags(fs, c);
  if (!server.Parse(fs, args, io)) return 1;
  auto rels = Relationships(c, data);
  if (!rels.ok()) return Fail(io, rels.status().message());
  tdv1::BatchCreateFederationRelationshipRequest req;
  for (const auto& r : *rels) *req.add_federation_relationships() = r;
  tdv1::BatchCreateFederationRelationshipResponse resp;
  grpc::ClientContext ctx;
  auto s = tdv1::TrustDomain::NewStub(Dial(server.socket))->BatchCreateFederationRelationship(&ctx, req, &resp);
  if (!s.ok()) return FailRpc(io, "request failed", s);
  if (server.json()) return (io.out << SpireJson(resp), 0);
  return PrintBatch(resp, *rels, "create", io);
}

int FederationUpdate(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("federation update");
  ServerFlags server;
  RelationshipConfig c;
  std::string data;
  server.Register(fs);
  fs.String("data", &data,
            "Path to a file containing federation relationships in JSON format (optional). If set to '-', read the "
            "JSON from stdin.");
  RegisterConfigFlags(fs, c);
  if (!server.Parse(fs, args, io)) return 1;
  auto rels = Relationships(c, data);
  if (!rels.ok()) return Fail(io, rels.status().message());
  tdv1::BatchUpdateFederationRelationshipRequest req;
  for (const auto& r : *rels) *req.add_federation_relationships() = r;
  tdv1::BatchUpdateFederationRelationshipResponse resp;
  grpc::ClientContext ctx;
  auto s = tdv1::TrustDomain::NewStub(Dial(server.socket))->BatchUpdateFederationRelationship(&ctx, req, &resp);
  if (!s.ok()) return FailRpc(io, "request failed", s);
  if (server.json()) return (io.out << SpireJson(resp), 0);
  return PrintBatch(resp, *rels, "update", io);
}

int FederationDelete(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("federation delete");
  ServerFlags server;
  std::string id;
  server.Register(fs);
  fs.String("id", &id, "SPIFFE ID of the trust domain");
  if (!server.Parse(fs, args, io)) return 1;
  if (id.empty()) return Fail(io, "id is required");
  tdv1::BatchDeleteFederationRelationshipRequest req;
  req.add_trust_domains(id);
  tdv1::BatchDeleteFederationRelationshipResponse resp;
  grpc::ClientContext ctx;
  auto s = tdv1::TrustDomain::NewStub(Dial(server.socket))->BatchDeleteFederationRelationship(&ctx, req, &resp);
  if (!s.ok()) return FailRpc(io, "failed to delete federation relationship", s);
  if (server.json()) return (io.out << SpireJson(resp), 0);
  if (resp.results_size() == 0) return Fail(io, "failed to delete federation relationship: no result");
  const auto& r = resp.results(0);
  if (r.status().code() != 0) {
    return Fail(io, absl::StrCat("failed to delete federation relationship ", GoQuote(r.trust_domain()), ": ",
                                 r.status().message()));
  }
  io.out << "federation relationship deleted.\n";
  return 0;
}

int FederationList(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("federation list");
  ServerFlags server;
  server.Register(fs);
  if (!server.Parse(fs, args, io)) return 1;
  tdv1::ListFederationRelationshipsResponse resp;
  grpc::ClientContext ctx;
  auto s = tdv1::TrustDomain::NewStub(Dial(server.socket))
               ->ListFederationRelationships(&ctx, tdv1::ListFederationRelationshipsRequest(), &resp);
  if (!s.ok()) return FailRpc(io, "error listing federation relationship", s);
  if (server.json()) return (io.out << SpireJson(resp), 0);
  const int n = resp.federation_relationships_size();
  io.out << "Found " << n << (n == 1 ? " federation relationship" : " federation relationships") << "\n";
  for (const auto& fr : resp.federation_relationships()) {
    io.out << "\n";
    PrintRelationship(fr, io.out);
  }
  return 0;
}

int FederationShow(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("federation show");
  ServerFlags server;
  std::string td;
  server.Register(fs);
  fs.String("trustDomain", &td, "The trust domain name of the federation relationship to show");
  if (!server.Parse(fs, args, io)) return 1;
  if (td.empty()) return Fail(io, "a trust domain name is required");
  tdv1::GetFederationRelationshipRequest req;
  req.set_trust_domain(td);
  stypes::FederationRelationship resp;
  grpc::ClientContext ctx;
  auto s = tdv1::TrustDomain::NewStub(Dial(server.socket))->GetFederationRelationship(&ctx, req, &resp);
  if (!s.ok()) return FailRpc(io, "error showing federation relationship", s);
  if (server.json()) return (io.out << SpireJson(resp), 0);
  io.out << "Found a federation relationship with trust domain " << td << ":\n\n";
  PrintRelationship(resp, io.out);
  return 0;
}

int FederationRefresh(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("federation refresh");
  ServerFlags server;
  std::string id;
  server.Register(fs);
  fs.String("id", &id, "SPIFFE ID of the trust domain");
  if (!server.Parse(fs, args, io)) return 1;
  if (id.empty()) return Fail(io, "id is required");
  tdv1::RefreshBundleRequest req;
  req.set_trust_domain(id);
  google::protobuf::Empty resp;
  grpc::ClientContext ctx;
  auto s = tdv1::TrustDomain::NewStub(Dial(server.socket))->RefreshBundle(&ctx, req, &resp);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
    return Fail(io, absl::StrCat("there is no federation relationship with trust domain ", GoQuote(id)));
  }
  if (!s.ok()) return FailRpc(io, "failed to refresh bundle", s);
  if (server.json()) {
    stypes::Status ok;
    ok.set_message("OK");
    return (io.out << SpireJson(ok), 0);
  }
  io.out << "Bundle refreshed\n";
  return 0;
}

}  // namespace spirecvm::cli
