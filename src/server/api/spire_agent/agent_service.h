// SPIRE's spire.api.server.agent.v1.Agent on the agent TLS endpoint, for SPIRE's own agent: AttestAgent (a
// bidirectional stream: params with the attestation data and the CSR, any number of challenge rounds, the result
// with the agent SVID and `reattestable`) and RenewAgent (mTLS with the agent SVID). The admin methods are
// forwarded to the admin socket's service for admin callers (admin_caller.h); PermissionDenied for anyone else.
// PostStatus is refused to every caller, as SPIRE's authorization policy does (its service body is Unimplemented).
// Attestation itself is node_attestation.h, signing svid_signing.h.
#pragma once

#include <memory>

#include "server/api/agent_api_deps.h"
#include "server/api/spire/agent_service.h"
#include "server/api/spire_agent/caller.h"
#include "server/api/svid_signing.h"
#include "spire/api/server/agent/v1/agent.grpc.pb.h"

namespace spirecvm::server::spireagent {

namespace agentv1 = ::spire::api::server::agent::v1;

// The attestation exchange without gRPC, so tests can drive it.
class SpireAttestStream {
 public:
  virtual ~SpireAttestStream() = default;
  virtual bool Read(agentv1::AttestAgentRequest* req) = 0;
  virtual bool Write(const agentv1::AttestAgentResponse& resp) = 0;
};
// One attestation; the node is stored only when it succeeds (AttestAndStoreNode). Returns the result message, which
// the caller sends as the stream's last (the reactor: with the OK status, in one step).
absl::StatusOr<agentv1::AttestAgentResponse> AttestSpireAgent(const AttestationDeps& deps, SpireAttestStream& stream);

class AttestCalls;

// On gRPC's callback API: AttestAgent's stream (attest_reactor.h), the unary methods as unary_call.h says.
class AgentService final : public agentv1::Agent::CallbackService {
 public:
  // `admin`: the admin socket's AgentService for admin callers over TLS (default: none, every admin method denied).
  explicit AgentService(AgentApiDeps deps, AdminDelegate<spireapi::AgentService> admin = {});
  ~AgentService() override;

  grpc::ServerBidiReactor<agentv1::AttestAgentRequest, agentv1::AttestAgentResponse>* AttestAgent(
      grpc::CallbackServerContext* ctx) override;
  grpc::ServerUnaryReactor* RenewAgent(grpc::CallbackServerContext* ctx, const agentv1::RenewAgentRequest* req,
                                       agentv1::RenewAgentResponse* resp) override;

  SPIREAGENT_ADMIN_ONLY(CountAgents, agentv1::CountAgentsRequest, agentv1::CountAgentsResponse)
  SPIREAGENT_ADMIN_ONLY(ListAgents, agentv1::ListAgentsRequest, agentv1::ListAgentsResponse)
  SPIREAGENT_ADMIN_ONLY(GetAgent, agentv1::GetAgentRequest, sapi::Agent)
  SPIREAGENT_ADMIN_ONLY(DeleteAgent, agentv1::DeleteAgentRequest, google::protobuf::Empty)
  SPIREAGENT_ADMIN_ONLY(BanAgent, agentv1::BanAgentRequest, google::protobuf::Empty)
  SPIREAGENT_ADMIN_ONLY(CreateJoinToken, agentv1::CreateJoinTokenRequest, sapi::JoinToken)
  SPIREAGENT_DENIED(agentv1::Agent, PostStatus, agentv1::PostStatusRequest, agentv1::PostStatusResponse)

 private:
  AgentApiDeps deps_;
  AdminDelegate<spireapi::AgentService> admin_;
  std::unique_ptr<AttestCalls> attest_;
};

}  // namespace spirecvm::server::spireagent
