#include "server/api/spire/bundle_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "common/strings.h"
#include "server/api/spire/convert.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server::spireapi {
namespace {

const sapi::BundleMask* MaskOf(bool has, const sapi::BundleMask& m) { return has ? &m : nullptr; }

// A stored bundle on the wire, output mask applied.
void BundleOut(const datastore::BundleRecord& b, const sapi::BundleMask* mask, sapi::Bundle* out) {
  BundleToProto(b, out);
  ApplyBundleMask(mask, out);
}

// One result of a create/update/set batch: its status and, when it succeeded, the bundle.
template <typename Result>
void FillResult(const absl::StatusOr<datastore::BundleRecord>& r, const sapi::BundleMask* mask, Result* out) {
  StatusToProto(r.status(), out->mutable_status());
  if (r.ok()) BundleOut(*r, mask, out->mutable_bundle());
}

absl::StatusOr<datastore::DeleteBundleMode> DeleteModeFromProto(bundlev1::BatchDeleteFederatedBundleRequest::Mode m) {
  switch (m) {
    case bundlev1::BatchDeleteFederatedBundleRequest::RESTRICT:
      return datastore::DeleteBundleMode::kRestrict;
    case bundlev1::BatchDeleteFederatedBundleRequest::DISSOCIATE:
      return datastore::DeleteBundleMode::kDissociate;
    case bundlev1::BatchDeleteFederatedBundleRequest::DELETE:
      return datastore::DeleteBundleMode::kDelete;
    default:
      return absl::InvalidArgumentError(absl::StrCat("failed to parse mode: unhandled delete mode ", m));
  }
}

}  // namespace

grpc::Status BundleService::CountBundles(grpc::ServerContext*, const bundlev1::CountBundlesRequest*,
                                         bundlev1::CountBundlesResponse* resp) {
  // Every stored bundle, ours included, as SPIRE counts.
  auto n = deps_.ds.CountBundles();
  if (!n.ok()) return ToGrpc(Annotate(n.status(), "failed to count bundles"));
  resp->set_count(static_cast<int32_t>(*n));
  return grpc::Status::OK;
}

grpc::Status BundleService::GetBundle(grpc::ServerContext*, const bundlev1::GetBundleRequest* req,
                                      ::spire::api::types::Bundle* resp) {
  auto b = deps_.ds.FetchBundle(deps_.trust_domain.name());
  if (absl::IsNotFound(b.status())) return ToGrpc(absl::NotFoundError("bundle not found"));
  if (!b.ok()) return ToGrpc(Annotate(b.status(), "failed to fetch bundle"));
  BundleOut(*b, MaskOf(req->has_output_mask(), req->output_mask()), resp);
  return grpc::Status::OK;
}

grpc::Status BundleService::ListFederatedBundles(grpc::ServerContext*, const bundlev1::ListFederatedBundlesRequest* req,
                                                 bundlev1::ListFederatedBundlesResponse* resp) {
  if (req->page_size() < 0) return ToGrpc(absl::InvalidArgumentError("page_size must not be negative"));
  auto all = deps_.ds.ListBundles();
  if (!all.ok()) return ToGrpc(Annotate(all.status(), "failed to list bundles"));
  std::erase_if(*all, [&](const auto& b) { return b.trust_domain == deps_.trust_domain.name(); });
  // Sorted by trust domain: the page token is the last trust domain of the previous page.
  auto it = all->begin();
  if (!req->page_token().empty()) {
    it = std::upper_bound(all->begin(), all->end(), req->page_token(),
                          [](const std::string& tok, const auto& b) { return tok < b.trust_domain; });
  }
  const auto* mask = MaskOf(req->has_output_mask(), req->output_mask());
  for (int n = 0; it != all->end() && (req->page_size() == 0 || n < req->page_size()); ++it, ++n) {
    BundleOut(*it, mask, resp->add_bundles());
  }
  if (req->page_size() > 0 && it != all->end()) resp->set_next_page_token(std::prev(it)->trust_domain);
  return grpc::Status::OK;
}

