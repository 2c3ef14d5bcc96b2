// The composition steps of Server::Start, each on its own, then the whole server once.
#include "server/server.h"

#include <sys/stat.h>

#include <filesystem>

#include "common/files.h"
#include "crypto/x509.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/datastore/sqlite_datastore.h"

namespace spirecvm::server {
namespace {

using ::testing::HasSubstr;

class ServerStepsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = std::filesystem::temp_directory_path() / "cvm-server-XXXXXX";
    ASSERT_NE(mkdtemp(t.data()), nullptr);
    dir_ = t;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ServerConfig Config(const std::string& extra_plugins = "") {
    auto cfg = ParseServerConfig(R"(server {
  trust_domain = "example.org"
  bind_address = "127.0.0.1"
  bind_port = 0
  data_dir = ")" + dir_ + R"("
  socket_path = ")" + dir_ + R"(/api.sock"
}
plugins {
  DataStore "sql" { plugin_data { database_type = "sqlite3" connection_string = ")" +
                                     dir_ + R"(/ds.sqlite3" } }
  KeyManager "memory" { plugin_data {} }
  NodeAttestor "join_token" { plugin_data {} }
)" + extra_plugins + "}\n",
                                 "server.conf");
    EXPECT_TRUE(cfg.ok()) << cfg.status();
    return std::move(*cfg);
  }

  std::string dir_;
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  TestOnlyDeterministicRandom rnd_{5};
  spiffe::TrustDomain td_ = *spiffe::TrustDomain::Parse("example.org");
};

TEST_F(ServerStepsTest, ServerIdIsMadeOnceAndKept) {
  auto first = LoadOrCreateServerId(dir_, rnd_);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->size(), 32u);
  auto again = LoadOrCreateServerId(dir_, rnd_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
  EXPECT_TRUE(LoadOrCreateServerId(dir_ + "/missing/dir", rnd_).status().code() != absl::StatusCode::kOk);
}

TEST_F(ServerStepsTest, DataStoreCaAndAttestorsFromThePlan) {
  ServerConfig cfg = Config();
  auto plan = PlanPlugins(cfg);
  ASSERT_TRUE(plan.ok()) << plan.status();
  auto ds = plan->datastore.Build({clock_, rnd_});
  ASSERT_TRUE(ds.ok()) << ds.status();
  auto ca = BuildCa(cfg, *plan, "s1", **ds, clock_, rnd_);
  ASSERT_TRUE(ca.ok()) << ca.status();
  EXPECT_EQ(ca->km->Name(), "memory");
  EXPECT_EQ(ca->upstream, nullptr);
  EXPECT_EQ(ca->ca->config().server_id, "s1");
  EXPECT_FALSE(ca->ca->Summary().empty()) << "an active authority";
  EXPECT_TRUE((*ds)->FetchBundle("example.org").ok()) << "published in the bundle";

  auto attestors = BuildAttestors(*plan, {td_, **ds, clock_, rnd_});
  ASSERT_TRUE(attestors.ok()) << attestors.status();
  ASSERT_EQ(attestors->size(), 1u);
  EXPECT_EQ(attestors->begin()->first, "join_token");
}

TEST_F(ServerStepsTest, AttestorBuildErrorsNameThePlugin) {
  ServerConfig cfg =
      Config("  NodeAttestor \"aws_iid\" { plugin_data { aws_certificates_path = \"" + dir_ + "/no-certs\" } }\n");
  auto plan = PlanPlugins(cfg);
  ASSERT_TRUE(plan.ok()) << plan.status();
  auto ds = plan->datastore.Build({clock_, rnd_});
  ASSERT_TRUE(ds.ok());
  auto attestors = BuildAttestors(*plan, {td_, **ds, clock_, rnd_});
  ASSERT_FALSE(attestors.ok());
  EXPECT_THAT(std::string(attestors.status().message()), HasSubstr("NodeAttestor \"aws_iid\": "));
}

