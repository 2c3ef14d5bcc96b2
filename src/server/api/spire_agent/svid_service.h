// SPIRE's spire.api.server.svid.v1.SVID on the agent TLS endpoint: BatchNewX509SVID (one result with a
// types.Status per param, in order) and NewJWTSVID, for entries the calling agent is authorized for;
// NewDownstreamX509CA for a downstream workload (a nested SPIRE server) calling with its X509-SVID. Mint* are
// forwarded to the admin socket's service for admin callers (admin_caller.h), PermissionDenied for anyone else.
#pragma once

#include "server/api/agent_api_deps.h"
#include "server/api/spire/svid_service.h"
#include "server/api/spire_agent/caller.h"
#include "server/api/svid_signing.h"
#include "spire/api/server/svid/v1/svid.grpc.pb.h"

namespace spirecvm::server::spireagent {

namespace svidv1 = ::spire::api::server::svid::v1;

// One BatchNewX509SVID param against the agent's authorized entries: the result's status says why it failed. `node`:
// the asking agent's attested node (whose facts the SVID may carry, SignEntryX509Svid).
svidv1::BatchNewX509SVIDResponse::Result NewX509SvidResult(const AgentApiDeps& deps,
                                                           const std::map<std::string, EntryPtr, std::less<>>& entries,
                                                           const svidv1::NewX509SVIDParams& param,
                                                           const datastore::AttestedNode* node = nullptr);

// NewDownstreamX509CA for the caller whose X509-SVID chain (PEM, leaf first) this is, as SPIRE authorizes it
// (AuthenticateDownstreamChain: a downstream entry's SPIFFE ID). The CA is signed for the CSR's key with the
// preferred TTL, or the server's ca_ttl when none; x509_authorities are our bundle's.
absl::StatusOr<svidv1::NewDownstreamX509CAResponse> NewDownstreamX509Ca(const AgentApiDeps& deps,
                                                                        const std::string& caller_chain_pem,
                                                                        const svidv1::NewDownstreamX509CARequest& req);

class SvidService final : public svidv1::SVID::CallbackService {
 public:
  // `admin`: the admin socket's SvidService for admin callers over TLS (default: none, every admin method denied).
  explicit SvidService(AgentApiDeps deps, AdminDelegate<spireapi::SvidService> admin = {})
      : deps_(deps), admin_(admin) {}

  // On gRPC's callback API (unary_call.h): the SVIDs on the callback thread (signing, no write), the downstream CA on
  // the blocking pool; each after its signing rate-limit wait.
  grpc::ServerUnaryReactor* BatchNewX509SVID(grpc::CallbackServerContext* ctx,
                                             const svidv1::BatchNewX509SVIDRequest* req,
                                             svidv1::BatchNewX509SVIDResponse* resp) override;
  grpc::ServerUnaryReactor* NewJWTSVID(grpc::CallbackServerContext* ctx, const svidv1::NewJWTSVIDRequest* req,
                                       svidv1::NewJWTSVIDResponse* resp) override;

  SPIREAGENT_ADMIN_ONLY(MintX509SVID, svidv1::MintX509SVIDRequest, svidv1::MintX509SVIDResponse)
  SPIREAGENT_ADMIN_ONLY(MintJWTSVID, svidv1::MintJWTSVIDRequest, svidv1::MintJWTSVIDResponse)
  grpc::ServerUnaryReactor* NewDownstreamX509CA(grpc::CallbackServerContext* ctx,
                                                const svidv1::NewDownstreamX509CARequest* req,
                                                svidv1::NewDownstreamX509CAResponse* resp) override;

 private:
  grpc::Status NewJwtSvid(const AuthenticatedAgent& a, const svidv1::NewJWTSVIDRequest& req,
                          svidv1::NewJWTSVIDResponse* resp);

  AgentApiDeps deps_;
  AdminDelegate<spireapi::SvidService> admin_;
};

}  // namespace spirecvm::server::spireagent
