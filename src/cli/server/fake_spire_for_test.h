// TEST ONLY: in-process fakes of SPIRE's server APIs (entry, agent, bundle, svid, localauthority, logger, health) on a
// Unix socket, for the spire-server CLI tests. Each records the requests it gets and answers from canned state, so a
// test checks both what the CLI sent and what it printed; `fail_with` makes every call fail with that status.
#pragma once

#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "cli/server/cli_common.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "spire/api/server/agent/v1/agent.grpc.pb.h"
#include "spire/api/server/bundle/v1/bundle.grpc.pb.h"
#include "spire/api/server/entry/v1/entry.grpc.pb.h"
#include "spire/api/server/localauthority/v1/localauthority.grpc.pb.h"
#include "spire/api/server/logger/v1/logger.grpc.pb.h"
#include "spire/api/server/svid/v1/svid.grpc.pb.h"

namespace spirecvm::cli::testing {

namespace entryv1 = ::spire::api::server::entry::v1;
namespace agentv1 = ::spire::api::server::agent::v1;
namespace bundlev1 = ::spire::api::server::bundle::v1;
namespace svidv1 = ::spire::api::server::svid::v1;
namespace lav1 = ::spire::api::server::localauthority::v1;
namespace loggerv1 = ::spire::api::server::logger::v1;
using google::protobuf::Empty;

// What every fake shares: the lock, the failure switch.
struct FakeBase {
  std::mutex mu;
  grpc::Status fail_with = grpc::Status::OK;
};

#define CVM_FAKE_GUARD               \
  std::lock_guard<std::mutex> l(mu); \
  if (!fail_with.ok()) return fail_with

inline stypes::Status OkStatus() { return stypes::Status(); }
inline stypes::Status ErrStatus(grpc::StatusCode code, const std::string& msg) {
  stypes::Status s;
  s.set_code(static_cast<int32_t>(code));
  s.set_message(msg);
  return s;
}

// Entries: created ones get ids "id-<n>"; an entry whose SPIFFE ID path is "/dup" is refused as SPIRE refuses a
// similar entry. ListEntries answers at most 2 entries per page, so the CLI must follow next_page_token.
class FakeEntry final : public entryv1::Entry::Service, public FakeBase {
 public:
  std::vector<stypes::Entry> entries;
  std::vector<entryv1::BatchCreateEntryRequest> creates;
  std::vector<entryv1::BatchUpdateEntryRequest> updates;
  std::vector<entryv1::ListEntriesRequest> lists;
  std::vector<entryv1::CountEntriesRequest> counts;
  std::vector<std::string> deleted;

