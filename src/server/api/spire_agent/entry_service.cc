#include "server/api/spire_agent/entry_service.h"

#include <algorithm>
#include <optional>

#include "common/grpc_status.h"
#include "common/status.h"
#include "server/api/spire/convert.h"
#include "server/api/spire_agent/entry_sync_reactor.h"

namespace spirecvm::server::spireagent {
namespace {

void EntryOut(const CachedEntry& e, const sapi::EntryMask* mask, sapi::Entry* out) {
  spireapi::EntryToProto(e, *e.parent_id, out);
  spireapi::ApplyEntryMask(mask, out);
}

// The first request: the output mask for the whole stream.
absl::StatusOr<std::optional<sapi::EntryMask>> SyncMask(const entryv1::SyncAuthorizedEntriesRequest& first) {
  if (!first.ids().empty()) {
    return absl::InvalidArgumentError("specifying IDs on initial request is not supported");
  }
  if (!first.has_output_mask()) return std::nullopt;
  if (!first.output_mask().revision_number()) {
    return absl::InvalidArgumentError("revision number cannot be masked");
  }
  return first.output_mask();
}

std::vector<entryv1::SyncAuthorizedEntriesResponse> RevisionPages(const std::vector<EntryPtr>& entries,
                                                                  size_t page_size) {
  std::vector<entryv1::SyncAuthorizedEntriesResponse> out;
  for (size_t i = 0; i < entries.size(); i += page_size) {
    auto& resp = out.emplace_back();
    const size_t end = std::min(entries.size(), i + page_size);
    for (size_t j = i; j < end; ++j) {
      auto* r = resp.add_entry_revisions();
      r->set_id(entries[j]->id);
      r->set_revision_number(entries[j]->revision_number);
      r->set_created_at(entries[j]->created_at);
    }
    resp.set_more(end < entries.size());
  }
  return out;
}

}  // namespace

EntrySyncProtocol::EntrySyncProtocol(std::vector<EntryPtr> entries, size_t page_size)
    : entries_(std::move(entries)), page_size_(page_size) {}

absl::StatusOr<std::vector<entryv1::SyncAuthorizedEntriesResponse>> EntrySyncProtocol::OnRequest(
    const entryv1::SyncAuthorizedEntriesRequest& req) {
  if (!started_) {
    ASSIGN_OR_RETURN(mask_, SyncMask(req));
    started_ = true;
    if (entries_.size() > page_size_) return RevisionPages(entries_, page_size_);
    done_ = true;
    std::vector<entryv1::SyncAuthorizedEntriesResponse> out(1);
    for (const auto& e : entries_) EntryOut(*e, Mask(), out[0].add_entries());
    return out;
  }
  return Requested(req);
}

// The requested entries that exist, a page at a time; the last page (perhaps empty) has more = false.
std::vector<entryv1::SyncAuthorizedEntriesResponse> EntrySyncProtocol::Requested(
    const entryv1::SyncAuthorizedEntriesRequest& req) const {
  std::vector<entryv1::SyncAuthorizedEntriesResponse> out(1);
  for (const auto& id : req.ids()) {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), id,
                               [](const EntryPtr& e, const std::string& want) { return e->id < want; });
    if (it == entries_.end() || (*it)->id != id) continue;
    if (static_cast<size_t>(out.back().entries_size()) == page_size_) {
      out.back().set_more(true);
      out.emplace_back();
    }
    EntryOut(**it, Mask(), out.back().add_entries());
  }
  out.back().set_more(false);
  return out;
}

absl::Status RunEntrySync(const std::vector<EntryPtr>& entries, size_t page_size, EntrySyncStream& stream) {
  EntrySyncProtocol sync(entries, page_size);
  entryv1::SyncAuthorizedEntriesRequest req;
  while (stream.Read(&req)) {  // the agent half-closes when it has what it needs
    ASSIGN_OR_RETURN(auto responses, sync.OnRequest(req));
    for (const auto& resp : responses) {
      if (!stream.Write(resp)) return absl::AbortedError("sync stream closed by the agent");
    }
    if (sync.done()) return absl::OkStatus();
  }
  if (!sync.started()) return absl::InvalidArgumentError("sync stream closed before the first request");
  return absl::OkStatus();
}

std::vector<EntryPtr> EntryService::Authorized(const AuthenticatedAgent& a) const {
  // The cache returns each entry once; sorting the pointers spares the by-ID map (a node and a key copy per entry).
  std::vector<EntryPtr> out = deps_.entries.AuthorizedEntries(a.spiffe_id, a.node.selectors);
  std::sort(out.begin(), out.end(), [](const EntryPtr& x, const EntryPtr& y) { return x->id < y->id; });
  return out;  // sorted by ID
}

grpc::ServerUnaryReactor* EntryService::GetAuthorizedEntries(grpc::CallbackServerContext* ctx,
                                                             const entryv1::GetAuthorizedEntriesRequest* req,
                                                             entryv1::GetAuthorizedEntriesResponse* resp) {
  auto a = AuthenticateCaller(deps_, *ctx);
  if (!a.ok()) return FinishUnary(ctx, ToGrpc(a.status()));
  const sapi::EntryMask* mask = req->has_output_mask() ? &req->output_mask() : nullptr;
  for (const auto& e : Authorized(*a)) EntryOut(*e, mask, resp->add_entries());
  return FinishUnary(ctx, grpc::Status::OK);
}

grpc::ServerBidiReactor<entryv1::SyncAuthorizedEntriesRequest, entryv1::SyncAuthorizedEntriesResponse>*
EntryService::SyncAuthorizedEntries(grpc::CallbackServerContext* ctx) {
  auto a = AuthenticateCaller(deps_, *ctx);
  if (!a.ok()) return new EntrySyncReactor(ToGrpc(a.status()));
  return new EntrySyncReactor(EntrySyncProtocol(Authorized(*a), kEntrySyncPageSize));
}

}  // namespace spirecvm::server::spireagent
