// spire.api.agent.delegatedidentity.v1.DelegatedIdentity on the agent's admin socket, as SPIRE v1.13's agent: an
// authorized delegate (delegate_authorizer.h) subscribes to the X509-SVIDs of the workload named by selectors or by
// PID, to the X.509 and JWT bundles (the agent's own and every federated bundle it holds), and fetches JWT-SVIDs for
// such a workload. Every stream re-checks the caller's authorization (against the entries then held) before each
// update it sends.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "agent/adminapi/delegate_authorizer.h"
#include "agent/manager/cache.h"
#include "agent/workload/peer_registry.h"
#include "agent/workload/workload_api.h"
#include "common/worker_pool.h"
#include "spire/api/agent/delegatedidentity/v1/delegatedidentity.grpc.pb.h"

namespace spirecvm::agent::adminapi {

namespace didv1 = ::spire::api::agent::delegatedidentity::v1;

struct DelegatedIdentityDeps {
  std::shared_ptr<Cache> cache;
  const DelegateAuthorizer* authorizer = nullptr;
  JwtMinter* minter = nullptr;
  PeerRegistry* peers = nullptr;  // the admin endpoint's connections
  WorkerPool* pool = nullptr;     // where attestation and minting run
};

// Thread-safety: the gRPC callback threads enter each method; blocking work is queued on the pool.
class DelegatedIdentityService final : public didv1::DelegatedIdentity::CallbackService {
 public:
  explicit DelegatedIdentityService(DelegatedIdentityDeps deps) : deps_(std::move(deps)) {}

  grpc::ServerWriteReactor<didv1::SubscribeToX509SVIDsResponse>* SubscribeToX509SVIDs(
      grpc::CallbackServerContext* ctx, const didv1::SubscribeToX509SVIDsRequest* req) override;
  grpc::ServerWriteReactor<didv1::SubscribeToX509BundlesResponse>* SubscribeToX509Bundles(
      grpc::CallbackServerContext* ctx, const didv1::SubscribeToX509BundlesRequest* req) override;
  grpc::ServerUnaryReactor* FetchJWTSVIDs(grpc::CallbackServerContext* ctx, const didv1::FetchJWTSVIDsRequest* req,
                                          didv1::FetchJWTSVIDsResponse* resp) override;
  grpc::ServerWriteReactor<didv1::SubscribeToJWTBundlesResponse>* SubscribeToJWTBundles(
      grpc::CallbackServerContext* ctx, const didv1::SubscribeToJWTBundlesRequest* req) override;

  const DelegatedIdentityDeps& deps() const { return deps_; }
  // The credentials recorded at accept for a call's connection ("fd:<n>" peer).
  absl::StatusOr<CallerInfo> LookupCaller(const std::string& peer) const;

 private:
  absl::Status DoFetchJwtSvids(const absl::StatusOr<CallerInfo>& caller, const didv1::FetchJWTSVIDsRequest& req,
                               didv1::FetchJWTSVIDsResponse* resp);

  DelegatedIdentityDeps deps_;
};

// The SubscribeToX509SVIDs message for a cache view: every SVID but those of admin or downstream entries (as
// SPIRE), each with its chain, expiry, hint and PKCS#8 key, and federates_with: the IDs ("spiffe://<td>") of the
// trust domains of u.federated. `skip_entry_ids`: the admin/downstream entries.
didv1::SubscribeToX509SVIDsResponse X509SvidsMessage(const WorkloadUpdate& u,
                                                     const absl::flat_hash_set<std::string>& skip_entry_ids);

}  // namespace spirecvm::agent::adminapi
