#include "server/api/spire_agent/entry_sync_reactor.h"

#include "common/grpc_status.h"
#include "server/api/spire_agent/entry_service.h"

namespace spirecvm::server::spireagent {

EntrySyncReactor::EntrySyncReactor(grpc::Status refusal) { Finish(refusal); }

EntrySyncReactor::EntrySyncReactor(EntrySyncProtocol protocol)
    : protocol_(std::make_unique<EntrySyncProtocol>(std::move(protocol))) {
  StartRead(&req_);
}

EntrySyncReactor::~EntrySyncReactor() = default;

void EntrySyncReactor::OnReadDone(bool ok) {
  if (!ok) {  // half-closed by the agent (or cancelled): fine once the stream has started, as RunEntrySync
    Finish(protocol_->started()
               ? grpc::Status::OK
               : grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "sync stream closed before the first request"));
    return;
  }
  auto responses = protocol_->OnRequest(req_);
  if (!responses.ok()) {
    Finish(ToGrpc(responses.status()));
    return;
  }
  out_.assign(std::make_move_iterator(responses->begin()), std::make_move_iterator(responses->end()));
  WriteNextOrContinue();
}

void EntrySyncReactor::OnWriteDone(bool ok) {
  if (!ok) {
    Finish(grpc::Status(grpc::StatusCode::ABORTED, "sync stream closed by the agent"));
    return;
  }
  out_.pop_front();
  WriteNextOrContinue();
}

// The next queued response; when none is left, the end of the stream (protocol done) or the agent's next request.
void EntrySyncReactor::WriteNextOrContinue() {
  if (!out_.empty()) {
    StartWrite(&out_.front());
  } else if (protocol_->done()) {
    Finish(grpc::Status::OK);
  } else {
    StartRead(&req_);
  }
}

}  // namespace spirecvm::server::spireagent
