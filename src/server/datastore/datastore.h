// The server's DataStore: registration entries, attested nodes, join tokens, nonces, trust bundles and the
// CA journal. One interface, one conformance suite (datastore_conformance.h), two backends sharing the schema and
// the SQL in sql_datastore.cc: SQLite (sqlite_datastore.h) and PostgreSQL (postgres_datastore.h). See
// docs/datastore.md.
//
// All methods are thread-safe. Every write runs in one transaction and is durable when the method returns OK.
// Errors: NotFound (absent), AlreadyExists (duplicate), InvalidArgument (bad input), FailedPrecondition (expired
// token/nonce, schema too new, pruning every authority), Internal/Unavailable (database trouble).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace spirecvm::datastore {

struct Selector {
  std::string type;
  std::string value;
  friend auto operator<=>(const Selector&, const Selector&) = default;
};

// A registration entry apart from its parent: the part the entry cache keeps per entry (it shares one parent ID
// string among the entries of a parent, src/server/entries/entry_cache.h). Fields ordered to pack (208 bytes with
// libstdc++).
struct EntryBody {
  std::string id;  // server-assigned UUIDv4 if empty on create
  std::string spiffe_id;
  std::vector<Selector> selectors;     // at least one; stored (and returned) sorted & de-duplicated
  std::vector<std::string> dns_names;  // order preserved
  // Trust domain names (no scheme) whose bundles the entry's workloads also get; each must have a stored bundle.
  // Stored (and returned) sorted & de-duplicated.
  std::vector<std::string> federates_with;
  std::string hint;
  int32_t x509_svid_ttl = 0;
  int32_t jwt_svid_ttl = 0;
  bool admin = false;
  bool downstream = false;
  bool store_svid = false;      // kept for SVIDStore plugins on the agent; the server only stores it
  int64_t revision_number = 0;  // 0 on create, bumped on every update (input value ignored)
  int64_t created_at = 0;       // unix seconds; set from the clock on create (input value ignored)
  int64_t expires_at = 0;       // 0 = never
};

struct RegistrationEntry : EntryBody {
  std::string parent_id;
};

struct AttestedNode {
  std::string spiffe_id;
  std::string attestation_type;
  std::string cert_serial;
  int64_t cert_not_after = 0;
  std::string new_cert_serial;
  int64_t new_cert_not_after = 0;
  bool banned = false;
  bool can_reattest = false;
  int64_t created_at = 0;           // 0 on create/upsert: set from the clock
  std::vector<Selector> selectors;  // node selectors, sorted & de-duplicated
  // What ties re-attestation to one run of the node, chosen by its attestor (SEV-SNP: the REPORT_ID, hex); empty
  // when the evidence names no launch. AdmitAttestedNode lets a node attest again only with the same launch_id.
  std::string launch_id;
  int64_t evidence_at = 0;  // unix seconds of the node's last attestation evidence; 0 on admission: set from the clock
  // The attested facts of that evidence (src/cvm/node_facts.h, DER), which the node's SVIDs carry; empty when its
  // attestor derives none (e.g. join_token). Replaced with the evidence at every admission.
  std::string facts{};
};

// The serial fields of an attested node, as read and as written by UpdateAttestedNodeSerials.
struct NodeSerials {
  std::string cert_serial;
  int64_t cert_not_after = 0;
  std::string new_cert_serial;
  int64_t new_cert_not_after = 0;
};

struct JoinToken {
  std::string token;
  int64_t expires_at = 0;  // expired when now >= expires_at
};

struct JwtKeyRecord {
  std::string kid;
  std::string public_key_der;  // SubjectPublicKeyInfo DER
  int64_t expires_at = 0;      // 0 = never (never pruned)
  bool tainted = false;        // set only by TaintJwtKey (AppendBundle ignores it)
};

struct BundleRecord {
  std::string trust_domain;
  // DER certificates, in the order first appended. The store parses each one (OpenSSL) to record its notAfter
  // for PruneBundle; a non-certificate is rejected with InvalidArgument.
  std::vector<std::string> x509_authorities_der;
  std::vector<JwtKeyRecord> jwt_keys;  // in the order first appended; unique by kid
  uint64_t sequence_number = 0;
  int64_t refresh_hint_seconds = 0;
  // The members of x509_authorities_der marked tainted (set only by TaintX509Authority; AppendBundle ignores it).
  std::vector<std::string> tainted_x509_der{};
};

