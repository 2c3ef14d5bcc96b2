// spire-server entry create|update|delete: SPIRE's entry.v1 BatchCreateEntry / BatchUpdateEntry / BatchDeleteEntry.
#include <limits>

#include "absl/strings/str_cat.h"
#include "cli/server/entry_common.h"

namespace spirecvm::cli {
namespace {

// The flags entry create and entry update share (SPIRE's names, help and defaults).
struct EntryFlags {
  ServerFlags server;
  std::string data, entry_id, parent_id, spiffe_id, hint;
  std::vector<std::string> selectors, federates_with, dns;
  int64_t x509_ttl = 0, jwt_ttl = 0, entry_expiry = 0;
  bool admin = false, downstream = false, node = false, store_svid = false;

  void Register(flags::FlagSet& fs, bool create) {
    server.Register(fs);
    fs.String("entryID", &entry_id,
              create
                  ? "A custom ID for this registration entry (optional). If not set, a new entry ID will be generated"
                  : "The Registration Entry ID of the record to update");
    fs.String("parentID", &parent_id, "The SPIFFE ID of this record's parent");
    fs.String("spiffeID", &spiffe_id, "The SPIFFE ID that this record represents");
    fs.Int("x509SVIDTTL", &x509_ttl,
           "The lifetime, in seconds, for x509-SVIDs issued based on this registration entry.");
    fs.Int("jwtSVIDTTL", &jwt_ttl, "The lifetime, in seconds, for JWT-SVIDs issued based on this registration entry.");
    fs.String("data", &data,
              "Path to a file containing registration JSON (optional). If set to '-', read the JSON from stdin.");
    fs.StringList("selector", &selectors, "A colon-delimited type:value selector. Can be used more than once");
    fs.StringList("federatesWith", &federates_with,
                  "SPIFFE ID of a trust domain to federate with. Can be used more than once");
    if (create) fs.Bool("node", &node, "If set, this entry will be applied to matching nodes rather than workloads");
    fs.Bool("admin", &admin,
            "If set, the SPIFFE ID in this entry will be granted access to the SPIRE Server's management APIs");
    fs.Bool("storeSVID", &store_svid,
            "A boolean value that, when set, indicates that the resulting issued SVID from this entry must be stored "
            "through an SVIDStore plugin");
    fs.Bool("downstream", &downstream,
            "A boolean value that, when set, indicates that the entry describes a downstream SPIRE server");
    fs.Int("entryExpiry", &entry_expiry,
           "An expiry, from epoch in seconds, for the resulting registration entry to be pruned");
    fs.StringList("dns", &dns,
                  "A DNS name that will be included in SVIDs issued based on this entry, where appropriate. Can be "
                  "used more than once");
    fs.String("hint", &hint, "The entry hint, used to disambiguate entries with the same SPIFFE ID");
  }

  // SPIRE's validate(), in SPIRE's order and words.
  absl::Status Validate(bool create) const {
    if (!data.empty()) return absl::OkStatus();
    if (!create && entry_id.empty()) return absl::InvalidArgumentError("entry ID is required");
    if (selectors.empty()) return absl::InvalidArgumentError("at least one selector is required");
    if (create && node && !federates_with.empty()) return absl::InvalidArgumentError("node entries can not federate");
    if (parent_id.empty() && !node) {
      return absl::InvalidArgumentError(create ? "a parent ID is required if the node flag is not set"
                                               : "a parent ID is required");
    }
    if (spiffe_id.empty()) return absl::InvalidArgumentError("a SPIFFE ID is required");
    if (x509_ttl < 0) return absl::InvalidArgumentError("a positive x509-SVID TTL is required");
    if (jwt_ttl < 0) return absl::InvalidArgumentError("a positive JWT-SVID TTL is required");
    return absl::OkStatus();
  }

