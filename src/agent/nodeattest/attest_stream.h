// The agent's half of the AttestAgent protocol, independent of gRPC so it can be tested with a scripted stream:
// send Params{type, payload, csr}; answer every challenge; stop at the Result.
#pragma once

#include <optional>

#include "absl/status/statusor.h"
#include "agent.pb.h"
#include "agent/nodeattest/node_attestor.h"

namespace spirecvm::agent {

class AttestStream {
 public:
  virtual ~AttestStream() = default;
  virtual bool Write(const spirecvm::agent::v1::AttestAgentRequest& req) = 0;
  virtual bool Read(spirecvm::agent::v1::AttestAgentResponse* resp) = 0;
  // Half-closes and returns the final status of the call.
  virtual absl::Status Finish() = 0;
};

inline constexpr int kMaxChallengeRounds = 16;

// Runs one attestation. Server errors keep their code (PermissionDenied, InvalidArgument, ...).
absl::StatusOr<spirecvm::agent::v1::AttestAgentResponse::Result> AttestOverStream(AttestStream& stream,
                                                                                  NodeAttestorClient& attestor,
                                                                                  const AttestationKeyInfo& key);

}  // namespace spirecvm::agent
