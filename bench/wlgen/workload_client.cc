#include "wlgen/workload_client.h"

namespace spirecvm::wlgen {
namespace {

constexpr char kSecurityHeader[] = "workload.spiffe.io";

std::chrono::nanoseconds Since(TimePoint t) { return loadgen::SteadyClock::now() - t; }

// The DER chain of the first SVID of a response ("" when it holds none).
std::string_view FirstSvid(const X509SVIDResponse& r) {
  if (r.svids_size() == 0) return {};
  return r.svids(0).x509_svid();  // a view of the message's own bytes (no temporary: it must outlive this call)
}

class OneFetch : public grpc::ClientReadReactor<X509SVIDResponse> {
 public:
  OneFetch(std::shared_ptr<grpc::Channel> channel, loadgen::Phase* phase, TimePoint scheduled,
           std::chrono::milliseconds timeout)
      : channel_(std::move(channel)),
        stub_(SpiffeWorkloadAPI::NewStub(channel_)),
        phase_(phase),
        scheduled_(scheduled) {
    ctx_.AddMetadata(kSecurityHeader, "true");
    ctx_.set_deadline(std::chrono::system_clock::now() + timeout);
  }
  void Start() {
    phase_->Started();
    stub_->async()->FetchX509SVID(&ctx_, &req_, this);
    StartRead(&resp_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended without a response: OnDone records the status
    got_ = true;
    phase_->Rpc("FetchX509SVID").Record(Since(scheduled_), resp_.svids_size() > 0 ? 0 : grpc::StatusCode::NOT_FOUND);
    ctx_.TryCancel();
  }
  void OnDone(const grpc::Status& s) override {
    if (!got_) {
      // A stream the agent ends cleanly before any response is still a failed fetch.
      phase_->Rpc("FetchX509SVID").Record(Since(scheduled_), s.ok() ? grpc::StatusCode::UNKNOWN : s.error_code());
    }
    loadgen::Phase* phase = phase_;
    delete this;
    phase->Finished();
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<SpiffeWorkloadAPI::Stub> stub_;
  loadgen::Phase* phase_;
  TimePoint scheduled_;
  grpc::ClientContext ctx_;
  X509SVIDRequest req_;
  X509SVIDResponse resp_;
  bool got_ = false;  // touched only by the reactions, which gRPC runs one at a time
};

}  // namespace

std::shared_ptr<grpc::Channel> NewConnection(const std::string& socket_path) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return grpc::CreateCustomChannel("unix:" + socket_path, grpc::InsecureChannelCredentials(), args);
}

Watcher::Watcher(size_t index, std::shared_ptr<grpc::Channel> channel, loadgen::Phase* phase, RotationTracker* rotation,
                 loadgen::RpcStats* broken, std::atomic<int64_t>* live)
    : index_(index),
      channel_(std::move(channel)),
      stub_(SpiffeWorkloadAPI::NewStub(channel_)),
      phase_(phase),
      rotation_(rotation),
      broken_(broken),
      live_(live) {
  ctx_.AddMetadata(kSecurityHeader, "true");
}

void Watcher::Start(TimePoint scheduled) {
  scheduled_ = scheduled;
  live_->fetch_add(1);
  phase_->Started();
  stub_->async()->FetchX509SVID(&ctx_, &req_, this);
  StartRead(&resp_);
  StartCall();
}

bool Watcher::RecordFirst(int code) {
  if (recorded_.exchange(true)) return false;
  phase_->Rpc("FetchX509SVID").Record(Since(scheduled_), code);
  phase_->Finished();
  return true;
}

void Watcher::Expire() {
  // Only a stream still without its first outcome is cancelled: one whose response won the race keeps watching.
  if (RecordFirst(grpc::StatusCode::DEADLINE_EXCEEDED)) Cancel();
}

void Watcher::Cancel() {
  cancelled_ = true;
  ctx_.TryCancel();
}

void Watcher::OnReadDone(bool ok) {
  if (!ok) return;  // end of stream: OnDone has the status
  const auto now = loadgen::SteadyClock::now();
  if (!got_first_.exchange(true)) RecordFirst(resp_.svids_size() > 0 ? 0 : grpc::StatusCode::NOT_FOUND);
  if (resp_.svids_size() > 0) rotation_->OnSvid(index_, FingerprintOf(FirstSvid(resp_)), now);
  StartRead(&resp_);
}

void Watcher::OnDone(const grpc::Status& s) {
  if (!recorded_.load()) {
    RecordFirst(s.ok() ? grpc::StatusCode::UNKNOWN : s.error_code());
  } else if (got_first_.load() && !cancelled_.load()) {
    broken_->Record(std::chrono::nanoseconds(0), s.ok() ? grpc::StatusCode::UNKNOWN : s.error_code());
  }
  live_->fetch_sub(1);  // last: the owner may destroy this watcher once live reaches 0
}

void StartFetch(std::shared_ptr<grpc::Channel> channel, loadgen::Phase* phase, TimePoint scheduled,
                std::chrono::milliseconds timeout) {
  (new OneFetch(std::move(channel), phase, scheduled, timeout))->Start();
}

}  // namespace spirecvm::wlgen
