// Workload API clients of the driver, written against the published SPIFFE Workload API only (proto/workload.proto,
// service SpiffeWorkloadAPI, the `workload.spiffe.io: true` header) over a Unix socket, so the same binary drives
// spire-cvm's agent and SPIRE's. Every call uses gRPC's callback API: no thread per stream.
//   Watcher   one long-lived FetchX509SVID stream (a workload that watches its SVID): latency from its scheduled
//             open to the first response goes to the phase; every response goes to the RotationTracker.
//   StartFetch one FetchX509SVID call cancelled after its first response (a workload that fetches once).
// Thread-safety: methods may be called from any thread; gRPC runs the reactions on its own threads.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "loadgen/phase.h"
#include "loadgen/scheduler.h"
#include "loadgen/stats.h"
#include "wlgen/rotation.h"
#include "workload.grpc.pb.h"

namespace spirecvm::wlgen {

using loadgen::TimePoint;

// A channel with its own connection to the socket (gRPC would otherwise share one subchannel, so one connection,
// among all channels to the same address): each simulated workload is its own process, with its own connection.
std::shared_ptr<grpc::Channel> NewConnection(const std::string& socket_path);

class Watcher : public grpc::ClientReadReactor<X509SVIDResponse> {
 public:
  // phase: the first response (or the error that came instead) is recorded there as "FetchX509SVID".
  // broken: streams that end, after their first response, for a reason other than our cancel (by gRPC code).
  // live: incremented by Start, decremented when gRPC has finished with the stream (OnDone).
  Watcher(size_t index, std::shared_ptr<grpc::Channel> channel, loadgen::Phase* phase, RotationTracker* rotation,
          loadgen::RpcStats* broken, std::atomic<int64_t>* live);

  void Start(TimePoint scheduled);
  // No first response yet: records DEADLINE_EXCEEDED for it (once) and cancels the stream.
  void Expire();
  void Cancel();
  bool GotFirst() const { return got_first_.load(); }

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& s) override;

 private:
  // Records the first outcome (a response or an error) exactly once; false when it was already recorded.
  bool RecordFirst(int code);

  const size_t index_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<SpiffeWorkloadAPI::Stub> stub_;
  loadgen::Phase* phase_;
  RotationTracker* rotation_;
  loadgen::RpcStats* broken_;
  std::atomic<int64_t>* live_;
  grpc::ClientContext ctx_;
  X509SVIDRequest req_;
  X509SVIDResponse resp_;
  TimePoint scheduled_{};
  std::atomic<bool> recorded_{false}, got_first_{false}, cancelled_{false};
};

// One fetch: a FetchX509SVID stream cancelled after its first response; latency from `scheduled` to that response
// (or to the error) is recorded in phase as "FetchX509SVID". The call owns itself and the channel it is given.
void StartFetch(std::shared_ptr<grpc::Channel> channel, loadgen::Phase* phase, TimePoint scheduled,
                std::chrono::milliseconds timeout);

}  // namespace spirecvm::wlgen
