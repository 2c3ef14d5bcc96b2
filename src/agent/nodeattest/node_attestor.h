// Agent side of node attestation. The AttestAgent stream is driven by AttestOverStream (attest_stream.h); an
// attestor only supplies the evidence: a first payload, then one answer per server challenge, for any number of
// rounds. The session receives the CSR and its SubjectPublicKeyInfo so evidence can be bound to the agent's key
// (the SEV-SNP attestor puts SHA-256(SPKI DER) into REPORT_DATA).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace spirecvm::agent {

struct AttestationKeyInfo {
  std::string csr_der;   // the PKCS#10 sent in Params.csr
  std::string spki_der;  // SubjectPublicKeyInfo DER of the CSR's key
};

// One attestation attempt. Holds whatever the payload step learned (e.g. the IID document) for the challenges.
class NodeAttestationSession {
 public:
  virtual ~NodeAttestationSession() = default;
  // The Params.data.payload of the first message.
  virtual absl::StatusOr<std::string> Payload() = 0;
  // The answer to one server challenge. Called once per challenge, in order; an error aborts the attempt.
  virtual absl::StatusOr<std::string> AnswerChallenge(std::string_view challenge) = 0;
};

// What the catalog (agent/catalog.h) builds a NodeAttestor with, besides its plugin_data.
struct NodeAttestorDeps {
  std::string join_token;  // agent.join_token or -joinToken (NodeAttestor "join_token")
};

// Thread-safety: Start() and the const methods may be called from any thread, concurrently (the manager thread
// attests; nothing forbids a second caller). A session is used by one thread at a time and never outlives what it
// shares with its attestor (implementations share state through shared_ptr and lock what is mutable).
class NodeAttestorClient {
 public:
  virtual ~NodeAttestorClient() = default;
  // Params.data.type, e.g. "join_token", "aws_iid".
  virtual std::string type() const = 0;
  // A fresh session per attempt (re-attestation starts a new one with a new key).
  virtual absl::StatusOr<std::unique_ptr<NodeAttestationSession>> Start(const AttestationKeyInfo& key) = 0;
  // False when a second attestation cannot succeed (a join token is single use): the agent then stops retrying
  // after the server rejected it and says why.
  virtual bool CanReattest() const { return true; }
};

}  // namespace spirecvm::agent
