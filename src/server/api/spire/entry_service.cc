#include "server/api/spire/entry_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "server/api/entry_validation.h"
#include "server/api/spire/convert.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server::spireapi {
namespace {

// The filter fields CountEntriesRequest::Filter and ListEntriesRequest::Filter share (same names, two types).
template <typename Filter>
absl::StatusOr<datastore::ListEntriesFilter> DataStoreFilter(const spiffe::TrustDomain& td, const Filter& f) {
  datastore::ListEntriesFilter out;
  if (f.has_by_spiffe_id()) {
    auto id = MemberIdFromProto(td, f.by_spiffe_id());
    if (!id.ok()) return Annotate(id.status(), "malformed SPIFFE ID filter");
    out.by_spiffe_id = id->ToString();
  }
  if (f.has_by_parent_id()) {
    auto id = MemberIdFromProto(td, f.by_parent_id());
    if (!id.ok()) return Annotate(id.status(), "malformed parent ID filter");
    out.by_parent_id = id->ToString();
  }
  if (f.has_by_selectors()) {
    RETURN_IF_ERROR(Annotate(ValidateSelectorMatch(f.by_selectors()), "malformed selectors filter"));
  }
  if (f.has_by_federates_with()) {
    RETURN_IF_ERROR(Annotate(ValidateFederatesWithMatch(f.by_federates_with()), "malformed federates with filter"));
  }
  return out;
}

// The filter's trust domains by name (validated by DataStoreFilter).
std::vector<std::string> FilterTrustDomains(const sapi::FederatesWithMatch& m) {
  std::vector<std::string> out;
  for (const auto& s : m.trust_domains()) {
    auto td = spiffe::TrustDomain::Parse(s);
    if (td.ok()) out.push_back(td->name());
  }
  return out;
}

template <typename Filter>
bool Matches(const Filter& f, const datastore::RegistrationEntry& e) {
  if (f.has_by_selectors() &&
      !SelectorsMatch(e.selectors, SelectorsFromProto(f.by_selectors().selectors()), f.by_selectors().match())) {
    return false;
  }
  if (f.has_by_federates_with() && !FederatesWithMatches(e.federates_with, FilterTrustDomains(f.by_federates_with()),
                                                         f.by_federates_with().match())) {
    return false;
  }
  if (f.has_by_hint() && e.hint != f.by_hint().value()) return false;
  if (f.has_by_downstream() && e.downstream != f.by_downstream().value()) return false;
  return true;
}

// Entries passing the filter, sorted by id (the DataStore's order, which pagination relies on).
template <typename Filter>
absl::StatusOr<std::vector<datastore::RegistrationEntry>> Filtered(const spiffe::TrustDomain& td,
                                                                   datastore::DataStore& ds, const Filter& f) {
  ASSIGN_OR_RETURN(auto ds_filter, DataStoreFilter(td, f));
  ASSIGN_OR_RETURN(auto all, ds.ListEntries(ds_filter));
  std::erase_if(all, [&](const auto& e) { return !Matches(f, e); });
  return all;
}

// A DataStore error as SPIRE words it: "<what>: <reason>", the code kept.
absl::Status Failed(const absl::Status& s, const char* what) { return Annotate(s, what); }

}  // namespace

grpc::Status EntryService::CountEntries(grpc::ServerContext*, const entryv1::CountEntriesRequest* req,
                                        entryv1::CountEntriesResponse* resp) {
  if (!req->has_filter()) {
    auto n = deps_.ds.CountEntries();
    if (!n.ok()) return ToGrpc(Failed(n.status(), "failed to count entries"));
    resp->set_count(static_cast<int32_t>(*n));
    return grpc::Status::OK;
  }
  auto list = Filtered(deps_.trust_domain, deps_.ds, req->filter());
  if (!list.ok()) return ToGrpc(list.status());
  resp->set_count(static_cast<int32_t>(list->size()));
  return grpc::Status::OK;
}

grpc::Status EntryService::ListEntries(grpc::ServerContext*, const entryv1::ListEntriesRequest* req,
                                       entryv1::ListEntriesResponse* resp) {
  if (req->page_size() < 0) return ToGrpc(absl::InvalidArgumentError("page_size must not be negative"));
  auto list = Filtered(deps_.trust_domain, deps_.ds, req->filter());
  if (!list.ok()) return ToGrpc(list.status());
  // The page token is the last id of the previous page: entries are sorted by id.
  auto it = list->begin();
  if (!req->page_token().empty()) {
    it = std::upper_bound(list->begin(), list->end(), req->page_token(),
                          [](const std::string& tok, const auto& e) { return tok < e.id; });
  }
  const auto* mask = req->has_output_mask() ? &req->output_mask() : nullptr;
  for (int n = 0; it != list->end() && (req->page_size() == 0 || n < req->page_size()); ++it, ++n) {
    auto* out = resp->add_entries();
    EntryToProto(*it, out);
    ApplyEntryMask(mask, out);
  }
  if (req->page_size() > 0 && it != list->end()) resp->set_next_page_token(std::prev(it)->id);
  return grpc::Status::OK;
}

