// SPIRE's spire.api.server.entry.v1.Entry on the agent TLS endpoint: the entries the calling agent is authorized
// for, by GetAuthorizedEntries (all at once) and SyncAuthorizedEntries (what SPIRE v1.13's agent calls: a
// bidirectional stream where the agent asks only for the entries it lacks or holds stale). The admin methods are
// forwarded to the admin socket's service for admin callers (admin_caller.h); PermissionDenied for anyone else.
#pragma once

#include <optional>
#include <vector>

#include "server/api/agent_api_deps.h"
#include "server/api/spire/entry_service.h"
#include "server/api/spire_agent/caller.h"
#include "spire/api/server/entry/v1/entry.grpc.pb.h"

namespace spirecvm::server::spireagent {

namespace entryv1 = ::spire::api::server::entry::v1;

// SPIRE's page size for the sync stream.
inline constexpr size_t kEntrySyncPageSize = 500;

// The sync exchange without gRPC, so tests can drive it.
class EntrySyncStream {
 public:
  virtual ~EntrySyncStream() = default;
  virtual bool Read(entryv1::SyncAuthorizedEntriesRequest* req) = 0;
  virtual bool Write(const entryv1::SyncAuthorizedEntriesResponse& resp) = 0;
};
// SPIRE's sync protocol over `entries` (sorted by ID), one request in, the responses out:
//  1. the agent's first request carries the output mask (which must keep revision_number) and no IDs;
//  2. at most `page_size` entries: one response with all of them, then done() (the server ends the stream, OK);
//  3. otherwise pages of {id, revision_number, created_at} (more = true on all but the last), then, for every later
//     request, the requested entries that exist, in pages, the last one with more = false; until the agent closes.
// Not thread-safe: one stream's requests, one at a time.
class EntrySyncProtocol {
 public:
  EntrySyncProtocol(std::vector<EntryPtr> entries, size_t page_size);
  // InvalidArgument for a first request that breaks rule 1.
  absl::StatusOr<std::vector<entryv1::SyncAuthorizedEntriesResponse>> OnRequest(
      const entryv1::SyncAuthorizedEntriesRequest& req);
  bool started() const { return started_; }
  bool done() const { return done_; }

 private:
  std::vector<entryv1::SyncAuthorizedEntriesResponse> Requested(const entryv1::SyncAuthorizedEntriesRequest& req) const;
  const sapi::EntryMask* Mask() const { return mask_ ? &*mask_ : nullptr; }

  std::vector<EntryPtr> entries_;
  size_t page_size_;
  std::optional<sapi::EntryMask> mask_;
  bool started_ = false, done_ = false;
};

// The protocol over a blocking stream (tests drive it with a scripted agent).
absl::Status RunEntrySync(const std::vector<EntryPtr>& entries, size_t page_size, EntrySyncStream& stream);

// SyncAuthorizedEntries, the call every agent makes every few seconds, is on gRPC's callback API
// (entry_sync_reactor.h): it runs on gRPC's event threads instead of being handed to a thread of the synchronous
// server's pool message by message (docs/benchmarks.md, "Server CPU per sync"); the other methods too (unary_call.h).
class EntryService final : public entryv1::Entry::CallbackService {
 public:
  // `admin`: the admin socket's EntryService for admin callers over TLS (default: none, every admin method denied).
  explicit EntryService(AgentApiDeps deps, AdminDelegate<spireapi::EntryService> admin = {})
      : deps_(deps), admin_(admin) {}

  grpc::ServerUnaryReactor* GetAuthorizedEntries(grpc::CallbackServerContext* ctx,
                                                 const entryv1::GetAuthorizedEntriesRequest* req,
                                                 entryv1::GetAuthorizedEntriesResponse* resp) override;
  grpc::ServerBidiReactor<entryv1::SyncAuthorizedEntriesRequest, entryv1::SyncAuthorizedEntriesResponse>*
  SyncAuthorizedEntries(grpc::CallbackServerContext* ctx) override;

  SPIREAGENT_ADMIN_ONLY(CountEntries, entryv1::CountEntriesRequest, entryv1::CountEntriesResponse)
  SPIREAGENT_ADMIN_ONLY(ListEntries, entryv1::ListEntriesRequest, entryv1::ListEntriesResponse)
  SPIREAGENT_ADMIN_ONLY(GetEntry, entryv1::GetEntryRequest, sapi::Entry)
  SPIREAGENT_ADMIN_ONLY(BatchCreateEntry, entryv1::BatchCreateEntryRequest, entryv1::BatchCreateEntryResponse)
  SPIREAGENT_ADMIN_ONLY(BatchUpdateEntry, entryv1::BatchUpdateEntryRequest, entryv1::BatchUpdateEntryResponse)
  SPIREAGENT_ADMIN_ONLY(BatchDeleteEntry, entryv1::BatchDeleteEntryRequest, entryv1::BatchDeleteEntryResponse)

 private:
  std::vector<EntryPtr> Authorized(const AuthenticatedAgent& a) const;

  AgentApiDeps deps_;
  AdminDelegate<spireapi::EntryService> admin_;
};

}  // namespace spirecvm::server::spireagent
