// SPIRE's spire.api.server.agent.v1.Agent, admin methods, on the admin socket: what SPIRE's
// `spire-server agent list|show|count|evict|ban|purge` and `token generate` call. AttestAgent is an agent call over
// TLS and is not served here; RenewAgent and PostStatus are refused as SPIRE refuses them to local callers.
#pragma once

#include "common/clock.h"
#include "common/random.h"
#include "server/api/spire/denied.h"
#include "server/datastore/datastore.h"
#include "server/entries/entry_cache.h"
#include "spiffe/spiffe_id.h"
#include "spire/api/server/agent/v1/agent.grpc.pb.h"

namespace spirecvm::server::spireapi {

namespace agentv1 = ::spire::api::server::agent::v1;

// Every member is thread-safe: gRPC calls the service from its pool concurrently.
struct AgentServiceDeps {
  const spiffe::TrustDomain& trust_domain;
  datastore::DataStore& ds;
  EntryCache& entries;  // refreshed after a join token's node-alias entry is made
  Clock& clock;
  Random& rnd;
};

// SPIRE's by_expires_before: "2006-01-02 15:04:05 -0700 -07" (what SPIRE's `agent purge` sends) or RFC 3339.
absl::StatusOr<absl::Time> ParseExpiresBefore(const std::string& s);

class AgentService final : public agentv1::Agent::Service {
 public:
  explicit AgentService(AgentServiceDeps deps) : deps_(deps) {}

  grpc::Status CountAgents(grpc::ServerContext*, const agentv1::CountAgentsRequest*,
                           agentv1::CountAgentsResponse*) override;
  grpc::Status ListAgents(grpc::ServerContext*, const agentv1::ListAgentsRequest*,
                          agentv1::ListAgentsResponse*) override;
  grpc::Status GetAgent(grpc::ServerContext*, const agentv1::GetAgentRequest*, ::spire::api::types::Agent*) override;
  // The same for an admin caller on the agent endpoint (callback API, api/spire_agent/caller.h): the node facts go
  // into `ctx`'s trailing metadata.
  grpc::Status GetAgent(grpc::ServerContextBase* ctx, const agentv1::GetAgentRequest* req,
                        ::spire::api::types::Agent* resp);
  grpc::Status DeleteAgent(grpc::ServerContext*, const agentv1::DeleteAgentRequest*, google::protobuf::Empty*) override;
  grpc::Status BanAgent(grpc::ServerContext*, const agentv1::BanAgentRequest*, google::protobuf::Empty*) override;
  grpc::Status CreateJoinToken(grpc::ServerContext*, const agentv1::CreateJoinTokenRequest*,
                               ::spire::api::types::JoinToken*) override;
  SPIREAPI_DENIED(agentv1::Agent, RenewAgent, agentv1::RenewAgentRequest, agentv1::RenewAgentResponse)
  SPIREAPI_DENIED(agentv1::Agent, PostStatus, agentv1::PostStatusRequest, agentv1::PostStatusResponse)

 private:
  AgentServiceDeps deps_;
};

}  // namespace spirecvm::server::spireapi
