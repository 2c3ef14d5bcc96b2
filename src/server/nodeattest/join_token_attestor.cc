#include "server/nodeattest/join_token_attestor.h"

#include "absl/strings/str_cat.h"

namespace spirecvm::server {
namespace {

class JoinTokenAttestor final : public NodeAttestor {
 public:
  explicit JoinTokenAttestor(spiffe::TrustDomain td) : td_(std::move(td)) {}
  std::string_view Name() const override { return "join_token"; }

  absl::StatusOr<AttestationResult> Attest(const AttestationRequest& req, ChallengeChannel&) const override {
    const std::string& token = req.payload;
    if (token.empty()) return absl::InvalidArgumentError("join_token: the attestation payload (the token) is empty");
    if (token.size() > 256) return absl::InvalidArgumentError("join_token: token is longer than 256 bytes");
    for (char c : token) {
      if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
        return absl::InvalidArgumentError(
            "join_token: token has characters other than letters, digits, '-', '_' and '.'");
      }
    }
    // The token becomes a path segment of the agent ID: it must be a valid one.
    auto id = spiffe::SpiffeId::FromPath(td_, absl::StrCat("/spire/agent/join_token/", token));
    if (!id.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("join_token: token is not usable in a SPIFFE ID: ", id.status().message()));
    // The node's admission spends the token, in its own transaction: of two concurrent attempts exactly one wins.
    return AttestationResult{
        .agent_id = *id, .selectors = {}, .can_reattest = false, .launch_id = {}, .facts = {}, .join_token = token};
  }

 private:
  spiffe::TrustDomain td_;
};

}  // namespace

std::unique_ptr<NodeAttestor> NewJoinTokenAttestor(const spiffe::TrustDomain& td) {
  return std::make_unique<JoinTokenAttestor>(td);
}

}  // namespace spirecvm::server
