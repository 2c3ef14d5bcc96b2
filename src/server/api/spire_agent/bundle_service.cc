#include "server/api/spire_agent/bundle_service.h"

#include "common/grpc_status.h"
#include "common/status.h"
#include "server/api/spire/bundle_service.h"
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
  return ToGrpc(spireapi::FetchFederatedBundle(deps_.trust_domain, deps_.ds, *req, resp));
}

}  // namespace spirecvm::server::spireagent
