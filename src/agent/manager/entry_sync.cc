#include "agent/manager/entry_sync.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "agent/manager/spire_convert.h"
#include "common/status.h"
#include "spdlog/spdlog.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::agent {
namespace {

using entryv1::SyncAuthorizedEntriesRequest;
using entryv1::SyncAuthorizedEntriesResponse;

// What one sync learned so far: the cached entries the server still lists, those it lists but we lack or hold
// stale, and the full entries received.
class SyncState {
 public:
  explicit SyncState(const std::vector<KnownEntry>& known) {
    for (const auto& k : known) known_[k.id] = &k;
  }

  absl::Status AddRevisions(const SyncAuthorizedEntriesResponse& resp) {
    for (const auto& r : resp.entry_revisions()) {
      if (r.id().empty() || r.revision_number() < 0) {
        spdlog::warn("sync: ignoring a malformed entry revision (id \"{}\", revision {})", r.id(), r.revision_number());
        continue;
      }
      if (++listed_count_ > kMaxSyncEntries) return TooMany();
      listed_.insert(r.id());
      auto it = known_.find(r.id());
      if (it == known_.end() || Stale(*it->second, r.revision_number(), r.created_at())) need_.push_back(r.id());
    }
    return absl::OkStatus();
  }

  absl::Status AddEntries(const SyncAuthorizedEntriesResponse& resp) {
    for (const auto& e : resp.entries()) {
      if (++received_ > kMaxSyncEntries) return TooMany();
      auto entry = EntryFromSpire(e);
      if (!entry.ok()) {
        spdlog::warn("sync: ignoring a malformed entry from the server: {}", entry.status().ToString());
        if (!e.id().empty()) listed_.insert(e.id());  // keep what we hold rather than drop it
        continue;
      }
      listed_.insert(entry->id());
      result_.changed.push_back(*std::move(entry));
    }
    return absl::OkStatus();
  }

  std::vector<std::string> TakeNeeded() {
    std::sort(need_.begin(), need_.end());
    return std::move(need_);
  }

  EntrySyncResult Finish() {
    for (const auto& [id, k] : known_) {
      if (!listed_.contains(id)) result_.removed.push_back(id);
    }
    return std::move(result_);
  }

 private:
  static bool Stale(const KnownEntry& k, int64_t revision, int64_t created_at) {
    return k.revision_number != revision || (created_at != 0 && k.created_at != 0 && k.created_at != created_at);
  }
  static absl::Status TooMany() {
    return absl::ResourceExhaustedError(absl::StrCat("server listed more than ", kMaxSyncEntries, " entries"));
  }

  std::map<std::string, const KnownEntry*> known_;
  std::set<std::string> listed_;
  size_t listed_count_ = 0;
  size_t received_ = 0;
  std::vector<std::string> need_;
  EntrySyncResult result_;
};

absl::Status Closed(EntrySyncStream& stream, const char* when) {
  absl::Status st = stream.Finish();
  return st.ok() ? absl::UnavailableError(absl::StrCat("sync stream closed ", when)) : st;
}

SyncAuthorizedEntriesRequest MaskRequest() {
  SyncAuthorizedEntriesRequest req;
  auto* m = req.mutable_output_mask();
  m->set_spiffe_id(true);
  m->set_selectors(true);
  m->set_federates_with(true);
  m->set_admin(true);
  m->set_downstream(true);
  m->set_revision_number(true);
  m->set_store_svid(true);
  m->set_hint(true);
  m->set_created_at(true);
  return req;
}

// Phase 3: the revisions pages after the first, then the needed entries a page at a time.
absl::Status FetchNeeded(EntrySyncStream& stream, SyncAuthorizedEntriesResponse resp, SyncState& state) {
  const size_t page_size = static_cast<size_t>(resp.entry_revisions_size());
  RETURN_IF_ERROR(state.AddRevisions(resp));
  while (resp.more()) {
    if (!stream.Read(&resp)) return Closed(stream, "while receiving entry revisions");
    if (resp.entries_size() > 0) return absl::InternalError("sync: server sent entries among the entry revisions");
    RETURN_IF_ERROR(state.AddRevisions(resp));
  }
  std::vector<std::string> need = state.TakeNeeded();
  for (size_t i = 0; i < need.size(); i += page_size) {
    SyncAuthorizedEntriesRequest req;
    for (size_t j = i; j < std::min(need.size(), i + page_size); ++j) req.add_ids(need[j]);
    if (!stream.Write(req)) return Closed(stream, "while requesting entries");
    do {
      if (!stream.Read(&resp)) return Closed(stream, "while receiving requested entries");
      if (resp.entry_revisions_size() > 0) {
        return absl::InternalError("sync: server sent entry revisions while answering a request for entries");
      }
      RETURN_IF_ERROR(state.AddEntries(resp));
    } while (resp.more());
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<EntrySyncResult> SyncEntriesOverStream(EntrySyncStream& stream, const std::vector<KnownEntry>& known) {
  SyncState state(known);
  if (!stream.Write(MaskRequest())) return Closed(stream, "before the first request was sent");
  SyncAuthorizedEntriesResponse first;
  if (!stream.Read(&first)) return Closed(stream, "before the first response");
  if (first.entry_revisions_size() == 0) {
    RETURN_IF_ERROR(state.AddEntries(first));  // a small set: every authorized entry, in full
  } else {
    RETURN_IF_ERROR(FetchNeeded(stream, std::move(first), state));
  }
  RETURN_IF_ERROR(stream.Finish());
  return state.Finish();
}

absl::StatusOr<spirecvm::types::Entry> EntryFromSpire(const ::spire::api::types::Entry& e) {
  if (e.id().empty()) return absl::InvalidArgumentError("entry has no ID");
  spirecvm::types::Entry out;
  out.set_id(e.id());
  auto id = SpiffeIdFromSpire(e.spiffe_id());
  if (!id.ok()) return Annotate(id, absl::StrCat("entry ", e.id(), " spiffe_id"));
  out.set_spiffe_id(*id);
  if (e.has_parent_id()) {
    auto parent = SpiffeIdFromSpire(e.parent_id());
    if (parent.ok()) out.set_parent_id(*parent);
  }
  if (e.selectors().empty()) return absl::InvalidArgumentError(absl::StrCat("entry ", e.id(), " has no selectors"));
  for (const auto& s : e.selectors()) {
    auto* o = out.add_selectors();
    o->set_type(s.type());
    o->set_value(s.value());
  }
  out.set_x509_svid_ttl(e.x509_svid_ttl());
  out.set_jwt_svid_ttl(e.jwt_svid_ttl());
  for (const auto& d : e.dns_names()) out.add_dns_names(d);
  out.set_admin(e.admin());
  out.set_downstream(e.downstream());
  out.set_hint(e.hint());
  out.set_revision_number(e.revision_number());
  out.set_created_at(e.created_at());
  out.set_expires_at(e.expires_at());
  for (const auto& td : e.federates_with()) {  // SPIRE sends "td" or "spiffe://td"
    auto parsed = spiffe::TrustDomain::Parse(td);
    if (!parsed.ok()) return Annotate(parsed.status(), absl::StrCat("entry ", e.id(), " federates_with"));
    out.add_federates_with(parsed->name());
  }
  return out;
}

}  // namespace spirecvm::agent
