// One SyncAuthorizedEntries stream on gRPC's callback API: reads a request, writes the protocol's responses one by
// one, and ends the stream when the protocol is done, the agent half-closes, or either side fails. At most one
// read or one write is outstanding at any time, so the callbacks of one stream never run concurrently.
#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <optional>

#include "spire/api/server/entry/v1/entry.grpc.pb.h"

namespace spirecvm::server::spireagent {

class EntrySyncProtocol;

class EntrySyncReactor final
    : public grpc::ServerBidiReactor<::spire::api::server::entry::v1::SyncAuthorizedEntriesRequest,
                                     ::spire::api::server::entry::v1::SyncAuthorizedEntriesResponse> {
 public:
  // A stream refused before it starts (the caller did not authenticate): finished at once with `refusal`.
  explicit EntrySyncReactor(grpc::Status refusal);
  explicit EntrySyncReactor(EntrySyncProtocol protocol);
  ~EntrySyncReactor() override;

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone() override { delete this; }

 private:
  void WriteNextOrContinue();

  std::unique_ptr<EntrySyncProtocol> protocol_;
  ::spire::api::server::entry::v1::SyncAuthorizedEntriesRequest req_;
  std::deque<::spire::api::server::entry::v1::SyncAuthorizedEntriesResponse> out_;
};

}  // namespace spirecvm::server::spireagent