// A federation relationship made through the trustdomain API (the configured ones live in the server config).
struct FederationRelationshipRecord {
  std::string trust_domain{};  // name, no scheme
  std::string bundle_endpoint_url{};
  std::string profile{};             // "https_spiffe" or "https_web"
  std::string endpoint_spiffe_id{};  // https_spiffe only
  friend bool operator==(const FederationRelationshipRecord&, const FederationRelationshipRecord&) = default;
};

// Which fields UpdateBundle replaces.
struct BundleMask {
  bool x509_authorities = true;
  bool jwt_keys = true;
  bool refresh_hint = true;
  bool sequence_number = true;
};

// What DeleteBundle does with the entries that federate with the bundle's trust domain.
enum class DeleteBundleMode {
  kRestrict,    // refuse (FailedPrecondition) while any entry federates with it
  kDissociate,  // drop the trust domain from those entries' federates_with (each revision + 1, with an EntryEvent)
  kDelete,      // delete those entries (each with an EntryEvent)
};

struct EntryEvent {
  int64_t event_id = 0;
  std::string entry_id;
};
// How long the server keeps entry and node events (the background loop prunes older ones): a cache that follows
// them may miss none as long as it refreshes at least this often.
inline constexpr absl::Duration kEventRetention = absl::Hours(1);

struct NodeEvent {
  int64_t event_id = 0;
  std::string spiffe_id;
};

// All set fields must match (AND). Results are sorted by entry id.
struct ListEntriesFilter {
  std::optional<std::string> by_spiffe_id;
  std::optional<std::string> by_parent_id;
  std::optional<std::vector<Selector>> by_selectors_exact;     // entry selector set == these (as a set)
  std::optional<std::vector<Selector>> by_selectors_superset;  // entry selectors contain all of these
};

class DataStore {
 public:
  virtual ~DataStore() = default;

  // ---- Registration entries ----
  // Create rejects a duplicate (same spiffe_id, parent_id and selector set) or a taken id with AlreadyExists; an
  // entry without spiffe_id, parent_id or selectors with InvalidArgument; federates_with naming a trust domain
  // without a stored bundle with FailedPrecondition (`unable to find federated bundle "spiffe://td"`, as SPIRE).
  // Every write appends an EntryEvent in the same transaction.
  virtual absl::StatusOr<RegistrationEntry> CreateEntry(const RegistrationEntry& e) = 0;
  // Replaces every field but id and created_at; revision_number = stored + 1. NotFound if absent; AlreadyExists if
  // the update would duplicate another entry.
  virtual absl::StatusOr<RegistrationEntry> UpdateEntry(const RegistrationEntry& e) = 0;
  virtual absl::Status DeleteEntry(std::string_view id) = 0;                      // NotFound if absent
  virtual absl::StatusOr<RegistrationEntry> FetchEntry(std::string_view id) = 0;  // NotFound
  // The entries among `ids` that exist (missing ids are skipped, not an error), sorted by id.
  virtual absl::StatusOr<std::vector<RegistrationEntry>> FetchEntries(const std::vector<std::string>& ids) = 0;
  virtual absl::StatusOr<std::vector<RegistrationEntry>> ListEntries(const ListEntriesFilter& f) = 0;
  virtual absl::StatusOr<int64_t> CountEntries() = 0;
  // Entries whose every selector is in `selectors` (the node-alias / workload match). Indexed: cost is
  // proportional to the selector rows that match, never a full scan. Sorted by id.
  virtual absl::StatusOr<std::vector<RegistrationEntry>> ListEntriesMatchingSelectorSubset(
      const std::vector<Selector>& selectors) = 0;
  // Entries whose parent_id is any of `parent_ids`; indexed. Sorted by id.
  virtual absl::StatusOr<std::vector<RegistrationEntry>> ListEntriesByParentIds(
      const std::vector<std::string>& parent_ids) = 0;
  // Deletes entries with 0 < expires_at < expired_before_unix (each with an EntryEvent); returns how many.
  virtual absl::StatusOr<int64_t> PruneEntries(int64_t expired_before_unix) = 0;

