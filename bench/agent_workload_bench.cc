// Workload API benchmark: FetchX509SVID first-response latency from the agent's cache (p50/p99), then N
// concurrent FetchX509SVID watchers held open against one agent endpoint, with the agent side's thread count and
// RSS, and the time to push one rotation to every watcher.
//
// The client runs in a forked child process so the figures are the agent side's alone.
// Usage: agent_workload_bench [--fetches N] [--watchers N] [--channels N]
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/manager/cache.h"
#include "agent/testing/test_ca.h"
#include "agent/workload/endpoint.h"
#include "agent/workload/unix_attestor.h"
#include "crypto/keys.h"
#include "workload.grpc.pb.h"

namespace {

using namespace spirecvm;
using namespace spirecvm::agent;

long StatusField(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  }
  return -1;
}

class NoJwt : public JwtMinter {
 public:
  absl::StatusOr<JwtRecord> MintJwt(const spirecvm::types::Entry&, const std::vector<std::string>&) override {
    return absl::UnimplementedError("bench");
  }
};

// ---------------- client side (child process) ----------------

class Watcher : public grpc::ClientReadReactor<X509SVIDResponse> {
 public:
  Watcher(SpiffeWorkloadAPI::Stub* stub, std::atomic<int>* msgs) : msgs_(msgs) {
    ctx_.AddMetadata("workload.spiffe.io", "true");
    stub->async()->FetchX509SVID(&ctx_, &req_, this);
    StartRead(&resp_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    msgs_->fetch_add(1);
    StartRead(&resp_);
  }
  void OnDone(const grpc::Status&) override {}
  void Cancel() { ctx_.TryCancel(); }

 private:
  grpc::ClientContext ctx_;
  X509SVIDRequest req_;
  X509SVIDResponse resp_;
  std::atomic<int>* msgs_;
};

void Report(int fd, const std::string& s) { (void)!write(fd, s.data(), s.size()); }
std::string ReadLine(int fd) {
  std::string s;
  char c;
  while (read(fd, &c, 1) == 1 && c != '\n') s += c;
  return s;
}

int RunClient(const std::string& socket, int fetches, int watchers, int channels, int to_parent, int from_parent) {
  auto channel = grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  auto stub = SpiffeWorkloadAPI::NewStub(channel);
  std::vector<double> ms;
  for (int i = 0; i < fetches + 20; ++i) {
    grpc::ClientContext ctx;
    ctx.AddMetadata("workload.spiffe.io", "true");
    absl::Time t0 = absl::Now();
    auto r = stub->FetchX509SVID(&ctx, X509SVIDRequest());
    X509SVIDResponse resp;
    if (!r->Read(&resp)) {
      std::cerr << "fetch failed: " << r->Finish().error_message() << "\n";
      return 1;
    }
    if (i >= 20) ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - t0));
    ctx.TryCancel();
    r->Finish();
  }
  std::sort(ms.begin(), ms.end());
  Report(to_parent, absl::StrCat("fetch ", ms[ms.size() / 2], " ", ms[ms.size() * 99 / 100], "\n"));

  std::vector<std::shared_ptr<grpc::Channel>> chans;
  std::vector<std::unique_ptr<SpiffeWorkloadAPI::Stub>> stubs;
  for (int c = 0; c < channels; ++c) {
    grpc::ChannelArguments args;
    args.SetInt("bench_channel_id", c);  // distinct args: one connection per channel
    chans.push_back(grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args));
    stubs.push_back(SpiffeWorkloadAPI::NewStub(chans.back()));
  }
  std::atomic<int> msgs{0};
  std::vector<std::unique_ptr<Watcher>> ws;
  absl::Time t0 = absl::Now();
  for (int i = 0; i < watchers; ++i) ws.push_back(std::make_unique<Watcher>(stubs[i % channels].get(), &msgs));
  while (msgs.load() < watchers && absl::Now() - t0 < absl::Seconds(120)) absl::SleepFor(absl::Milliseconds(10));
  Report(to_parent, absl::StrCat("watching ", msgs.load(), " ", absl::ToDoubleSeconds(absl::Now() - t0), "\n"));
  ReadLine(from_parent);  // parent rotated
  t0 = absl::Now();
  while (msgs.load() < 2 * watchers && absl::Now() - t0 < absl::Seconds(120)) absl::SleepFor(absl::Milliseconds(1));
  Report(to_parent,
         absl::StrCat("pushed ", msgs.load() - watchers, " ", absl::ToDoubleMilliseconds(absl::Now() - t0), "\n"));
  ReadLine(from_parent);
  for (auto& w : ws) w->Cancel();
  absl::SleepFor(absl::Milliseconds(500));
  _exit(0);
}

