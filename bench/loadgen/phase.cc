#include "loadgen/phase.h"

namespace spirecvm::loadgen {
namespace {
ProcSample SampleOrZero(pid_t pid) {
  if (pid <= 0) return {};
  auto s = ReadProc(pid);
  return s.ok() ? *s : ProcSample{};
}
}  // namespace

RpcStats& Phase::Rpc(const std::string& rpc) {
  std::lock_guard<std::mutex> l(mu_);
  auto& slot = rpcs_[rpc];
  if (!slot) slot = std::make_unique<RpcStats>(begin_);
  return *slot;
}

int64_t Phase::Completed() const {
  std::lock_guard<std::mutex> l(mu_);
  int64_t n = 0;
  for (const auto& [name, s] : rpcs_) n += s->Count();
  return n;
}

int64_t Phase::Failed() const {
  std::lock_guard<std::mutex> l(mu_);
  int64_t n = 0;
  for (const auto& [name, s] : rpcs_) n += s->Failed();
  return n;
}

void Phase::Begin() {
  begin_ = SteadyClock::now();
  server_begin_ = SampleOrZero(server_pid_);
  self_cpu_begin_ = SelfCpuSeconds();
}

void Phase::End() {
  end_ = SteadyClock::now();
  server_end_ = SampleOrZero(server_pid_);
  self_cpu_end_ = SelfCpuSeconds();
}

double Phase::WallSeconds() const { return std::chrono::duration<double>(end_ - begin_).count(); }

nlohmann::json Phase::ToJson() const {
  const double wall = WallSeconds();
  nlohmann::json rpcs = nlohmann::json::object();
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [name, s] : rpcs_) {
      nlohmann::json j = s->Summarize().ToJson(wall);
      const double cpu = ServerCpuSeconds();
      j["ok_per_server_cpu_s"] = cpu > 0 ? j["ok"].get<double>() / cpu : 0.0;
      j["items_ok_per_server_cpu_s"] = cpu > 0 ? j["items_ok"].get<double>() / cpu : 0.0;
      rpcs[name] = j;
    }
  }
  return {{"name", name_},
          {"wall_s", wall},
          {"server_cpu_s", ServerCpuSeconds()},
          {"server_rss_kib_end", server_end_.rss_kib},
          {"server_hwm_kib_end", server_end_.hwm_kib},
          {"server_threads_end", server_end_.threads},
          {"loadgen_cpu_s", self_cpu_end_ - self_cpu_begin_},
          {"rpcs", rpcs}};
}

}  // namespace spirecvm::loadgen
