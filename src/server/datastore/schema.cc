#include "server/datastore/schema.h"

#include "absl/strings/str_replace.h"
#include "common/strings.h"

namespace spirecvm::datastore {

namespace {

// Version 1: the initial schema. Booleans are INTEGER 0/1; times are unix seconds (BIGINT).
constexpr std::string_view kV1 = R"sql(
CREATE TABLE registered_entries (
  id               TEXT PRIMARY KEY,
  spiffe_id        TEXT NOT NULL,
  parent_id        TEXT NOT NULL,
  selectors_hash   TEXT NOT NULL,
  selector_count   BIGINT NOT NULL,
  x509_svid_ttl    BIGINT NOT NULL DEFAULT 0,
  jwt_svid_ttl     BIGINT NOT NULL DEFAULT 0,
  dns_names        TEXT NOT NULL DEFAULT '[]',
  admin            INTEGER NOT NULL DEFAULT 0,
  downstream       INTEGER NOT NULL DEFAULT 0,
  hint             TEXT NOT NULL DEFAULT '',
  revision_number  BIGINT NOT NULL DEFAULT 0,
  created_at       BIGINT NOT NULL,
  expires_at       BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX registered_entries_identity ON registered_entries (spiffe_id, parent_id, selectors_hash);
CREATE INDEX registered_entries_parent_id ON registered_entries (parent_id);
CREATE INDEX registered_entries_spiffe_id ON registered_entries (spiffe_id);
CREATE INDEX registered_entries_selectors_hash ON registered_entries (selectors_hash);
CREATE INDEX registered_entries_expires_at ON registered_entries (expires_at);

CREATE TABLE selectors (
  entry_id  TEXT NOT NULL REFERENCES registered_entries (id) ON DELETE CASCADE,
  type      TEXT NOT NULL,
  value     TEXT NOT NULL,
  PRIMARY KEY (entry_id, type, value)
);
CREATE INDEX selectors_type_value ON selectors (type, value, entry_id);

CREATE TABLE registered_entries_events (
  id          {{AUTO_ID}},
  entry_id    TEXT NOT NULL,
  created_at  BIGINT NOT NULL
);
CREATE INDEX registered_entries_events_created_at ON registered_entries_events (created_at);

CREATE TABLE attested_nodes (
  spiffe_id           TEXT PRIMARY KEY,
  attestation_type    TEXT NOT NULL,
  cert_serial         TEXT NOT NULL DEFAULT '',
  cert_not_after      BIGINT NOT NULL DEFAULT 0,
  new_cert_serial     TEXT NOT NULL DEFAULT '',
  new_cert_not_after  BIGINT NOT NULL DEFAULT 0,
  banned              INTEGER NOT NULL DEFAULT 0,
  can_reattest        INTEGER NOT NULL DEFAULT 0,
  created_at          BIGINT NOT NULL
);

CREATE TABLE node_selectors (
  spiffe_id  TEXT NOT NULL REFERENCES attested_nodes (spiffe_id) ON DELETE CASCADE,
  type       TEXT NOT NULL,
  value      TEXT NOT NULL,
  PRIMARY KEY (spiffe_id, type, value)
);
CREATE INDEX node_selectors_type_value ON node_selectors (type, value);

CREATE TABLE attested_node_events (
  id          {{AUTO_ID}},
  spiffe_id   TEXT NOT NULL,
  created_at  BIGINT NOT NULL
);
CREATE INDEX attested_node_events_created_at ON attested_node_events (created_at);

CREATE TABLE join_tokens (
  token       TEXT PRIMARY KEY,
  expires_at  BIGINT NOT NULL
);
CREATE INDEX join_tokens_expires_at ON join_tokens (expires_at);

CREATE TABLE nonces (
  nonce       {{BYTES}} PRIMARY KEY,
  expires_at  BIGINT NOT NULL
);
CREATE INDEX nonces_expires_at ON nonces (expires_at);

CREATE TABLE bundles (
  trust_domain          TEXT PRIMARY KEY,
  sequence_number       BIGINT NOT NULL,
  refresh_hint_seconds  BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE bundle_x509_authorities (
  trust_domain  TEXT NOT NULL REFERENCES bundles (trust_domain) ON DELETE CASCADE,
  fingerprint   TEXT NOT NULL,
  position      BIGINT NOT NULL,
  der           {{BYTES}} NOT NULL,
  not_after     BIGINT NOT NULL,
  PRIMARY KEY (trust_domain, fingerprint)
);

CREATE TABLE bundle_jwt_keys (
  trust_domain    TEXT NOT NULL REFERENCES bundles (trust_domain) ON DELETE CASCADE,
  kid             TEXT NOT NULL,
  position        BIGINT NOT NULL,
  public_key_der  {{BYTES}} NOT NULL,
  expires_at      BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (trust_domain, kid)
);

CREATE TABLE ca_journals (
  server_id   TEXT PRIMARY KEY,
  data        {{BYTES}} NOT NULL,
  updated_at  BIGINT NOT NULL
);
)sql";

// Version 2: tainted bundle authorities (SPIRE's forced rotation: `localauthority ... taint`).
constexpr std::string_view kV2 = R"sql(
ALTER TABLE bundle_x509_authorities ADD COLUMN tainted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE bundle_jwt_keys ADD COLUMN tainted INTEGER NOT NULL DEFAULT 0;
)sql";

// Version 3: federation. An entry's federates_with as rows naming a stored bundle (a bundle cannot vanish under an
// entry: DeleteBundle deals with these rows first), and the entry's store_svid flag.
constexpr std::string_view kV3FederatedEntries = R"sql(
ALTER TABLE registered_entries ADD COLUMN store_svid INTEGER NOT NULL DEFAULT 0;

CREATE TABLE federated_registration_entries (
  entry_id      TEXT NOT NULL REFERENCES registered_entries (id) ON DELETE CASCADE,
  trust_domain  TEXT NOT NULL REFERENCES bundles (trust_domain),
  PRIMARY KEY (entry_id, trust_domain)
);
CREATE INDEX federated_registration_entries_trust_domain ON federated_registration_entries (trust_domain, entry_id);
)sql";

// Version 4: what admission compares (docs/security.md, findings 1, 2 and 4): the launch a node attested from (its
// SEV-SNP REPORT_ID) and when it last brought evidence.
constexpr std::string_view kV4NodeLaunch = R"sql(
ALTER TABLE attested_nodes ADD COLUMN launch_id TEXT NOT NULL DEFAULT '';
ALTER TABLE attested_nodes ADD COLUMN evidence_at BIGINT NOT NULL DEFAULT 0;
)sql";