TEST_F(ServerStepsTest, ServerSvidRotatesAtHalfItsLifetime) {
  ServerConfig cfg = Config();
  auto plan = PlanPlugins(cfg);
  ASSERT_TRUE(plan.ok());
  auto ds = plan->datastore.Build({clock_, rnd_});
  ASSERT_TRUE(ds.ok());
  auto ca = BuildCa(cfg, *plan, "s1", **ds, clock_, rnd_);
  ASSERT_TRUE(ca.ok());
  ServerSvid svid({*ca->ca, clock_, td_, absl::Hours(1), dir_ + "/svid.key", dir_ + "/svid.pem"});
  ASSERT_TRUE(svid.Rotate(true).ok());
  auto first = files::ReadFile(dir_ + "/svid.pem");
  ASSERT_TRUE(first.ok());
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/svid.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  clock_.Advance(absl::Minutes(20));
  ASSERT_TRUE(svid.Rotate(false).ok());
  EXPECT_EQ(*files::ReadFile(dir_ + "/svid.pem"), *first) << "before half its lifetime: kept";
  clock_.Advance(absl::Minutes(11));
  ASSERT_TRUE(svid.Rotate(false).ok());
  EXPECT_NE(*files::ReadFile(dir_ + "/svid.pem"), *first) << "past half its lifetime: renewed";
}

// As SPIRE's server: an SVID signed by a tainted authority is renewed at once, by the new active authority.
TEST_F(ServerStepsTest, ServerSvidRotatesWhenItsAuthorityIsTainted) {
  ServerConfig cfg = Config();
  auto plan = PlanPlugins(cfg);
  ASSERT_TRUE(plan.ok());
  auto ds = plan->datastore.Build({clock_, rnd_});
  ASSERT_TRUE(ds.ok());
  auto ca = BuildCa(cfg, *plan, "s1", **ds, clock_, rnd_);
  ASSERT_TRUE(ca.ok());
  ServerSvid svid({*ca->ca, clock_, td_, absl::Hours(1), dir_ + "/svid.key", dir_ + "/svid.pem", ds->get()});
  ASSERT_TRUE(svid.Rotate(true).ok());
  auto first = files::ReadFile(dir_ + "/svid.pem");
  ASSERT_TRUE(first.ok());
  auto old = ca->ca->States(AuthorityKind::kX509);
  ASSERT_TRUE(old.ok()) << old.status();
  auto prepared = ca->ca->Prepare(AuthorityKind::kX509);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  ASSERT_TRUE(ca->ca->Activate(AuthorityKind::kX509, prepared->authority_id).ok());
  ASSERT_TRUE(svid.Rotate(false).ok());
  EXPECT_EQ(*files::ReadFile(dir_ + "/svid.pem"), *first) << "a new active authority alone does not renew it";

  ASSERT_TRUE(ca->ca->Taint(AuthorityKind::kX509, old->active.authority_id).ok());
  ASSERT_TRUE(svid.Rotate(false).ok());
  auto renewed = files::ReadFile(dir_ + "/svid.pem");
  ASSERT_TRUE(renewed.ok());
  ASSERT_NE(*renewed, *first) << "signed by the tainted authority: renewed before half its lifetime";
  auto chain = crypto::ParseCertsPem(*renewed);
  ASSERT_TRUE(chain.ok() && !chain->empty()) << chain.status();
  EXPECT_EQ(crypto::AuthorityKeyIdHex(chain->front().get()), prepared->authority_id)
      << "signed by the new active authority";
  ASSERT_TRUE(svid.Rotate(false).ok());
  EXPECT_EQ(*files::ReadFile(dir_ + "/svid.pem"), *renewed) << "its signer is not tainted: kept";
}

