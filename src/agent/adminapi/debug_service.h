// spire.agent.debug.v1.Debug/GetInfo on the agent's admin socket, as SPIRE's agent (pkg/agent/api/debug/v1): the
// agent SVID's chain verified to the trusted bundle (leaf to root: SPIFFE ID, expiry, subject), uptime, the time of
// the last successful sync and the cached SVID counts. The answer is kept for 5 s, as SPIRE does.
#pragma once

#include <grpcpp/grpcpp.h>

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "spiffe/bundle.h"
#include "spire/api/agent/debug/v1/debug.grpc.pb.h"

namespace spirecvm::agent::adminapi {

namespace debugv1 = ::spire::agent::debug::v1;

// What GetInfo reads; each function is called on gRPC threads and must be thread-safe.
struct DebugSource {
  std::function<std::vector<std::string>()> agent_svid_chain;  // DER, leaf first; empty before attestation
  std::function<std::optional<spiffe::Bundle>()> bundle;
  std::function<absl::Time()> last_sync_success;  // InfinitePast: never
  std::function<size_t()> cached_x509_svids;
  std::function<size_t()> cached_jwt_svids;
};

// The chain as GetInfo reports it: `chain_der` verified to `bundle` at `now`, followed by the root it chains to.
absl::StatusOr<std::vector<debugv1::GetInfoResponse::Cert>> DescribeAgentChain(
    const std::vector<std::string>& chain_der, const spiffe::Bundle& bundle, absl::Time now);

class DebugService final : public debugv1::Debug::Service {
 public:
  DebugService(DebugSource source, const Clock& clock);

  grpc::Status GetInfo(grpc::ServerContext*, const debugv1::GetInfoRequest*, debugv1::GetInfoResponse* out) override;

 private:
  absl::StatusOr<debugv1::GetInfoResponse> Compute();

  const DebugSource source_;
  const Clock& clock_;
  const absl::Time started_;
  std::mutex mu_;
  std::optional<debugv1::GetInfoResponse> cached_;
  absl::Time cached_at_ = absl::InfinitePast();
};

}  // namespace spirecvm::agent::adminapi
