// The DataStore conformance suite on a real PostgreSQL, plus what only a shared, networked database has: several
// stores (servers) on one database, event ids visible in order under concurrent writers, retries after dropped
// connections, startup while the database is unreachable, concurrent migrations, a read replica.
//
// The database: SPIRECVM_PG_CONNINFO (a libpq connection string) or SPIRECVM_PG_CONNINFO_FILE (a file holding one,
// written by test/pg/start.sh; CTest sets it through the cvm_pg fixture). Without either the tests skip, unless
// SPIRECVM_PG_REQUIRED=1 (CTest), when they fail. Each test works in its own schema (cvmtest_<pid>_<n>, via
// search_path), dropped at exit.
#include "server/datastore/postgres_datastore.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/datastore/datastore_conformance.h"
#include "server/datastore/schema.h"

namespace spirecvm::datastore {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

struct PgConfig {
  std::string conninfo;
  std::string problem;  // why there is no database
};

const PgConfig& Config() {
  static const PgConfig cfg = [] {
    PgConfig c;
    if (const char* v = std::getenv("SPIRECVM_PG_CONNINFO"); v != nullptr && *v != '\0') {
      c.conninfo = v;
    } else if (const char* f = std::getenv("SPIRECVM_PG_CONNINFO_FILE"); f != nullptr && *f != '\0') {
      std::ifstream in(f);
      std::stringstream ss;
      ss << in.rdbuf();
      c.conninfo = std::string(absl::StripAsciiWhitespace(ss.str()));
      if (c.conninfo.empty()) c.problem = absl::StrCat("no connection string in ", f, " (did test/pg/start.sh run?)");
    } else {
      c.problem = "set SPIRECVM_PG_CONNINFO or SPIRECVM_PG_CONNINFO_FILE (test/pg/start.sh DIR writes DIR/conninfo)";
    }
    if (c.problem.empty() && PQping(c.conninfo.c_str()) != PQPING_OK) {
      c.problem = absl::StrCat("PostgreSQL is not answering at ", DescribePostgresTarget(c.conninfo));
    }
    return c;
  }();
  return cfg;
}

bool Required() {
  const char* r = std::getenv("SPIRECVM_PG_REQUIRED");
  return r != nullptr && std::string(r) == "1";
}

// Skips (by hand) or fails (under CTest's fixture) every test when there is no database.
class PgEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (Config().problem.empty()) return;
    if (Required()) FAIL() << "PostgreSQL required (SPIRECVM_PG_REQUIRED=1) but unavailable: " << Config().problem;
    GTEST_SKIP() << "PostgreSQL tests skipped: " << Config().problem;
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new PgEnvironment);

// Runs one statement on an admin connection (autocommit).
absl::Status AdminExec(const std::string& sql) {
  PGconn* c = PQconnectdb(Config().conninfo.c_str());
  absl::Status st;
  if (PQstatus(c) != CONNECTION_OK) {
    st = absl::UnavailableError(PQerrorMessage(c));
  } else {
    PGresult* r = PQexec(c, sql.c_str());
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
      st = absl::InternalError(absl::StrCat(sql, ": ", PQerrorMessage(c)));
    }
    PQclear(r);
  }
  PQfinish(c);
  return st;
}

// A fresh schema per call; all of this process's schemas are dropped at exit.
class Schemas {
 public:
  static std::string New() {
    static Schemas s;
    std::lock_guard<std::mutex> l(s.mu_);
    std::string name = absl::StrCat("cvmtest_", getpid(), "_", s.n_++);
    EXPECT_TRUE(AdminExec(absl::StrCat("CREATE SCHEMA ", name)).ok());
    s.names_.push_back(name);
    return name;
  }
  ~Schemas() {
    if (names_.empty()) return;
    std::string sql;
    for (auto& n : names_) absl::StrAppend(&sql, "DROP SCHEMA IF EXISTS ", n, " CASCADE;");
    (void)AdminExec(sql);
  }

 private:
  std::mutex mu_;
  int n_ = 0;
  std::vector<std::string> names_;
};

std::string ConninfoFor(const std::string& schema) {
  return absl::StrCat(Config().conninfo, " options='-c search_path=", schema, "'");
}

PostgresOptions OptionsFor(const std::string& schema) {
  PostgresOptions o;
  o.connection_string = ConninfoFor(schema);
  o.max_open_conns = 8;
  o.connect_timeout = absl::Seconds(10);
  return o;
}

