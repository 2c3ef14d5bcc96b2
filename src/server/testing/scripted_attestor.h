// Test-only: a NodeAttestor with scripted challenge rounds. It answers challenge "challenge-<i>" expecting
// "answer-challenge-<i>" `rounds` times, refuses the payload "bad", then admits
// spiffe://example.org/spire/agent/scripted/<payload> with the selector scripted:node:<payload>.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "server/nodeattest/node_attestor.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server::testing {

class ScriptedAttestor final : public NodeAttestor {
 public:
  int rounds = 0;
  bool can_reattest = false;
  std::string launch_id;                           // reported as the evidence's launch
  std::optional<absl::Duration> max_evidence_age;  // MaxEvidenceAge()
  std::string facts;                               // the node facts (DER) the attestation yields
  bool facts_in_workload_svids = false;            // FactsInWorkloadSvids(), for every workload
  std::string_view Name() const override { return "scripted"; }
  bool FactsInWorkloadSvids(std::string_view) const override { return facts_in_workload_svids; }
  std::optional<absl::Duration> MaxEvidenceAge() const override { return max_evidence_age; }
  absl::StatusOr<AttestationResult> Attest(const AttestationRequest& req, ChallengeChannel& ch) const override {
    for (int i = 0; i < rounds; i++) {
      std::string c = "challenge-" + std::to_string(i);
      auto r = ch.Challenge(c);
      if (!r.ok()) return r.status();
      if (*r != "answer-" + c) return absl::PermissionDeniedError("wrong answer to " + c);
    }
    if (req.payload == "bad") return absl::InvalidArgumentError("bad evidence");
    AttestationResult res{
        .agent_id = *spiffe::SpiffeId::Parse("spiffe://example.org/spire/agent/scripted/" + req.payload),
        .selectors = {{"scripted", "node:" + req.payload}},
        .can_reattest = can_reattest,
        .launch_id = launch_id,
        .facts = facts};
    return res;
  }
};

}  // namespace spirecvm::server::testing
