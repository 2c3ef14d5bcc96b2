// spire-server entry create|update|show|delete|count
#include <algorithm>

#include "absl/strings/numbers.h"
#include "cli/server/cli_common.h"

namespace spirecvm::cli {
namespace {

struct EntryFlags {
  std::string socket = kDefaultServerSocket;
  std::string entry_id, spiffe_id, parent_id, hint, output = "pretty";
  std::vector<std::string> selectors, dns;
  int64_t x509_ttl = 0, jwt_ttl = 0, entry_expiry = 0;
  bool admin = false, downstream = false, node = false;

  void Register(flags::FlagSet& fs, bool with_id) {
    fs.String("socketPath", &socket, "Path to the SPIRE Server API socket");
    if (with_id) fs.String("entryID", &entry_id, "The Registration Entry ID of the record to update");
    fs.String("spiffeID", &spiffe_id, "The SPIFFE ID that this record represents");
    fs.String("parentID", &parent_id, "The SPIFFE ID of this record's parent");
    fs.StringList("selector", &selectors, "A colon-delimited type:value selector. Can be used more than once");
    fs.Int("x509SVIDTTL", &x509_ttl,
           "The lifetime, in seconds, for x509-SVIDs issued based on this registration entry");
    fs.Int("jwtSVIDTTL", &jwt_ttl, "The lifetime, in seconds, for JWT-SVIDs issued based on this registration entry");
    fs.StringList("dns", &dns,
                  "A DNS name that will be included in SVIDs issued based on this entry. Can be used more than once");
    fs.Bool("admin", &admin,
            "If set, the SPIFFE ID in this entry will be granted access to the SPIRE Server's management APIs");
    fs.Bool("downstream", &downstream,
            "A boolean value that, when set, indicates that the entry describes a downstream SPIRE server");
    fs.Bool("node", &node, "If set, this entry will be applied to matching nodes rather than workloads");
    fs.String("hint", &hint, "The entry hint, used to disambiguate entries with the same SPIFFE ID");
    fs.Int("entryExpiry", &entry_expiry,
           "An expiry, from epoch in seconds, for the resulting registration entry to be pruned");
    fs.String("output", &output, "Desired output format (pretty, json)");
  }

