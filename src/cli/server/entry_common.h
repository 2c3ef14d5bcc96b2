// What the entry verbs share: SPIRE's pretty form of an entry, the -data JSON file, the list/count filter flags.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "cli/server/cli_common.h"
#include "spire/api/server/entry/v1/entry.grpc.pb.h"

namespace spirecvm::cli {

namespace entryv1 = ::spire::api::server::entry::v1;

// SPIRE's printEntry: "Entry ID         : ..." lines, then a blank line.
void PrintEntry(const stypes::Entry& e, std::ostream& out);

// SPIRE's -data file: {"entries": [{"spiffe_id": "spiffe://...", "parent_id": ..., "selectors": [{"type", "value"}],
// "x509_svid_ttl", "jwt_svid_ttl", "federates_with", "entry_id", "admin", "downstream", "entryExpiry", "dns_names",
// "revision_number", "store_svid", "hint", "created_at"}]}. Every reason names the entry and the field.
absl::StatusOr<std::vector<stypes::Entry>> ParseEntryData(std::string_view json);

// SPIRE's util.SortTypesEntries: each entry's selectors sorted, then entries by SPIFFE ID, parent ID, TTLs, selectors.
void SortEntries(google::protobuf::RepeatedPtrField<stypes::Entry>* entries);

// The filter flags `entry show` and `entry count` share.
struct EntryFilterFlags {
  std::string spiffe_id, parent_id, hint, match_selectors = "superset", match_federates = "superset";
  std::vector<std::string> selectors, federates_with;
  bool downstream = false;

  void Register(flags::FlagSet& fs, const char* verb);
  // Fills a ListEntriesRequest::Filter or CountEntriesRequest::Filter (same fields); the error is SPIRE's message.
  template <typename Filter>
  absl::Status Fill(Filter* f) const;
};

}  // namespace spirecvm::cli
