// Server minting throughput: X509-SVID (CSR verify + sign + DER encode) and JWT-SVID, beside the raw
// P-256 signature they are built on, measured in the same run; and registration-entry lookups with
// 100,000 entries (the authorized-entries query an agent sync runs, and entry creation on SQLite).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>

#include "crypto/csr.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "cvm/testing.h"
#include "server/api/node_facts_ext.h"
#include "server/ca/ca_manager.h"
#include "server/datastore/sqlite_datastore.h"
#include "server/entries/entry_cache.h"
#include "server/keymanager/key_manager.h"

namespace spirecvm {
namespace {

struct CaFixture {
  RealClock& clock = RealClock::Get();
  std::unique_ptr<datastore::DataStore> ds;
  std::unique_ptr<server::KeyManager> km = server::NewMemoryKeyManager();
  std::unique_ptr<server::CaManager> ca;
  CaFixture() {
    ds = std::move(*datastore::OpenSqlite({.path = ":memory:"}, clock));
    server::CaConfig c;
    c.trust_domain = *spiffe::TrustDomain::Parse("example.org");
    c.server_id = "bench";
    ca = std::move(*server::CaManager::Create(c, *km, *ds, clock, SystemRandom::Get(), nullptr));
    if (!ca->Initialize().ok()) abort();
  }
  static CaFixture& Get() {
    static CaFixture f;
    return f;
  }
};

void BM_X509SvidMint(benchmark::State& state) {
  auto& f = CaFixture::Get();
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  std::string csr = *crypto::CreateCsr(key->get(), std::nullopt);
  auto id = *spiffe::SpiffeId::Parse("spiffe://example.org/workload");
  for (auto _ : state) {
    auto parsed = crypto::ParseAndVerifyCsr(csr);
    auto svid = f.ca->SignX509Svid(parsed->spki_der, id, absl::Hours(1), {});
    benchmark::DoNotOptimize(svid->chain_der[0].data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_X509SvidMint)->UseRealTime();

// The same mint with the node facts extension (docs/svid-evidence.md), as `svid_evidence` makes the server do for
// a workload on an SEV-SNP node: the facts are encoded once at attestation, so the per-SVID cost is the extension.
void BM_X509SvidMintWithFacts(benchmark::State& state) {
  auto& f = CaFixture::Get();
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  std::string csr = *crypto::CreateCsr(key->get(), std::nullopt);
  auto id = *spiffe::SpiffeId::Parse("spiffe://example.org/workload");
  std::string facts = *cvm::EncodeNodeFacts(cvm::SampleFacts());
  for (auto _ : state) {
    auto parsed = crypto::ParseAndVerifyCsr(csr);
    auto svid = f.ca->SignX509Svid(parsed->spki_der, id, absl::Hours(1), {}, server::FactsExtensions(facts));
    benchmark::DoNotOptimize(svid->chain_der[0].data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_X509SvidMintWithFacts)->UseRealTime();

void BM_JwtSvidMint(benchmark::State& state) {
  auto& f = CaFixture::Get();
  auto id = *spiffe::SpiffeId::Parse("spiffe://example.org/workload");
  std::vector<std::string> aud{"audience"};
  for (auto _ : state) {
    auto jwt = f.ca->SignJwtSvid(id, aud, absl::Minutes(5));
    benchmark::DoNotOptimize(jwt->token.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JwtSvidMint)->UseRealTime();

// The JWT-SVID with the `cvm` claim (the facts decoded and rendered as JSON per token, as the server does).
void BM_JwtSvidMintWithFacts(benchmark::State& state) {
  auto& f = CaFixture::Get();
  auto id = *spiffe::SpiffeId::Parse("spiffe://example.org/workload");
  std::vector<std::string> aud{"audience"};
  std::string facts = *cvm::EncodeNodeFacts(cvm::SampleFacts());
  for (auto _ : state) {
    auto jwt = f.ca->SignJwtSvid(id, aud, absl::Minutes(5), server::FactsClaims(facts));
    benchmark::DoNotOptimize(jwt->token.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_JwtSvidMintWithFacts)->UseRealTime();

// The floor: one ECDSA P-256 SHA-256 signature through EVP, as `openssl speed ecdsap256` measures it.
void BM_RawEcdsaP256Sign(benchmark::State& state) {
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  std::string data(64, 'x');
  for (auto _ : state) {
    auto sig = crypto::SignDigestInfo(key->get(), EVP_sha256(), data);
    benchmark::DoNotOptimize(sig->data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawEcdsaP256Sign)->UseRealTime();

// 100,000 entries: 1,000 agents with 100 entries each; the query is one agent's authorized entries.
struct EntriesFixture {
  std::string dir;
  FakeClock clock{absl::FromUnixSeconds(1'800'000'000)};
  std::unique_ptr<datastore::DataStore> ds;
  std::unique_ptr<server::EntryCache> cache;
  EntriesFixture() {
    // tmpfs when available: the figure is the database's work, not the disk's fsync latency.
    std::string base =
        std::filesystem::exists("/dev/shm") ? "/dev/shm" : std::filesystem::temp_directory_path().string();
    std::string t = base + "/cvm-bench-XXXXXX";
    dir = mkdtemp(t.data());
    ds = std::move(*datastore::OpenSqlite({.path = dir + "/ds.sqlite3"}, clock));
    for (int a = 0; a < 1000; a++) {
      for (int e = 0; e < 100; e++) {
        datastore::RegistrationEntry r;
        r.parent_id = "spiffe://example.org/spire/agent/join_token/a" + std::to_string(a);
        r.spiffe_id = "spiffe://example.org/w/" + std::to_string(a) + "/" + std::to_string(e);
        r.selectors = {{"unix", "uid:" + std::to_string(e)}};
        if (!ds->CreateEntry(r).ok()) abort();
      }
    }
    cache = std::make_unique<server::EntryCache>(*ds, "spiffe://example.org/spire/server");
    if (!cache->Load().ok()) abort();
  }
  ~EntriesFixture() { std::filesystem::remove_all(dir); }
  static EntriesFixture& Get() {
    static EntriesFixture f;
    return f;
  }
};

void BM_AuthorizedEntries100k_Cache(benchmark::State& state) {
  auto& f = EntriesFixture::Get();
  int i = 0;
  for (auto _ : state) {
    auto r =
        f.cache->AuthorizedEntries("spiffe://example.org/spire/agent/join_token/a" + std::to_string(i++ % 1000), {});
    if (r.size() != 100) state.SkipWithError("wrong number of entries");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuthorizedEntries100k_Cache)->UseRealTime();

void BM_AuthorizedEntries100k_SqliteQuery(benchmark::State& state) {
  auto& f = EntriesFixture::Get();
  int i = 0;
  for (auto _ : state) {
    auto r =
        f.ds->ListEntriesByParentIds({"spiffe://example.org/spire/agent/join_token/a" + std::to_string(i++ % 1000)});
    if (!r.ok() || r->size() != 100) state.SkipWithError("wrong number of entries");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuthorizedEntries100k_SqliteQuery)->UseRealTime();

void BM_EntryCreate_SqliteWith100k(benchmark::State& state) {
  auto& f = EntriesFixture::Get();
  // Static: Google Benchmark calls this function several times (growing iteration counts); a counter reset on
  // each call would create the same entry twice, which the DataStore refuses as a duplicate.
  static int i = 0;
  for (auto _ : state) {
    datastore::RegistrationEntry r;
    r.parent_id = "spiffe://example.org/spire/agent/join_token/new";
    r.spiffe_id = "spiffe://example.org/new/" + std::to_string(i++);
    r.selectors = {{"unix", "uid:1"}};
    auto c = f.ds->CreateEntry(r);
    if (!c.ok()) {
      state.SkipWithError(("create failed: " + c.status().ToString()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EntryCreate_SqliteWith100k)->UseRealTime();

}  // namespace
}  // namespace spirecvm

BENCHMARK_MAIN();
