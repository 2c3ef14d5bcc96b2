// DataStore benchmarks (Google Benchmark), SQLite (a file: WAL, synchronous=FULL, as the server runs it) and
// PostgreSQL (when SPIRECVM_PG_CONNINFO is set, e.g. from test/pg/start.sh: work happens in a fresh schema
// cvmbench_<pid>, dropped at exit):
//   CreateEntry            one registration entry (2 selectors) + its event, one transaction
//   AuthorizedByParent     ListEntriesByParentIds({agent}) over a populated table (the per-agent sync query)
//   AuthorizedBySelectors  ListEntriesMatchingSelectorSubset(node selectors) (node-alias matching)
//   UpsertAttestedNode     node attestation write: node row + 3 selectors + event
// Population: kAgents agents x kEntriesPerAgent entries, plus kAliases node-alias entries.
// Multi-threaded variants (->Threads) show what the pool buys on PostgreSQL (SQLite serialises writers).
//
// Usage: datastore_bench [--benchmark_filter=...]    (SPIRECVM_PG_CONNINFO="host=... port=..." for PostgreSQL)
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "common/clock.h"
#include "server/datastore/postgres_datastore.h"
#include "server/datastore/sqlite_datastore.h"

namespace spirecvm::datastore {
namespace {

constexpr int kAgents = 500;
constexpr int kEntriesPerAgent = 4;
constexpr int kAliases = 100;

RealClock& Clock() { return RealClock::Get(); }

std::string AgentId(int i) { return absl::StrCat("spiffe://example.org/spire/agent/x/", i); }

struct Backend {
  std::string name;
  std::unique_ptr<DataStore> ds;
  std::atomic<int64_t> seq{0};  // unique suffixes across iterations and threads
};

void Populate(DataStore& ds) {
  for (int a = 0; a < kAgents; ++a) {
    for (int k = 0; k < kEntriesPerAgent; ++k) {
      RegistrationEntry e;
      e.spiffe_id = absl::StrCat("spiffe://example.org/w/", a, "/", k);
      e.parent_id = AgentId(a);
      e.selectors = {{"unix", absl::StrCat("uid:", k)}, {"unix", absl::StrCat("gid:", a)}};
      if (auto r = ds.CreateEntry(e); !r.ok()) {
        std::cerr << "populate: " << r.status() << "\n";
        std::exit(1);
      }
    }
  }
  for (int i = 0; i < kAliases; ++i) {
    RegistrationEntry e;
    e.spiffe_id = absl::StrCat("spiffe://example.org/alias/", i);
    e.parent_id = "spiffe://example.org/spire/server";
    e.selectors = {{"aws_iid", absl::StrCat("tag:group:", i)}, {"aws_iid", "region:eu-west-1"}};
    if (auto r = ds.CreateEntry(e); !r.ok()) {
      std::cerr << "populate: " << r.status() << "\n";
      std::exit(1);
    }
  }
}

void BM_CreateEntry(benchmark::State& state, Backend* b) {
  for (auto _ : state) {
    const int64_t n = b->seq++;
    RegistrationEntry e;
    e.spiffe_id = absl::StrCat("spiffe://example.org/bench/", n);
    e.parent_id = AgentId(static_cast<int>(n % kAgents));
    e.selectors = {{"unix", absl::StrCat("uid:", n)}, {"k8s", "ns:bench"}};
    auto r = b->ds->CreateEntry(e);
    if (!r.ok()) state.SkipWithError(std::string(r.status().message()).c_str());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_AuthorizedByParent(benchmark::State& state, Backend* b) {
  int64_t n = 0;
  for (auto _ : state) {
    auto r = b->ds->ListEntriesByParentIds({AgentId(static_cast<int>(n++ % kAgents))});
    if (!r.ok() || r->size() < static_cast<size_t>(kEntriesPerAgent)) {
      state.SkipWithError(r.ok() ? "too few entries" : std::string(r.status().message()).c_str());
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_AuthorizedBySelectors(benchmark::State& state, Backend* b) {
  int64_t n = 0;
  for (auto _ : state) {
    const int g = static_cast<int>(n++ % kAliases);
    // A node's selectors: 2 matching one alias, plus 4 that match nothing.
    std::vector<Selector> node = {
        {"aws_iid", absl::StrCat("tag:group:", g)}, {"aws_iid", "region:eu-west-1"}, {"aws_iid", "az:eu-west-1a"},
        {"aws_iid", "instance-type:m5.large"},      {"aws_iid", "image:ami-1234"},   {"aws_iid", "sg:default"}};
    auto r = b->ds->ListEntriesMatchingSelectorSubset(node);
    if (!r.ok() || r->size() != 1) {
      state.SkipWithError(r.ok() ? "want exactly one alias" : std::string(r.status().message()).c_str());
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_UpsertAttestedNode(benchmark::State& state, Backend* b) {
  for (auto _ : state) {
    const int64_t n = b->seq++;
    AttestedNode node;
    node.spiffe_id = AgentId(static_cast<int>(n % 5000));  // re-attestation of a bounded node set
    node.attestation_type = "aws_iid";
    node.cert_serial = absl::StrCat(n);
    node.cert_not_after = 1900000000;
    node.selectors = {{"aws_iid", "region:eu-west-1"},
                      {"aws_iid", absl::StrCat("tag:group:", n % kAliases)},
                      {"aws_iid", "az:eu-west-1a"}};
    auto s = b->ds->UpsertAttestedNode(node);
    if (!s.ok()) state.SkipWithError(std::string(s.message()).c_str());
  }
  state.SetItemsProcessed(state.iterations());
}

void Register(Backend* b) {
  const std::string& n = b->name;
  benchmark::RegisterBenchmark(("CreateEntry/" + n).c_str(), BM_CreateEntry, b)->UseRealTime();
  benchmark::RegisterBenchmark(("CreateEntry/" + n).c_str(), BM_CreateEntry, b)->Threads(8)->UseRealTime();
  benchmark::RegisterBenchmark(("AuthorizedByParent/" + n).c_str(), BM_AuthorizedByParent, b)->UseRealTime();
  benchmark::RegisterBenchmark(("AuthorizedByParent/" + n).c_str(), BM_AuthorizedByParent, b)
      ->Threads(8)
      ->UseRealTime();
  benchmark::RegisterBenchmark(("AuthorizedBySelectors/" + n).c_str(), BM_AuthorizedBySelectors, b)->UseRealTime();
  benchmark::RegisterBenchmark(("UpsertAttestedNode/" + n).c_str(), BM_UpsertAttestedNode, b)->UseRealTime();
  benchmark::RegisterBenchmark(("UpsertAttestedNode/" + n).c_str(), BM_UpsertAttestedNode, b)
      ->Threads(8)
      ->UseRealTime();
}

bool AdminExec(const std::string& conninfo, const std::string& sql) {
  PGconn* c = PQconnectdb(conninfo.c_str());
  bool ok = PQstatus(c) == CONNECTION_OK;
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  if (ok) {
    PGresult* r = PQexec(c, sql.c_str());
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) std::cerr << sql << ": " << PQerrorMessage(c);
    PQclear(r);
  } else {
    std::cerr << "postgres: " << PQerrorMessage(c);
  }
  PQfinish(c);
  return ok;
}

}  // namespace
}  // namespace spirecvm::datastore

int main(int argc, char** argv) {
  using namespace spirecvm::datastore;  // NOLINT
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  std::vector<std::unique_ptr<Backend>> backends;
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / absl::StrCat("cvm-ds-bench-", getpid());
  std::filesystem::create_directories(dir);
  {
    auto b = std::make_unique<Backend>();
    b->name = "sqlite";
    auto ds = OpenSqlite({.path = (dir / "bench.sqlite3").string()}, Clock());
    if (!ds.ok()) {
      std::cerr << ds.status() << "\n";
      return 1;
    }
    b->ds = std::move(*ds);
    backends.push_back(std::move(b));
  }
  std::string pg_conninfo, pg_schema;
  if (const char* ci = std::getenv("SPIRECVM_PG_CONNINFO"); ci != nullptr && *ci != '\0') {
    pg_conninfo = ci;
    pg_schema = absl::StrCat("cvmbench_", getpid());
    if (!AdminExec(pg_conninfo, absl::StrCat("CREATE SCHEMA ", pg_schema))) return 1;
    auto b = std::make_unique<Backend>();
    b->name = "postgres";
    PostgresOptions o;
    o.connection_string = absl::StrCat(pg_conninfo, " options='-c search_path=", pg_schema, "'");
    o.max_open_conns = 10;
    auto ds = OpenPostgres(o, Clock());
    if (!ds.ok()) {
      std::cerr << ds.status() << "\n";
      return 1;
    }
    b->ds = std::move(*ds);
    backends.push_back(std::move(b));
  } else {
    std::cerr << "SPIRECVM_PG_CONNINFO not set: PostgreSQL benchmarks skipped\n";
  }
  for (auto& b : backends) {
    std::cerr << "populating " << b->name << " (" << kAgents * kEntriesPerAgent + kAliases << " entries)...\n";
    Populate(*b->ds);
    Register(b.get());
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  backends.clear();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!pg_schema.empty()) AdminExec(pg_conninfo, absl::StrCat("DROP SCHEMA ", pg_schema, " CASCADE"));
  return 0;
}
