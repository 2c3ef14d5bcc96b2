// The agent's half of SPIRE's entry.v1.SyncAuthorizedEntries (what SPIRE v1.13's agent calls every sync), independent
// of gRPC so it can be driven by a scripted stream:
//  1. the agent sends the output mask (the fields it uses; revision_number and created_at among them);
//  2. a server with few entries answers with all of them in one response: done;
//  3. otherwise it sends pages of {id, revision_number, created_at} (more = true on all but the last); the agent then
//     asks, a page at a time (the size of the server's first page), for the entries it lacks or holds stale, and
//     reads each answer until more = false; then it half-closes.
// Entries the server no longer lists are removed. An entry is stale when its revision differs, or its creation time
// does (deleted and created again under the same ID).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "agent/manager/cache.h"
#include "spire/api/server/entry/v1/entry.pb.h"
#include "spire/api/types/entry.pb.h"
#include "types.pb.h"

namespace spirecvm::agent {

namespace entryv1 = ::spire::api::server::entry::v1;

struct EntrySyncResult {
  std::vector<spirecvm::types::Entry> changed;  // new or stale: replace the cached copy
  std::vector<std::string> removed;             // cached IDs the server no longer authorizes
};

class EntrySyncStream {
 public:
  virtual ~EntrySyncStream() = default;
  virtual bool Write(const entryv1::SyncAuthorizedEntriesRequest& req) = 0;
  virtual bool Read(entryv1::SyncAuthorizedEntriesResponse* resp) = 0;
  // Half-closes and returns the final status of the call.
  virtual absl::Status Finish() = 0;
};

// More entries than this in one sync is refused (ResourceExhausted) rather than held.
inline constexpr size_t kMaxSyncEntries = 1 << 20;

absl::StatusOr<EntrySyncResult> SyncEntriesOverStream(EntrySyncStream& stream, const std::vector<KnownEntry>& known);

// A SPIRE entry in the cache's form. InvalidArgument naming the entry and the field when it is unusable (no ID, an
// invalid SPIFFE ID, no selectors).
absl::StatusOr<spirecvm::types::Entry> EntryFromSpire(const ::spire::api::types::Entry& e);

}  // namespace spirecvm::agent