// Tainted and revoked between two checks: the SVID chains to a root the bundle no longer has, and is renewed.
TEST_F(ServerStepsTest, ServerSvidRotatesWhenItsAuthorityIsRevoked) {
  ServerConfig cfg = Config();
  auto plan = PlanPlugins(cfg);
  ASSERT_TRUE(plan.ok());
  auto ds = plan->datastore.Build({clock_, rnd_});
  ASSERT_TRUE(ds.ok());
  auto ca = BuildCa(cfg, *plan, "s1", **ds, clock_, rnd_);
  ASSERT_TRUE(ca.ok());
  ServerSvid svid({*ca->ca, clock_, td_, absl::Hours(1), dir_ + "/svid.key", dir_ + "/svid.pem", ds->get()});
  ASSERT_TRUE(svid.Rotate(true).ok());
  auto first = files::ReadFile(dir_ + "/svid.pem");
  ASSERT_TRUE(first.ok());
  auto old = ca->ca->States(AuthorityKind::kX509);
  ASSERT_TRUE(old.ok()) << old.status();
  auto prepared = ca->ca->Prepare(AuthorityKind::kX509);
  ASSERT_TRUE(prepared.ok()) << prepared.status();
  ASSERT_TRUE(ca->ca->Activate(AuthorityKind::kX509, prepared->authority_id).ok());
  ASSERT_TRUE(ca->ca->Taint(AuthorityKind::kX509, old->active.authority_id).ok());
  ASSERT_TRUE(ca->ca->Revoke(AuthorityKind::kX509, old->active.authority_id).ok());
  ASSERT_TRUE(svid.Rotate(false).ok());
  auto renewed = files::ReadFile(dir_ + "/svid.pem");
  ASSERT_TRUE(renewed.ok());
  EXPECT_NE(*renewed, *first) << "its root was revoked: renewed";
  ASSERT_TRUE(svid.Rotate(false).ok());
  EXPECT_EQ(*files::ReadFile(dir_ + "/svid.pem"), *renewed) << "chains to the published root: kept";
}

TEST_F(ServerStepsTest, BackgroundTickRefreshesTheEntryCacheAndPrunes) {
  ServerConfig cfg = Config();
  auto plan = PlanPlugins(cfg);
  ASSERT_TRUE(plan.ok());
  auto ds = plan->datastore.Build({clock_, rnd_});
  ASSERT_TRUE(ds.ok());
  auto ca = BuildCa(cfg, *plan, "s1", **ds, clock_, rnd_);
  ASSERT_TRUE(ca.ok());
  EntryCache entries(**ds, "spiffe://example.org/spire/server");
  ASSERT_TRUE(entries.Load().ok());
  BundleCache bundle(**ds, "example.org");
  ServerSvid svid({*ca->ca, clock_, td_, absl::Hours(1), dir_ + "/svid.key", dir_ + "/svid.pem"});
  Metrics metrics;
  BackgroundLoop loop({entries, *ca->ca, svid, bundle, **ds, metrics, clock_, "example.org", absl::Seconds(1)});

  ASSERT_TRUE((*ds)->CreateJoinToken({"expired", absl::ToUnixSeconds(clock_.Now()) - 1}).ok());
  datastore::RegistrationEntry e;
  e.spiffe_id = "spiffe://example.org/w";
  e.parent_id = "spiffe://example.org/spire/agent/x";
  e.selectors = {{"unix", "uid:1"}};
  ASSERT_TRUE((*ds)->CreateEntry(e).ok());
  EXPECT_EQ(entries.size(), 0u);
  loop.Tick();
  EXPECT_EQ(entries.size(), 1u);
  EXPECT_EQ(metrics.entry_cache_refreshes.load(), 1u);
  EXPECT_TRUE(files::ReadFile(dir_ + "/svid.pem").ok()) << "the server SVID was due";
  EXPECT_TRUE(bundle.Get().ok());
  EXPECT_TRUE(absl::IsNotFound((*ds)->ConsumeJoinToken("expired", absl::ToUnixSeconds(clock_.Now()) - 10).status()))
      << "expired tokens are pruned";
}

TEST_F(ServerStepsTest, WholeServerStartsAndStops) {
  auto srv = Server::Create(Config(), RealClock::Get(), SystemRandom::Get());
  ASSERT_TRUE(srv.ok()) << srv.status();
  ASSERT_TRUE((*srv)->Start().ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/api.sock"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/server_svid.pem"));
  (*srv)->Shutdown();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/api.sock"));
}

TEST_F(ServerStepsTest, CreateReportsEveryConfigurationError) {
  ServerConfig cfg = Config("  NodeAttestor \"tpm\" { plugin_data {} }\n");
  auto srv = Server::Create(std::move(cfg), clock_, rnd_);
  ASSERT_FALSE(srv.ok());
  EXPECT_THAT(std::string(srv.status().message()), HasSubstr("unknown NodeAttestor plugin \"tpm\""));
}

}  // namespace
}  // namespace spirecvm::server
