// SPIRE's spire.api.server.svid.v1.SVID on the agent TLS endpoint: BatchNewX509SVID (one result with a
// types.Status per param, in order) and NewJWTSVID, for entries the calling agent is authorized for. Mint* are
// forwarded to the admin socket's service for admin callers (admin_caller.h), PermissionDenied for anyone else;
// NewDownstreamX509CA answers PermissionDenied (downstream callers are not supported yet).
#pragma once

#include "server/api/node_service.h"
#include "server/api/spire/svid_service.h"
#include "server/api/spire_agent/caller.h"
#include "spire/api/server/svid/v1/svid.grpc.pb.h"

namespace spirecvm::server::spireagent {

namespace svidv1 = ::spire::api::server::svid::v1;

// One BatchNewX509SVID param against the agent's authorized entries: the result's status says why it failed.
svidv1::BatchNewX509SVIDResponse::Result NewX509SvidResult(const NodeServiceDeps& deps,
                                                           const std::map<std::string, EntryPtr, std::less<>>& entries,
                                                           const svidv1::NewX509SVIDParams& param);

class SvidService final : public svidv1::SVID::Service {
 public:
  // `admin`: the admin socket's SvidService for admin callers over TLS (default: none, every admin method denied).
  explicit SvidService(NodeServiceDeps deps, AdminDelegate<spireapi::SvidService> admin = {})
      : deps_(deps), admin_(admin) {}

  grpc::Status BatchNewX509SVID(grpc::ServerContext* ctx, const svidv1::BatchNewX509SVIDRequest* req,
                                svidv1::BatchNewX509SVIDResponse* resp) override;
  grpc::Status NewJWTSVID(grpc::ServerContext* ctx, const svidv1::NewJWTSVIDRequest* req,
                          svidv1::NewJWTSVIDResponse* resp) override;

  SPIREAGENT_ADMIN_ONLY(MintX509SVID, svidv1::MintX509SVIDRequest, svidv1::MintX509SVIDResponse)
  SPIREAGENT_ADMIN_ONLY(MintJWTSVID, svidv1::MintJWTSVIDRequest, svidv1::MintJWTSVIDResponse)
  SPIREAGENT_DOWNSTREAM_ONLY(NewDownstreamX509CA, svidv1::NewDownstreamX509CARequest,
                             svidv1::NewDownstreamX509CAResponse)

 private:
  NodeServiceDeps deps_;
  AdminDelegate<spireapi::SvidService> admin_;
};

}  // namespace spirecvm::server::spireagent
