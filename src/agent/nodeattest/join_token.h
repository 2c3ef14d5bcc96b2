// NodeAttestor "join_token": the payload is the token; the server answers without challenges and names the agent
// spiffe://<td>/spire/agent/join_token/<token>. Tokens are single use, so this attestor cannot re-attest.
// plugin_data: none (the token is agent.join_token or -joinToken, passed in NodeAttestorDeps).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "agent/nodeattest/node_attestor.h"
#include "common/config_reader.h"

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

struct JoinTokenConfig {};
// Reads nothing: any key in plugin_data is reported unknown by the section.
JoinTokenConfig ParseJoinTokenConfig(config::Section& plugin_data);
absl::StatusOr<std::unique_ptr<NodeAttestorClient>> BuildJoinTokenAttestor(const JoinTokenConfig& config,
                                                                           const NodeAttestorDeps& deps);

}  // namespace spirecvm::agent
