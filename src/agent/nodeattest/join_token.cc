#include "agent/nodeattest/join_token.h"

namespace spirecvm::agent {
namespace {

class JoinTokenSession final : public NodeAttestationSession {
 public:
  explicit JoinTokenSession(std::string token) : token_(std::move(token)) {}
  absl::StatusOr<std::string> Payload() override { return token_; }
  absl::StatusOr<std::string> AnswerChallenge(std::string_view) override {
    return absl::InvalidArgumentError("join_token attestation does not take challenges");
  }

 private:
  std::string token_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<NodeAttestationSession>> JoinTokenAttestor::Start(const AttestationKeyInfo&) {
  if (token_.empty()) return absl::FailedPreconditionError("join token is empty");
  return std::make_unique<JoinTokenSession>(token_);
}

JoinTokenConfig ParseJoinTokenConfig(config::Section&) { return {}; }

absl::StatusOr<std::unique_ptr<NodeAttestorClient>> BuildJoinTokenAttestor(const JoinTokenConfig&,
                                                                           const NodeAttestorDeps& deps) {
  return std::unique_ptr<NodeAttestorClient>(new JoinTokenAttestor(deps.join_token));
}

}  // namespace spirecvm::agent