  grpc::Status BatchCreateEntry(grpc::ServerContext*, const entryv1::BatchCreateEntryRequest* req,
                                entryv1::BatchCreateEntryResponse* resp) override {
    CVM_FAKE_GUARD;
    creates.push_back(*req);
    for (stypes::Entry e : req->entries()) {
      auto* r = resp->add_results();
      if (e.spiffe_id().path() == "/dup") {
        *r->mutable_status() = ErrStatus(grpc::StatusCode::ALREADY_EXISTS, "similar entry already exists");
        continue;
      }
      if (e.id().empty()) e.set_id("id-" + std::to_string(entries.size() + 1));
      entries.push_back(e);
      *r->mutable_status() = OkStatus();
      *r->mutable_entry() = e;
    }
    return grpc::Status::OK;
  }
  grpc::Status BatchUpdateEntry(grpc::ServerContext*, const entryv1::BatchUpdateEntryRequest* req,
                                entryv1::BatchUpdateEntryResponse* resp) override {
    CVM_FAKE_GUARD;
    updates.push_back(*req);
    for (const auto& in : req->entries()) {
      auto* r = resp->add_results();
      auto* stored = Find(in.id());
      if (stored == nullptr) {
        *r->mutable_status() = ErrStatus(grpc::StatusCode::NOT_FOUND, "entry not found");
        continue;
      }
      const int64_t rev = stored->revision_number() + 1;
      *stored = in;
      stored->set_revision_number(rev);
      *r->mutable_entry() = *stored;
    }
    return grpc::Status::OK;
  }
  grpc::Status GetEntry(grpc::ServerContext*, const entryv1::GetEntryRequest* req, stypes::Entry* resp) override {
    CVM_FAKE_GUARD;
    auto* e = Find(req->id());
    if (e == nullptr) return grpc::Status(grpc::StatusCode::NOT_FOUND, "entry not found");
    *resp = *e;
    return grpc::Status::OK;
  }
  grpc::Status ListEntries(grpc::ServerContext*, const entryv1::ListEntriesRequest* req,
                           entryv1::ListEntriesResponse* resp) override {
    CVM_FAKE_GUARD;
    lists.push_back(*req);
    size_t start = req->page_token().empty() ? 0 : std::stoul(req->page_token());
    size_t end = std::min(entries.size(), start + 2);
    for (size_t i = start; i < end; ++i) *resp->add_entries() = entries[i];
    if (end < entries.size()) resp->set_next_page_token(std::to_string(end));
    return grpc::Status::OK;
  }
  grpc::Status CountEntries(grpc::ServerContext*, const entryv1::CountEntriesRequest* req,
                            entryv1::CountEntriesResponse* resp) override {
    CVM_FAKE_GUARD;
    counts.push_back(*req);
    resp->set_count(static_cast<int32_t>(entries.size()));
    return grpc::Status::OK;
  }
  grpc::Status BatchDeleteEntry(grpc::ServerContext*, const entryv1::BatchDeleteEntryRequest* req,
                                entryv1::BatchDeleteEntryResponse* resp) override {
    CVM_FAKE_GUARD;
    for (const auto& id : req->ids()) {
      auto* r = resp->add_results();
      r->set_id(id);
      auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.id() == id; });
      if (it == entries.end()) {
        *r->mutable_status() = ErrStatus(grpc::StatusCode::NOT_FOUND, "entry not found");
        continue;
      }
      entries.erase(it);
      deleted.push_back(id);
      *r->mutable_status() = OkStatus();
    }
    return grpc::Status::OK;
  }

 private:
  stypes::Entry* Find(const std::string& id) {
    for (auto& e : entries) {
      if (e.id() == id) return &e;
    }
    return nullptr;
  }
};

// Agents from `agents`; join tokens "11111111-2222-4333-8444-555555555555".
class FakeAgent final : public agentv1::Agent::Service, public FakeBase {
 public:
  std::vector<stypes::Agent> agents;
  std::vector<agentv1::ListAgentsRequest> lists;
  std::vector<agentv1::CountAgentsRequest> counts;
  std::vector<std::string> deleted, banned;
  std::vector<agentv1::CreateJoinTokenRequest> tokens;

