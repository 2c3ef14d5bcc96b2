#include "server/nodeattest/join_token_attestor.h"

#include "absl/strings/str_cat.h"

namespace spirecvm::server {
namespace {

class JoinTokenAttestor final : public NodeAttestor {
 public:
  JoinTokenAttestor(spiffe::TrustDomain td, datastore::DataStore& ds, Clock& clock)
      : td_(std::move(td)), ds_(ds), clock_(clock) {}
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
    // Consuming is atomic in the DataStore: of two concurrent attempts exactly one wins.
    auto consumed = ds_.ConsumeJoinToken(token, absl::ToUnixSeconds(clock_.Now()));
    if (!consumed.ok()) {
      if (absl::IsNotFound(consumed.status())) {
        return absl::PermissionDeniedError("join_token: token does not exist or has already been used");
      }
      if (absl::IsFailedPrecondition(consumed.status()))
        return absl::PermissionDeniedError("join_token: token expired");
      return consumed.status();
    }
    AttestationResult r{.agent_id = *id, .selectors = {}, .can_reattest = false, .launch_id = {}};
    return r;
  }

 private:
  spiffe::TrustDomain td_;
  datastore::DataStore& ds_;
  Clock& clock_;
};

}  // namespace

std::unique_ptr<NodeAttestor> NewJoinTokenAttestor(const spiffe::TrustDomain& td, datastore::DataStore& ds,
                                                   Clock& clock) {
  return std::make_unique<JoinTokenAttestor>(td, ds, clock);
}

}  // namespace spirecvm::server
