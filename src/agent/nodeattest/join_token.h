// NodeAttestor "join_token": the payload is the token; the server answers without challenges and names the agent
// spiffe://<td>/spire/agent/join_token/<token>. Tokens are single use, so this attestor cannot re-attest.
#pragma once

#include <string>

#include "agent/nodeattest/node_attestor.h"

namespace spirecvm::agent {

class JoinTokenAttestor final : public NodeAttestorClient {
 public:
  explicit JoinTokenAttestor(std::string token) : token_(std::move(token)) {}
  std::string type() const override { return "join_token"; }
  absl::StatusOr<std::unique_ptr<NodeAttestationSession>> Start(const AttestationKeyInfo& key) override;
  bool CanReattest() const override { return false; }

 private:
  std::string token_;
};

}  // namespace spirecvm::agent
