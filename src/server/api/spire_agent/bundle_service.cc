#include "server/api/spire_agent/bundle_service.h"

#include "common/grpc_status.h"
#include "common/status.h"
#include "server/api/spire/convert.h"

namespace spirecvm::server::spireagent {

// Any caller, as in SPIRE: the bundle is public, and SPIRE's agent fetches it right after AttestAgent on the same
// connection, before it has a certificate to present.
grpc::Status BundleService::GetBundle(grpc::ServerContext*, const bundlev1::GetBundleRequest* req, sapi::Bundle* resp) {
  auto bundle = deps_.bundle.Get();
  if (!bundle.ok()) return ToGrpc(Annotate(bundle.status(), "failed to fetch bundle"));
  spireapi::BundleToProto((*bundle)->record, resp);
  spireapi::ApplyBundleMask(req->has_output_mask() ? &req->output_mask() : nullptr, resp);
  return grpc::Status::OK;
}

grpc::Status BundleService::GetFederatedBundle(grpc::ServerContext* ctx, const bundlev1::GetFederatedBundleRequest* req,
                                               sapi::Bundle* resp) {
  auto a = AuthenticateCaller(deps_, *ctx);
  if (!a.ok()) return ToGrpc(a.status());
  auto td = spiffe::TrustDomain::Parse(req->trust_domain());
  if (!td.ok()) {
    return ToGrpc(Annotate(absl::InvalidArgumentError(td.status().message()), "trust domain argument is not valid"));
  }
  if (*td == deps_.trust_domain) {
    return ToGrpc(
        absl::InvalidArgumentError("getting a federated bundle for the server's own trust domain is not allowed"));
  }
  auto b = deps_.ds.FetchBundle(td->name());
  if (absl::IsNotFound(b.status())) return ToGrpc(absl::NotFoundError("bundle not found"));
  if (!b.ok()) return ToGrpc(Annotate(b.status(), "failed to fetch bundle"));
  spireapi::BundleToProto(*b, resp);
  spireapi::ApplyBundleMask(req->has_output_mask() ? &req->output_mask() : nullptr, resp);
  return grpc::Status::OK;
}

}  // namespace spirecvm::server::spireagent
