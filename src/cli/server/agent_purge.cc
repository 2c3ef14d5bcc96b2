// spire-server agent purge: deletes agents that can re-attest whose SVID expired more than -expiredFor ago, as SPIRE.
#include "absl/time/clock.h"
#include "cli/server/agent_common.h"
#include "google/protobuf/empty.pb.h"

namespace spirecvm::cli {
namespace {

struct Expired {
  std::string id, error;
  bool deleted = false;
};

void PrintPurge(const std::vector<Expired>& expired, bool dry_run, std::ostream& out) {
  if (expired.empty()) {
    out << "No agents to purge.\n";
    return;
  }
  out << "Found " << expired.size() << " expired " << (expired.size() == 1 ? "agent" : "agents") << "\n\n";
  if (dry_run) {
    out << "\nAgents that can be purged:\n";
    for (const auto& e : expired) out << "SPIFFE ID         : " << e.id << "\n";
    return;
  }
  bool any_purged = false, any_failed = false;
  for (const auto& e : expired) (e.deleted ? any_purged : any_failed) = true;
  if (any_purged) {
    out << "Agents purged:\n";
    for (const auto& e : expired) {
      if (e.deleted) out << "SPIFFE ID         : " << e.id << "\n";
    }
  }
  if (any_failed) {
    out << "Agents not purged:\n";
    for (const auto& e : expired) {
      if (!e.deleted) out << "SPIFFE ID         : " << e.id << "\nError             : " << e.error << "\n";
    }
  }
}

std::string PurgeJson(const std::vector<Expired>& expired) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& e : expired) {
    nlohmann::ordered_json j = {{"agent_id", e.id}, {"deleted", e.deleted}};
    if (!e.error.empty()) j["error"] = e.error;
    list.push_back(std::move(j));
  }
  // SPIRE's CLI hands its printer the result inside a list, so its JSON is a one-element array.
  nlohmann::ordered_json result = {{"expired_agents", std::move(list)}};
  return GoJson(nlohmann::ordered_json::array({std::move(result)}));
}

}  // namespace

int AgentPurge(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("agent purge");
  ServerFlags server;
  absl::Duration expired_for = absl::Hours(30 * 24);
  bool dry_run = false;
  server.Register(fs);
  fs.Duration("expiredFor", &expired_for,
              "Amount of time that has passed since the agent's SVID has expired. It is used to determine which "
              "agents to purge.");
  fs.Bool("dryRun", &dry_run,
          "Indicates that the command will not perform any action, but will print the agents that would be purged.");
  if (!server.Parse(fs, args, io)) return 1;
  auto stub = agentv1::Agent::NewStub(Dial(server.socket));
  agentv1::ListAgentsRequest req;
  req.mutable_filter()->mutable_by_can_reattest()->set_value(true);
  req.mutable_output_mask()->set_x509svid_expires_at(true);
  agentv1::ListAgentsResponse list;
  grpc::ClientContext ctx;
  if (auto s = stub->ListAgents(&ctx, req, &list); !s.ok()) return FailRpc(io, "failed to list agents", s);
  const absl::Time now = absl::Now();
  std::vector<Expired> expired;
  for (const auto& a : list.agents()) {
    if (now - absl::FromUnixSeconds(a.x509svid_expires_at()) <= expired_for) continue;
    Expired e;
    e.id = IdString(a.id());
    if (!dry_run) {
      agentv1::DeleteAgentRequest del;
      *del.mutable_id() = a.id();
      google::protobuf::Empty empty;
      grpc::ClientContext del_ctx;
      auto s = stub->DeleteAgent(&del_ctx, del, &empty);
      e.deleted = s.ok();
      if (!s.ok()) e.error = RpcError(s);
    }
    expired.push_back(std::move(e));
  }
  if (server.json()) {
    io.out << PurgeJson(expired);
  } else {
    PrintPurge(expired, dry_run, io.out);
  }
  return 0;
}

}  // namespace spirecvm::cli