std::unique_ptr<DataStore> MustOpen(const PostgresOptions& o, Clock& c) {
  auto ds = OpenPostgres(o, c);
  EXPECT_TRUE(ds.ok()) << ds.status();
  return ds.ok() ? std::move(*ds) : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Postgres, DataStoreConformance,
                         ::testing::Values(DataStoreBackend{"postgres",
                                                            [](Clock& c) -> std::unique_ptr<DataStore> {
                                                              return MustOpen(OptionsFor(Schemas::New()), c);
                                                            }}),
                         DataStoreBackendName);

RegistrationEntry Entry(std::string spiffe, std::string parent, std::vector<Selector> sels) {
  RegistrationEntry e;
  e.spiffe_id = std::move(spiffe);
  e.parent_id = std::move(parent);
  e.selectors = std::move(sels);
  return e;
}

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_ = Schemas::New();
    a_ = MustOpen(OptionsFor(schema_), clock_);
    b_ = MustOpen(OptionsFor(schema_), clock_);
    ASSERT_NE(a_, nullptr);
    ASSERT_NE(b_, nullptr);
  }
  FakeClock clock_{absl::FromUnixSeconds(kConformanceT0)};
  std::string schema_;
  std::unique_ptr<DataStore> a_, b_;  // two "servers" on one database
};

TEST_F(PostgresTest, TwoStoresShareEntriesTokensAndNonces) {
  auto e = a_->CreateEntry(Entry("spiffe://td/w", "spiffe://td/agent", {{"unix", "uid:0"}}));
  ASSERT_TRUE(e.ok()) << e.status();
  auto seen = b_->FetchEntry(e->id);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->spiffe_id, "spiffe://td/w");
  EXPECT_EQ(b_->CreateEntry(Entry("spiffe://td/w", "spiffe://td/agent", {{"unix", "uid:0"}})).status().code(),
            absl::StatusCode::kAlreadyExists);

  ASSERT_TRUE(a_->CreateJoinToken({"tok", kConformanceT0 + 60}).ok());
  EXPECT_TRUE(b_->ConsumeJoinToken("tok", kConformanceT0).ok());
  EXPECT_EQ(a_->ConsumeJoinToken("tok", kConformanceT0).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(b_->InsertNonce("n", kConformanceT0 + 60).ok());
  EXPECT_TRUE(a_->ConsumeNonce("n", kConformanceT0).ok());
  EXPECT_EQ(b_->ConsumeNonce("n", kConformanceT0).code(), absl::StatusCode::kNotFound);
}

TEST_F(PostgresTest, JoinTokenRaceAcrossServersHasOneWinner) {
  for (int round = 0; round < 10; ++round) {
    const std::string tok = absl::StrCat("race-", round);
    ASSERT_TRUE(a_->CreateJoinToken({tok, kConformanceT0 + 60}).ok());
    RaceOutcome r =
        RunRace(8, [&](int i) { return (i % 2 == 0 ? a_ : b_)->ConsumeJoinToken(tok, kConformanceT0).status(); });
    for (const absl::Status& st : r.other) ADD_FAILURE() << st;
    EXPECT_EQ(r.ok, 1);
    EXPECT_EQ(r.not_found, 7);
    EXPECT_EQ(r.other.size(), 0u);
  }
}