  grpc::Status ListAgents(grpc::ServerContext*, const agentv1::ListAgentsRequest* req,
                          agentv1::ListAgentsResponse* resp) override {
    CVM_FAKE_GUARD;
    lists.push_back(*req);
    for (const auto& a : agents) *resp->add_agents() = a;
    return grpc::Status::OK;
  }
  grpc::Status CountAgents(grpc::ServerContext*, const agentv1::CountAgentsRequest* req,
                           agentv1::CountAgentsResponse* resp) override {
    CVM_FAKE_GUARD;
    counts.push_back(*req);
    resp->set_count(static_cast<int32_t>(agents.size()));
    return grpc::Status::OK;
  }
  grpc::Status GetAgent(grpc::ServerContext*, const agentv1::GetAgentRequest* req, stypes::Agent* resp) override {
    CVM_FAKE_GUARD;
    for (const auto& a : agents) {
      if (a.id().SerializeAsString() == req->id().SerializeAsString()) {
        *resp = a;
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "agent not found");
  }
  grpc::Status DeleteAgent(grpc::ServerContext*, const agentv1::DeleteAgentRequest* req, Empty*) override {
    CVM_FAKE_GUARD;
    if (req->id().path().find("undeletable") != std::string::npos) {
      return grpc::Status(grpc::StatusCode::INTERNAL, "failed to remove agent");
    }
    deleted.push_back(cli::IdString(req->id()));
    return grpc::Status::OK;
  }
  grpc::Status BanAgent(grpc::ServerContext*, const agentv1::BanAgentRequest* req, Empty*) override {
    CVM_FAKE_GUARD;
    banned.push_back(cli::IdString(req->id()));
    return grpc::Status::OK;
  }
  grpc::Status CreateJoinToken(grpc::ServerContext*, const agentv1::CreateJoinTokenRequest* req,
                               stypes::JoinToken* resp) override {
    CVM_FAKE_GUARD;
    tokens.push_back(*req);
    resp->set_value("11111111-2222-4333-8444-555555555555");
    resp->set_expires_at(1700000000 + req->ttl());
    return grpc::Status::OK;
  }
};

// The server's bundle and the federated ones; a federated trust domain named "refused.test" is refused per item.
class FakeBundle final : public bundlev1::Bundle::Service, public FakeBase {
 public:
  stypes::Bundle bundle;
  std::vector<stypes::Bundle> federated;
  std::vector<bundlev1::BatchSetFederatedBundleRequest> sets;
  std::vector<bundlev1::BatchDeleteFederatedBundleRequest> deletes;

  grpc::Status GetBundle(grpc::ServerContext*, const bundlev1::GetBundleRequest*, stypes::Bundle* resp) override {
    CVM_FAKE_GUARD;
    *resp = bundle;
    return grpc::Status::OK;
  }
  grpc::Status CountBundles(grpc::ServerContext*, const bundlev1::CountBundlesRequest*,
                            bundlev1::CountBundlesResponse* resp) override {
    CVM_FAKE_GUARD;
    resp->set_count(static_cast<int32_t>(federated.size() + 1));
    return grpc::Status::OK;
  }
  grpc::Status ListFederatedBundles(grpc::ServerContext*, const bundlev1::ListFederatedBundlesRequest*,
                                    bundlev1::ListFederatedBundlesResponse* resp) override {
    CVM_FAKE_GUARD;
    for (const auto& b : federated) *resp->add_bundles() = b;
    return grpc::Status::OK;
  }
  grpc::Status GetFederatedBundle(grpc::ServerContext*, const bundlev1::GetFederatedBundleRequest* req,
                                  stypes::Bundle* resp) override {
    CVM_FAKE_GUARD;
    for (const auto& b : federated) {
      if (b.trust_domain() == req->trust_domain()) {
        *resp = b;
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "bundle not found");
  }
  grpc::Status BatchSetFederatedBundle(grpc::ServerContext*, const bundlev1::BatchSetFederatedBundleRequest* req,
                                       bundlev1::BatchSetFederatedBundleResponse* resp) override {
    CVM_FAKE_GUARD;
    sets.push_back(*req);
    for (const auto& b : req->bundle()) {
      auto* r = resp->add_results();
      *r->mutable_status() = b.trust_domain() == "refused.test"
                                 ? ErrStatus(grpc::StatusCode::INVALID_ARGUMENT, "trust domain refused")
                                 : OkStatus();
      *r->mutable_bundle() = b;
    }
    return grpc::Status::OK;
  }
  grpc::Status BatchDeleteFederatedBundle(grpc::ServerContext*, const bundlev1::BatchDeleteFederatedBundleRequest* req,
                                          bundlev1::BatchDeleteFederatedBundleResponse* resp) override {
    CVM_FAKE_GUARD;
    deletes.push_back(*req);
    for (const auto& td : req->trust_domains()) {
      auto* r = resp->add_results();
      r->set_trust_domain(td);
      *r->mutable_status() =
          td == "refused.test" ? ErrStatus(grpc::StatusCode::NOT_FOUND, "no such bundle") : OkStatus();
    }
    return grpc::Status::OK;
  }
};

// Mints: X.509 returns `x509_chain` (whatever the CSR), JWT returns `jwt_token`; both record the requests.
class FakeSvid final : public svidv1::SVID::Service, public FakeBase {
 public:
  std::vector<std::string> x509_chain;
  int64_t expires_at = 4102444800;  // 2100-01-01: never capped
  std::string jwt_token = "header.payload.signature";
  std::vector<svidv1::MintX509SVIDRequest> x509_mints;
  std::vector<svidv1::MintJWTSVIDRequest> jwt_mints;