  absl::StatusOr<stypes::Entry> Build() const {
    stypes::Entry e;
    auto id = ParseId(spiffe_id);
    if (!id.ok()) return id.status();
    *e.mutable_spiffe_id() = *id;
    if (node) {  // node entries are parented to the server: spiffe://<td>/spire/server
      e.mutable_parent_id()->set_trust_domain(id->trust_domain());
      e.mutable_parent_id()->set_path("/spire/server");
    } else {
      auto parent = ParseId(parent_id);
      if (!parent.ok()) return parent.status();
      *e.mutable_parent_id() = *parent;
    }
    constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
    if (x509_ttl > kMax) return absl::InvalidArgumentError("invalid value for X509 SVID TTL: value out of range");
    if (jwt_ttl > kMax) return absl::InvalidArgumentError("invalid value for JWT SVID TTL: value out of range");
    e.set_id(entry_id);
    e.set_x509_svid_ttl(static_cast<int32_t>(x509_ttl));
    e.set_jwt_svid_ttl(static_cast<int32_t>(jwt_ttl));
    e.set_downstream(downstream);
    e.set_expires_at(entry_expiry);
    e.set_hint(hint);
    e.set_admin(admin);
    e.set_store_svid(store_svid);
    for (const auto& d : dns) e.add_dns_names(d);
    for (const auto& td : federates_with) e.add_federates_with(td);
    for (const auto& s : selectors) {
      auto sel = ParseSelector(s);
      if (!sel.ok()) return sel.status();
      *e.add_selectors() = *std::move(sel);
    }
    return e;
  }

