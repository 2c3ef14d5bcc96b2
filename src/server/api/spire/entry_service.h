// SPIRE's spire.api.server.entry.v1.Entry on the admin socket: what SPIRE's `spire-server entry ...` CLI,
// spire-controller-manager and other SPIRE tools call. Batch calls answer one types.Status per item, as SPIRE.
// The agent-facing methods (GetAuthorizedEntries, SyncAuthorizedEntries) are not served here: they need an
// agent's identity, which the admin socket has not.
#pragma once

#include "server/datastore/datastore.h"
#include "server/entries/entry_cache.h"
#include "spiffe/spiffe_id.h"
#include "spire/api/server/entry/v1/entry.grpc.pb.h"

namespace spirecvm::server::spireapi {

namespace entryv1 = ::spire::api::server::entry::v1;

// Every member is thread-safe: gRPC calls the service from its pool concurrently.
struct EntryServiceDeps {
  const spiffe::TrustDomain& trust_domain;
  datastore::DataStore& ds;
  EntryCache& entries;  // refreshed after every change, so agents see it at once
};

class EntryService final : public entryv1::Entry::Service {
 public:
  explicit EntryService(EntryServiceDeps deps) : deps_(deps) {}

  grpc::Status CountEntries(grpc::ServerContext*, const entryv1::CountEntriesRequest*,
                            entryv1::CountEntriesResponse*) override;
  grpc::Status ListEntries(grpc::ServerContext*, const entryv1::ListEntriesRequest*,
                           entryv1::ListEntriesResponse*) override;
  grpc::Status GetEntry(grpc::ServerContext*, const entryv1::GetEntryRequest*, ::spire::api::types::Entry*) override;
  grpc::Status BatchCreateEntry(grpc::ServerContext*, const entryv1::BatchCreateEntryRequest*,
                                entryv1::BatchCreateEntryResponse*) override;
  grpc::Status BatchUpdateEntry(grpc::ServerContext*, const entryv1::BatchUpdateEntryRequest*,
                                entryv1::BatchUpdateEntryResponse*) override;
  grpc::Status BatchDeleteEntry(grpc::ServerContext*, const entryv1::BatchDeleteEntryRequest*,
                                entryv1::BatchDeleteEntryResponse*) override;

 private:
  // One item of a batch: the entry as stored, or the status SPIRE would answer for it.
  absl::StatusOr<datastore::RegistrationEntry> CreateOne(const ::spire::api::types::Entry& in,
                                                         datastore::RegistrationEntry* existing);
  absl::StatusOr<datastore::RegistrationEntry> UpdateOne(const ::spire::api::types::Entry& in,
                                                         const ::spire::api::types::EntryMask* mask);
  absl::Status DeleteOne(const std::string& id);

  EntryServiceDeps deps_;
};

}  // namespace spirecvm::server::spireapi