absl::Status FetchFederatedBundle(const spiffe::TrustDomain& own, datastore::DataStore& ds,
                                  const bundlev1::GetFederatedBundleRequest& req, ::spire::api::types::Bundle* resp) {
  auto td = spiffe::TrustDomain::Parse(req.trust_domain());
  if (!td.ok())
    return Annotate(absl::InvalidArgumentError(td.status().message()), "trust domain argument is not valid");
  if (*td == own) {
    return absl::InvalidArgumentError("getting a federated bundle for the server's own trust domain is not allowed");
  }
  auto b = ds.FetchBundle(td->name());
  if (absl::IsNotFound(b.status())) return absl::NotFoundError("bundle not found");
  if (!b.ok()) return Annotate(b.status(), "failed to fetch bundle");
  BundleOut(*b, MaskOf(req.has_output_mask(), req.output_mask()), resp);
  return absl::OkStatus();
}

grpc::Status BundleService::GetFederatedBundle(grpc::ServerContext*, const bundlev1::GetFederatedBundleRequest* req,
                                               ::spire::api::types::Bundle* resp) {
  return ToGrpc(FetchFederatedBundle(deps_.trust_domain, deps_.ds, *req, resp));
}

grpc::Status BundleService::AppendBundle(grpc::ServerContext*, const bundlev1::AppendBundleRequest* req,
                                         ::spire::api::types::Bundle* resp) {
  if (req->x509_authorities().empty() && req->jwt_authorities().empty()) {
    return ToGrpc(absl::InvalidArgumentError("no authorities to append"));
  }
  sapi::Bundle x509_only, jwt_only;
  x509_only.set_trust_domain(deps_.trust_domain.name());
  jwt_only.set_trust_domain(deps_.trust_domain.name());
  *x509_only.mutable_x509_authorities() = req->x509_authorities();
  *jwt_only.mutable_jwt_authorities() = req->jwt_authorities();
  auto jwt = BundleFromProto(jwt_only);
  if (!jwt.ok()) return ToGrpc(Annotate(jwt.status(), "failed to convert JWT authority"));
  auto x509 = BundleFromProto(x509_only);
  if (!x509.ok()) return ToGrpc(Annotate(x509.status(), "failed to convert X.509 authority"));
  datastore::BundleRecord add = std::move(*x509);
  add.jwt_keys = std::move(jwt->jwt_keys);
  auto b = deps_.ds.AppendBundle(add);
  if (!b.ok()) return ToGrpc(Annotate(b.status(), "failed to append bundle"));
  spdlog::info("bundle appended: {} X.509 authorities, {} JWT keys offered", req->x509_authorities_size(),
               req->jwt_authorities_size());
  BundleOut(*b, MaskOf(req->has_output_mask(), req->output_mask()), resp);
  return grpc::Status::OK;
}

absl::StatusOr<datastore::BundleRecord> BundleService::CheckFederated(const sapi::Bundle& in,
                                                                      std::string_view verb) const {
  auto td = spiffe::TrustDomain::Parse(in.trust_domain());
  if (!td.ok()) return Annotate(td.status(), "trust domain argument is not valid");
  if (*td == deps_.trust_domain) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(verb), " a federated bundle for the server's own trust domain is not allowed"));
  }
  auto rec = BundleFromProto(in);
  if (!rec.ok()) return Annotate(absl::InvalidArgumentError(rec.status().message()), "failed to convert bundle");
  return rec;
}

absl::StatusOr<datastore::BundleRecord> BundleService::CreateOne(const sapi::Bundle& in) {
  ASSIGN_OR_RETURN(auto rec, CheckFederated(in, "creating"));
  auto b = deps_.ds.CreateBundle(rec);
  if (absl::IsAlreadyExists(b.status())) return absl::AlreadyExistsError("bundle already exists");
  if (!b.ok()) return Annotate(b.status(), "unable to create bundle");
  spdlog::info("federated bundle created: {}", b->trust_domain);
  return b;
}

