#include "loadgen/admin.h"

#include <future>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "spire/api/server/agent/v1/agent.grpc.pb.h"
#include "spire/api/server/entry/v1/entry.grpc.pb.h"

namespace spirecvm::loadgen {
namespace agentv1 = spire::api::server::agent::v1;
namespace entryv1 = spire::api::server::entry::v1;

namespace {
constexpr int kEntryBatch = 50;

std::shared_ptr<grpc::Channel> AdminChannel(const AdminTarget& admin) {
  return grpc::CreateChannel("unix:" + admin.socket_path, grpc::InsecureChannelCredentials());
}

absl::Status FromGrpc(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), absl::StrCat(what, ": ", s.error_message()));
}

void FillEntry(const AdminTarget& admin, const std::string& token, int agent, int k, spire::api::types::Entry* e) {
  e->mutable_parent_id()->set_trust_domain(admin.trust_domain);
  e->mutable_parent_id()->set_path("/spire/agent/join_token/" + token);
  e->mutable_spiffe_id()->set_trust_domain(admin.trust_domain);
  e->mutable_spiffe_id()->set_path(absl::StrCat("/load/a", agent, "/w", k));
  auto* sel = e->add_selectors();
  sel->set_type("unix");
  sel->set_value(absl::StrCat("uid:", k));
}
}  // namespace

absl::StatusOr<std::vector<std::string>> CreateJoinTokens(const AdminTarget& admin, int n, int ttl_seconds) {
  auto stub = agentv1::Agent::NewStub(AdminChannel(admin));
  std::vector<std::string> tokens;
  for (int i = 0; i < n; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    agentv1::CreateJoinTokenRequest req;
    req.set_ttl(ttl_seconds);
    spire::api::types::JoinToken resp;
    auto s = FromGrpc(stub->CreateJoinToken(&ctx, req, &resp), absl::StrCat("CreateJoinToken #", i));
    if (!s.ok()) return s;
    tokens.push_back(resp.value());
  }
  return tokens;
}

absl::Status CreateEntries(const AdminTarget& admin, const std::vector<std::string>& tokens, int m) {
  if (tokens.empty()) return absl::InvalidArgumentError("entries need at least one agent token");
  auto stub = entryv1::Entry::NewStub(AdminChannel(admin));
  const int n = static_cast<int>(tokens.size());
  for (int first = 0; first < m; first += kEntryBatch) {
    entryv1::BatchCreateEntryRequest req;
    for (int k = first; k < std::min(m, first + kEntryBatch); ++k) {
      FillEntry(admin, tokens[k % n], k % n, k, req.add_entries());
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    entryv1::BatchCreateEntryResponse resp;
    auto s = FromGrpc(stub->BatchCreateEntry(&ctx, req, &resp), absl::StrCat("BatchCreateEntry from #", first));
    if (!s.ok()) return s;
    for (int i = 0; i < resp.results_size(); ++i) {
      const auto& st = resp.results(i).status();
      if (st.code() != 0) {
        return absl::InternalError(absl::StrCat("entry #", first + i, " refused: ", st.message()));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> PinCallbackQueue(const AdminTarget& admin) {
  auto channel = AdminChannel(admin);
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::health::v1::HealthCheckRequest req;
  grpc::health::v1::HealthCheckResponse resp;
  std::promise<grpc::Status> done;
  stub->async()->Check(&ctx, &req, &resp, [&done](grpc::Status s) { done.set_value(std::move(s)); });
  auto s = FromGrpc(done.get_future().get(), "health check on the admin socket");
  if (!s.ok()) return s;
  return channel;
}

}  // namespace spirecvm::loadgen
