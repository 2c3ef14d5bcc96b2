// spire-server agent list|show|count|evict|ban: SPIRE's agent.v1 ListAgents / GetAgent / CountAgents / DeleteAgent /
// BanAgent.
#include <regex>

#include "absl/strings/str_cat.h"
#include "cli/server/agent_common.h"
#include "cvm/node_facts.h"
#include "google/protobuf/empty.pb.h"

namespace spirecvm::cli {

void PrintAgents(const google::protobuf::RepeatedPtrField<stypes::Agent>& agents, std::ostream& out) {
  for (const auto& a : agents) {
    out << "SPIFFE ID         : " << IdString(a.id()) << "\n";
    out << "Attestation type  : " << a.attestation_type() << "\n";
    out << "Expiration time   : " << GoTimeUtc(a.x509svid_expires_at()) << "\n";
    if (a.banned()) {
      out << "Banned            : true\n";
    } else {
      out << "Serial number     : " << a.x509svid_serial_number() << "\n";
    }
    out << "Can re-attest     : " << (a.can_reattest() ? "true" : "false") << "\n\n";
  }
}

void AgentFilterFlags::Register(flags::FlagSet& fs) {
  fs.StringList("selector", &selectors, "A colon-delimited type:value selector. Can be used more than once");
  fs.String("attestationType", &attestation_type, "Filter by attestation type, like join_token or x509pop.");
  fs.String("canReattest", &can_reattest,
            "Filter based on string received, 'true': agents that can reattest, 'false': agents that can't "
            "reattest, other value will return all.");
  fs.String("banned", &banned,
            "Filter based on string received, 'true': banned agents, 'false': not banned agents, other value will "
            "return all.");
  fs.String("expiresBefore", &expires_before, "Filter by expiration time (format: \"2006-01-02 15:04:05 -0700 -07\")");
  fs.String("matchSelectorsOn", &match_selectors,
            "The match mode used when filtering by selectors. Options: exact, any, superset and subset");
}

template <typename Filter>
absl::Status AgentFilterFlags::Fill(Filter* f) const {
  if (!selectors.empty()) {
    auto match = ParseMatch(match_selectors);
    if (!match.ok()) return absl::InvalidArgumentError("unsupported match behavior");
    auto* by = f->mutable_by_selector_match();
    by->set_match(static_cast<stypes::SelectorMatch::MatchBehavior>(*match));
    for (const auto& s : selectors) {
      auto sel = ParseSelector(s);
      if (!sel.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("error parsing selector \"", s, "\": ", sel.status().message()));
      }
      *by->add_selectors() = *std::move(sel);
    }
  }
  if (!expires_before.empty()) {
    static const std::regex kLayout(R"(^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{4} [+-]\d{2}$)");
    if (!std::regex_match(expires_before, kLayout)) {
      return absl::InvalidArgumentError(absl::StrCat("date is not valid: parsing time \"", expires_before,
                                                     "\" as \"2006-01-02 15:04:05 -0700 -07\""));
    }
    f->set_by_expires_before(expires_before);
  }
  if (!attestation_type.empty()) f->set_by_attestation_type(attestation_type);
  // SPIRE's three-state flags: "true", "false", anything else means no filter.
  if (can_reattest == "true" || can_reattest == "false") {
    f->mutable_by_can_reattest()->set_value(can_reattest == "true");
  }
  if (banned == "true" || banned == "false") f->mutable_by_banned()->set_value(banned == "true");
  return absl::OkStatus();
}

template absl::Status AgentFilterFlags::Fill(agentv1::ListAgentsRequest::Filter*) const;
template absl::Status AgentFilterFlags::Fill(agentv1::CountAgentsRequest::Filter*) const;

int AgentList(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("agent list");
  ServerFlags server;
  AgentFilterFlags filter;
  server.Register(fs);
  filter.Register(fs);
  if (!server.Parse(fs, args, io)) return 1;
  agentv1::ListAgentsRequest req;
  if (auto st = filter.Fill(req.mutable_filter()); !st.ok()) return Fail(io, st.message());
  req.set_page_size(1000);  // SPIRE's CLI page size
  auto stub = agentv1::Agent::NewStub(Dial(server.socket));
  agentv1::ListAgentsResponse all;
  do {
    agentv1::ListAgentsResponse page;
    grpc::ClientContext ctx;
    if (auto s = stub->ListAgents(&ctx, req, &page); !s.ok()) return FailRpc(io, "", s);
    for (auto& a : *page.mutable_agents()) *all.add_agents() = std::move(a);
    req.set_page_token(page.next_page_token());
  } while (!req.page_token().empty());
  if (server.json()) {
    io.out << SpireJson(all);
    return 0;
  }
  const int n = all.agents_size();
  if (n == 0) {
    io.out << "No attested agents found\n";
    return 0;
  }
  io.out << "Found " << n << " attested " << (n == 1 ? "agent" : "agents") << ":\n\n";
  PrintAgents(all.agents(), io.out);
  return 0;
}

