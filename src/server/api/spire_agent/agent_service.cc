#include "server/api/spire_agent/agent_service.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "server/api/limits.h"
#include "server/api/spire_agent/attest_reactor.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server::spireagent {
namespace {

// The attestor's challenges as `challenge` responses; the agent answers each with a `challenge_response`.
class SpireChallengeChannel final : public ChallengeChannel {
 public:
  explicit SpireChallengeChannel(SpireAttestStream& s) : s_(s) {}
  absl::StatusOr<std::string> Challenge(std::string_view challenge) override {
    agentv1::AttestAgentResponse resp;
    resp.set_challenge(std::string(challenge));
    if (!s_.Write(resp)) return absl::AbortedError("attestation stream closed while sending a challenge");
    agentv1::AttestAgentRequest req;
    if (!s_.Read(&req)) {
      return absl::InvalidArgumentError("attestation stream closed before the challenge was answered");
    }
    if (req.step_case() != agentv1::AttestAgentRequest::kChallengeResponse) {
      return absl::InvalidArgumentError("expected a challenge_response on the attestation stream");
    }
    if (req.challenge_response().size() > kMaxChallengeResponse) {
      return absl::InvalidArgumentError(absl::StrCat("challenge response is ", req.challenge_response().size(),
                                                     " bytes, more than the limit of ", kMaxChallengeResponse));
    }
    return std::string(req.challenge_response());
  }

 private:
  SpireAttestStream& s_;
};

// The first message: params {data {type, payload}, params {csr}}.
absl::StatusOr<AttestationParams> ReadSpireParams(SpireAttestStream& stream, std::string* type) {
  agentv1::AttestAgentRequest first;
  if (!stream.Read(&first)) {
    return absl::InvalidArgumentError("attestation stream closed before the attestation parameters");
  }
  if (first.step_case() != agentv1::AttestAgentRequest::kParams) {
    return absl::InvalidArgumentError("malformed param: the first attestation message must carry the params");
  }
  const auto& p = first.params();
  if (!p.has_data()) return absl::InvalidArgumentError("malformed param: missing attestation data");
  *type = p.data().type();
  if (!p.has_params()) return absl::InvalidArgumentError("malformed param: missing X509-SVID params");
  return CheckAttestationParams(p.data().type(), p.data().payload(), p.params().csr());
}

absl::StatusOr<agentv1::AttestAgentResponse> AttestOnce(const AttestationDeps& deps, SpireAttestStream& stream,
                                                        std::string* type) {
  ASSIGN_OR_RETURN(AttestationParams params, ReadSpireParams(stream, type));
  SpireChallengeChannel channel(stream);
  ASSIGN_OR_RETURN(AttestedAgent attested, AttestAndStoreNode(deps, params, channel));
  agentv1::AttestAgentResponse resp;
  X509SvidToProto(attested.id.ToString(), attested.svid, resp.mutable_result()->mutable_svid());
  resp.mutable_result()->set_reattestable(attested.can_reattest);
  return resp;
}

}  // namespace

// Every refusal is one log line naming the attestor and the reason (the logger escapes agent-controlled text).
absl::StatusOr<agentv1::AttestAgentResponse> AttestSpireAgent(const AttestationDeps& deps, SpireAttestStream& stream) {
  std::string type;
  auto result = AttestOnce(deps, stream, &type);
  if (!result.ok()) {
    spdlog::warn("node attestation ({}) failed: {}", type.empty() ? "?" : type, result.status().ToString());
  }
  return result;
}

const AgentApiLimits& DefaultLimits() {
  static const AgentApiLimits* limits = new AgentApiLimits();
  return *limits;
}

AgentService::AgentService(AgentApiDeps deps, AdminDelegate<spireapi::AgentService> admin)
    : deps_(deps),
      admin_(admin),
      attest_(std::make_unique<AttestCalls>(deps, deps.limits != nullptr ? *deps.limits : DefaultLimits())) {}

AgentService::~AgentService() = default;

grpc::ServerBidiReactor<agentv1::AttestAgentRequest, agentv1::AttestAgentResponse>* AgentService::AttestAgent(
    grpc::CallbackServerContext* ctx) {
  return attest_->Start(ctx);
}

// The checks on the callback thread; the renewal (a datastore write) on the blocking pool.
grpc::ServerUnaryReactor* AgentService::RenewAgent(grpc::CallbackServerContext* ctx,
                                                   const agentv1::RenewAgentRequest* req,
                                                   agentv1::RenewAgentResponse* resp) {
  auto a = AuthenticateCaller(deps_, *ctx);
  if (!a.ok()) return FinishUnary(ctx, ToGrpc(a.status()));
  // SPIRE: a re-attestable agent gets a new SVID by attesting again, not by renewing.
  if (a->node.can_reattest) {
    return FinishUnary(ctx, ToGrpc(absl::PermissionDeniedError("agent must reattest instead of renew")));
  }
  if (!req->has_params()) return FinishUnary(ctx, ToGrpc(absl::InvalidArgumentError("params cannot be nil")));
  if (req->params().csr().empty()) return FinishUnary(ctx, ToGrpc(absl::InvalidArgumentError("missing CSR")));
  auto wait = ReserveSigningTokens(deps_.limits, ctx->peer(), 1, deps_.clock.Now(), "renew agent");
  if (!wait.ok()) return FinishUnary(ctx, ToGrpc(wait.status()));
  return RunUnary(ctx, RunOn::kBlockingPool, deps_.blocking, *wait, [this, a = std::move(*a), req, resp] {
    auto svid = RenewAgentSvid(deps_, a, req->params().csr());
    if (!svid.ok()) return ToGrpc(svid.status());
    X509SvidToProto(a.spiffe_id, *svid, resp->mutable_svid());
    return grpc::Status::OK;
  });
}

}  // namespace spirecvm::server::spireagent