  grpc::Status MintX509SVID(grpc::ServerContext*, const svidv1::MintX509SVIDRequest* req,
                            svidv1::MintX509SVIDResponse* resp) override {
    CVM_FAKE_GUARD;
    x509_mints.push_back(*req);
    for (const auto& c : x509_chain) resp->mutable_svid()->add_cert_chain(c);
    resp->mutable_svid()->set_expires_at(expires_at);
    return grpc::Status::OK;
  }
  grpc::Status MintJWTSVID(grpc::ServerContext*, const svidv1::MintJWTSVIDRequest* req,
                           svidv1::MintJWTSVIDResponse* resp) override {
    CVM_FAKE_GUARD;
    jwt_mints.push_back(*req);
    resp->mutable_svid()->set_token(jwt_token);
    *resp->mutable_svid()->mutable_id() = req->id();
    resp->mutable_svid()->set_expires_at(expires_at);
    return grpc::Status::OK;
  }
};

// Authority states answered as set; the requests' authority / subject key IDs recorded in `ids` ("<method>:<id>").
class FakeLocalAuthority final : public lav1::LocalAuthority::Service, public FakeBase {
 public:
  lav1::AuthorityState active, prepared, old, changed;  // `changed` answers prepare/activate/taint/revoke
  bool has_active = true, has_prepared = false, has_old = false;
  std::vector<std::string> ids;

