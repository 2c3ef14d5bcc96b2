// What the agent verbs share: SPIRE's pretty form of agents and the list/count filter flags.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "cli/server/cli_common.h"
#include "spire/api/server/agent/v1/agent.grpc.pb.h"

namespace spirecvm::cli {

namespace agentv1 = ::spire::api::server::agent::v1;

// SPIRE's printAgents: per agent its ID, attestation type, expiry, serial (or "Banned"), can re-attest, a blank line.
void PrintAgents(const google::protobuf::RepeatedPtrField<stypes::Agent>& agents, std::ostream& out);

// The filter flags `agent list` and `agent count` share (SPIRE's names and three-state -banned / -canReattest).
struct AgentFilterFlags {
  std::vector<std::string> selectors;
  std::string match_selectors = "superset", attestation_type, can_reattest, banned, expires_before;

  void Register(flags::FlagSet& fs);
  template <typename Filter>
  absl::Status Fill(Filter* f) const;
};

}  // namespace spirecvm::cli
