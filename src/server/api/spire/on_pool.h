// The admin socket's services on gRPC's callback API. gRPC 1.51 polls every server of a process from one epoll set:
// while the admin endpoint had synchronous methods, its synchronous-server pollers read, decrypted and parsed the
// agent endpoint's traffic too, then handed each call to the callback threads (41 % of the server's CPU in the sync
// phase was on those two pollers; docs/benchmarks.md, "No synchronous pollers in the server"). Each adapter here
// forwards every unary method of one admin service (api/spire, written against the synchronous API, which its tests
// and the agent endpoint's admin forwards call directly) to that service on the blocking pool, so no admin call holds
// a callback thread. The streaming methods (AttestAgent, SyncAuthorizedEntries) are not served on the admin socket,
// as before: UNIMPLEMENTED.
// Thread-safety: as the wrapped services (each is thread-safe); the pool is.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_callback.h>

#include "common/worker_pool.h"
#include "server/api/spire/agent_service.h"
#include "server/api/spire/bundle_service.h"
#include "server/api/spire/debug_service.h"
#include "server/api/spire/entry_service.h"
#include "server/api/spire/localauthority_service.h"
#include "server/api/spire/logger_service.h"
#include "server/api/spire/svid_service.h"
#include "server/api/spire/trustdomain_service.h"
#include "server/api/spire_agent/unary_call.h"

// A unary method of an adapter: the wrapped service's synchronous Method (SPIREAPI_CALL_SYNC picks the context), on
// the pool.
#define SPIREAPI_ON_POOL(Method, Request, Response)                                                                 \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx, const Request* req, Response* resp) override { \
    return ::spirecvm::server::spireagent::RunUnary(                                                                \
        ctx, ::spirecvm::server::spireagent::RunOn::kBlockingPool, pool_, absl::ZeroDuration(),                     \
        [s = svc_, call = SPIREAPI_CALL_SYNC(Method, ctx, req, resp)] { return call(*s); });                        \
  }

namespace spirecvm::server::spireapi {

// What every adapter holds: the synchronous service it forwards to and the pool the calls run on (both outlive it).
template <typename CallbackBase, typename Sync>
class OnPool : public CallbackBase {
 public:
  OnPool(Sync* svc, WorkerPool* pool) : svc_(svc), pool_(pool) {}

 protected:
  Sync* svc_;
  WorkerPool* pool_;
};

// EntryService (api/spire/entry_service.h) on the callback API.
class EntryServiceOnPool final : public OnPool<entryv1::Entry::CallbackService, EntryService> {
 public:
  using OnPool::OnPool;

  SPIREAPI_ON_POOL(CountEntries, entryv1::CountEntriesRequest, entryv1::CountEntriesResponse)
  SPIREAPI_ON_POOL(ListEntries, entryv1::ListEntriesRequest, entryv1::ListEntriesResponse)
  SPIREAPI_ON_POOL(GetEntry, entryv1::GetEntryRequest, ::spire::api::types::Entry)
  SPIREAPI_ON_POOL(BatchCreateEntry, entryv1::BatchCreateEntryRequest, entryv1::BatchCreateEntryResponse)
  SPIREAPI_ON_POOL(BatchUpdateEntry, entryv1::BatchUpdateEntryRequest, entryv1::BatchUpdateEntryResponse)
  SPIREAPI_ON_POOL(BatchDeleteEntry, entryv1::BatchDeleteEntryRequest, entryv1::BatchDeleteEntryResponse)
  SPIREAPI_ON_POOL(GetAuthorizedEntries, entryv1::GetAuthorizedEntriesRequest, entryv1::GetAuthorizedEntriesResponse)
};

// AgentService (api/spire/agent_service.h) on the callback API.
class AgentServiceOnPool final : public OnPool<agentv1::Agent::CallbackService, AgentService> {
 public:
  using OnPool::OnPool;

