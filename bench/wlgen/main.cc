// bench/wlgen: a Workload API driver for the agent side. M workloads watch their X509-SVID (FetchX509SVID streams
// held open) and K workloads per second fetch it once, through the standard SPIFFE Workload API on the agent's Unix
// socket, so the same binary measures spire-cvm's agent and SPIRE's. Open loop (bench/loadgen's scheduler): streams
// open at their scheduled times whatever happened to earlier ones, and latency counts from that time.
//
// Phases (the agent's CPU, RSS, peak RSS and threads from /proc/<agent_pid>):
//   idle    a sample of the agent before any stream
//   watch   M FetchX509SVID streams opened at -watch_rate per second (each on its own connection unless -conns),
//           latency from the scheduled open to the first response
//   rotate  (-rotate) the M streams stay open until each holds a new X509-SVID; fan-out = last minus first arrival
//   fetch   (-fetch_rate K > 0) K new streams per second for -fetch_duration seconds, each on a new connection and
//           cancelled after its first response; the M watchers stay open meanwhile
// Output: a progress line on stderr, a summary on stdout, everything in -json FILE.
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_format.h"
#include "common/process.h"
#include "loadgen/admin.h"
#include "loadgen/phase.h"
#include "loadgen/proc.h"
#include "loadgen/scheduler.h"
#include "wlgen/rotation.h"
#include "wlgen/workload_client.h"

ABSL_FLAG(std::string, socket, "", "the agent's Workload API socket (socket_path in its config)");
ABSL_FLAG(int, agent_pid, 0, "agent process id: CPU, RSS and threads are read from /proc/<pid>");
ABSL_FLAG(std::string, label, "", "name of the agent under test, copied to the JSON");
ABSL_FLAG(int, watchers, 1000, "M: FetchX509SVID streams held open");
ABSL_FLAG(double, watch_rate, 500, "watch streams opened per second");
ABSL_FLAG(int, conns, 0, "connections the watchers share (0: one connection per watcher, as separate processes)");
ABSL_FLAG(double, first_timeout, 60, "seconds a watcher may wait for its first response (then DEADLINE_EXCEEDED)");
ABSL_FLAG(double, settle, 3, "seconds after the last first response before the agent is sampled with the watchers");
ABSL_FLAG(bool, rotate, false, "wait until every watcher holds a new X509-SVID and report the fan-out");
ABSL_FLAG(double, rotate_timeout, 180, "seconds to wait for the rotation to reach every watcher");
ABSL_FLAG(double, fetch_rate, 0, "K: one-shot FetchX509SVID calls per second (0: no fetch phase)");
ABSL_FLAG(double, fetch_duration, 20, "seconds of the fetch phase");
ABSL_FLAG(bool, fetch_new_conn, true, "each fetch on a new connection (a new process); false: one shared channel");
ABSL_FLAG(int, rpc_timeout_ms, 30000, "deadline of each fetch");
ABSL_FLAG(double, progress, 5, "seconds between progress lines");
ABSL_FLAG(std::string, json, "", "write the results to this file");

