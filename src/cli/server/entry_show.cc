// spire-server entry show|count: SPIRE's entry.v1 GetEntry / ListEntries (every page) / CountEntries.
#include "absl/strings/str_cat.h"
#include "cli/server/entry_common.h"

namespace spirecvm::cli {
namespace {

constexpr int32_t kListPageSize = 500;  // SPIRE's CLI page size

absl::Status ListAll(entryv1::Entry::Stub& stub, const EntryFilterFlags& filter, entryv1::ListEntriesResponse* out) {
  entryv1::ListEntriesRequest req;
  if (auto st = filter.Fill(req.mutable_filter()); !st.ok()) return st;
  req.set_page_size(kListPageSize);
  do {
    entryv1::ListEntriesResponse page;
    grpc::ClientContext ctx;
    auto s = stub.ListEntries(&ctx, req, &page);
    if (!s.ok()) return absl::UnknownError(absl::StrCat("error fetching entries: ", RpcError(s)));
    for (auto& e : *page.mutable_entries()) *out->add_entries() = std::move(e);
    req.set_page_token(page.next_page_token());
  } while (!req.page_token().empty());
  return absl::OkStatus();
}

}  // namespace

int EntryShow(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("entry show");
  ServerFlags server;
  EntryFilterFlags filter;
  std::string entry_id;
  server.Register(fs);
  filter.Register(fs, "show");
  fs.String("entryID", &entry_id, "The Entry ID of the records to show");
  if (!server.Parse(fs, args, io)) return 1;
  if (!entry_id.empty() && (!filter.parent_id.empty() || !filter.spiffe_id.empty() || !filter.selectors.empty())) {
    return Fail(io, "the -entryID flag can't be combined with others");
  }
  auto stub = entryv1::Entry::NewStub(Dial(server.socket));
  entryv1::ListEntriesResponse list;
  if (!entry_id.empty()) {
    entryv1::GetEntryRequest req;
    req.set_id(entry_id);
    grpc::ClientContext ctx;
    auto s = stub->GetEntry(&ctx, req, list.add_entries());
    if (!s.ok()) return FailRpc(io, absl::StrCat("error fetching entry ID ", entry_id), s);
  } else if (auto st = ListAll(*stub, filter, &list); !st.ok()) {
    return Fail(io, st.message());
  }
  SortEntries(list.mutable_entries());
  if (server.json()) {
    io.out << SpireJson(list);
    return 0;
  }
  const int n = list.entries_size();
  io.out << "Found " << n << (n == 1 ? " entry" : " entries") << "\n";
  for (const auto& e : list.entries()) PrintEntry(e, io.out);
  return 0;
}

int EntryCount(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("entry count");
  ServerFlags server;
  EntryFilterFlags filter;
  server.Register(fs);
  filter.Register(fs, "count");
  if (!server.Parse(fs, args, io)) return 1;
  entryv1::CountEntriesRequest req;
  if (auto st = filter.Fill(req.mutable_filter()); !st.ok()) return Fail(io, st.message());
  entryv1::CountEntriesResponse resp;
  grpc::ClientContext ctx;
  auto s = entryv1::Entry::NewStub(Dial(server.socket))->CountEntries(&ctx, req, &resp);
  if (!s.ok()) return FailRpc(io, "", s);
  if (server.json()) {
    io.out << SpireJson(resp);
    return 0;
  }
  io.out << resp.count() << " registration " << (resp.count() == 1 ? "entry" : "entries") << "\n";
  return 0;
}

}  // namespace spirecvm::cli
