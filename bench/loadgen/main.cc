// bench/loadgen: N simulated SPIRE agents against any server that speaks SPIRE's agent API (spire-cvm's or the
// real SPIRE's). Open loop: every request goes out at its scheduled time whether or not earlier ones returned, and
// latency is measured from that scheduled time, so queueing in the server shows (no coordinated omission).
//
// Phases, each measured on its own (server CPU from /proc/<server_pid>/stat between its start and its drain):
//   setup   join tokens (Agent.CreateJoinToken) and entries (Entry.BatchCreateEntry) on the admin socket
//   attest  every agent attests with its join token (fresh TLS connection), at -attest_rate per second
//   connect every agent's first sync (opens its mTLS connection), at -attest_rate per second
//   sync    every agent syncs every -sync_interval for -sync_duration (staggered), RenewAgent at half life
//   svid    every agent asks BatchNewX509SVID for all of its entries, -svid_rounds times, at -svid_rate agents/s
//   renew   every agent renews once (RenewAgent), at -renew_rate per second
// Output: a progress line every -progress seconds on stderr, a summary on stdout, everything in -json FILE.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/process.h"
#include "loadgen/admin.h"
#include "loadgen/agent.h"
#include "loadgen/phase.h"
#include "loadgen/proc.h"
#include "loadgen/scheduler.h"

ABSL_FLAG(std::string, server, "127.0.0.1:8081", "host:port of the server's agent API");
ABSL_FLAG(std::string, trust_domain, "example.org", "trust domain");
ABSL_FLAG(std::string, bundle, "", "PEM file with the server's trust bundle (spire-server bundle show)");
ABSL_FLAG(std::string, admin_socket, "", "the server's admin socket: join tokens and entries are created there");
ABSL_FLAG(int, server_pid, 0, "server process id: CPU seconds and RSS are read from /proc/<pid>");
ABSL_FLAG(std::string, datastore, "", "the server's SQLite file (its size, with -wal/-shm, is reported)");
ABSL_FLAG(std::string, label, "", "name of the server under test, copied to the JSON");
ABSL_FLAG(int, agents, 200, "simulated agents");
ABSL_FLAG(int, entries, 2000, "registration entries, spread evenly over the agents");
ABSL_FLAG(double, attest_rate, 50, "attestations started per second");
ABSL_FLAG(double, sync_interval, 5, "seconds between one agent's syncs");
ABSL_FLAG(double, sync_duration, 60, "seconds of the sync phase (0: skip)");
ABSL_FLAG(std::string, sync_rpc, "sync", "sync: SyncAuthorizedEntries; get: GetAuthorizedEntries");
ABSL_FLAG(bool, renew_half_life, true, "in the sync phase, renew an agent SVID past half its life");
ABSL_FLAG(double, svid_rate, 20, "agents per second calling BatchNewX509SVID in the svid phase (0: skip)");
ABSL_FLAG(int, svid_rounds, 1, "BatchNewX509SVID calls per agent in the svid phase");
ABSL_FLAG(double, renew_rate, 50, "RenewAgent calls per second in the renew phase (0: skip)");
ABSL_FLAG(double, settle, 6, "seconds to wait after set-up and after attestation (SPIRE reloads its caches)");
ABSL_FLAG(int, token_ttl, 7200, "join token lifetime, seconds");
ABSL_FLAG(int, csr_pool, 64, "distinct workload CSRs (P-256) reused for BatchNewX509SVID");
ABSL_FLAG(int, rpc_timeout_ms, 30000, "deadline of each call");
ABSL_FLAG(double, progress, 5, "seconds between progress lines");
ABSL_FLAG(int, dispatch_threads, 4,
          "scheduler threads, agents spread over them: a call that does slow work where it starts (a reconnection "
          "builds its TLS context there) delays only the calls of its own thread");
ABSL_FLAG(std::string, json, "", "write the results to this file");
ABSL_FLAG(bool, setup_only, false, "create the join tokens and entries, then stop (no agent phases)");