namespace spirecvm::wlgen {
namespace {

using loadgen::Phase;
using loadgen::ProcSample;
using loadgen::SteadyClock;
using std::chrono::duration;

std::chrono::nanoseconds Secs(double s) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(duration<double>(s));
}

ProcSample Sample(pid_t pid) {
  if (pid <= 0) return {};
  auto s = loadgen::ReadProc(pid);
  return s.ok() ? *s : ProcSample{};
}

nlohmann::json SampleJson(pid_t pid) {
  const ProcSample s = Sample(pid);
  return {{"rss_kib", s.rss_kib}, {"hwm_kib", s.hwm_kib}, {"threads", s.threads}, {"cpu_s", s.cpu_seconds}};
}

struct Run {
  std::shared_ptr<grpc::Channel> pinned;  // destroyed last (loadgen::PinCallbackQueue)
  std::string socket;
  pid_t agent_pid = 0;
  std::unique_ptr<RotationTracker> rotation;
  loadgen::RpcStats broken;  // watch streams that ended on their own after their first response
  std::atomic<int64_t> live{0};
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<Watcher>> watchers;
  loadgen::Scheduler scheduler;
  std::atomic<int64_t> pending{0};
  std::atomic<Phase*> current{nullptr};
  std::vector<std::unique_ptr<Phase>> phases;
  nlohmann::json agent = nlohmann::json::object();  // samples of the agent by moment
};

void Schedule(Run& run, TimePoint t, std::function<void(TimePoint)> fn) {
  run.pending.fetch_add(1);
  run.scheduler.At(t, [&run, fn = std::move(fn)](TimePoint at) {
    fn(at);
    run.pending.fetch_sub(1);
  });
}

Phase& NewPhase(Run& run, const std::string& name) {
  run.phases.push_back(std::make_unique<Phase>(name, run.agent_pid));
  Phase& p = *run.phases.back();
  p.Begin();
  run.current = &p;
  return p;
}

// Waits for the scheduled calls and their outcomes; past `deadline`, calls expire() (once) and keeps waiting.
void Drain(Run& run, Phase& phase, TimePoint deadline, const std::function<void()>& expire) {
  bool expired = false;
  while (run.pending.load() > 0 || phase.InFlight() > 0) {
    if (!expired && SteadyClock::now() > deadline) {
      expire();
      expired = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  phase.End();
}

void WatchPhase(Run& run) {
  const int m = absl::GetFlag(FLAGS_watchers);
  const double rate = absl::GetFlag(FLAGS_watch_rate);
  const int conns = absl::GetFlag(FLAGS_conns) > 0 ? absl::GetFlag(FLAGS_conns) : m;
  run.rotation = std::make_unique<RotationTracker>(static_cast<size_t>(m));
  Phase& p = NewPhase(run, "watch");
  for (int i = 0; i < std::min(conns, m); ++i) run.channels.push_back(NewConnection(run.socket));
  for (int i = 0; i < m; ++i) {
    run.watchers.push_back(std::make_unique<Watcher>(i, run.channels[i % run.channels.size()], &p, run.rotation.get(),
                                                     &run.broken, &run.live));
  }
  const TimePoint t0 = SteadyClock::now();
  for (int i = 0; i < m; ++i) {
    Watcher* w = run.watchers[i].get();
    Schedule(run, t0 + Secs(i / rate), [w](TimePoint t) { w->Start(t); });
  }
  const TimePoint deadline = t0 + Secs(m / rate + absl::GetFlag(FLAGS_first_timeout));
  Drain(run, p, deadline, [&run] {
    for (auto& w : run.watchers) w->Expire();
  });
}

nlohmann::json RotatePhase(Run& run) {
  const TimePoint t0 = SteadyClock::now();
  const TimePoint deadline = t0 + Secs(absl::GetFlag(FLAGS_rotate_timeout));
  while (!run.rotation->Complete() && SteadyClock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  nlohmann::json j = run.rotation->Summarize().ToJson();
  j["waited_s"] = duration<double>(SteadyClock::now() - t0).count();
  j["complete"] = run.rotation->Complete();
  return j;
}

void FetchPhase(Run& run) {
  const double rate = absl::GetFlag(FLAGS_fetch_rate);
  const auto timeout = std::chrono::milliseconds(absl::GetFlag(FLAGS_rpc_timeout_ms));
  const bool new_conn = absl::GetFlag(FLAGS_fetch_new_conn);
  auto shared = NewConnection(run.socket);
  Phase& p = NewPhase(run, "fetch");
  const TimePoint t0 = SteadyClock::now();
  const auto n = static_cast<int64_t>(rate * absl::GetFlag(FLAGS_fetch_duration));
  for (int64_t i = 0; i < n; ++i) {
    Schedule(run, t0 + Secs(static_cast<double>(i) / rate), [&run, &p, shared, new_conn, timeout](TimePoint t) {
      StartFetch(new_conn ? NewConnection(run.socket) : shared, &p, t, timeout);
    });
  }
  Drain(run, p, TimePoint::max(), [] {});
}

// Cancels every watcher and waits until gRPC has finished with all of them.
nlohmann::json CloseWatchers(Run& run) {
  const TimePoint t0 = SteadyClock::now();
  for (auto& w : run.watchers) w->Cancel();
  while (run.live.load() > 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return {{"wall_s", duration<double>(SteadyClock::now() - t0).count()}};
}

void ProgressLoop(Run& run, const std::atomic<bool>& stop) {
  const auto every = Secs(absl::GetFlag(FLAGS_progress));
  const TimePoint start = SteadyClock::now();
  ProcSample last = Sample(run.agent_pid);
  double last_self = loadgen::SelfCpuSeconds();
  TimePoint last_t = start;
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const TimePoint now = SteadyClock::now();
    if (now - last_t < every) continue;
    const double dt = duration<double>(now - last_t).count();
    const ProcSample s = Sample(run.agent_pid);
    const double self = loadgen::SelfCpuSeconds();
    Phase* p = run.current.load();
    const RotationSummary r = run.rotation ? run.rotation->Summarize() : RotationSummary{};
    std::cerr << absl::StrFormat(
        "[wlgen %6.1fs] %-5s done %lld failed %lld in-flight %lld | streams %lld rotated %lld | agent cpu %3.0f%% "
        "rss %.1f MiB threads %lld | wlgen cpu %3.0f%%\n",
        duration<double>(now - start).count(), p ? p->name() : "idle", static_cast<long long>(p ? p->Completed() : 0),
        static_cast<long long>(p ? p->Failed() : 0), static_cast<long long>(p ? p->InFlight() : 0),
        static_cast<long long>(run.live.load()), static_cast<long long>(r.rotated),
        100 * (s.cpu_seconds - last.cpu_seconds) / dt, static_cast<double>(s.rss_kib) / 1024,
        static_cast<long long>(s.threads), 100 * (self - last_self) / dt);
    last = s;
    last_self = self;
    last_t = now;
  }
}

nlohmann::json ConfigJson() {
  return {{"socket", absl::GetFlag(FLAGS_socket)},
          {"watchers", absl::GetFlag(FLAGS_watchers)},
          {"watch_rate", absl::GetFlag(FLAGS_watch_rate)},
          {"conns", absl::GetFlag(FLAGS_conns)},
          {"rotate", absl::GetFlag(FLAGS_rotate)},
          {"fetch_rate", absl::GetFlag(FLAGS_fetch_rate)},
          {"fetch_duration", absl::GetFlag(FLAGS_fetch_duration)},
          {"fetch_new_conn", absl::GetFlag(FLAGS_fetch_new_conn)},
          {"settle", absl::GetFlag(FLAGS_settle)}};
}

void PrintSummary(const nlohmann::json& out) {
  std::cout << absl::StrFormat("%-6s %8s %8s %8s %9s %9s %9s %9s %s\n", "phase", "count", "ok", "ok/s", "p50 ms",
                               "p90 ms", "p99 ms", "max ms", "errors");
  for (const auto& p : out["phases"]) {
    for (const auto& [rpc, r] : p["rpcs"].items()) {
      std::cout << absl::StrFormat("%-6s %8d %8d %8.1f %9.2f %9.2f %9.2f %9.2f %s\n", p["name"].get<std::string>(),
                                   r["count"].get<int64_t>(), r["ok"].get<int64_t>(), r["ok_per_s"].get<double>(),
                                   r["p50_ms"].get<double>(), r["p90_ms"].get<double>(), r["p99_ms"].get<double>(),
                                   r["max_ms"].get<double>(), r["errors"].dump());
    }
    std::cout << absl::StrFormat("%-6s agent cpu %.2f s over %.1f s wall, wlgen cpu %.2f s\n",
                                 p["name"].get<std::string>(), p["server_cpu_s"].get<double>(),
                                 p["wall_s"].get<double>(), p["loadgen_cpu_s"].get<double>());
  }
  for (const auto& [when, s] : out["agent"].items()) {
    std::cout << absl::StrFormat("agent %-15s rss %8.1f MiB  peak %8.1f MiB  threads %lld\n", when,
                                 s["rss_kib"].get<double>() / 1024, s["hwm_kib"].get<double>() / 1024,
                                 static_cast<long long>(s["threads"].get<int64_t>()));
  }
  if (out.contains("rotation")) std::cout << "rotation " << out["rotation"].dump() << "\n";
  std::cout << "broken streams " << out["broken_streams"].dump() << "\n";
}

void RunPhases(Run& run, nlohmann::json& out) {
  run.agent["idle"] = SampleJson(run.agent_pid);
  WatchPhase(run);
  std::this_thread::sleep_for(Secs(absl::GetFlag(FLAGS_settle)));
  run.agent["watching"] = SampleJson(run.agent_pid);
  if (absl::GetFlag(FLAGS_rotate)) {
    out["rotation"] = RotatePhase(run);
    run.agent["after_rotation"] = SampleJson(run.agent_pid);
  }
  if (absl::GetFlag(FLAGS_fetch_rate) > 0) {
    FetchPhase(run);
    run.agent["after_fetch"] = SampleJson(run.agent_pid);
  }
  out["close"] = CloseWatchers(run);
  std::this_thread::sleep_for(Secs(absl::GetFlag(FLAGS_settle)));
  run.agent["closed"] = SampleJson(run.agent_pid);
}

int Main() {
  Run run;
  run.socket = absl::GetFlag(FLAGS_socket);
  run.agent_pid = absl::GetFlag(FLAGS_agent_pid);
  if (run.socket.empty()) {
    std::cerr << "wlgen: -socket (the agent's Workload API socket) is required\n";
    return 2;
  }
  // Also proves the socket answers before the measured phases start.
  auto pin = loadgen::PinCallbackQueue(loadgen::AdminTarget{run.socket, ""});
  if (!pin.ok()) {
    std::cerr << "wlgen: " << run.socket << ": " << pin.status() << "\n";
    return 1;
  }
  run.pinned = *std::move(pin);
  nlohmann::json out = {{"label", absl::GetFlag(FLAGS_label)}, {"config", ConfigJson()}};
  std::atomic<bool> stop{false};
  std::thread progress([&] { ProgressLoop(run, stop); });
  RunPhases(run, out);
  stop = true;
  progress.join();
  out["agent"] = run.agent;
  out["broken_streams"] = run.broken.Summarize().errors;
  out["wlgen_cpu_s_total"] = loadgen::SelfCpuSeconds();
  const ProcSample self = Sample(getpid());
  out["wlgen_threads"] = self.threads;
  out["wlgen_hwm_kib"] = self.hwm_kib;
  out["scheduler_max_lag_ms"] = static_cast<double>(run.scheduler.MaxLag().count()) / 1e6;
  out["scheduler_late_over_100ms"] = run.scheduler.LateOver100ms();
  out["phases"] = nlohmann::json::array();
  for (const auto& p : run.phases) out["phases"].push_back(p->ToJson());
  PrintSummary(out);
  if (!absl::GetFlag(FLAGS_json).empty()) std::ofstream(absl::GetFlag(FLAGS_json)) << out.dump(2) << "\n";
  return 0;
}

}  // namespace
}  // namespace spirecvm::wlgen

int main(int argc, char** argv) {
  spirecvm::ConfigureProcessRuntime();
  absl::ParseCommandLine(argc, argv);
  return spirecvm::wlgen::Main();
}