// PostgreSQL draws identity values at INSERT and commits in any order; the store serialises event inserts so an
// incremental reader ("everything after the last id I saw") never misses an event. Writers on two stores, one
// polling reader; afterwards the reader must have seen every event.
// docs/security.md finding 2: two servers racing the first attestation of one instance, each from another guest
// launch, admit exactly one; a ban by one server is never undone by a re-attestation through the other.
TEST_F(PostgresTest, TwoServersRacingOneInstanceAdmitOneAndNeverUndoABan) {
  for (int round = 0; round < 10; ++round) {
    const std::string id = absl::StrCat("spiffe://td/spire/agent/aws_iid/1/r/i-", round);
    std::atomic<int> admitted{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back([&, i] {
        AttestedNode n;
        n.spiffe_id = id;
        n.attestation_type = "aws_iid";
        n.cert_serial = absl::StrCat("s", i);
        n.can_reattest = true;
        n.launch_id = absl::StrCat("launch-", i);
        auto st = (i % 2 == 0 ? a_ : b_)->AdmitAttestedNode(n);
        if (st.ok()) {
          ++admitted;
        } else if (!absl::IsFailedPrecondition(st)) {
          ADD_FAILURE() << st;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(admitted.load(), 1);
    auto got = b_->FetchAttestedNode(id);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->launch_id, absl::StrCat("launch-", got->cert_serial.substr(1)));
    // Ban through server A; the winning launch re-attests through server B: refused, still banned.
    ASSERT_TRUE(a_->BanAttestedNode(id).ok());
    AttestedNode again = *got;
    again.cert_serial = "after-ban";
    auto st = b_->AdmitAttestedNode(again);
    EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
    EXPECT_TRUE(a_->FetchAttestedNode(id)->banned);
  }
}

TEST_F(PostgresTest, IncrementalEventReaderMissesNothingUnderConcurrentWriters) {
  std::atomic<bool> done{false};
  std::set<int64_t> seen;
  int64_t last = 0;
  std::thread reader([&] {
    while (true) {
      const bool finishing = done.load();
      auto ev = b_->ListEntryEventsSince(last);
      ASSERT_TRUE(ev.ok()) << ev.status();
      for (auto& e : *ev) {
        seen.insert(e.event_id);
        last = std::max(last, e.event_id);
      }
      if (finishing) break;
    }
  });
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    writers.emplace_back([&, t] {
      DataStore& ds = t % 2 == 0 ? *a_ : *b_;
      for (int i = 0; i < 25; ++i) {
        auto r = ds.CreateEntry(
            Entry(absl::StrCat("spiffe://td/w", t, "-", i), "spiffe://td/p", {{"k", absl::StrCat(t, ":", i)}}));
        if (!r.ok()) {
          ++failures;
          continue;
        }
        // A second write in the same "server", so transactions of different lengths interleave.
        r->hint = "updated";
        if (!ds.UpdateEntry(*r).ok()) ++failures;
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  auto all = a_->ListEntryEventsSince(0);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 300u);
  std::set<int64_t> expected;
  for (auto& e : *all) expected.insert(e.event_id);
  EXPECT_EQ(seen, expected) << "the incremental reader skipped events";
}

TEST_F(PostgresTest, ConcurrentBundleAppendsFromTwoServersAllLand) {
  std::vector<std::string> certs;
  for (int i = 0; i < 8; ++i) {
    certs.push_back(MakeTestCertDer(absl::StrCat("ca", i), kConformanceT0 - 10, kConformanceT0 + 3600 + i));
  }
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      BundleRecord b;
      b.trust_domain = "td";
      b.x509_authorities_der = {certs[static_cast<size_t>(i)]};
      auto r = (i % 2 == 0 ? a_ : b_)->AppendBundle(b);
      if (!r.ok()) {
        ++failures;
        ADD_FAILURE() << r.status();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto b = a_->FetchBundle("td");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->x509_authorities_der.size(), 8u);
  // Created at 1, then +1 per append that added something: no lost update.
  EXPECT_EQ(b->sequence_number, 8u);
}

// Kills every server-side connection of the stores (as a PostgreSQL restart would): the next calls reconnect and
// succeed, transparently.
TEST_F(PostgresTest, RecoversFromDroppedConnections) {
  ASSERT_TRUE(a_->CreateEntry(Entry("spiffe://td/1", "spiffe://td/p", {{"a", "1"}})).ok());
  ASSERT_TRUE(b_->CountEntries().ok());
  ASSERT_TRUE(AdminExec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
                        " AND datname = current_database() AND application_name = 'spire-cvm-server'")
                  .ok());
  auto e = a_->CreateEntry(Entry("spiffe://td/2", "spiffe://td/p", {{"a", "2"}}));
  ASSERT_TRUE(e.ok()) << e.status();
  auto n = b_->CountEntries();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 2);
  EXPECT_TRUE(b_->FetchEntry(e->id).ok());
}

TEST(PostgresOpen, UnreachableDatabaseFailsClearlyAfterRetrying) {
  PostgresOptions o;
  // A port nobody listens on (bound, never listening).
  o.connection_string = "host=127.0.0.1 port=1 user=someone password=s3cret dbname=spire connect_timeout=2";
  o.connect_timeout = absl::Seconds(1);
  RealClock clock;
  const absl::Time start = absl::Now();
  auto ds = OpenPostgres(o, clock);
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(ds.status().message(), HasSubstr("unreachable"));
  EXPECT_THAT(ds.status().message(), HasSubstr("host=127.0.0.1 port=1"));
  EXPECT_THAT(ds.status().message(), HasSubstr("attempts"));
  EXPECT_THAT(ds.status().message(), Not(HasSubstr("s3cret")));
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(500));
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
}

TEST(PostgresOpen, InvalidOptions) {
  RealClock clock;
  PostgresOptions o;
  EXPECT_EQ(OpenPostgres(o, clock).status().code(), absl::StatusCode::kInvalidArgument);
  o.connection_string = "host=127.0.0.1";
  o.max_open_conns = 0;
  EXPECT_EQ(OpenPostgres(o, clock).status().code(), absl::StatusCode::kInvalidArgument);
  o.max_open_conns = 1;
  o.connection_string = "this is not = = a connection string '";
  EXPECT_EQ(OpenPostgres(o, clock).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PostgresOpen, ConcurrentFirstOpensMigrateOnce) {
  const std::string schema = Schemas::New();
  RealClock clock;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      auto ds = OpenPostgres(OptionsFor(schema), clock);
      if (ds.ok()) {
        ++ok;
      } else {
        ADD_FAILURE() << ds.status();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 4);
  ASSERT_TRUE(AdminExec(absl::StrCat("UPDATE ", schema, ".schema_version SET version = 999")).ok());
  auto newer = OpenPostgres(OptionsFor(schema), clock);
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(newer.status().message(), HasSubstr("newer than this build"));
}

TEST(PostgresOpen, ReadReplicaServesReadsAndFallsBackToPrimary) {
  const std::string schema = Schemas::New();
  RealClock clock;
  // The "replica" is the same server: reads go through the read-only pool (a write there would fail).
  PostgresOptions o = OptionsFor(schema);
  o.ro_connection_string = ConninfoFor(schema);
  auto ds = MustOpen(o, clock);
  ASSERT_NE(ds, nullptr);
  auto e = ds->CreateEntry(Entry("spiffe://td/r", "spiffe://td/p", {{"a", "1"}}));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_TRUE(ds->FetchEntry(e->id).ok());
  // An unreachable replica: reads fall back to the primary.
  o.ro_connection_string = "host=127.0.0.1 port=1 connect_timeout=1";
  auto ds2 = MustOpen(o, clock);
  ASSERT_NE(ds2, nullptr);
  auto got = ds2->FetchEntry(e->id);
  EXPECT_TRUE(got.ok()) << got.status();
}

// docs/security.md finding 2: authorization-critical reads (a node's ban and serials) go to the primary even with a
// read replica configured. The "replica" here is another schema where the node is not banned: a lagging standby.
TEST(PostgresOpen, AttestedNodeReadsGoToThePrimaryNeverTheReplica) {
  const std::string primary = Schemas::New();
  const std::string lagging = Schemas::New();
  RealClock clock;
  AttestedNode n;
  n.spiffe_id = "spiffe://td/spire/agent/x";
  n.attestation_type = "join_token";
  n.cert_serial = "1";
  auto stale = MustOpen(OptionsFor(lagging), clock);
  ASSERT_NE(stale, nullptr);
  ASSERT_TRUE(stale->AdmitAttestedNode(n).ok());
  PostgresOptions o = OptionsFor(primary);
  o.ro_connection_string = ConninfoFor(lagging);
  auto ds = MustOpen(o, clock);
  ASSERT_NE(ds, nullptr);
  ASSERT_TRUE(ds->AdmitAttestedNode(n).ok());
  ASSERT_TRUE(ds->BanAttestedNode(n.spiffe_id).ok());
  auto got = ds->FetchAttestedNode(n.spiffe_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE(got->banned);
  // The replica really is in use for ordinary reads (so the check above is not vacuous).
  auto listed = ds->ListAttestedNodes();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_FALSE((*listed)[0].banned);
}

TEST(PostgresOpen, SmallPoolServesManyThreads) {
  const std::string schema = Schemas::New();
  RealClock clock;
  PostgresOptions o = OptionsFor(schema);
  o.max_open_conns = 2;
  o.conn_max_lifetime = absl::Milliseconds(50);
  auto ds = MustOpen(o, clock);
  ASSERT_NE(ds, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        if (!ds->CreateEntry(Entry(absl::StrCat("spiffe://td/", t, "/", i), "spiffe://td/p", {{"a", "1"}})).ok()) {
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*ds->CountEntries(), 60);
}

}  // namespace
}  // namespace spirecvm::datastore
