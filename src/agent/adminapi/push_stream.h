// A server stream of the admin API that pushes full-state messages: Start() runs once on the worker pool (it may
// block: attestation, authorization), then Push() may be called from any thread (cache deliveries) and Fail() ends
// the call. At most one write is in flight; a newer message replaces one still queued (each message is the full
// state, so intermediate ones may be skipped). Deletes itself when gRPC is done with it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <mutex>
#include <optional>

#include "agent/manager/cache.h"
#include "common/worker_pool.h"

namespace spirecvm::agent::adminapi {

template <typename Resp>
class PushStream : public grpc::ServerWriteReactor<Resp> {
 public:
  // Queues Start() on `pool`; call once the most-derived object exists.
  void Begin(WorkerPool& pool) {
    const bool queued = pool.Submit([this] {
      std::optional<grpc::Status> finish = Start();
      EndStart(finish);
    });
    // The worker queue is bounded: when it is full the stream ends at once instead of waiting unbounded.
    if (!queued) EndStart(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "agent busy; retry"));
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock<std::mutex> l(mu_);
    if (!ok) {
      writing_ = false;
      l.unlock();
      Fail(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      return;
    }
    if (finish_after_write_.has_value()) {
      writing_ = false;
      grpc::Status st = *finish_after_write_;
      finish_after_write_.reset();
      l.unlock();
      Fail(st);
      return;
    }
    if (!pending_.has_value()) {
      writing_ = false;
      return;
    }
    current_ = std::move(*pending_);
    pending_.reset();
    l.unlock();
    this->StartWrite(&current_);
  }

  void OnCancel() override { Fail(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled")); }

  void OnDone() override {
    if (sub_) sub_->Cancel();
    delete this;
  }

 protected:
  // Runs on the pool. Returns the status to end the call with, or nothing to keep streaming (after subscribing).
  virtual std::optional<grpc::Status> Start() = 0;

  void Push(Resp msg) {
    std::unique_lock<std::mutex> l(mu_);
    if (finished_ || finish_after_write_.has_value()) return;
    if (writing_) {
      pending_ = std::move(msg);
      return;
    }
    writing_ = true;
    current_ = std::move(msg);
    l.unlock();
    this->StartWrite(&current_);
  }

  // Ends the call once (after the write in flight, if any).
  void Fail(const grpc::Status& st) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (finished_) return;
      if (starting_) {
        start_finish_ = st;
        return;
      }
      if (writing_) {
        if (!finish_after_write_.has_value()) finish_after_write_ = st;
        return;
      }
      finished_ = true;
    }
    this->Finish(st);
  }

  std::shared_ptr<Subscription> sub_;  // set by Start(); cancelled when the call is done

 private:
  // Ends the start phase: from now on OnCancel may finish the call (before, the pool task still used `this`).
  void EndStart(std::optional<grpc::Status> finish) {
    {
      std::lock_guard<std::mutex> l(mu_);
      starting_ = false;
      if (!finish.has_value()) finish = start_finish_;
    }
    if (finish.has_value()) Fail(*finish);
  }

  std::mutex mu_;
  bool starting_ = true;
  std::optional<grpc::Status> start_finish_;
  bool writing_ = false;
  bool finished_ = false;
  std::optional<grpc::Status> finish_after_write_;
  Resp current_;
  std::optional<Resp> pending_;
};

}  // namespace spirecvm::agent::adminapi