  absl::StatusOr<std::vector<stypes::Entry>> Entries() const {
    if (data.empty()) {
      auto e = Build();
      if (!e.ok()) return e.status();
      return std::vector<stypes::Entry>{*std::move(e)};
    }
    auto text = ReadInput(data);
    if (!text.ok()) return text.status();
    return ParseEntryData(*text);
  }
};

// SPIRE's pretty output of a batch create/update: the written entries on stdout, the failed ones (as sent) on stderr.
template <typename Response>
int PrintWriteResults(const Response& resp, const char* verb, Io io) {
  bool failed = false;
  for (const auto& r : resp.results()) {
    if (r.status().code() == 0) PrintEntry(r.entry(), io.out);
  }
  for (const auto& r : resp.results()) {
    if (r.status().code() == 0) continue;
    failed = true;
    io.err << "Failed to " << verb << " the following entry (code: " << CodeName(r.status().code())
           << ", msg: " << GoQuote(r.status().message()) << "):\n";
    PrintEntry(r.entry(), io.err);
  }
  if (failed) return Fail(io, absl::StrCat("failed to ", verb, " one or more entries"));
  return 0;
}

grpc::Status Call(entryv1::Entry::Stub& stub, grpc::ClientContext* ctx, const entryv1::BatchCreateEntryRequest& req,
                  entryv1::BatchCreateEntryResponse* resp) {
  return stub.BatchCreateEntry(ctx, req, resp);
}
grpc::Status Call(entryv1::Entry::Stub& stub, grpc::ClientContext* ctx, const entryv1::BatchUpdateEntryRequest& req,
                  entryv1::BatchUpdateEntryResponse* resp) {
  return stub.BatchUpdateEntry(ctx, req, resp);
}

template <typename Request, typename Response>
int WriteEntries(bool create, const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs(create ? "entry create" : "entry update");
  EntryFlags f;
  f.Register(fs, create);
  if (!f.server.Parse(fs, args, io)) return 1;
  if (auto st = f.Validate(create); !st.ok()) return Fail(io, st.message());
  auto entries = f.Entries();
  if (!entries.ok()) return Fail(io, entries.status().message());
  Request req;
  for (const auto& e : *entries) *req.add_entries() = e;
  Response resp;
  grpc::ClientContext ctx;
  auto stub = entryv1::Entry::NewStub(Dial(f.server.socket));
  grpc::Status s = Call(*stub, &ctx, req, &resp);
  if (!s.ok()) return FailRpc(io, "", s);
  // As SPIRE: a failed result shows the entry that was sent.
  for (int i = 0; i < resp.results_size() && i < req.entries_size(); ++i) {
    if (resp.results(i).status().code() != 0) *resp.mutable_results(i)->mutable_entry() = req.entries(i);
  }
  if (f.server.json()) {
    io.out << SpireJson(resp);
    return 0;
  }
  return PrintWriteResults(resp, create ? "create" : "update", io);
}

}  // namespace

int EntryCreate(const std::vector<std::string>& args, Io io) {
  return WriteEntries<entryv1::BatchCreateEntryRequest, entryv1::BatchCreateEntryResponse>(true, args, io);
}

int EntryUpdate(const std::vector<std::string>& args, Io io) {
  return WriteEntries<entryv1::BatchUpdateEntryRequest, entryv1::BatchUpdateEntryResponse>(false, args, io);
}

namespace {

absl::StatusOr<std::vector<std::string>> DeleteIds(const std::string& file, const std::string& entry_id) {
  if (file.empty()) return std::vector<std::string>{entry_id};
  auto text = ReadInput(file);
  if (!text.ok()) return text.status();
  nlohmann::json doc = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return absl::InvalidArgumentError("the file is not a JSON object");
  std::vector<std::string> ids;
  auto it = doc.find("ids");
  if (it == doc.end() || it->is_null()) return ids;
  if (!it->is_array()) return absl::InvalidArgumentError("\"ids\" must be a list of strings");
  for (const auto& id : *it) {
    if (!id.is_string()) return absl::InvalidArgumentError("\"ids\" must be a list of strings");
    ids.push_back(id.get<std::string>());
  }
  return ids;
}

int PrintDeleteResults(const entryv1::BatchDeleteEntryResponse& resp, Io io) {
  int ok = 0, failed = 0;
  for (const auto& r : resp.results()) {
    if (r.status().code() != 0) continue;
    io.out << "Deleted entry with ID: " << r.id() << "\n";
    ++ok;
  }
  if (ok > 0) io.out << "\n\n";
  for (const auto& r : resp.results()) {
    if (r.status().code() == 0) continue;
    io.err << "Failed to delete entry with ID " << r.id() << " (code: " << CodeName(r.status().code())
           << ", msg: " << GoQuote(r.status().message()) << ")\n";
    ++failed;
  }
  if (failed == 0) {
    io.out << "Deleted " << ok << " entries successfully";
    return 0;
  }
  io.out << "\n\n";
  if (ok == 0) {
    io.out << "Failed to delete " << failed << " entries";
  } else {
    io.out << "Deleted " << ok << " entries successfully, but failed to delete " << failed << " entries";
  }
  return Fail(io, "failed to delete one or more entries");
}

}  // namespace

int EntryDelete(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("entry delete");
  ServerFlags server;
  std::string entry_id, file;
  server.Register(fs);
  fs.String("entryID", &entry_id, "The Registration Entry ID of the record to delete.");
  fs.String("file", &file,
            "Path to a file containing a JSON structure for batch deletion (optional). If set to '-', read from "
            "stdin.");
  if (!server.Parse(fs, args, io)) return 1;
  if (file.empty() && entry_id.empty()) return Fail(io, "an entry ID is required");
  auto ids = DeleteIds(file, entry_id);
  if (!ids.ok()) return Fail(io, ids.status().message());
  entryv1::BatchDeleteEntryRequest req;
  for (const auto& id : *ids) req.add_ids(id);
  entryv1::BatchDeleteEntryResponse resp;
  grpc::ClientContext ctx;
  auto s = entryv1::Entry::NewStub(Dial(server.socket))->BatchDeleteEntry(&ctx, req, &resp);
  if (!s.ok()) return FailRpc(io, "", s);
  if (server.json()) {
    io.out << SpireJson(resp);
    return 0;
  }
  return PrintDeleteResults(resp, io);
}

}  // namespace spirecvm::cli