absl::StatusOr<datastore::BundleRecord> BundleService::UpdateOne(const sapi::Bundle& in, const sapi::BundleMask* mask) {
  ASSIGN_OR_RETURN(auto rec, CheckFederated(in, "updating"));
  auto b = deps_.ds.UpdateBundle(rec, BundleMaskFromProto(mask));
  if (absl::IsNotFound(b.status())) return absl::NotFoundError("bundle not found");
  if (!b.ok()) return Annotate(b.status(), "failed to update bundle");
  spdlog::info("federated bundle updated: {}", b->trust_domain);
  return b;
}

absl::StatusOr<datastore::BundleRecord> BundleService::SetOne(const sapi::Bundle& in) {
  ASSIGN_OR_RETURN(auto rec, CheckFederated(in, "setting"));
  auto b = deps_.ds.SetBundle(rec);
  if (!b.ok()) return Annotate(b.status(), "failed to set bundle");
  spdlog::info("federated bundle set: {}", b->trust_domain);
  return b;
}

absl::Status BundleService::DeleteOne(const std::string& trust_domain, datastore::DeleteBundleMode mode) {
  auto td = spiffe::TrustDomain::Parse(trust_domain);
  if (!td.ok()) return Annotate(td.status(), "trust domain argument is not valid");
  if (*td == deps_.trust_domain) {
    return absl::InvalidArgumentError("removing the bundle for the server trust domain is not allowed");
  }
  auto st = deps_.ds.DeleteBundle(td->name(), mode);
  if (absl::IsNotFound(st)) return absl::NotFoundError("bundle not found");
  if (!st.ok()) return Annotate(st, "failed to delete federated bundle");
  spdlog::info("federated bundle deleted: {}", td->name());
  return absl::OkStatus();
}

grpc::Status BundleService::BatchCreateFederatedBundle(grpc::ServerContext*,
                                                       const bundlev1::BatchCreateFederatedBundleRequest* req,
                                                       bundlev1::BatchCreateFederatedBundleResponse* resp) {
  const auto* mask = MaskOf(req->has_output_mask(), req->output_mask());
  for (const auto& in : req->bundle()) FillResult(CreateOne(in), mask, resp->add_results());
  return grpc::Status::OK;
}

grpc::Status BundleService::BatchUpdateFederatedBundle(grpc::ServerContext*,
                                                       const bundlev1::BatchUpdateFederatedBundleRequest* req,
                                                       bundlev1::BatchUpdateFederatedBundleResponse* resp) {
  const auto* in_mask = MaskOf(req->has_input_mask(), req->input_mask());
  const auto* out_mask = MaskOf(req->has_output_mask(), req->output_mask());
  for (const auto& in : req->bundle()) FillResult(UpdateOne(in, in_mask), out_mask, resp->add_results());
  return grpc::Status::OK;
}

grpc::Status BundleService::BatchSetFederatedBundle(grpc::ServerContext*,
                                                    const bundlev1::BatchSetFederatedBundleRequest* req,
                                                    bundlev1::BatchSetFederatedBundleResponse* resp) {
  const auto* mask = MaskOf(req->has_output_mask(), req->output_mask());
  for (const auto& in : req->bundle()) FillResult(SetOne(in), mask, resp->add_results());
  return grpc::Status::OK;
}

grpc::Status BundleService::BatchDeleteFederatedBundle(grpc::ServerContext*,
                                                       const bundlev1::BatchDeleteFederatedBundleRequest* req,
                                                       bundlev1::BatchDeleteFederatedBundleResponse* resp) {
  auto mode = DeleteModeFromProto(req->mode());
  if (!mode.ok()) return ToGrpc(mode.status());
  bool changed = false;
  for (const auto& td : req->trust_domains()) {
    auto* r = resp->add_results();
    r->set_trust_domain(td);
    auto st = DeleteOne(td, *mode);
    StatusToProto(st, r->mutable_status());
    changed = changed || st.ok();
  }
  // DISSOCIATE and DELETE change entries: agents must see that at once.
  if (changed && *mode != datastore::DeleteBundleMode::kRestrict && deps_.entries != nullptr) {
    (void)deps_.entries->Refresh();
  }
  return grpc::Status::OK;
}

}  // namespace spirecvm::server::spireapi