  SPIREAPI_ON_POOL(CountAgents, agentv1::CountAgentsRequest, agentv1::CountAgentsResponse)
  SPIREAPI_ON_POOL(ListAgents, agentv1::ListAgentsRequest, agentv1::ListAgentsResponse)
  SPIREAPI_ON_POOL(GetAgent, agentv1::GetAgentRequest, ::spire::api::types::Agent)
  SPIREAPI_ON_POOL(DeleteAgent, agentv1::DeleteAgentRequest, google::protobuf::Empty)
  SPIREAPI_ON_POOL(BanAgent, agentv1::BanAgentRequest, google::protobuf::Empty)
  SPIREAPI_ON_POOL(RenewAgent, agentv1::RenewAgentRequest, agentv1::RenewAgentResponse)
  SPIREAPI_ON_POOL(CreateJoinToken, agentv1::CreateJoinTokenRequest, ::spire::api::types::JoinToken)
  SPIREAPI_ON_POOL(PostStatus, agentv1::PostStatusRequest, agentv1::PostStatusResponse)
};

// BundleService (api/spire/bundle_service.h) on the callback API.
class BundleServiceOnPool final : public OnPool<bundlev1::Bundle::CallbackService, BundleService> {
 public:
  using OnPool::OnPool;

  SPIREAPI_ON_POOL(CountBundles, bundlev1::CountBundlesRequest, bundlev1::CountBundlesResponse)
  SPIREAPI_ON_POOL(GetBundle, bundlev1::GetBundleRequest, ::spire::api::types::Bundle)
  SPIREAPI_ON_POOL(AppendBundle, bundlev1::AppendBundleRequest, ::spire::api::types::Bundle)
  SPIREAPI_ON_POOL(PublishJWTAuthority, bundlev1::PublishJWTAuthorityRequest, bundlev1::PublishJWTAuthorityResponse)
  SPIREAPI_ON_POOL(ListFederatedBundles, bundlev1::ListFederatedBundlesRequest, bundlev1::ListFederatedBundlesResponse)
  SPIREAPI_ON_POOL(GetFederatedBundle, bundlev1::GetFederatedBundleRequest, ::spire::api::types::Bundle)
  SPIREAPI_ON_POOL(BatchCreateFederatedBundle, bundlev1::BatchCreateFederatedBundleRequest,
                   bundlev1::BatchCreateFederatedBundleResponse)
  SPIREAPI_ON_POOL(BatchUpdateFederatedBundle, bundlev1::BatchUpdateFederatedBundleRequest,
                   bundlev1::BatchUpdateFederatedBundleResponse)
  SPIREAPI_ON_POOL(BatchSetFederatedBundle, bundlev1::BatchSetFederatedBundleRequest,
                   bundlev1::BatchSetFederatedBundleResponse)
  SPIREAPI_ON_POOL(BatchDeleteFederatedBundle, bundlev1::BatchDeleteFederatedBundleRequest,
                   bundlev1::BatchDeleteFederatedBundleResponse)
};

// SvidService (api/spire/svid_service.h) on the callback API.
class SvidServiceOnPool final : public OnPool<svidv1::SVID::CallbackService, SvidService> {
 public:
  using OnPool::OnPool;

  SPIREAPI_ON_POOL(MintX509SVID, svidv1::MintX509SVIDRequest, svidv1::MintX509SVIDResponse)
  SPIREAPI_ON_POOL(MintJWTSVID, svidv1::MintJWTSVIDRequest, svidv1::MintJWTSVIDResponse)
  SPIREAPI_ON_POOL(BatchNewX509SVID, svidv1::BatchNewX509SVIDRequest, svidv1::BatchNewX509SVIDResponse)
  SPIREAPI_ON_POOL(NewJWTSVID, svidv1::NewJWTSVIDRequest, svidv1::NewJWTSVIDResponse)
  SPIREAPI_ON_POOL(NewDownstreamX509CA, svidv1::NewDownstreamX509CARequest, svidv1::NewDownstreamX509CAResponse)
};

// LocalAuthorityService (api/spire/localauthority_service.h) on the callback API.
class LocalAuthorityServiceOnPool final : public OnPool<lav1::LocalAuthority::CallbackService, LocalAuthorityService> {
 public:
  using OnPool::OnPool;