  // ---- Events, for incremental caches ----
  // Events with event_id > after, ascending. Ids are strictly increasing and never reused.
  virtual absl::StatusOr<std::vector<EntryEvent>> ListEntryEventsSince(int64_t after) = 0;
  virtual absl::StatusOr<std::vector<NodeEvent>> ListNodeEventsSince(int64_t after) = 0;
  // The highest event id ever issued (0 if none). A cache reads this BEFORE its full load, then polls
  // ListXxxEventsSince(latest).
  virtual absl::StatusOr<int64_t> LatestEntryEventId() = 0;
  virtual absl::StatusOr<int64_t> LatestNodeEventId() = 0;
  // Deletes events of both kinds created before older_than_unix (the server passes now - kEventRetention); the newest
  // event of each kind is always kept so Latest*EventId never goes backwards.
  virtual absl::Status PruneEvents(int64_t older_than_unix) = 0;

  // ---- Attested nodes (each write appends a NodeEvent) ----
  virtual absl::Status CreateAttestedNode(const AttestedNode& n) = 0;  // + selectors atomically; AlreadyExists
  // An authorization-critical read: always on the primary, never on a (lagging) read replica. NotFound.
  virtual absl::StatusOr<AttestedNode> FetchAttestedNode(std::string_view spiffe_id) = 0;
  // Compare-and-swap of the serials: writes `next` only if the node is not banned and its stored cert_serial and
  // new_cert_serial still equal `expected`'s (the *_not_after of `expected` are not compared). NotFound if absent;
  // FailedPrecondition (nothing written) if banned or the serials changed since they were read.
  virtual absl::Status UpdateAttestedNodeSerials(std::string_view spiffe_id, const NodeSerials& expected,
                                                 const NodeSerials& next) = 0;
  // Replaces the node's selectors. NotFound if the node is not attested.
  virtual absl::Status SetNodeSelectors(std::string_view spiffe_id, const std::vector<Selector>& selectors) = 0;
  virtual absl::Status BanAttestedNode(std::string_view spiffe_id) = 0;       // banned=true, serials cleared; NotFound
  virtual absl::Status DeleteAttestedNode(std::string_view spiffe_id) = 0;    // evict: node + its selectors; NotFound
  virtual absl::StatusOr<std::vector<AttestedNode>> ListAttestedNodes() = 0;  // sorted by spiffe_id
  virtual absl::StatusOr<int64_t> CountAttestedNodes() = 0;
  // Atomically creates a node or replaces every field of an existing one, banned included, with its selectors.
  // For imports and tests: attestation uses AdmitAttestedNode, which never writes `banned`.
  virtual absl::Status UpsertAttestedNode(const AttestedNode& n) = 0;
  // Admission after a successful attestation, as ONE conditional write: inserts the node (not banned) if absent;
  // otherwise re-attestation replaces its type, serials (new_cert_* cleared), can_reattest, evidence_at and
  // selectors only if the stored node is not banned, `n` has can_reattest (its attestor allows it now), and both
  // have the same launch_id (a node admitted without a launch never re-attests with one, and the reverse).
  // `banned`, created_at and launch_id of a stored node are never written. FailedPrecondition (nothing written)
  // naming the reason otherwise: banned, not re-attestable, or another launch.
  virtual absl::Status AdmitAttestedNode(const AttestedNode& n) = 0;
  // Join-token attestation's admission: consumes `token` and admits `n` in ONE transaction, so the token is spent
  // only by the node it admits and a node is admitted only with an unspent, unexpired token. NotFound (nothing
  // written) if the token is unknown or already used; FailedPrecondition "join token expired" if now_unix >= its
  // expiry (nothing written: the token is left to PruneJoinTokens); otherwise AdmitAttestedNode's results.
  virtual absl::Status AdmitAttestedNodeWithJoinToken(const AttestedNode& n, std::string_view token,
                                                      int64_t now_unix) = 0;

  // ---- Join tokens: single use ----
  virtual absl::Status CreateJoinToken(const JoinToken& t) = 0;  // AlreadyExists; InvalidArgument if empty
  // Deletes and returns the token. NotFound if unknown or already used; an expired token (now >= expires_at) is
  // deleted too and FailedPrecondition "join token expired" returned.
  virtual absl::StatusOr<JoinToken> ConsumeJoinToken(std::string_view token, int64_t now_unix) = 0;
  virtual absl::Status PruneJoinTokens(int64_t now_unix) = 0;  // deletes tokens with expires_at <= now