// Version 5: federation relationships made through the trustdomain API (SPIRE's federated_trust_domains).
constexpr std::string_view kV5FederationRelationships = R"sql(
CREATE TABLE federated_trust_domains (
  trust_domain             TEXT PRIMARY KEY,
  bundle_endpoint_url      TEXT NOT NULL,
  bundle_endpoint_profile  TEXT NOT NULL,
  endpoint_spiffe_id       TEXT NOT NULL DEFAULT '',
  created_at               BIGINT NOT NULL,
  updated_at               BIGINT NOT NULL
);
)sql";

// Version 6: the attested facts of the node's last accepted evidence (DER, hex), carried in its SVIDs
// (docs/svid-evidence.md).
constexpr std::string_view kV6NodeFacts = R"sql(
ALTER TABLE attested_nodes ADD COLUMN facts TEXT NOT NULL DEFAULT '';
)sql";

// Version 7: no index of node selectors by (type, value). No query reads through it (a node's selectors are read by
// its SPIFFE ID, or all nodes' at once by ListAttestedNodes), and it cost every admission one scattered index page
// per selector: an aws_iid node has ~28, so up to ~28 more pages written and fsynced per attestation once the index
// outgrew them (docs/benchmarks.md, "Pages written per attestation").
constexpr std::string_view kV7NoNodeSelectorIndex = R"sql(
DROP INDEX IF EXISTS node_selectors_type_value;
)sql";

}  // namespace

const std::vector<std::string_view>& Migrations() {
  static const std::vector<std::string_view> kMigrations = {
      kV1, kV2, kV3FederatedEntries, kV4NodeLaunch, kV5FederationRelationships, kV6NodeFacts, kV7NoNodeSelectorIndex};
  return kMigrations;
}

int64_t CodeSchemaVersion() { return static_cast<int64_t>(Migrations().size()); }

std::string RenderSql(std::string_view sql, Dialect d) {
  switch (d) {
    case Dialect::kSqlite:
      // AUTOINCREMENT: ids are never reused, even after the newest rows are deleted.
      return absl::StrReplaceAll(ToAbsl(sql),
                                 {{"{{AUTO_ID}}", "INTEGER PRIMARY KEY AUTOINCREMENT"}, {"{{BYTES}}", "BLOB"}});
    case Dialect::kPostgres:
      return absl::StrReplaceAll(
          ToAbsl(sql), {{"{{AUTO_ID}}", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"}, {"{{BYTES}}", "BYTEA"}});
  }
  return std::string(sql);
}

}  // namespace spirecvm::datastore
