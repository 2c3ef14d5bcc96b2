// spire-server agent list|show|count|evict|ban
#include "cli/server/cli_common.h"

namespace spirecvm::cli {
namespace {

void PrintAgent(const types::AttestedNode& a, std::ostream& out, bool selectors) {
  out << "SPIFFE ID         : " << a.spiffe_id() << "\n";
  out << "Attestation type  : " << a.attestation_type() << "\n";
  out << "Expiration time   : " << (a.cert_expires_at() ? FormatUnix(a.cert_expires_at()) : std::string("-")) << "\n";
  out << "Serial number     : " << a.cert_serial() << "\n";
  out << "Can re-attest     : " << (a.can_reattest() ? "true" : "false") << "\n";
  if (a.banned()) out << "Banned            : true\n";
  if (selectors) {
    for (auto& s : a.selectors()) out << "Selectors         : " << s.type() << ":" << s.value() << "\n";
  }
  out << "\n";
}

int AgentIdCommand(const char* name, const std::vector<std::string>& args, Io io,
                   grpc::Status (admin::v1::Admin::Stub::*call)(grpc::ClientContext*, const admin::v1::AgentIdRequest&,
                                                                admin::v1::Empty*),
                   const char* done) {
  flags::FlagSet fs(name);
  std::string socket = kDefaultServerSocket, spiffe_id;
  fs.String("socketPath", &socket, "Path to the SPIRE Server API socket");
  fs.String("spiffeID", &spiffe_id, "The SPIFFE ID of the agent");
  if (!ParseFlags(fs, args, io)) return 1;
  if (spiffe_id.empty()) {
    io.err << "Error: a SPIFFE ID is required (-spiffeID)\n" << fs.Usage();
    return 1;
  }
  admin::v1::AgentIdRequest req;
  req.set_spiffe_id(spiffe_id);
  admin::v1::Empty resp;
  grpc::ClientContext ctx;
  auto stub = AdminClient(socket);
  auto s = ((*stub).*call)(&ctx, req, &resp);
  if (!s.ok()) return CallFailed(s, io);
  io.out << done << "\n";
  return 0;
}

}  // namespace

int AgentList(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("agent list");
  std::string socket = kDefaultServerSocket, output = "pretty";
  fs.String("socketPath", &socket, "Path to the SPIRE Server API socket");
  fs.String("output", &output, "Desired output format (pretty, json)");
  if (!ParseFlags(fs, args, io) || !ValidOutputFormat(output, io)) return 1;
  admin::v1::ListAgentsResponse resp;
  grpc::ClientContext ctx;
  auto s = AdminClient(socket)->ListAgents(&ctx, admin::v1::ListAgentsRequest(), &resp);
  if (!s.ok()) return CallFailed(s, io);
  if (output == "json") {
    io.out << ToJson(resp);
    return 0;
  }
  if (resp.agents_size() == 0) {
    io.out << "No attested agents found\n";
    return 0;
  }
  io.out << "Found " << resp.agents_size() << " attested " << (resp.agents_size() == 1 ? "agent" : "agents") << ":\n\n";
  for (auto& a : resp.agents()) PrintAgent(a, io.out, false);
  return 0;
}

int AgentShow(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("agent show");
  std::string socket = kDefaultServerSocket, spiffe_id, output = "pretty";
  fs.String("socketPath", &socket, "Path to the SPIRE Server API socket");
  fs.String("spiffeID", &spiffe_id, "The SPIFFE ID of the agent to show");
  fs.String("output", &output, "Desired output format (pretty, json)");
  if (!ParseFlags(fs, args, io) || !ValidOutputFormat(output, io)) return 1;
  if (spiffe_id.empty()) {
    io.err << "Error: a SPIFFE ID is required (-spiffeID)\n" << fs.Usage();
    return 1;
  }
  admin::v1::GetAgentRequest req;
  req.set_spiffe_id(spiffe_id);
  types::AttestedNode resp;
  grpc::ClientContext ctx;
  auto s = AdminClient(socket)->GetAgent(&ctx, req, &resp);
  if (!s.ok()) return CallFailed(s, io);
  if (output == "json") {
    io.out << ToJson(resp);
    return 0;
  }
  io.out << "Found an attested agent given its SPIFFE ID\n\n";
  PrintAgent(resp, io.out, true);
  return 0;
}

int AgentCount(const std::vector<std::string>& args, Io io) {
  return CountCommand("agent count", args, io, &admin::v1::Admin::Stub::CountAgents, "attested agent",
                      "attested agents");
}

int AgentEvict(const std::vector<std::string>& args, Io io) {
  return AgentIdCommand("agent evict", args, io, &admin::v1::Admin::Stub::EvictAgent, "Agent evicted successfully");
}

int AgentBan(const std::vector<std::string>& args, Io io) {
  return AgentIdCommand("agent ban", args, io, &admin::v1::Admin::Stub::BanAgent, "Agent banned successfully");
}

}  // namespace spirecvm::cli
