// The agent's half of SPIRE's agent.v1.AttestAgent, independent of gRPC so it can be tested with a scripted stream:
// send params {data {type, payload}, params {csr}}; answer every challenge with a challenge_response; stop at the
// result {svid, reattestable}.
#pragma once

#include "absl/status/statusor.h"
#include "agent/nodeattest/node_attestor.h"
#include "spire/api/server/agent/v1/agent.pb.h"

namespace spirecvm::agent {

namespace agentv1 = ::spire::api::server::agent::v1;

class AttestStream {
 public:
  virtual ~AttestStream() = default;
  virtual bool Write(const agentv1::AttestAgentRequest& req) = 0;
  virtual bool Read(agentv1::AttestAgentResponse* resp) = 0;
  // Half-closes and returns the final status of the call.
  virtual absl::Status Finish() = 0;
};

inline constexpr int kMaxChallengeRounds = 16;

// Runs one attestation. Server errors keep their code (PermissionDenied, InvalidArgument, ...).
absl::StatusOr<agentv1::AttestAgentResponse::Result> AttestOverStream(AttestStream& stream,
                                                                      NodeAttestorClient& attestor,
                                                                      const AttestationKeyInfo& key);

}  // namespace spirecvm::agent