  // Builds the entry; returns false with a message naming the flag.
  bool Build(types::Entry* e, Io io, const std::string& server_id) const {
    if (spiffe_id.empty()) {
      io.err << "Error: a SPIFFE ID is required (-spiffeID)\n";
      return false;
    }
    if (selectors.empty()) {
      io.err << "Error: at least one selector is required (-selector type:value)\n";
      return false;
    }
    if (node && !parent_id.empty()) {
      io.err << "Error: -node and -parentID are mutually exclusive\n";
      return false;
    }
    if (!node && parent_id.empty()) {
      io.err << "Error: a parent ID is required if the node flag is not set (-parentID)\n";
      return false;
    }
    if (x509_ttl < 0 || jwt_ttl < 0 || x509_ttl > INT32_MAX || jwt_ttl > INT32_MAX) {
      io.err << "Error: -x509SVIDTTL and -jwtSVIDTTL must be between 0 and 2147483647 seconds\n";
      return false;
    }
    e->set_id(entry_id);
    e->set_spiffe_id(spiffe_id);
    e->set_parent_id(node ? server_id : parent_id);
    for (auto& s : selectors) {
      auto sel = ParseSelector(s);
      if (!sel.ok()) {
        io.err << "Error: " << sel.status().message() << "\n";
        return false;
      }
      *e->add_selectors() = *std::move(sel);
    }
    e->set_x509_svid_ttl(static_cast<int32_t>(x509_ttl));
    e->set_jwt_svid_ttl(static_cast<int32_t>(jwt_ttl));
    for (auto& d : dns) e->add_dns_names(d);
    e->set_admin(admin);
    e->set_downstream(downstream);
    e->set_hint(hint);
    e->set_expires_at(entry_expiry);
    return true;
  }
};

// The server ID for -node entries: spiffe://<td>/spire/server, from the trust domain of the SPIFFE ID.
std::string ServerIdFor(const std::string& spiffe_id) {
  const std::string scheme = "spiffe://";
  if (spiffe_id.rfind(scheme, 0) != 0) return "";
  auto slash = spiffe_id.find('/', scheme.size());
  return spiffe_id.substr(0, slash) + "/spire/server";
}

void PrintEntry(const types::Entry& e, std::ostream& out) {
  out << "Entry ID         : " << e.id() << "\n";
  out << "SPIFFE ID        : " << e.spiffe_id() << "\n";
  out << "Parent ID        : " << e.parent_id() << "\n";
  out << "Revision         : " << e.revision_number() << "\n";
  if (e.downstream()) out << "Downstream       : true\n";
  out << "X509-SVID TTL    : " << (e.x509_svid_ttl() == 0 ? std::string("default") : std::to_string(e.x509_svid_ttl()))
      << "\n";
  out << "JWT-SVID TTL     : " << (e.jwt_svid_ttl() == 0 ? std::string("default") : std::to_string(e.jwt_svid_ttl()))
      << "\n";
  if (e.expires_at() != 0) out << "Expiration time  : " << FormatUnix(e.expires_at()) << "\n";
  for (auto& s : e.selectors()) out << "Selector         : " << s.type() << ":" << s.value() << "\n";
  for (auto& d : e.dns_names()) out << "DNS name         : " << d << "\n";
  if (e.admin()) out << "Admin            : true\n";
  if (!e.hint().empty()) out << "Hint             : " << e.hint() << "\n";
  out << "\n";
}

// entry create and entry update differ only in the call and in whether -entryID is required.
int WriteEntry(bool update, const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs(update ? "entry update" : "entry create");
  EntryFlags f;
  f.Register(fs, update);
  if (!update) fs.String("entryID", &f.entry_id, "A custom ID for this registration entry (optional)");
  if (!ParseFlags(fs, args, io) || !ValidOutputFormat(f.output, io)) return 1;
  if (update && f.entry_id.empty()) {
    io.err << "Error: -entryID is required\n";
    return 1;
  }
  types::Entry entry;
  if (!f.Build(&entry, io, ServerIdFor(f.spiffe_id))) return 1;
  admin::v1::EntryResult resp;
  grpc::ClientContext ctx;
  auto stub = AdminClient(f.socket);
  grpc::Status s;
  if (update) {
    admin::v1::UpdateEntryRequest req;
    *req.mutable_entry() = entry;
    s = stub->UpdateEntry(&ctx, req, &resp);
  } else {
    admin::v1::CreateEntryRequest req;
    *req.mutable_entry() = entry;
    s = stub->CreateEntry(&ctx, req, &resp);
  }
  if (!s.ok()) return CallFailed(s, io);
  if (f.output == "json") {
    io.out << ToJson(resp);
  } else {
    PrintEntry(resp.entry(), io.out);
  }
  return 0;
}

}  // namespace

int EntryCreate(const std::vector<std::string>& args, Io io) { return WriteEntry(false, args, io); }
int EntryUpdate(const std::vector<std::string>& args, Io io) { return WriteEntry(true, args, io); }

int EntryShow(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("entry show");
  std::string socket = kDefaultServerSocket, entry_id, spiffe_id, parent_id, match = "superset", output = "pretty";
  std::vector<std::string> selectors;
  fs.String("socketPath", &socket, "Path to the SPIRE Server API socket");
  fs.String("entryID", &entry_id, "The Entry ID of the records to show");
  fs.String("spiffeID", &spiffe_id, "The SPIFFE ID of the records to show");
  fs.String("parentID", &parent_id, "The Parent ID of the records to show");
  fs.StringList("selector", &selectors, "A colon-delimited type:value selector. Can be used more than once");
  fs.String("matchSelectorsOn", &match, "The match mode used when filtering by selectors (exact, superset)");
  fs.String("output", &output, "Desired output format (pretty, json)");
  if (!ParseFlags(fs, args, io) || !ValidOutputFormat(output, io)) return 1;
  auto client = AdminClient(socket);
  admin::v1::ListEntriesResponse list;
  if (!entry_id.empty()) {
    admin::v1::GetEntryRequest req;
    req.set_id(entry_id);
    grpc::ClientContext ctx;
    auto s = client->GetEntry(&ctx, req, list.add_entries());
    if (!s.ok()) return CallFailed(s, io);
  } else {
    if (match != "exact" && match != "superset") {
      io.err << "Error: -matchSelectorsOn must be exact or superset\n";
      return 1;
    }
    admin::v1::ListEntriesRequest req;
    req.set_by_spiffe_id(spiffe_id);
    req.set_by_parent_id(parent_id);
    for (auto& s : selectors) {
      auto sel = ParseSelector(s);
      if (!sel.ok()) {
        io.err << "Error: " << sel.status().message() << "\n";
        return 1;
      }
      *req.add_by_selectors() = *std::move(sel);
    }
    req.set_selectors_superset(match == "superset");
    grpc::ClientContext ctx;
    auto s = client->ListEntries(&ctx, req, &list);
    if (!s.ok()) return CallFailed(s, io);
  }
  if (output == "json") {
    io.out << ToJson(list);
    return 0;
  }
  int n = list.entries_size();
  io.out << "Found " << n << (n == 1 ? " entry" : " entries") << "\n";
  for (auto& e : list.entries()) PrintEntry(e, io.out);
  return 0;
}

int EntryDelete(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("entry delete");
  std::string socket = kDefaultServerSocket, entry_id;
  fs.String("socketPath", &socket, "Path to the SPIRE Server API socket");
  fs.String("entryID", &entry_id, "The Registration Entry ID of the record to delete");
  if (!ParseFlags(fs, args, io)) return 1;
  if (entry_id.empty()) {
    io.err << "Error: -entryID is required\n" << fs.Usage();
    return 1;
  }
  admin::v1::DeleteEntryRequest req;
  req.set_id(entry_id);
  admin::v1::DeleteEntryResponse resp;
  grpc::ClientContext ctx;
  auto s = AdminClient(socket)->DeleteEntry(&ctx, req, &resp);
  if (!s.ok()) return CallFailed(s, io);
  io.out << "Deleted entry with ID: " << entry_id << "\n";
  return 0;
}

int EntryCount(const std::vector<std::string>& args, Io io) {
  return CountCommand("entry count", args, io, &admin::v1::Admin::Stub::CountEntries, "registration entry",
                      "registration entries");
}

}  // namespace spirecvm::cli