// ---------------- agent side (parent) ----------------

std::shared_ptr<X509SvidRecord> Svid(const testing::TestCa& ca, const std::string& id) {
  auto key = *crypto::GenerateKey(crypto::KeyType::kEcP256);
  auto r = std::make_shared<X509SvidRecord>();
  r->entry_id = "e1";
  r->entry_revision = 1;
  r->spiffe_id = id;
  absl::Time now = absl::Now();
  r->chain_der = {ca.Sign(id, key.get(), now - absl::Minutes(1), now + absl::Hours(1))};
  r->key_pkcs8_der = *crypto::PrivateKeyToPkcs8Der(key.get());
  r->not_before = now - absl::Minutes(1);
  r->not_after = now + absl::Hours(1);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int fetches = 2000, watchers = 5000, channels = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (a == "--fetches")
      fetches = v;
    else if (a == "--watchers")
      watchers = v;
    else if (a == "--channels")
      channels = v;
  }
  auto dir = std::filesystem::temp_directory_path() / absl::StrCat("agent-bench-", getpid());
  std::filesystem::create_directories(dir);
  std::string socket = (dir / "api.sock").string();
  int up[2], down[2];
  if (pipe(up) != 0 || pipe(down) != 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    close(up[0]);
    close(down[1]);
    while (!std::filesystem::exists(socket)) usleep(10000);
    return RunClient(socket, fetches, watchers, channels, up[1], down[0]);
  }
  close(up[1]);
  close(down[0]);

  testing::TestCa ca = testing::TestCa::Make(absl::Now());
  auto cache = Cache::Create(RealClock::Get(), 1000);
  cache->SetBundle(ca.Bundle());
  spirecvm::types::Entry e;
  e.set_id("e1");
  e.set_spiffe_id("spiffe://example.org/bench");
  auto* s = e.add_selectors();
  s->set_type("unix");
  s->set_value(absl::StrCat("uid:", getuid()));
  e.set_revision_number(1);
  cache->ApplySync({e}, {});
  cache->StoreSvids({Svid(ca, e.spiffe_id())});
  UnixAttestor attestor(UnixAttestorConfig{});
  NoJwt minter;
  PeerRegistry peers;
  WorkerPool pool(4);
  WorkloadApiDeps deps{cache, &attestor, &minter, &peers, &pool, &RealClock::Get(), "/proc"};
  long threads_idle = StatusField("Threads:");
  long rss_idle = StatusField("VmRSS:");
  auto ep = WorkloadEndpoint::Start(socket, deps);
  if (!ep.ok()) {
    std::cerr << ep.status() << "\n";
    return 1;
  }
  std::string line = ReadLine(up[0]);
  double p50, p99;
  std::sscanf(line.c_str(), "fetch %lf %lf", &p50, &p99);
  std::printf("FetchX509SVID first response (cache hit, %d calls, one connection): p50 %.3f ms  p99 %.3f ms\n", fetches,
              p50, p99);
  line = ReadLine(up[0]);
  int got;
  double secs;
  std::sscanf(line.c_str(), "watching %d %lf", &got, &secs);
  absl::SleepFor(absl::Seconds(1));
  std::printf("watchers: %d of %d open streams received their first message in %.2f s (%d connections)\n", got,
              watchers, secs, channels);
  std::printf(
      "agent side with %d watchers: threads %ld (idle before endpoint: %ld), RSS %.1f MiB (before: %.1f MiB), "
      "subscriptions %zu\n",
      got, StatusField("Threads:"), threads_idle, StatusField("VmRSS:") / 1024.0, rss_idle / 1024.0,
      cache->subscriber_count());
  auto rotated = Svid(ca, e.spiffe_id());
  Report(down[1], "rotating\n");
  absl::SleepFor(absl::Milliseconds(50));  // let the client start its clock
  absl::Time t0 = absl::Now();
  cache->StoreSvids({rotated});
  double notify_ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
  line = ReadLine(up[0]);
  int pushed;
  double push_ms;
  std::sscanf(line.c_str(), "pushed %d %lf", &pushed, &push_ms);
  std::printf(
      "rotation: %d watchers received the new SVID within %.1f ms of the client's clock start (50 ms "
      "before the rotation; fan-out call %.1f ms)\n",
      pushed, push_ms, notify_ms);
  Report(down[1], "done\n");
  int status = 0;
  waitpid(child, &status, 0);
  (*ep)->Shutdown();
  ep->reset();
  pool.Stop();
  std::filesystem::remove_all(dir);
  return 0;
}