  // ---- Single-use nonces across servers (SEV-SNP challenges); nonces are arbitrary bytes ----
  virtual absl::Status InsertNonce(std::string_view nonce, int64_t expires_at) = 0;  // AlreadyExists
  // Deletes the nonce. NotFound if absent; FailedPrecondition if expired (now >= expires_at; deleted too).
  virtual absl::Status ConsumeNonce(std::string_view nonce, int64_t now_unix) = 0;
  virtual absl::Status PruneNonces(int64_t now_unix) = 0;  // deletes nonces with expires_at <= now

  // ---- Trust bundles ----
  virtual absl::StatusOr<BundleRecord> FetchBundle(std::string_view trust_domain) = 0;  // NotFound
  // Creates the bundle (sequence_number = max(1, given)) or merges: new X.509 authorities (dedupe by DER) and JWT
  // keys (dedupe by kid; the same kid with different key material is AlreadyExists) are appended, a non-zero
  // refresh_hint_seconds replaces the stored one; sequence_number + 1 when anything changed. Returns the result.
  virtual absl::StatusOr<BundleRecord> AppendBundle(const BundleRecord& b) = 0;
  // Drops X.509 authorities whose notAfter < expired_before_unix and JWT keys with 0 < expires_at <
  // expired_before_unix; sequence_number + 1 when anything changed. NotFound if no bundle; FailedPrecondition
  // (nothing changed) if every X.509 authority would be dropped.
  virtual absl::StatusOr<BundleRecord> PruneBundle(std::string_view trust_domain, int64_t expired_before_unix) = 0;
  // SPIRE's forced rotation. An X.509 authority is named by its subject key id (lowercase hex), a JWT key by its
  // kid. Taint marks it tainted, Revoke removes a tainted one; sequence_number + 1 on success. NotFound when no
  // bundle or no such authority; InvalidArgument when tainting a tainted one or revoking an untainted one.
  virtual absl::Status TaintX509Authority(std::string_view trust_domain, std::string_view subject_key_id) = 0;
  virtual absl::Status RevokeX509Authority(std::string_view trust_domain, std::string_view subject_key_id) = 0;
  virtual absl::Status TaintJwtKey(std::string_view trust_domain, std::string_view kid) = 0;
  virtual absl::Status RevokeJwtKey(std::string_view trust_domain, std::string_view kid) = 0;

  // ---- Bundles of any trust domain (ours and federated ones) ----
  virtual absl::StatusOr<std::vector<BundleRecord>> ListBundles() = 0;  // sorted by trust domain
  virtual absl::StatusOr<int64_t> CountBundles() = 0;
  // Stores a new bundle exactly as given (sequence_number included). AlreadyExists if the trust domain has one;
  // InvalidArgument for a bad authority (as AppendBundle).
  virtual absl::StatusOr<BundleRecord> CreateBundle(const BundleRecord& b) = 0;
  // Replaces the fields `mask` selects of a stored bundle with b's. NotFound if none is stored.
  virtual absl::StatusOr<BundleRecord> UpdateBundle(const BundleRecord& b, const BundleMask& mask) = 0;
  // CreateBundle, or every field replaced when the trust domain already has a bundle.
  virtual absl::StatusOr<BundleRecord> SetBundle(const BundleRecord& b) = 0;
  // Deletes a bundle; `mode` says what happens to the entries federating with it. NotFound if none is stored.
  virtual absl::Status DeleteBundle(std::string_view trust_domain, DeleteBundleMode mode) = 0;

  // ---- Federation relationships (trustdomain API) ----
  // AlreadyExists when the trust domain has one; InvalidArgument when trust_domain is empty.
  virtual absl::Status CreateFederationRelationship(const FederationRelationshipRecord& r) = 0;
  virtual absl::StatusOr<FederationRelationshipRecord> FetchFederationRelationship(std::string_view td) = 0;
  virtual absl::StatusOr<std::vector<FederationRelationshipRecord>> ListFederationRelationships() = 0;  // by td
  // Replaces the URL and/or the profile (with its endpoint SPIFFE ID). NotFound if none is stored.
  virtual absl::StatusOr<FederationRelationshipRecord> UpdateFederationRelationship(
      const FederationRelationshipRecord& r, bool url, bool profile) = 0;
  virtual absl::Status DeleteFederationRelationship(std::string_view td) = 0;  // NotFound

  // ---- CA journal: one opaque blob per server instance id ----
  virtual absl::Status SetCaJournal(std::string_view server_id, std::string_view blob) = 0;
  virtual absl::StatusOr<std::string> FetchCaJournal(std::string_view server_id) = 0;  // NotFound
};

}  // namespace spirecvm::datastore
