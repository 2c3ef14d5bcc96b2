// The SPIFFE Workload API (facts.md §5) on the gRPC callback API: a stream is a reactor object fed by a cache
// subscription, not a thread, so one agent holds thousands of watchers.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/manager/cache.h"
#include "agent/workload/peer_registry.h"
#include "agent/workload/stream_limiter.h"
#include "agent/workload/workload_attestor.h"
#include "common/clock.h"
#include "common/telemetry/registry.h"
#include "common/worker_pool.h"
#include "workload.grpc.pb.h"

namespace spirecvm::agent {

// Mints a JWT-SVID for an entry at the server (the manager implements it; blocking).
class JwtMinter {
 public:
  virtual ~JwtMinter() = default;
  virtual absl::StatusOr<JwtRecord> MintJwt(const spirecvm::types::Entry& entry,
                                            const std::vector<std::string>& audience) = 0;
};

struct WorkloadApiDeps {
  std::shared_ptr<Cache> cache;
  WorkloadAttestor* attestor = nullptr;
  JwtMinter* minter = nullptr;
  PeerRegistry* peers = nullptr;
  WorkerPool* pool = nullptr;
  const Clock* clock = nullptr;
  std::string proc_root = "/proc";
  // Open streams (X509-SVID, X509 bundle and JWT bundle watchers) one uid may hold; beyond, RESOURCE_EXHAUSTED.
  size_t max_streams_per_uid = 8192;
  // Concurrent streams on one connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS); more wait for a free one.
  int max_streams_per_connection = 256;
  // Telemetry (optional): SPIRE's per-RPC call counters and workload_api_connection, counted by the endpoint.
  telemetry::Registry* metrics = nullptr;
};

inline constexpr char kSecurityHeader[] = "workload.spiffe.io";

class WorkloadApiService final : public SpiffeWorkloadAPI::CallbackService {
 public:
  explicit WorkloadApiService(WorkloadApiDeps deps) : deps_(std::move(deps)), streams_(deps_.max_streams_per_uid) {}

  grpc::ServerWriteReactor<X509SVIDResponse>* FetchX509SVID(grpc::CallbackServerContext* ctx,
                                                            const X509SVIDRequest* req) override;
  grpc::ServerWriteReactor<X509BundlesResponse>* FetchX509Bundles(grpc::CallbackServerContext* ctx,
                                                                  const X509BundlesRequest* req) override;
  grpc::ServerUnaryReactor* FetchJWTSVID(grpc::CallbackServerContext* ctx, const JWTSVIDRequest* req,
                                         JWTSVIDResponse* resp) override;
  grpc::ServerWriteReactor<JWTBundlesResponse>* FetchJWTBundles(grpc::CallbackServerContext* ctx,
                                                                const JWTBundlesRequest* req) override;
  grpc::ServerUnaryReactor* ValidateJWTSVID(grpc::CallbackServerContext* ctx, const ValidateJWTSVIDRequest* req,
                                            ValidateJWTSVIDResponse* resp) override;

  // The credentials recorded at accept for this call's connection. Taken when the call arrives (on the gRPC
  // thread), before any queueing, so a later reuse of the fd number cannot be confused with this caller.
  absl::StatusOr<CallerInfo> LookupCaller(const std::string& peer) const;
  // PID-reuse guard + workload attestation (blocking; call on the pool). Public for tests.
  absl::StatusOr<std::vector<std::string>> AttestCaller(const absl::StatusOr<CallerInfo>& caller);

  const WorkloadApiDeps& deps() const { return deps_; }
  StreamLimiter& streams() { return streams_; }

 private:
  absl::Status DoFetchJwt(const absl::StatusOr<CallerInfo>& caller, const JWTSVIDRequest& req, JWTSVIDResponse* resp);
  absl::Status DoValidateJwt(const ValidateJWTSVIDRequest& req, ValidateJWTSVIDResponse* resp);

  WorkloadApiDeps deps_;
  StreamLimiter streams_;
};

// True when the call carries `workload.spiffe.io: true`.
bool HasSecurityHeader(const grpc::CallbackServerContext& ctx);

}  // namespace spirecvm::agent