namespace spirecvm::loadgen {
namespace {

using std::chrono::duration_cast;
using std::chrono::nanoseconds;

nanoseconds Secs(double s) { return duration_cast<nanoseconds>(std::chrono::duration<double>(s)); }

ProcSample Sample(pid_t pid) {
  if (pid <= 0) return {};
  auto s = ReadProc(pid);
  return s.ok() ? *s : ProcSample{};
}

// The run's shared state.
struct Run {
  std::shared_ptr<grpc::Channel> pinned;  // destroyed last (see PinCallbackQueue)
  Target target;
  TimePoint start = SteadyClock::now();  // the run's time origin (progress lines, scheduler_max_lag_at_s)
  pid_t server_pid = 0;
  std::vector<std::unique_ptr<SimAgent>> agents;
  CsrPool csrs;
  std::vector<std::unique_ptr<Scheduler>> schedulers;  // agent i on schedulers[i % size]
  std::atomic<int64_t> pending{0};                     // scheduled callbacks not yet run, of the current phase
  std::atomic<Phase*> current{nullptr};                // for the progress line
  std::vector<std::unique_ptr<Phase>> phases;
  nlohmann::json rss = nlohmann::json::object();
};

// Runs fn(t) at t on agent i's scheduler thread, counting it as pending for the drain.
void Schedule(Run& run, size_t i, TimePoint t, std::function<void(TimePoint)> fn) {
  run.pending.fetch_add(1);
  run.schedulers[i % run.schedulers.size()]->At(t, [&run, fn = std::move(fn)](TimePoint at) {
    fn(at);
    run.pending.fetch_sub(1);
  });
}

// Waits until every scheduled call has been made and has completed, then closes the phase.
void Drain(Run& run, Phase& phase) {
  while (run.pending.load() > 0 || phase.InFlight() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  phase.End();
}

Phase& NewPhase(Run& run, const std::string& name) {
  run.phases.push_back(std::make_unique<Phase>(name, run.server_pid));
  Phase& p = *run.phases.back();
  p.Begin();
  run.current = &p;
  return p;
}

// Each agent once, agent i at t0 + i / rate.
void OncePerAgent(Run& run, const std::string& name, double rate,
                  const std::function<void(SimAgent&, TimePoint, Phase*)>& call) {
  Phase& p = NewPhase(run, name);
  const TimePoint t0 = SteadyClock::now();
  for (size_t i = 0; i < run.agents.size(); ++i) {
    SimAgent* a = run.agents[i].get();
    Schedule(run, i, t0 + Secs(static_cast<double>(i) / rate), [a, &p, call](TimePoint t) { call(*a, t, &p); });
  }
  Drain(run, p);
}

void SyncTick(Run& run, Phase* p, size_t i, TimePoint t, TimePoint end, bool use_get) {
  SimAgent& a = *run.agents[i];
  if (use_get) {
    a.GetEntries(t, p);
  } else {
    a.Sync(t, p);
  }
  if (absl::GetFlag(FLAGS_renew_half_life) && a.RenewDue(std::chrono::system_clock::now())) a.Renew(t, p);
  const TimePoint next = t + Secs(absl::GetFlag(FLAGS_sync_interval));
  if (next < end) {
    Schedule(run, i, next, [&run, p, i, end, use_get](TimePoint at) { SyncTick(run, p, i, at, end, use_get); });
  }
}

// Agent i's place in the sync cycle, in [0, 1): the golden-ratio sequence, so that consecutive agents sync far apart
// (any run of k consecutive agents spreads evenly over the cycle). Agents attested and connected in index order, so
// consecutive agents reach the server's maximum connection age together, and renew together; with offsets i / n
// their reconnections (a TLS handshake each side) all fell in the same few milliseconds of every cycle: 275 every
// 5 s at 10,000 agents, a burst the 2 cores queued for hundreds of milliseconds. A real fleet's sync timers do not
// follow its connection order.
double CycleOffset(size_t i) {
  constexpr double kGolden = 0.6180339887498949;
  const double x = static_cast<double>(i) * kGolden;
  return x - std::floor(x);
}

void SyncPhase(Run& run) {
  const double interval = absl::GetFlag(FLAGS_sync_interval);
  const bool use_get = absl::GetFlag(FLAGS_sync_rpc) == "get";
  Phase& p = NewPhase(run, "sync");
  const TimePoint t0 = SteadyClock::now();
  const TimePoint end = t0 + Secs(absl::GetFlag(FLAGS_sync_duration));
  for (size_t i = 0; i < run.agents.size(); ++i) {
    const TimePoint first = t0 + Secs(interval * CycleOffset(i));
    Schedule(run, i, first, [&run, pp = &p, i, end, use_get](TimePoint at) { SyncTick(run, pp, i, at, end, use_get); });
  }
  Drain(run, p);
}

void SvidPhase(Run& run) {
  const double rate = absl::GetFlag(FLAGS_svid_rate);
  const int rounds = absl::GetFlag(FLAGS_svid_rounds);
  Phase& p = NewPhase(run, "svid");
  const TimePoint t0 = SteadyClock::now();
  const size_t n = run.agents.size();
  for (int r = 0; r < rounds; ++r) {
    for (size_t i = 0; i < n; ++i) {
      SimAgent* a = run.agents[i].get();
      const double at = static_cast<double>(static_cast<size_t>(r) * n + i) / rate;
      Schedule(run, i, t0 + Secs(at), [a, &p, &run](TimePoint t) { a->BatchNewSvids(t, &p, run.csrs); });
    }
  }
  Drain(run, p);
}

// One line every few seconds: phase, calls done / failed / in flight, the server's CPU share and RSS, ours.
void ProgressLoop(Run& run, const std::atomic<bool>& stop) {
  const auto every = Secs(absl::GetFlag(FLAGS_progress));
  const TimePoint start = SteadyClock::now();
  ProcSample last = Sample(run.server_pid);
  double last_self = SelfCpuSeconds();
  TimePoint last_t = start;
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const TimePoint now = SteadyClock::now();
    if (now - last_t < every) continue;
    const double dt = std::chrono::duration<double>(now - last_t).count();
    const ProcSample s = Sample(run.server_pid);
    const double self = SelfCpuSeconds();
    Phase* p = run.current.load();
    std::cerr << absl::StrFormat(
        "[loadgen %6.1fs] %-6s done %lld failed %lld in-flight %lld | server cpu %3.0f%% rss %.0f MiB | loadgen "
        "cpu %3.0f%%\n",
        std::chrono::duration<double>(now - start).count(), p ? p->name() : "setup",
        static_cast<long long>(p ? p->Completed() : 0), static_cast<long long>(p ? p->Failed() : 0),
        static_cast<long long>(p ? p->InFlight() : 0), 100 * (s.cpu_seconds - last.cpu_seconds) / dt,
        static_cast<double>(s.rss_kib) / 1024, 100 * (self - last_self) / dt);
    last = s;
    last_self = self;
    last_t = now;
  }
}

absl::Status Setup(Run& run, nlohmann::json& out) {
  AdminTarget admin{absl::GetFlag(FLAGS_admin_socket), absl::GetFlag(FLAGS_trust_domain)};
  if (admin.socket_path.empty()) return absl::InvalidArgumentError("-admin_socket is required (tokens, entries)");
  auto pin = PinCallbackQueue(admin);
  if (!pin.ok()) return pin.status();
  run.pinned = *std::move(pin);
  const ProcSample before = Sample(run.server_pid);
  const TimePoint t0 = SteadyClock::now();
  auto tokens = CreateJoinTokens(admin, absl::GetFlag(FLAGS_agents), absl::GetFlag(FLAGS_token_ttl));
  if (!tokens.ok()) return tokens.status();
  auto s = CreateEntries(admin, *tokens, absl::GetFlag(FLAGS_entries));
  if (!s.ok()) return s;
  const ProcSample after = Sample(run.server_pid);
  out["setup"] = {{"wall_s", std::chrono::duration<double>(SteadyClock::now() - t0).count()},
                  {"server_cpu_s", after.cpu_seconds - before.cpu_seconds}};
  for (auto& t : *tokens) {
    run.agents.push_back(std::make_unique<SimAgent>(run.target, std::move(t)));
    auto st = run.agents.back()->Init();
    if (!st.ok()) return st;
  }
  auto csrs = MakeCsrPool(static_cast<size_t>(absl::GetFlag(FLAGS_csr_pool)));
  if (!csrs.ok()) return csrs.status();
  run.csrs = *std::move(csrs);
  return absl::OkStatus();
}

void Settle(Run& run, const std::string& rss_key) {
  std::this_thread::sleep_for(Secs(absl::GetFlag(FLAGS_settle)));
  run.rss[rss_key] = Sample(run.server_pid).rss_kib;
}

void RunPhases(Run& run) {
  Settle(run, "after_entries");
  OncePerAgent(run, "attest", absl::GetFlag(FLAGS_attest_rate),
               [](SimAgent& a, TimePoint t, Phase* p) { a.Attest(t, p); });
  Settle(run, "after_attest");
  // Each agent's first call on its mTLS channel opens the connection (a TLS handshake with its SVID), as a real
  // agent's first sync right after attesting does; done here, once per agent, so that the sync phase measures
  // syncs on open connections.
  OncePerAgent(run, "connect", absl::GetFlag(FLAGS_attest_rate),
               [](SimAgent& a, TimePoint t, Phase* p) { a.Sync(t, p); });
  if (absl::GetFlag(FLAGS_sync_duration) > 0) SyncPhase(run);
  run.rss["after_sync"] = Sample(run.server_pid).rss_kib;
  if (absl::GetFlag(FLAGS_svid_rate) > 0) SvidPhase(run);
  if (absl::GetFlag(FLAGS_renew_rate) > 0) {
    OncePerAgent(run, "renew", absl::GetFlag(FLAGS_renew_rate),
                 [](SimAgent& a, TimePoint t, Phase* p) { a.Renew(t, p); });
  }
}

nlohmann::json ConfigJson() {
  return {{"server", absl::GetFlag(FLAGS_server)},
          {"agents", absl::GetFlag(FLAGS_agents)},
          {"entries", absl::GetFlag(FLAGS_entries)},
          {"attest_rate", absl::GetFlag(FLAGS_attest_rate)},
          {"sync_interval", absl::GetFlag(FLAGS_sync_interval)},
          {"sync_duration", absl::GetFlag(FLAGS_sync_duration)},
          {"sync_rpc", absl::GetFlag(FLAGS_sync_rpc)},
          {"svid_rate", absl::GetFlag(FLAGS_svid_rate)},
          {"svid_rounds", absl::GetFlag(FLAGS_svid_rounds)},
          {"renew_rate", absl::GetFlag(FLAGS_renew_rate)},
          {"settle", absl::GetFlag(FLAGS_settle)},
          {"csr_pool", absl::GetFlag(FLAGS_csr_pool)},
          {"rpc_timeout_ms", absl::GetFlag(FLAGS_rpc_timeout_ms)}};
}

// The scheduler threads' lateness: the worst one's, and calls started more than 100 ms late on any of them.
void SchedulerLag(const Run& run, nlohmann::json& out) {
  const Scheduler* worst = run.schedulers.front().get();
  int64_t late = 0;
  for (const auto& s : run.schedulers) {
    if (s->MaxLag() > worst->MaxLag()) worst = s.get();
    late += s->LateOver100ms();
  }
  out["dispatch_threads"] = run.schedulers.size();
  out["scheduler_max_lag_ms"] = static_cast<double>(worst->MaxLag().count()) / 1e6;
  out["scheduler_max_lag_at_s"] = std::chrono::duration<double>(worst->MaxLagAt() - run.start).count();
  out["scheduler_late_over_100ms"] = late;
}

void PrintSummary(const nlohmann::json& out) {
  std::cout << absl::StrFormat("%-7s %-22s %8s %8s %8s %9s %9s %9s %9s %10s %s\n", "phase", "rpc", "count", "ok",
                               "ok/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "ok/srvCPUs", "errors");
  for (const auto& p : out["phases"]) {
    for (const auto& [rpc, r] : p["rpcs"].items()) {
      std::cout << absl::StrFormat("%-7s %-22s %8d %8d %8.1f %9.2f %9.2f %9.2f %9.2f %10.1f %s\n",
                                   p["name"].get<std::string>(), rpc, r["count"].get<int64_t>(), r["ok"].get<int64_t>(),
                                   r["ok_per_s"].get<double>(), r["p50_ms"].get<double>(), r["p90_ms"].get<double>(),
                                   r["p99_ms"].get<double>(), r["max_ms"].get<double>(),
                                   r["ok_per_server_cpu_s"].get<double>(), r["errors"].dump());
    }
    std::cout << absl::StrFormat("%-7s server cpu %.2f s over %.1f s wall, loadgen cpu %.2f s, server rss %lld KiB\n",
                                 p["name"].get<std::string>(), p["server_cpu_s"].get<double>(),
                                 p["wall_s"].get<double>(), p["loadgen_cpu_s"].get<double>(),
                                 static_cast<long long>(p["server_rss_kib_end"].get<int64_t>()));
  }
}

int Main() {
  Run run;
  const int dispatch = absl::GetFlag(FLAGS_dispatch_threads);
  if (dispatch < 1) {
    std::cerr << "loadgen: -dispatch_threads " << dispatch << ": at least one is needed\n";
    return 2;
  }
  for (int i = 0; i < dispatch; ++i) run.schedulers.push_back(std::make_unique<Scheduler>());
  run.server_pid = absl::GetFlag(FLAGS_server_pid);
  run.target.address = absl::GetFlag(FLAGS_server);
  run.target.trust_domain = absl::GetFlag(FLAGS_trust_domain);
  run.target.rpc_timeout = std::chrono::milliseconds(absl::GetFlag(FLAGS_rpc_timeout_ms));
  std::ifstream bundle(absl::GetFlag(FLAGS_bundle));
  std::stringstream pem;
  pem << bundle.rdbuf();
  run.target.bundle_pem = pem.str();
  if (!bundle || run.target.bundle_pem.find("BEGIN CERTIFICATE") == std::string::npos) {
    std::cerr << "loadgen: -bundle " << absl::GetFlag(FLAGS_bundle) << ": no PEM certificate to trust\n";
    return 2;
  }
  nlohmann::json out = {{"label", absl::GetFlag(FLAGS_label)}, {"config", ConfigJson()}};
  run.rss["baseline"] = Sample(run.server_pid).rss_kib;
  out["datastore_bytes_before"] = DatastoreBytes(absl::GetFlag(FLAGS_datastore));
  std::atomic<bool> stop{false};
  std::thread progress([&] { ProgressLoop(run, stop); });
  absl::Status st = Setup(run, out);
  if (st.ok() && !absl::GetFlag(FLAGS_setup_only)) RunPhases(run);
  stop = true;
  progress.join();
  if (!st.ok()) {
    std::cerr << "loadgen: set-up failed: " << st << "\n";
    return 1;
  }
  const ProcSample end = Sample(run.server_pid);
  run.rss["end"] = end.rss_kib;
  out["rss_kib"] = run.rss;
  out["server_hwm_kib"] = end.hwm_kib;
  out["server_threads_end"] = end.threads;
  out["datastore_bytes_end"] = DatastoreBytes(absl::GetFlag(FLAGS_datastore));
  out["loadgen_cpu_s_total"] = SelfCpuSeconds();
  const ProcSample self = Sample(getpid());
  out["loadgen_threads"] = self.threads;  // gRPC's callback threads, the scheduler, progress: not one per agent
  out["loadgen_hwm_kib"] = self.hwm_kib;
  SchedulerLag(run, out);
  out["phases"] = nlohmann::json::array();
  for (const auto& p : run.phases) out["phases"].push_back(p->ToJson());
  PrintSummary(out);
  if (!absl::GetFlag(FLAGS_json).empty()) std::ofstream(absl::GetFlag(FLAGS_json)) << out.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace spirecvm::loadgen

int main(int argc, char** argv) {
  spirecvm::ConfigureProcessRuntime();  // Abseil's deadlock detector off: 12 % of our CPU (docs/benchmarks.md)
  absl::ParseCommandLine(argc, argv);
  return spirecvm::loadgen::Main();
}