  template <typename Resp>
  void States(Resp* r) {
    if (has_active) *r->mutable_active() = active;
    if (has_prepared) *r->mutable_prepared() = prepared;
    if (has_old) *r->mutable_old() = old;
  }
  grpc::Status GetX509AuthorityState(grpc::ServerContext*, const lav1::GetX509AuthorityStateRequest*,
                                     lav1::GetX509AuthorityStateResponse* r) override {
    CVM_FAKE_GUARD;
    States(r);
    return grpc::Status::OK;
  }
  grpc::Status GetJWTAuthorityState(grpc::ServerContext*, const lav1::GetJWTAuthorityStateRequest*,
                                    lav1::GetJWTAuthorityStateResponse* r) override {
    CVM_FAKE_GUARD;
    States(r);
    return grpc::Status::OK;
  }
#define CVM_FAKE_STATE(Method, field, id_expr)                                                                      \
  grpc::Status Method(grpc::ServerContext*, const lav1::Method##Request* req, lav1::Method##Response* r) override { \
    CVM_FAKE_GUARD;                                                                                                 \
    (void)req;                                                                                                      \
    ids.push_back(std::string(#Method) + ":" + (id_expr));                                                          \
    *r->mutable_##field() = changed;                                                                                \
    return grpc::Status::OK;                                                                                        \
  }
  CVM_FAKE_STATE(PrepareX509Authority, prepared_authority, "")
  CVM_FAKE_STATE(ActivateX509Authority, activated_authority, req->authority_id())
  CVM_FAKE_STATE(TaintX509Authority, tainted_authority, req->authority_id())
  CVM_FAKE_STATE(RevokeX509Authority, revoked_authority, req->authority_id())
  CVM_FAKE_STATE(PrepareJWTAuthority, prepared_authority, "")
  CVM_FAKE_STATE(ActivateJWTAuthority, activated_authority, req->authority_id())
  CVM_FAKE_STATE(TaintJWTAuthority, tainted_authority, req->authority_id())
  CVM_FAKE_STATE(RevokeJWTAuthority, revoked_authority, req->authority_id())
#undef CVM_FAKE_STATE
  grpc::Status TaintX509UpstreamAuthority(grpc::ServerContext*, const lav1::TaintX509UpstreamAuthorityRequest* req,
                                          lav1::TaintX509UpstreamAuthorityResponse* r) override {
    CVM_FAKE_GUARD;
    ids.push_back("TaintX509UpstreamAuthority:" + req->subject_key_id());
    r->set_upstream_authority_subject_key_id(req->subject_key_id());
    return grpc::Status::OK;
  }
  grpc::Status RevokeX509UpstreamAuthority(grpc::ServerContext*, const lav1::RevokeX509UpstreamAuthorityRequest* req,
                                           lav1::RevokeX509UpstreamAuthorityResponse* r) override {
    CVM_FAKE_GUARD;
    ids.push_back("RevokeX509UpstreamAuthority:" + req->subject_key_id());
    r->set_upstream_authority_subject_key_id(req->subject_key_id());
    return grpc::Status::OK;
  }
};

// The level: launch INFO; set changes it, reset goes back to the launch level.
class FakeLogger final : public loggerv1::Logger::Service, public FakeBase {
 public:
  stypes::LogLevel current = stypes::INFO, launch = stypes::INFO;
  std::vector<stypes::LogLevel> sets;

  grpc::Status GetLogger(grpc::ServerContext*, const loggerv1::GetLoggerRequest*, stypes::Logger* r) override {
    CVM_FAKE_GUARD;
    return Answer(r);
  }
  grpc::Status SetLogLevel(grpc::ServerContext*, const loggerv1::SetLogLevelRequest* req, stypes::Logger* r) override {
    CVM_FAKE_GUARD;
    sets.push_back(req->new_level());
    current = req->new_level();
    return Answer(r);
  }
  grpc::Status ResetLogLevel(grpc::ServerContext*, const loggerv1::ResetLogLevelRequest*, stypes::Logger* r) override {
    CVM_FAKE_GUARD;
    current = launch;
    return Answer(r);
  }

 private:
  grpc::Status Answer(stypes::Logger* r) {
    r->set_current_level(current);
    r->set_launch_level(launch);
    return grpc::Status::OK;
  }
};

#undef CVM_FAKE_GUARD

// Every fake on a Unix socket in a fresh temporary directory, with gRPC's health service.
class FakeSpireServer {
 public:
  FakeSpireServer() {
    char tmpl[] = "/tmp/cvm-cli-test.XXXXXX";
    dir_ = mkdtemp(tmpl);
    socket_ = dir_ + "/api.sock";
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder b;
    b.AddListeningPort("unix:" + socket_, grpc::InsecureServerCredentials());
    for (grpc::Service* s :
         std::initializer_list<grpc::Service*>{&entry, &agent, &bundle, &svid, &authority, &logger}) {
      b.RegisterService(s);
    }
    server_ = b.BuildAndStart();
  }
  ~FakeSpireServer() {
    server_->Shutdown();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void SetServing(bool serving) { server_->GetHealthCheckService()->SetServingStatus(serving); }
  const std::string& socket() const { return socket_; }
  const std::string& dir() const { return dir_; }

  FakeEntry entry;
  FakeAgent agent;
  FakeBundle bundle;
  FakeSvid svid;
  FakeLocalAuthority authority;
  FakeLogger logger;

 private:
  std::string dir_, socket_;
  std::unique_ptr<grpc::Server> server_;
};

struct CliResult {
  int rc;
  std::string out, err;
};

// Runs one CLI verb with captured output.
inline CliResult RunVerb(const CommandFn& fn, const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int rc = fn(args, Io{out, err});
  return {rc, out.str(), err.str()};
}

// Runs a verb against `srv` (its -socketPath prepended).
inline CliResult RunOn(const FakeSpireServer& srv, const CommandFn& fn, std::vector<std::string> args) {
  args.insert(args.begin(), {"-socketPath", srv.socket()});
  return RunVerb(fn, args);
}

inline stypes::SPIFFEID Id(const std::string& td, const std::string& path) {
  stypes::SPIFFEID id;
  id.set_trust_domain(td);
  id.set_path(path);
  return id;
}

}  // namespace spirecvm::cli::testing