int AgentCount(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("agent count");
  ServerFlags server;
  AgentFilterFlags filter;
  server.Register(fs);
  filter.Register(fs);
  if (!server.Parse(fs, args, io)) return 1;
  agentv1::CountAgentsRequest req;
  if (auto st = filter.Fill(req.mutable_filter()); !st.ok()) return Fail(io, st.message());
  agentv1::CountAgentsResponse resp;
  grpc::ClientContext ctx;
  auto s = agentv1::Agent::NewStub(Dial(server.socket))->CountAgents(&ctx, req, &resp);
  if (!s.ok()) return FailRpc(io, "", s);
  if (server.json()) {
    io.out << SpireJson(resp);
    return 0;
  }
  io.out << resp.count() << " attested " << (resp.count() == 1 ? "agent" : "agents") << "\n";
  return 0;
}

// The node facts spire-cvm's server sends beside the Agent (docs/svid-evidence.md); nothing from a server that sends
// none (SPIRE's, or a node without facts).
static void PrintNodeFacts(const grpc::ClientContext& ctx, std::ostream& out) {
  const auto& md = ctx.GetServerTrailingMetadata();
  auto it = md.find(grpc::string_ref(cvm::kNodeFactsMetadataKey.data(), cvm::kNodeFactsMetadataKey.size()));
  if (it == md.end()) return;
  auto facts = cvm::DecodeNodeFacts(std::string_view(it->second.data(), it->second.size()));
  if (!facts.ok()) {
    out << "Node facts        : malformed (" << facts.status().message() << ")\n";
    return;
  }
  out << "Node facts        :\n" << cvm::NodeFactsText(*facts);
}

int AgentShow(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("agent show");
  ServerFlags server;
  std::string spiffe_id;
  server.Register(fs);
  fs.String("spiffeID", &spiffe_id, "The SPIFFE ID of the agent to show (agent identity)");
  if (!server.Parse(fs, args, io)) return 1;
  if (spiffe_id.empty()) return Fail(io, "a SPIFFE ID is required");
  auto id = ParseId(spiffe_id);
  if (!id.ok()) return Fail(io, id.status().message());
  agentv1::GetAgentRequest req;
  *req.mutable_id() = *id;
  stypes::Agent agent;
  grpc::ClientContext ctx;
  auto s = agentv1::Agent::NewStub(Dial(server.socket))->GetAgent(&ctx, req, &agent);
  if (!s.ok()) return FailRpc(io, "", s);
  if (server.json()) {
    io.out << SpireJson(agent);
    return 0;
  }
  io.out << "Found an attested agent given its SPIFFE ID\n\n";
  google::protobuf::RepeatedPtrField<stypes::Agent> one;
  *one.Add() = agent;
  PrintAgents(one, io.out);
  for (const auto& sel : agent.selectors())
    io.out << "Selectors         : " << sel.type() << ":" << sel.value() << "\n";
  PrintNodeFacts(ctx, io.out);
  return 0;
}

namespace {

// agent evict / agent ban: one call by SPIFFE ID, an Empty response, a fixed line.
template <typename Request>
int AgentIdCommand(const char* name, const char* help, const std::vector<std::string>& args, Io io,
                   grpc::Status (agentv1::Agent::Stub::*call)(grpc::ClientContext*, const Request&,
                                                              google::protobuf::Empty*),
                   const char* done) {
  flags::FlagSet fs(name);
  ServerFlags server;
  std::string spiffe_id;
  server.Register(fs);
  fs.String("spiffeID", &spiffe_id, help);
  if (!server.Parse(fs, args, io)) return 1;
  if (spiffe_id.empty()) return Fail(io, "a SPIFFE ID is required");
  auto id = ParseId(spiffe_id);
  if (!id.ok()) return Fail(io, id.status().message());
  Request req;
  *req.mutable_id() = *id;
  google::protobuf::Empty resp;
  grpc::ClientContext ctx;
  auto stub = agentv1::Agent::NewStub(Dial(server.socket));
  if (auto s = ((*stub).*call)(&ctx, req, &resp); !s.ok()) return FailRpc(io, "", s);
  io.out << (server.json() ? SpireJson(resp) : absl::StrCat(done, "\n"));
  return 0;
}

}  // namespace

int AgentEvict(const std::vector<std::string>& args, Io io) {
  return AgentIdCommand("agent evict", "The SPIFFE ID of the agent to evict (agent identity)", args, io,
                        &agentv1::Agent::Stub::DeleteAgent, "Agent evicted successfully");
}

int AgentBan(const std::vector<std::string>& args, Io io) {
  return AgentIdCommand("agent ban", "The SPIFFE ID of the agent to ban (agent identity)", args, io,
                        &agentv1::Agent::Stub::BanAgent, "Agent banned successfully");
}

}  // namespace spirecvm::cli