  SPIREAPI_ON_POOL(GetJWTAuthorityState, lav1::GetJWTAuthorityStateRequest, lav1::GetJWTAuthorityStateResponse)
  SPIREAPI_ON_POOL(PrepareJWTAuthority, lav1::PrepareJWTAuthorityRequest, lav1::PrepareJWTAuthorityResponse)
  SPIREAPI_ON_POOL(ActivateJWTAuthority, lav1::ActivateJWTAuthorityRequest, lav1::ActivateJWTAuthorityResponse)
  SPIREAPI_ON_POOL(TaintJWTAuthority, lav1::TaintJWTAuthorityRequest, lav1::TaintJWTAuthorityResponse)
  SPIREAPI_ON_POOL(RevokeJWTAuthority, lav1::RevokeJWTAuthorityRequest, lav1::RevokeJWTAuthorityResponse)
  SPIREAPI_ON_POOL(GetX509AuthorityState, lav1::GetX509AuthorityStateRequest, lav1::GetX509AuthorityStateResponse)
  SPIREAPI_ON_POOL(PrepareX509Authority, lav1::PrepareX509AuthorityRequest, lav1::PrepareX509AuthorityResponse)
  SPIREAPI_ON_POOL(ActivateX509Authority, lav1::ActivateX509AuthorityRequest, lav1::ActivateX509AuthorityResponse)
  SPIREAPI_ON_POOL(TaintX509Authority, lav1::TaintX509AuthorityRequest, lav1::TaintX509AuthorityResponse)
  SPIREAPI_ON_POOL(TaintX509UpstreamAuthority, lav1::TaintX509UpstreamAuthorityRequest,
                   lav1::TaintX509UpstreamAuthorityResponse)
  SPIREAPI_ON_POOL(RevokeX509Authority, lav1::RevokeX509AuthorityRequest, lav1::RevokeX509AuthorityResponse)
  SPIREAPI_ON_POOL(RevokeX509UpstreamAuthority, lav1::RevokeX509UpstreamAuthorityRequest,
                   lav1::RevokeX509UpstreamAuthorityResponse)
};

// LoggerService (api/spire/logger_service.h) on the callback API.
class LoggerServiceOnPool final : public OnPool<loggerv1::Logger::CallbackService, LoggerService> {
 public:
  using OnPool::OnPool;

  SPIREAPI_ON_POOL(GetLogger, loggerv1::GetLoggerRequest, ::spire::api::types::Logger)
  SPIREAPI_ON_POOL(SetLogLevel, loggerv1::SetLogLevelRequest, ::spire::api::types::Logger)
  SPIREAPI_ON_POOL(ResetLogLevel, loggerv1::ResetLogLevelRequest, ::spire::api::types::Logger)
};

// DebugService (api/spire/debug_service.h) on the callback API.
class DebugServiceOnPool final : public OnPool<debugv1::Debug::CallbackService, DebugService> {
 public:
  using OnPool::OnPool;

  SPIREAPI_ON_POOL(GetInfo, debugv1::GetInfoRequest, debugv1::GetInfoResponse)
};

// TrustDomainService (api/spire/trustdomain_service.h) on the callback API.
class TrustDomainServiceOnPool final : public OnPool<trustdomainv1::TrustDomain::CallbackService, TrustDomainService> {
 public:
  using OnPool::OnPool;

  SPIREAPI_ON_POOL(ListFederationRelationships, trustdomainv1::ListFederationRelationshipsRequest,
                   trustdomainv1::ListFederationRelationshipsResponse)
  SPIREAPI_ON_POOL(GetFederationRelationship, trustdomainv1::GetFederationRelationshipRequest,
                   ::spire::api::types::FederationRelationship)
  SPIREAPI_ON_POOL(BatchCreateFederationRelationship, trustdomainv1::BatchCreateFederationRelationshipRequest,
                   trustdomainv1::BatchCreateFederationRelationshipResponse)
  SPIREAPI_ON_POOL(BatchUpdateFederationRelationship, trustdomainv1::BatchUpdateFederationRelationshipRequest,
                   trustdomainv1::BatchUpdateFederationRelationshipResponse)
  SPIREAPI_ON_POOL(BatchDeleteFederationRelationship, trustdomainv1::BatchDeleteFederationRelationshipRequest,
                   trustdomainv1::BatchDeleteFederationRelationshipResponse)
  SPIREAPI_ON_POOL(RefreshBundle, trustdomainv1::RefreshBundleRequest, google::protobuf::Empty)
};

}  // namespace spirecvm::server::spireapi
