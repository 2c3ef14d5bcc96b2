// Envoy's Secret Discovery Service v3 on the Workload API socket, as SPIRE's agent serves it: FetchSecrets (one
// answer, no version or nonce), StreamSecrets (xDS state-of-the-world: a versioned, nonced answer to each change of
// the requested resource names and to every change of the workload's SVIDs or bundles; stale nonces ignored, NACKs
// logged) and DeltaSecrets (Unimplemented, as SPIRE). The caller is attested from the connection's peer
// credentials exactly as for the Workload API; no `workload.spiffe.io` header is required (Envoy sends none).
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <map>
#include <string>

#include "agent/manager/cache.h"
#include "agent/sds/sds_options.h"
#include "agent/sds/secrets.h"
#include "agent/workload/workload_api.h"
#include "common/random.h"
#include "envoy/service/secret/v3/sds.grpc.pb.h"
#include "spiffe/bundle.h"

namespace spirecvm::agent::sds {

// The federated bundles a workload's view entitles it to, by trust domain ID (the agent passes those of
// WorkloadUpdate::federated). Called concurrently (cache delivery threads and the worker pool): implementations must
// be thread-safe and must not block.
using FederatedBundlesFn = std::function<std::map<std::string, spiffe::Bundle>(const WorkloadUpdate&)>;

struct SdsDeps {
  SdsOptions options;
  Random* random = nullptr;      // response nonces
  FederatedBundlesFn federated;  // may be empty: no federated bundles
};

class SdsService final : public envoy::service::secret::v3::SecretDiscoveryService::CallbackService {
 public:
  // `workload` provides caller lookup/attestation, the cache, the worker pool and the per-uid stream limit; it must
  // outlive this service.
  SdsService(WorkloadApiService* workload, SdsDeps deps) : workload_(workload), deps_(std::move(deps)) {}

  grpc::ServerBidiReactor<envoy::service::discovery::v3::DiscoveryRequest,
                          envoy::service::discovery::v3::DiscoveryResponse>*
  StreamSecrets(grpc::CallbackServerContext* ctx) override;
  grpc::ServerBidiReactor<envoy::service::discovery::v3::DeltaDiscoveryRequest,
                          envoy::service::discovery::v3::DeltaDiscoveryResponse>*
  DeltaSecrets(grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* FetchSecrets(grpc::CallbackServerContext* ctx,
                                         const envoy::service::discovery::v3::DiscoveryRequest* req,
                                         envoy::service::discovery::v3::DiscoveryResponse* resp) override;

  WorkloadApiService& workload() { return *workload_; }
  const SdsDeps& deps() const { return deps_; }
  // The secrets state of a cache view (SVIDs, own bundle, federated bundles).
  SdsState StateOf(const WorkloadUpdate& u) const;

 private:
  WorkloadApiService* workload_;
  SdsDeps deps_;
};

}  // namespace spirecvm::agent::sds
