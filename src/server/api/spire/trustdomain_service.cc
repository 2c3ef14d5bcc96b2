#include "server/api/spire/trustdomain_service.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string_view>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "server/api/spire/convert.h"
#include "server/federation/bundle_fetch.h"

namespace spirecvm::server::spireapi {
namespace {

using ::spire::api::types::FederationRelationship;
using ::spire::api::types::FederationRelationshipMask;

FederationRelationshipMask AllTrue() {
  FederationRelationshipMask m;
  m.set_bundle_endpoint_url(true);
  m.set_bundle_endpoint_profile(true);
  m.set_trust_domain_bundle(true);
  return m;
}

// SPIRE's checks of a relationship from the wire (api.ProtoToFederationRelationship), for the fields `mask` selects.
absl::StatusOr<datastore::FederationRelationshipRecord> RecordFromProto(const FederationRelationship& f,
                                                                        const FederationRelationshipMask& mask) {
  auto td = spiffe::TrustDomain::Parse(f.trust_domain());
  if (!td.ok()) return Annotate(td.status(), "failed to parse trust domain");
  datastore::FederationRelationshipRecord r{.trust_domain = td->name()};
  if (mask.bundle_endpoint_url()) {
    const std::string& url = f.bundle_endpoint_url();
    if (!absl::StartsWith(url, "https://")) {
      return absl::InvalidArgumentError("bundle endpoint URL must use the https scheme");
    }
    // SPIRE's order and words: the host, then user info, judged on the authority before the URL is parsed further
    // (http::ParseUrl refuses user info too, but not in SPIRE's words).
    const std::string_view authority = std::string_view(url).substr(8, url.find_first_of("/?#", 8) - 8);
    const size_t at = authority.rfind('@');
    if (authority.substr(at == std::string_view::npos ? 0 : at + 1).empty())
      return absl::InvalidArgumentError("bundle endpoint URL must specify the host");
    if (at != std::string_view::npos)
      return absl::InvalidArgumentError("bundle endpoint URL must not contain user info");
    auto u = federation::ParseBundleUrl(url);
    if (!u.ok()) return Annotate(u.status(), "failed to parse bundle endpoint URL");
    r.bundle_endpoint_url = url;
  }
  if (mask.bundle_endpoint_profile()) {
    switch (f.bundle_endpoint_profile_case()) {
      case FederationRelationship::kHttpsSpiffe: {
        auto id = spiffe::SpiffeId::Parse(f.https_spiffe().endpoint_spiffe_id());
        if (!id.ok()) return Annotate(id.status(), "failed to parse endpoint SPIFFE ID");
        r.profile = "https_spiffe";
        r.endpoint_spiffe_id = id->ToString();
        break;
      }
      case FederationRelationship::kHttpsWeb:
        r.profile = "https_web";
        break;
      default:
        return absl::InvalidArgumentError("unsupported bundle endpoint profile type: <nil>");
    }
  }
  return r;
}

// trust_domain_bundle, when given: the relationship's domain's bundle (the https_spiffe bootstrap).
absl::StatusOr<std::optional<datastore::BundleRecord>> BundleOf(const FederationRelationship& f,
                                                                const std::string& td) {
  if (!f.has_trust_domain_bundle()) return std::optional<datastore::BundleRecord>();
  auto b = BundleFromProto(f.trust_domain_bundle());
  if (!b.ok()) return Annotate(b.status(), "failed to parse bundle");
  if (b->trust_domain != td) {
    return absl::InvalidArgumentError(absl::StrCat("trust domain bundle (\"", b->trust_domain,
                                                   "\") must match the trust domain of the federation relationship (\"",
                                                   td, "\")"));
  }
  return std::optional<datastore::BundleRecord>(*std::move(b));
}

template <typename Result>
void FillResult(
    const absl::StatusOr<datastore::FederationRelationshipRecord>& r, Result* out,
    const std::function<void(const datastore::FederationRelationshipRecord&, FederationRelationship*)>& conv) {
  StatusToProto(r.status(), out->mutable_status());
  if (r.ok()) conv(*r, out->mutable_federation_relationship());
}

}  // namespace

absl::StatusOr<server::FederationRelationship> RelationshipFromRecord(
    const datastore::FederationRelationshipRecord& r) {
  auto td = spiffe::TrustDomain::Parse(r.trust_domain);
  if (!td.ok()) return Annotate(td.status(), "stored federation relationship");
  server::FederationRelationship out{
      .trust_domain = *td,
      .bundle_endpoint_url = r.bundle_endpoint_url,
      .profile = r.profile == "https_web" ? BundleEndpointProfile::kHttpsWeb : BundleEndpointProfile::kHttpsSpiffe,
      .endpoint_spiffe_id = r.endpoint_spiffe_id};
  return out;
}

void TrustDomainService::ToProto(const datastore::FederationRelationshipRecord& r,
                                 const FederationRelationshipMask& mask, FederationRelationship* out) {
  out->set_trust_domain(r.trust_domain);
  if (mask.bundle_endpoint_url()) out->set_bundle_endpoint_url(r.bundle_endpoint_url);
  if (mask.bundle_endpoint_profile()) {
    if (r.profile == "https_web") {
      out->mutable_https_web();
    } else {
      out->mutable_https_spiffe()->set_endpoint_spiffe_id(r.endpoint_spiffe_id);
    }
  }
  if (mask.trust_domain_bundle()) {
    if (auto b = deps_.ds.FetchBundle(r.trust_domain); b.ok()) BundleToProto(*b, out->mutable_trust_domain_bundle());
  }
}

grpc::Status TrustDomainService::ListFederationRelationships(
    grpc::ServerContext*, const trustdomainv1::ListFederationRelationshipsRequest* req,
    trustdomainv1::ListFederationRelationshipsResponse* resp) {
  if (req->page_size() < 0) return ToGrpc(absl::InvalidArgumentError("page_size must not be negative"));
  auto all = deps_.ds.ListFederationRelationships();
  if (!all.ok()) return ToGrpc(Annotate(all.status(), "failed to list federation relationships"));
  auto it = all->begin();
  if (!req->page_token().empty()) {
    it = std::upper_bound(all->begin(), all->end(), req->page_token(),
                          [](const std::string& tok, const auto& r) { return tok < r.trust_domain; });
  }
  const FederationRelationshipMask mask = req->has_output_mask() ? req->output_mask() : AllTrue();
  for (int n = 0; it != all->end() && (req->page_size() == 0 || n < req->page_size()); ++it, ++n) {
    ToProto(*it, mask, resp->add_federation_relationships());
  }
  if (req->page_size() > 0 && it != all->end()) resp->set_next_page_token(std::prev(it)->trust_domain);
  return grpc::Status::OK;
}

grpc::Status TrustDomainService::GetFederationRelationship(grpc::ServerContext*,
                                                           const trustdomainv1::GetFederationRelationshipRequest* req,
                                                           FederationRelationship* resp) {
  auto td = spiffe::TrustDomain::Parse(req->trust_domain());
  if (!td.ok()) return ToGrpc(Annotate(td.status(), "failed to parse trust domain"));
  auto r = deps_.ds.FetchFederationRelationship(td->name());
  if (absl::IsNotFound(r.status())) return ToGrpc(absl::NotFoundError("federation relationship does not exist"));
  if (!r.ok()) return ToGrpc(Annotate(r.status(), "failed to fetch federation relationship"));
  ToProto(*r, req->has_output_mask() ? req->output_mask() : AllTrue(), resp);
  return grpc::Status::OK;
}

absl::StatusOr<datastore::FederationRelationshipRecord> TrustDomainService::CreateOne(
    const FederationRelationship& in) {
  auto rec = RecordFromProto(in, AllTrue());
  if (!rec.ok()) return Annotate(rec.status(), "failed to convert federation relationship");
  if (rec->trust_domain == deps_.trust_domain.name()) {
    return absl::InvalidArgumentError("unable to create federation relationship for server trust domain");
  }
  auto bundle = BundleOf(in, rec->trust_domain);
  if (!bundle.ok()) return Annotate(bundle.status(), "failed to convert federation relationship");
  if (auto st = deps_.ds.CreateFederationRelationship(*rec); !st.ok()) {
    return Annotate(st, "failed to create federation relationship");
  }
  if (bundle->has_value()) {
    if (auto set = deps_.ds.SetBundle(**bundle); !set.ok()) {
      (void)deps_.ds.DeleteFederationRelationship(rec->trust_domain);  // nothing half-written
      return Annotate(set.status(), "failed to create federation relationship: failed to set bundle");
    }
  }
  return rec;
}

absl::StatusOr<datastore::FederationRelationshipRecord> TrustDomainService::UpdateOne(
    const FederationRelationship& in, const FederationRelationshipMask& mask) {
  auto rec = RecordFromProto(in, mask);
  if (!rec.ok()) return Annotate(rec.status(), "failed to convert federation relationship");
  std::optional<datastore::BundleRecord> bundle;
  if (mask.trust_domain_bundle()) {
    auto b = BundleOf(in, rec->trust_domain);
    if (!b.ok()) return Annotate(b.status(), "failed to convert federation relationship");
    bundle = *std::move(b);
  }
  auto updated =
      deps_.ds.UpdateFederationRelationship(*rec, mask.bundle_endpoint_url(), mask.bundle_endpoint_profile());
  if (!updated.ok()) return Annotate(updated.status(), "failed to update federation relationship");
  if (bundle.has_value()) {
    if (auto set = deps_.ds.SetBundle(*bundle); !set.ok()) {
      return Annotate(set.status(), "failed to update federation relationship: failed to set bundle");
    }
  }
  return updated;
}

grpc::Status TrustDomainService::BatchCreateFederationRelationship(
    grpc::ServerContext*, const trustdomainv1::BatchCreateFederationRelationshipRequest* req,
    trustdomainv1::BatchCreateFederationRelationshipResponse* resp) {
  const FederationRelationshipMask mask = req->has_output_mask() ? req->output_mask() : AllTrue();
  auto conv = [&](const auto& r, FederationRelationship* out) { ToProto(r, mask, out); };
  for (const auto& in : req->federation_relationships()) FillResult(CreateOne(in), resp->add_results(), conv);
  return grpc::Status::OK;
}

grpc::Status TrustDomainService::BatchUpdateFederationRelationship(
    grpc::ServerContext*, const trustdomainv1::BatchUpdateFederationRelationshipRequest* req,
    trustdomainv1::BatchUpdateFederationRelationshipResponse* resp) {
  const FederationRelationshipMask in_mask = req->has_input_mask() ? req->input_mask() : AllTrue();
  const FederationRelationshipMask out_mask = req->has_output_mask() ? req->output_mask() : AllTrue();
  auto conv = [&](const auto& r, FederationRelationship* out) { ToProto(r, out_mask, out); };
  for (const auto& in : req->federation_relationships()) FillResult(UpdateOne(in, in_mask), resp->add_results(), conv);
  return grpc::Status::OK;
}

grpc::Status TrustDomainService::BatchDeleteFederationRelationship(
    grpc::ServerContext*, const trustdomainv1::BatchDeleteFederationRelationshipRequest* req,
    trustdomainv1::BatchDeleteFederationRelationshipResponse* resp) {
  for (const auto& td : req->trust_domains()) {
    auto* r = resp->add_results();
    r->set_trust_domain(td);
    if (td.empty()) {
      StatusToProto(absl::InvalidArgumentError("missing trust domain"), r->mutable_status());
      continue;
    }
    auto parsed = spiffe::TrustDomain::Parse(td);
    if (!parsed.ok()) {
      StatusToProto(Annotate(parsed.status(), "failed to parse trust domain"), r->mutable_status());
      continue;
    }
    r->set_trust_domain(parsed->name());
    auto st = deps_.ds.DeleteFederationRelationship(parsed->name());
    if (absl::IsNotFound(st)) st = absl::NotFoundError("federation relationship not found");
    if (!st.ok() && !absl::IsNotFound(st)) st = Annotate(st, "failed to delete federation relationship");
    StatusToProto(st, r->mutable_status());
  }
  return grpc::Status::OK;
}

grpc::Status TrustDomainService::RefreshBundle(grpc::ServerContext*, const trustdomainv1::RefreshBundleRequest* req,
                                               google::protobuf::Empty*) {
  auto td = spiffe::TrustDomain::Parse(req->trust_domain());
  if (!td.ok()) return ToGrpc(Annotate(td.status(), "failed to parse trust domain"));
  if (deps_.refresher == nullptr) return ToGrpc(absl::UnavailableError("bundle refresher not running"));
  auto st = deps_.refresher->RefreshNow(td->name());
  if (absl::IsNotFound(st)) {
    return ToGrpc(absl::NotFoundError(absl::StrCat("no relationship with trust domain \"", td->name(), "\"")));
  }
  if (!st.ok()) return ToGrpc(Annotate(st, "failed to refresh bundle"));
  return grpc::Status::OK;
}

}  // namespace spirecvm::server::spireapi
