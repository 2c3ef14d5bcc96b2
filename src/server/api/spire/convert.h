// Conversions between the DataStore's records and SPIRE's wire types (spire.api.types), and the pieces of
// SPIRE's API semantics that every service shares: SPIFFE IDs as {trust_domain, path}, output masks,
// per-item types.Status, selector matching. One place, so the entry, agent, bundle and SVID services agree.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/datastore/datastore.h"
#include "spiffe/spiffe_id.h"
#include "spire/api/types/agent.pb.h"
#include "spire/api/types/bundle.pb.h"
#include "spire/api/types/entry.pb.h"
#include "spire/api/types/federateswith.pb.h"
#include "spire/api/types/selector.pb.h"
#include "spire/api/types/spiffeid.pb.h"
#include "spire/api/types/status.pb.h"

namespace spirecvm::server::spireapi {

namespace sapi = ::spire::api::types;

// {trust_domain, path} -> a SPIFFE ID; every rule of the SPIFFE ID standard.
absl::StatusOr<spiffe::SpiffeId> IdFromProto(const sapi::SPIFFEID& id);
// A SPIFFE ID in `td` (any path, the reserved /spire namespace included): SPIRE's "trust domain member".
absl::StatusOr<spiffe::SpiffeId> MemberIdFromProto(const spiffe::TrustDomain& td, const sapi::SPIFFEID& id);
// A member of `td` whose path is /spire/agent/...: SPIRE's "trust domain agent ID".
absl::StatusOr<spiffe::SpiffeId> AgentIdFromProto(const spiffe::TrustDomain& td, const sapi::SPIFFEID& id);
// "spiffe://td/path" -> {td, path}; an unparsable string keeps the whole text in path (never happens for stored IDs).
void IdToProto(std::string_view uri, sapi::SPIFFEID* out);

// code + message; OK gives code 0 with message "OK", as SPIRE's api.OK().
void StatusToProto(const absl::Status& s, sapi::Status* out);

// SPIRE's authorization middleware's refusal of a caller its policy does not admit for a method:
// PermissionDenied "authorization denied for method /<service full name>/<method>".
absl::Status AuthorizationDenied(std::string_view service_full_name, std::string_view method);

std::vector<datastore::Selector> SelectorsFromProto(const google::protobuf::RepeatedPtrField<sapi::Selector>& in);
// Does an entry's (or agent's) selector set match `want` under SPIRE's match behaviour?
//   EXACT: the same set; SUBSET: have ⊆ want; SUPERSET: have ⊇ want; ANY: they share one.
bool SelectorsMatch(const std::vector<datastore::Selector>& have, const std::vector<datastore::Selector>& want,
                    sapi::SelectorMatch::MatchBehavior match);
// Selector match filter: non-empty, every selector type:value with both parts set.
absl::Status ValidateSelectorMatch(const sapi::SelectorMatch& m);
// An entry's federates_with against a by_federates_with filter, with the selector match behaviours; as SPIRE, an
// entry that federates with nothing never matches.
bool FederatesWithMatches(const std::vector<std::string>& have, const std::vector<std::string>& want,
                          sapi::FederatesWithMatch::MatchBehavior match);
// federates_with match filter: non-empty, every trust domain valid.
absl::Status ValidateFederatesWithMatch(const sapi::FederatesWithMatch& m);

// Entries. federates_with is kept as trust domain names (the wire accepts "td" or "spiffe://td", as SPIRE);
// store_svid is kept as a flag (it only matters to SVIDStore plugins on the agent). EntryFromProto does not
// validate IDs or selectors (ValidateEntry does).
void EntryToProto(const datastore::RegistrationEntry& e, sapi::Entry* out);
// The same for an entry whose parent is held apart (the entry cache's, server/entries/entry_cache.h).
void EntryToProto(const datastore::EntryBody& e, std::string_view parent_id, sapi::Entry* out);
absl::StatusOr<datastore::RegistrationEntry> EntryFromProto(const sapi::Entry& e);
// For an update: `base` with the fields `mask` selects taken from `e` (every field when mask is null).
absl::StatusOr<datastore::RegistrationEntry> MergeEntry(const datastore::RegistrationEntry& base, const sapi::Entry& e,
                                                        const sapi::EntryMask* mask);
// Clears the fields the mask does not select; a null mask keeps every field. The id is always kept.
void ApplyEntryMask(const sapi::EntryMask* mask, sapi::Entry* e);

// Agents: x509svid_* are the current certificate's serial and expiry.
void AgentToProto(const datastore::AttestedNode& n, sapi::Agent* out);
void ApplyAgentMask(const sapi::AgentMask* mask, sapi::Agent* a);

// Bundles: X.509 authorities as DER, JWT keys as PKIX DER; nothing is tainted here (no taint support yet).
void BundleToProto(const datastore::BundleRecord& b, sapi::Bundle* out);
// The wire bundle as a record: the trust domain by name; every X.509 authority must be one DER certificate and
// every JWT key have a key ID and a PKIX public key (SPIRE's checks). InvalidArgument names the bad one.
absl::StatusOr<datastore::BundleRecord> BundleFromProto(const sapi::Bundle& b);
// SPIRE's masks as the DataStore's: a null mask selects every field.
datastore::BundleMask BundleMaskFromProto(const sapi::BundleMask* mask);
void ApplyBundleMask(const sapi::BundleMask* mask, sapi::Bundle* b);

}  // namespace spirecvm::server::spireapi
