#include "server/api/spire/bundle_service.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "server/api/spire/convert.h"

namespace spirecvm::server::spireapi {

grpc::Status BundleService::CountBundles(grpc::ServerContext*, const bundlev1::CountBundlesRequest*,
                                         bundlev1::CountBundlesResponse* resp) {
  // Only our own trust domain's bundle can exist: nothing stores a federated one yet.
  auto b = deps_.ds.FetchBundle(deps_.trust_domain.name());
  if (!b.ok() && !absl::IsNotFound(b.status())) return ToGrpc(Annotate(b.status(), "failed to count bundles"));
  resp->set_count(b.ok() ? 1 : 0);
  return grpc::Status::OK;
}

grpc::Status BundleService::GetBundle(grpc::ServerContext*, const bundlev1::GetBundleRequest* req,
                                      ::spire::api::types::Bundle* resp) {
  auto b = deps_.ds.FetchBundle(deps_.trust_domain.name());
  if (absl::IsNotFound(b.status())) return ToGrpc(absl::NotFoundError("bundle not found"));
  if (!b.ok()) return ToGrpc(Annotate(b.status(), "failed to fetch bundle"));
  BundleToProto(*b, resp);
  ApplyBundleMask(req->has_output_mask() ? &req->output_mask() : nullptr, resp);
  return grpc::Status::OK;
}

grpc::Status BundleService::ListFederatedBundles(grpc::ServerContext*, const bundlev1::ListFederatedBundlesRequest* req,
                                                 bundlev1::ListFederatedBundlesResponse*) {
  if (req->page_size() < 0) return ToGrpc(absl::InvalidArgumentError("page_size must not be negative"));
  return grpc::Status::OK;  // no federated bundles: see the header
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
  BundleToProto(*b, resp);
  ApplyBundleMask(req.has_output_mask() ? &req.output_mask() : nullptr, resp);
  return absl::OkStatus();
}

grpc::Status BundleService::GetFederatedBundle(grpc::ServerContext*, const bundlev1::GetFederatedBundleRequest* req,
                                               ::spire::api::types::Bundle* resp) {
  return ToGrpc(FetchFederatedBundle(deps_.trust_domain, deps_.ds, *req, resp));
}

}  // namespace spirecvm::server::spireapi