grpc::Status EntryService::GetEntry(grpc::ServerContext*, const entryv1::GetEntryRequest* req,
                                    ::spire::api::types::Entry* resp) {
  if (req->id().empty()) return ToGrpc(absl::InvalidArgumentError("missing ID"));
  auto e = deps_.ds.FetchEntry(req->id());
  if (absl::IsNotFound(e.status())) return ToGrpc(absl::NotFoundError("entry not found"));
  if (!e.ok()) return ToGrpc(Failed(e.status(), "failed to fetch entry"));
  EntryToProto(*e, resp);
  ApplyEntryMask(req->has_output_mask() ? &req->output_mask() : nullptr, resp);
  return grpc::Status::OK;
}

absl::StatusOr<datastore::RegistrationEntry> EntryService::CreateOne(const ::spire::api::types::Entry& in,
                                                                     datastore::RegistrationEntry* existing) {
  auto e = EntryFromProto(in);
  if (!e.ok()) return Failed(e.status(), "failed to convert entry");
  RETURN_IF_ERROR(Failed(ValidateEntry(deps_.trust_domain, *e), "failed to convert entry"));
  auto created = deps_.ds.CreateEntry(*e);
  if (absl::IsAlreadyExists(created.status())) {
    // As SPIRE: a similar entry (same SPIFFE ID, parent and selectors) is returned with AlreadyExists.
    datastore::ListEntriesFilter same;
    same.by_spiffe_id = e->spiffe_id;
    same.by_parent_id = e->parent_id;
    same.by_selectors_exact = e->selectors;
    auto similar = deps_.ds.ListEntries(same);
    if (similar.ok() && !similar->empty()) {
      *existing = similar->front();
      return absl::AlreadyExistsError("similar entry already exists");
    }
    return created.status();
  }
  if (!created.ok()) return Failed(created.status(), "failed to create entry");
  spdlog::info("entry created: {} ({})", created->id, created->spiffe_id);
  return created;
}

grpc::Status EntryService::BatchCreateEntry(grpc::ServerContext*, const entryv1::BatchCreateEntryRequest* req,
                                            entryv1::BatchCreateEntryResponse* resp) {
  const auto* mask = req->has_output_mask() ? &req->output_mask() : nullptr;
  bool changed = false;
  for (const auto& in : req->entries()) {
    auto* r = resp->add_results();
    datastore::RegistrationEntry existing;
    auto created = CreateOne(in, &existing);
    StatusToProto(created.status(), r->mutable_status());
    const datastore::RegistrationEntry* shown = created.ok() ? &*created : (existing.id.empty() ? nullptr : &existing);
    if (shown != nullptr) {
      EntryToProto(*shown, r->mutable_entry());
      ApplyEntryMask(mask, r->mutable_entry());
    }
    changed = changed || created.ok();
  }
  if (changed) (void)deps_.entries.Refresh();
  return grpc::Status::OK;
}

absl::StatusOr<datastore::RegistrationEntry> EntryService::UpdateOne(const ::spire::api::types::Entry& in,
                                                                     const ::spire::api::types::EntryMask* mask) {
  if (in.id().empty()) return absl::InvalidArgumentError("failed to convert entry: missing ID");
  auto stored = deps_.ds.FetchEntry(in.id());
  if (absl::IsNotFound(stored.status())) return absl::NotFoundError("entry not found");
  if (!stored.ok()) return Failed(stored.status(), "failed to fetch entry");
  auto merged = MergeEntry(*stored, in, mask);
  if (!merged.ok()) return Failed(merged.status(), "failed to convert entry");
  RETURN_IF_ERROR(Failed(ValidateEntry(deps_.trust_domain, *merged), "failed to convert entry"));
  auto updated = deps_.ds.UpdateEntry(*merged);
  if (!updated.ok()) return Failed(updated.status(), "failed to update entry");
  spdlog::info("entry updated: {} ({})", updated->id, updated->spiffe_id);
  return updated;
}

grpc::Status EntryService::BatchUpdateEntry(grpc::ServerContext*, const entryv1::BatchUpdateEntryRequest* req,
                                            entryv1::BatchUpdateEntryResponse* resp) {
  const auto* in_mask = req->has_input_mask() ? &req->input_mask() : nullptr;
  const auto* out_mask = req->has_output_mask() ? &req->output_mask() : nullptr;
  bool changed = false;
  for (const auto& in : req->entries()) {
    auto* r = resp->add_results();
    auto updated = UpdateOne(in, in_mask);
    StatusToProto(updated.status(), r->mutable_status());
    if (!updated.ok()) continue;
    changed = true;
    EntryToProto(*updated, r->mutable_entry());
    ApplyEntryMask(out_mask, r->mutable_entry());
  }
  if (changed) (void)deps_.entries.Refresh();
  return grpc::Status::OK;
}

absl::Status EntryService::DeleteOne(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("missing entry ID");
  auto st = deps_.ds.DeleteEntry(id);
  if (absl::IsNotFound(st)) return absl::NotFoundError("entry not found");
  if (st.ok()) spdlog::info("entry deleted: {}", id);
  return Failed(st, "failed to delete entry");
}

grpc::Status EntryService::BatchDeleteEntry(grpc::ServerContext*, const entryv1::BatchDeleteEntryRequest* req,
                                            entryv1::BatchDeleteEntryResponse* resp) {
  bool changed = false;
  for (const auto& id : req->ids()) {
    auto* r = resp->add_results();
    r->set_id(id);
    auto st = DeleteOne(id);
    StatusToProto(st, r->mutable_status());
    changed = changed || st.ok();
  }
  if (changed) (void)deps_.entries.Refresh();
  return grpc::Status::OK;
}

}  // namespace spirecvm::server::spireapi
