#include "server/api/spire_agent/entry_service.h"

#include <algorithm>
#include <optional>

#include "common/grpc_status.h"
#include "common/status.h"
#include "server/api/spire/convert.h"

namespace spirecvm::server::spireagent {
namespace {

void EntryOut(const datastore::RegistrationEntry& e, const sapi::EntryMask* mask, sapi::Entry* out) {
  spireapi::EntryToProto(e, out);
  spireapi::ApplyEntryMask(mask, out);
}

// The first request: the output mask for the whole stream.
absl::StatusOr<std::optional<sapi::EntryMask>> ReadSyncMask(EntrySyncStream& stream) {
  entryv1::SyncAuthorizedEntriesRequest first;
  if (!stream.Read(&first)) return absl::InvalidArgumentError("sync stream closed before the first request");
  if (!first.ids().empty()) {
    return absl::InvalidArgumentError("specifying IDs on initial request is not supported");
  }
  if (!first.has_output_mask()) return std::nullopt;
  if (!first.output_mask().revision_number()) {
    return absl::InvalidArgumentError("revision number cannot be masked");
  }
  return first.output_mask();
}

bool SendRevisions(const std::vector<EntryPtr>& entries, size_t page_size, EntrySyncStream& stream) {
  for (size_t i = 0; i < entries.size(); i += page_size) {
    entryv1::SyncAuthorizedEntriesResponse resp;
    const size_t end = std::min(entries.size(), i + page_size);
    for (size_t j = i; j < end; ++j) {
      auto* r = resp.add_entry_revisions();
      r->set_id(entries[j]->id);
      r->set_revision_number(entries[j]->revision_number);
      r->set_created_at(entries[j]->created_at);
    }
    resp.set_more(end < entries.size());
    if (!stream.Write(resp)) return false;
  }
  return true;
}

// The requested entries that exist, a page at a time; the last page (perhaps empty) has more = false.
bool SendRequested(const std::vector<EntryPtr>& entries, const sapi::EntryMask* mask, size_t page_size,
                   const entryv1::SyncAuthorizedEntriesRequest& req, EntrySyncStream& stream) {
  entryv1::SyncAuthorizedEntriesResponse resp;
  for (const auto& id : req.ids()) {
    auto it = std::lower_bound(entries.begin(), entries.end(), id,
                               [](const EntryPtr& e, const std::string& want) { return e->id < want; });
    if (it == entries.end() || (*it)->id != id) continue;
    if (static_cast<size_t>(resp.entries_size()) == page_size) {
      resp.set_more(true);
      if (!stream.Write(resp)) return false;
      resp.Clear();
    }
    EntryOut(**it, mask, resp.add_entries());
  }
  resp.set_more(false);
  return stream.Write(resp);
}

}  // namespace

absl::Status RunEntrySync(const std::vector<EntryPtr>& entries, size_t page_size, EntrySyncStream& stream) {
  ASSIGN_OR_RETURN(std::optional<sapi::EntryMask> mask_value, ReadSyncMask(stream));
  const sapi::EntryMask* mask = mask_value ? &*mask_value : nullptr;
  const auto closed = absl::AbortedError("sync stream closed by the agent");
  if (entries.size() <= page_size) {
    entryv1::SyncAuthorizedEntriesResponse resp;
    for (const auto& e : entries) EntryOut(*e, mask, resp.add_entries());
    return stream.Write(resp) ? absl::OkStatus() : closed;
  }
  if (!SendRevisions(entries, page_size, stream)) return closed;
  entryv1::SyncAuthorizedEntriesRequest req;
  while (stream.Read(&req)) {  // the agent half-closes when it has what it needs
    if (!SendRequested(entries, mask, page_size, req, stream)) return closed;
  }
  return absl::OkStatus();
}

std::vector<EntryPtr> EntryService::Authorized(const AuthenticatedAgent& a) const {
  // The cache returns each entry once; sorting the pointers spares the by-ID map (a node and a key copy per entry).
  std::vector<EntryPtr> out = deps_.entries.AuthorizedEntries(a.spiffe_id, a.node.selectors);
  std::sort(out.begin(), out.end(), [](const EntryPtr& x, const EntryPtr& y) { return x->id < y->id; });
  return out;  // sorted by ID
}

grpc::Status EntryService::GetAuthorizedEntries(grpc::ServerContext* ctx,
                                                const entryv1::GetAuthorizedEntriesRequest* req,
                                                entryv1::GetAuthorizedEntriesResponse* resp) {
  auto a = AuthenticateCaller(deps_, *ctx);
  if (!a.ok()) return ToGrpc(a.status());
  const sapi::EntryMask* mask = req->has_output_mask() ? &req->output_mask() : nullptr;
  for (const auto& e : Authorized(*a)) EntryOut(*e, mask, resp->add_entries());
  return grpc::Status::OK;
}

namespace {
class GrpcEntrySyncStream final : public EntrySyncStream {
 public:
  using Stream =
      grpc::ServerReaderWriter<entryv1::SyncAuthorizedEntriesResponse, entryv1::SyncAuthorizedEntriesRequest>;
  explicit GrpcEntrySyncStream(Stream* s) : s_(s) {}
  bool Read(entryv1::SyncAuthorizedEntriesRequest* req) override { return s_->Read(req); }
  bool Write(const entryv1::SyncAuthorizedEntriesResponse& resp) override { return s_->Write(resp); }

 private:
  Stream* s_;
};
}  // namespace

grpc::Status EntryService::SyncAuthorizedEntries(
    grpc::ServerContext* ctx,
    grpc::ServerReaderWriter<entryv1::SyncAuthorizedEntriesResponse, entryv1::SyncAuthorizedEntriesRequest>* stream) {
  auto a = AuthenticateCaller(deps_, *ctx);
  if (!a.ok()) return ToGrpc(a.status());
  GrpcEntrySyncStream s(stream);
  return ToGrpc(RunEntrySync(Authorized(*a), kEntrySyncPageSize, s));
}

}  // namespace spirecvm::server::spireagent
