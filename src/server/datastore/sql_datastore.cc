#include "server/datastore/sql_datastore.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/encoding.h"
#include "common/random.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/uuid.h"
#include "crypto/ssl_ptr.h"
#include "crypto/x509.h"
#include "nlohmann/json.hpp"
#include "server/datastore/schema.h"

namespace spirecvm::datastore {

// ---------------------------------------------------------------------------------------------------------------
// Migrations

absl::StatusOr<int64_t> MigrateSchema(SqlConn& conn) {
  RETURN_IF_ERROR(conn.Begin(/*write=*/true));
  auto run = [&]() -> absl::StatusOr<int64_t> {
    RETURN_IF_ERROR(conn.ExecScript(kSchemaVersionDdl));
    ASSIGN_OR_RETURN(auto rows, conn.Query("SELECT version FROM schema_version WHERE id = 1", {}));
    const int64_t current = rows.empty() ? 0 : AsInt(rows[0][0]);
    const int64_t code = CodeSchemaVersion();
    if (current > code) {
      return absl::FailedPreconditionError(absl::StrCat(
          "datastore schema version ", current, " is newer than this build supports (", code,
          "): the database was written by a newer spire-cvm; upgrade the server or restore a matching backup"));
    }
    if (current < 0) return absl::DataLossError(absl::StrCat("datastore schema version ", current, " is invalid"));
    for (int64_t v = current; v < code; ++v) {
      RETURN_IF_ERROR(Annotate(conn.ExecScript(RenderSql(Migrations()[static_cast<size_t>(v)], conn.dialect())),
                               absl::StrCat("datastore migration to schema version ", v + 1, " failed")));
    }
    if (current != code) {
      RETURN_IF_ERROR(conn.Exec("INSERT INTO schema_version (id, version) VALUES (1, ?) "
                                "ON CONFLICT (id) DO UPDATE SET version = excluded.version",
                                {code})
                          .status());
    }
    return code;
  };
  auto r = run();
  if (!r.ok()) {
    conn.Rollback();
    return r;
  }
  if (auto s = conn.Commit(); !s.ok()) {
    conn.Rollback();
    return s;
  }
  return r;
}

namespace {

// ---------------------------------------------------------------------------------------------------------------
// Helpers

absl::Status StatusOf(const absl::Status& s) { return s; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& s) {
  return s.status();
}

std::vector<Selector> Normalize(std::vector<Selector> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) std::abort();
  return HexEncode(std::string_view(reinterpret_cast<const char*>(md), len));
}

// SHA-256 over an unambiguous (length-prefixed) encoding of a normalised selector set: the duplicate-detection and
// exact-match key. Fixed length, so it indexes well on every database.
std::string SelectorsHash(const std::vector<Selector>& sorted) {
  std::string enc;
  for (const auto& s : sorted) absl::StrAppend(&enc, s.type.size(), ":", s.type, s.value.size(), ":", s.value);
  return Sha256Hex(enc);
}

absl::Status ValidateSelectors(const std::vector<Selector>& sels, std::string_view what) {
  for (const auto& s : sels) {
    if (s.type.empty()) return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": selector type is empty"));
    if (s.value.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": selector \"", s.type, "\" has an empty value"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateEntry(const RegistrationEntry& e) {
  if (e.spiffe_id.empty()) return absl::InvalidArgumentError("registration entry: spiffe_id is empty");
  if (e.parent_id.empty()) return absl::InvalidArgumentError("registration entry: parent_id is empty");
  if (e.selectors.empty()) return absl::InvalidArgumentError("registration entry: needs at least one selector");
  if (e.x509_svid_ttl < 0) return absl::InvalidArgumentError("registration entry: x509_svid_ttl is negative");
  if (e.jwt_svid_ttl < 0) return absl::InvalidArgumentError("registration entry: jwt_svid_ttl is negative");
  for (const auto& td : e.federates_with) {
    if (td.empty()) return absl::InvalidArgumentError("registration entry: federates_with has an empty trust domain");
  }
  return ValidateSelectors(e.selectors, "registration entry");
}

absl::StatusOr<std::string> EncodeDnsNames(const std::vector<std::string>& names) {
  try {
    return nlohmann::json(names).dump();
  } catch (const std::exception& ex) {
    return absl::InvalidArgumentError(absl::StrCat("registration entry: dns_names: ", ex.what()));
  }
}

std::vector<std::string> DecodeDnsNames(const std::string& s) {
  std::vector<std::string> out;
  auto j = nlohmann::json::parse(s, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return out;
  for (const auto& v : j) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

// Columns 0..12 are the entry, 13..14 one selector. Queries add WHERE and "ORDER BY e.id".
constexpr const char* kEntrySelect =
    "SELECT e.id, e.spiffe_id, e.parent_id, e.x509_svid_ttl, e.jwt_svid_ttl, e.dns_names, e.admin, e.downstream,"
    " e.hint, e.revision_number, e.created_at, e.expires_at, e.store_svid, s.type, s.value"
    " FROM registered_entries e JOIN selectors s ON s.entry_id = e.id ";

// Runs a kEntrySelect query (entries joined with their selectors, ordered by entry id) and appends its entries to
// `out`, a row at a time: each row either begins an entry or adds a selector to the one the previous row began.
absl::Status QueryEntries(SqlConn& c, std::string_view sql, const SqlParams& params,
                          std::vector<RegistrationEntry>& out) {
  const size_t first = out.size();
  return c.QueryEach(sql, params, [&](SqlRow& r) {
    const auto* id = std::get_if<std::string>(&r[0]);
    if (out.size() == first || id == nullptr || out.back().id != *id) {
      RegistrationEntry e;
      e.id = AsStr(r[0]);
      e.spiffe_id = AsStr(r[1]);
      e.parent_id = AsStr(r[2]);
      e.x509_svid_ttl = static_cast<int32_t>(AsInt(r[3]));
      e.jwt_svid_ttl = static_cast<int32_t>(AsInt(r[4]));
      e.dns_names = DecodeDnsNames(AsStr(r[5]));
      e.admin = AsInt(r[6]) != 0;
      e.downstream = AsInt(r[7]) != 0;
      e.hint = AsStr(r[8]);
      e.revision_number = AsInt(r[9]);
      e.created_at = AsInt(r[10]);
      e.expires_at = AsInt(r[11]);
      e.store_svid = AsInt(r[12]) != 0;
      out.push_back(std::move(e));
    }
    out.back().selectors.push_back(Selector{AsStr(r[13]), AsStr(r[14])});
  });
}

void Finish(std::vector<RegistrationEntry>& v) {
  for (auto& e : v) e.selectors = Normalize(std::move(e.selectors));
  std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  v.erase(std::unique(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.id == b.id; }), v.end());
}

std::vector<std::string> NormalizeNames(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

bool ContainsAll(const std::vector<Selector>& sorted_have, const std::vector<Selector>& sorted_want) {
  return std::includes(sorted_have.begin(), sorted_have.end(), sorted_want.begin(), sorted_want.end());
}

bool MatchesFilter(const RegistrationEntry& e, const ListEntriesFilter& f) {
  if (f.by_spiffe_id && e.spiffe_id != *f.by_spiffe_id) return false;
  if (f.by_parent_id && e.parent_id != *f.by_parent_id) return false;
  if (f.by_selectors_exact && e.selectors != Normalize(*f.by_selectors_exact)) return false;
  if (f.by_selectors_superset && !ContainsAll(e.selectors, Normalize(*f.by_selectors_superset))) return false;
  return true;
}

struct ParsedAuthority {
  std::string der;
  std::string fingerprint;
  int64_t not_after = 0;
};

absl::StatusOr<ParsedAuthority> ParseAuthority(const std::string& der, std::string_view td, size_t index) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ssl::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("bundle ", ToAbsl(td), ": X.509 authority #", index, " is not a single DER certificate"));
  }
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &tm) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("bundle ", ToAbsl(td), ": X.509 authority #", index, " has an unreadable notAfter"));
  }
  return ParsedAuthority{der, Sha256Hex(der), static_cast<int64_t>(timegm(&tm))};
}

// The subject key id (lowercase hex, as SPIRE names X.509 authorities) of a stored authority; empty when the DER
// does not parse or has no subject key identifier.
std::string SubjectKeyIdOfDer(const std::string& der) {
  auto cert = crypto::ParseCertDer(der);
  return cert.ok() ? crypto::SubjectKeyIdHex(cert->get()) : "";
}

// ---------------------------------------------------------------------------------------------------------------

class SqlDataStore final : public DataStore {
 public:
  SqlDataStore(std::unique_ptr<SqlTxRunner> runner, Clock& clock, Random& random)
      : runner_(std::move(runner)), clock_(clock), random_(random) {}

  // ---- Entries ----

  absl::StatusOr<RegistrationEntry> CreateEntry(const RegistrationEntry& in) override {
    RETURN_IF_ERROR(ValidateEntry(in));
    RegistrationEntry e = in;
    e.selectors = Normalize(std::move(e.selectors));
    e.federates_with = NormalizeNames(std::move(e.federates_with));
    if (e.id.empty()) e.id = NewUuidV4(random_);
    e.revision_number = 0;
    e.created_at = Now();
    ASSIGN_OR_RETURN(std::string dns, EncodeDnsNames(e.dns_names));
    const std::string hash = SelectorsHash(e.selectors);
    return Tx(true, [&](SqlConn& c) -> absl::StatusOr<RegistrationEntry> {
      ASSIGN_OR_RETURN(auto taken, c.Query("SELECT 1 FROM registered_entries WHERE id = ?", {e.id}));
      if (!taken.empty()) {
        return absl::AlreadyExistsError(absl::StrCat("registration entry id ", e.id, " already exists"));
      }
      RETURN_IF_ERROR(CheckDuplicate(c, e, hash, ""));
      RETURN_IF_ERROR(
          c.Exec("INSERT INTO registered_entries (id, spiffe_id, parent_id, selectors_hash,"
                 " selector_count, x509_svid_ttl, jwt_svid_ttl, dns_names, admin, downstream,"
                 " hint, revision_number, created_at, expires_at, store_svid)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 {e.id, e.spiffe_id, e.parent_id, hash, static_cast<int64_t>(e.selectors.size()),
                  int64_t{e.x509_svid_ttl}, int64_t{e.jwt_svid_ttl}, dns, int64_t{e.admin}, int64_t{e.downstream},
                  e.hint, e.revision_number, e.created_at, e.expires_at, int64_t{e.store_svid}})
              .status());
      RETURN_IF_ERROR(InsertEntrySelectors(c, e.id, e.selectors));
      RETURN_IF_ERROR(ReplaceFederatesWith(c, e.id, e.federates_with));
      RETURN_IF_ERROR(AppendEntryEvent(c, e.id));
      return e;
    });
  }

  absl::StatusOr<RegistrationEntry> UpdateEntry(const RegistrationEntry& in) override {
    if (in.id.empty()) return absl::InvalidArgumentError("registration entry update: id is empty");
    RETURN_IF_ERROR(ValidateEntry(in));
    RegistrationEntry e = in;
    e.selectors = Normalize(std::move(e.selectors));
    e.federates_with = NormalizeNames(std::move(e.federates_with));
    ASSIGN_OR_RETURN(std::string dns, EncodeDnsNames(e.dns_names));
    const std::string hash = SelectorsHash(e.selectors);
    return Tx(true, [&](SqlConn& c) -> absl::StatusOr<RegistrationEntry> {
      ASSIGN_OR_RETURN(auto rows, c.Query("SELECT revision_number, created_at FROM registered_entries"
                                          " WHERE id = ?",
                                          {e.id}));
      if (rows.empty()) return absl::NotFoundError(absl::StrCat("registration entry ", e.id, " not found"));
      e.revision_number = AsInt(rows[0][0]) + 1;
      e.created_at = AsInt(rows[0][1]);
      RETURN_IF_ERROR(CheckDuplicate(c, e, hash, e.id));
      RETURN_IF_ERROR(
          c.Exec("UPDATE registered_entries SET spiffe_id = ?, parent_id = ?, selectors_hash = ?,"
                 " selector_count = ?, x509_svid_ttl = ?, jwt_svid_ttl = ?, dns_names = ?,"
                 " admin = ?, downstream = ?, hint = ?, revision_number = ?, expires_at = ?,"
                 " store_svid = ? WHERE id = ?",
                 {e.spiffe_id, e.parent_id, hash, static_cast<int64_t>(e.selectors.size()), int64_t{e.x509_svid_ttl},
                  int64_t{e.jwt_svid_ttl}, dns, int64_t{e.admin}, int64_t{e.downstream}, e.hint, e.revision_number,
                  e.expires_at, int64_t{e.store_svid}, e.id})
              .status());
      RETURN_IF_ERROR(c.Exec("DELETE FROM selectors WHERE entry_id = ?", {e.id}).status());
      RETURN_IF_ERROR(InsertEntrySelectors(c, e.id, e.selectors));
      RETURN_IF_ERROR(ReplaceFederatesWith(c, e.id, e.federates_with));
      RETURN_IF_ERROR(AppendEntryEvent(c, e.id));
      return e;
    });
  }

  absl::Status DeleteEntry(std::string_view id) override {
    return Tx(true, [&](SqlConn& c) -> absl::Status { return DeleteEntryLocked(c, std::string(id)); });
  }

  absl::StatusOr<RegistrationEntry> FetchEntry(std::string_view id) override {
    return Tx(false, [&](SqlConn& c) -> absl::StatusOr<RegistrationEntry> {
      std::vector<RegistrationEntry> out;
      RETURN_IF_ERROR(LoadEntry(c, std::string(id), out));
      if (out.empty()) return absl::NotFoundError(absl::StrCat("registration entry ", ToAbsl(id), " not found"));
      RETURN_IF_ERROR(Complete(c, out));
      return std::move(out[0]);
    });
  }

  absl::StatusOr<std::vector<RegistrationEntry>> FetchEntries(const std::vector<std::string>& ids) override {
    return Tx(false, [&](SqlConn& c) -> absl::StatusOr<std::vector<RegistrationEntry>> {
      std::vector<RegistrationEntry> out;
      for (const auto& id : std::set<std::string>(ids.begin(), ids.end())) RETURN_IF_ERROR(LoadEntry(c, id, out));
      RETURN_IF_ERROR(Complete(c, out));
      return out;
    });
  }

  absl::StatusOr<std::vector<RegistrationEntry>> ListEntries(const ListEntriesFilter& f) override {
    return Tx(false, [&](SqlConn& c) -> absl::StatusOr<std::vector<RegistrationEntry>> {
      std::vector<RegistrationEntry> out;
      if (f.by_selectors_exact) {
        // Indexed by the selector-set hash; other filters applied below.
        RETURN_IF_ERROR(QueryEntries(c, absl::StrCat(kEntrySelect, "WHERE e.selectors_hash = ? ORDER BY e.id"),
                                     {SelectorsHash(Normalize(*f.by_selectors_exact))}, out));
      } else if (f.by_selectors_superset && !f.by_selectors_superset->empty()) {
        // Candidates: entries that have every wanted selector (counted over the selectors index).
        const auto want = Normalize(*f.by_selectors_superset);
        absl::flat_hash_map<std::string, size_t> hits;
        for (const auto& s : want) {
          ASSIGN_OR_RETURN(auto rows,
                           c.Query("SELECT entry_id FROM selectors WHERE type = ? AND value = ?", {s.type, s.value}));
          for (const auto& r : rows) ++hits[AsStr(r[0])];
        }
        for (const auto& [id, n] : hits) {
          if (n == want.size()) RETURN_IF_ERROR(LoadEntry(c, id, out));
        }
      } else {
        std::string sql(kEntrySelect);
        SqlParams params;
        const char* sep = "WHERE ";
        if (f.by_spiffe_id) {
          absl::StrAppend(&sql, sep, "e.spiffe_id = ? ");
          params.push_back(*f.by_spiffe_id);
          sep = "AND ";
        }
        if (f.by_parent_id) {
          absl::StrAppend(&sql, sep, "e.parent_id = ? ");
          params.push_back(*f.by_parent_id);
        }
        sql += "ORDER BY e.id";
        RETURN_IF_ERROR(QueryEntries(c, sql, params, out));
      }
      RETURN_IF_ERROR(Complete(c, out));
      std::erase_if(out, [&](const RegistrationEntry& e) { return !MatchesFilter(e, f); });
      return out;
    });
  }

  absl::StatusOr<int64_t> CountEntries() override { return Count("SELECT COUNT(*) FROM registered_entries"); }

  absl::StatusOr<std::vector<RegistrationEntry>> ListEntriesMatchingSelectorSubset(
      const std::vector<Selector>& selectors) override {
    const auto have = Normalize(selectors);
    return Tx(false, [&](SqlConn& c) -> absl::StatusOr<std::vector<RegistrationEntry>> {
      // For each given selector, the entries carrying it (index selectors_type_value) with their selector count;
      // an entry matches when every one of its selectors was hit.
      absl::flat_hash_map<std::string, std::pair<int64_t, int64_t>> hits;  // id -> (hits, selector_count)
      for (const auto& s : have) {
        ASSIGN_OR_RETURN(auto rows, c.Query("SELECT s.entry_id, e.selector_count FROM selectors s"
                                            " JOIN registered_entries e ON e.id = s.entry_id"
                                            " WHERE s.type = ? AND s.value = ?",
                                            {s.type, s.value}));
        for (const auto& r : rows) {
          auto& h = hits[AsStr(r[0])];
          ++h.first;
          h.second = AsInt(r[1]);
        }
      }
      std::vector<RegistrationEntry> out;
      for (const auto& [id, h] : hits) {
        if (h.first == h.second) RETURN_IF_ERROR(LoadEntry(c, id, out));
      }
      RETURN_IF_ERROR(Complete(c, out));
      return out;
    });
  }

  absl::StatusOr<std::vector<RegistrationEntry>> ListEntriesByParentIds(
      const std::vector<std::string>& parent_ids) override {
    return Tx(false, [&](SqlConn& c) -> absl::StatusOr<std::vector<RegistrationEntry>> {
      std::vector<RegistrationEntry> out;
      for (const auto& p : std::set<std::string>(parent_ids.begin(), parent_ids.end())) {
        RETURN_IF_ERROR(QueryEntries(c, absl::StrCat(kEntrySelect, "WHERE e.parent_id = ? ORDER BY e.id"), {p}, out));
      }
      RETURN_IF_ERROR(Complete(c, out));
      return out;
    });
  }

  absl::StatusOr<int64_t> PruneEntries(int64_t expired_before_unix) override {
    return Tx(true, [&](SqlConn& c) -> absl::StatusOr<int64_t> {
      ASSIGN_OR_RETURN(auto rows, c.Query("SELECT id FROM registered_entries"
                                          " WHERE expires_at > 0 AND expires_at < ?",
                                          {expired_before_unix}));
      for (const auto& r : rows) RETURN_IF_ERROR(DeleteEntryLocked(c, AsStr(r[0])));
      return static_cast<int64_t>(rows.size());
    });
  }

  // ---- Events ----

  absl::StatusOr<std::vector<EntryEvent>> ListEntryEventsSince(int64_t after) override {
    return Tx(false, [&](SqlConn& c) -> absl::StatusOr<std::vector<EntryEvent>> {
      ASSIGN_OR_RETURN(auto rows, c.Query("SELECT id, entry_id FROM registered_entries_events"
                                          " WHERE id > ? ORDER BY id",
                                          {after}));
      std::vector<EntryEvent> out;
      out.reserve(rows.size());
      for (const auto& r : rows) out.push_back({AsInt(r[0]), AsStr(r[1])});
      return out;
    });
  }

  absl::StatusOr<std::vector<NodeEvent>> ListNodeEventsSince(int64_t after) override {
    return Tx(false, [&](SqlConn& c) -> absl::StatusOr<std::vector<NodeEvent>> {
      ASSIGN_OR_RETURN(auto rows, c.Query("SELECT id, spiffe_id FROM attested_node_events"
                                          " WHERE id > ? ORDER BY id",
                                          {after}));
      std::vector<NodeEvent> out;
      out.reserve(rows.size());
      for (const auto& r : rows) out.push_back({AsInt(r[0]), AsStr(r[1])});
      return out;
    });
  }

  absl::StatusOr<int64_t> LatestEntryEventId() override {
    return Count("SELECT COALESCE(MAX(id), 0) FROM registered_entries_events");
  }
  absl::StatusOr<int64_t> LatestNodeEventId() override {
    return Count("SELECT COALESCE(MAX(id), 0) FROM attested_node_events");
  }

  absl::Status PruneEvents(int64_t older_than_unix) override {
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      for (const char* table : {"registered_entries_events", "attested_node_events"}) {
        RETURN_IF_ERROR(c.Exec(absl::StrCat("DELETE FROM ", table,
                                            " WHERE created_at < ? AND id < (SELECT"
                                            " MAX(id) FROM ",
                                            table, ")"),
                               {older_than_unix})
                            .status());
      }
      return absl::OkStatus();
    });
  }

  // ---- Attested nodes ----

  absl::Status CreateAttestedNode(const AttestedNode& n) override {
    RETURN_IF_ERROR(ValidateNode(n));
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows, c.Query("SELECT 1 FROM attested_nodes WHERE spiffe_id = ?", {n.spiffe_id}));
      if (!rows.empty())
        return absl::AlreadyExistsError(absl::StrCat("attested node ", n.spiffe_id, " already exists"));
      return WriteNodeLocked(c, n, /*upsert=*/false);
    });
  }

  absl::StatusOr<AttestedNode> FetchAttestedNode(std::string_view spiffe_id) override {
    return Tx(TxMode::kReadPrimary, [&](SqlConn& c) -> absl::StatusOr<AttestedNode> {
      ASSIGN_OR_RETURN(std::optional<AttestedNode> n, LoadNode(c, std::string(spiffe_id)));
      if (!n) return absl::NotFoundError(absl::StrCat("attested node ", ToAbsl(spiffe_id), " not found"));
      return *std::move(n);
    });
  }

  absl::Status UpdateAttestedNodeSerials(std::string_view spiffe_id, const NodeSerials& expected,
                                         const NodeSerials& next) override {
    const std::string id(spiffe_id);
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      ASSIGN_OR_RETURN(int64_t changed,
                       c.Exec("UPDATE attested_nodes SET cert_serial = ?, cert_not_after = ?, new_cert_serial = ?,"
                              " new_cert_not_after = ? WHERE spiffe_id = ? AND banned = 0 AND cert_serial = ?"
                              " AND new_cert_serial = ?",
                              {next.cert_serial, next.cert_not_after, next.new_cert_serial, next.new_cert_not_after, id,
                               expected.cert_serial, expected.new_cert_serial}));
      if (changed == 0) {
        ASSIGN_OR_RETURN(auto rows, c.Query("SELECT banned FROM attested_nodes WHERE spiffe_id = ?", {id}));
        if (rows.empty()) return absl::NotFoundError(absl::StrCat("attested node ", id, " not found"));
        if (AsInt(rows[0][0]) != 0)
          return absl::FailedPreconditionError(absl::StrCat("attested node ", id, " is banned"));
        return absl::FailedPreconditionError(absl::StrCat("the SVID serials of attested node ", id,
                                                          " changed since they were read (renewed or re-attested)"));
      }
      return AppendNodeEvent(c, id);
    });
  }

  absl::Status SetNodeSelectors(std::string_view spiffe_id, const std::vector<Selector>& selectors) override {
    RETURN_IF_ERROR(ValidateSelectors(selectors, absl::StrCat("attested node ", ToAbsl(spiffe_id))));
    const std::string id(spiffe_id);
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows, c.Query("SELECT 1 FROM attested_nodes WHERE spiffe_id = ?", {id}));
      if (rows.empty()) return absl::NotFoundError(absl::StrCat("attested node ", ToAbsl(spiffe_id), " not found"));
      RETURN_IF_ERROR(ReplaceNodeSelectors(c, id, Normalize(selectors)));
      return AppendNodeEvent(c, id);
    });
  }

  absl::Status BanAttestedNode(std::string_view spiffe_id) override {
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      ASSIGN_OR_RETURN(int64_t changed,
                       c.Exec("UPDATE attested_nodes SET banned = 1, cert_serial = '', cert_not_after = 0,"
                              " new_cert_serial = '', new_cert_not_after = 0 WHERE spiffe_id = ?",
                              {std::string(spiffe_id)}));
      if (changed == 0) return absl::NotFoundError(absl::StrCat("attested node ", ToAbsl(spiffe_id), " not found"));
      return AppendNodeEvent(c, std::string(spiffe_id));
    });
  }

  absl::Status DeleteAttestedNode(std::string_view spiffe_id) override {
    const std::string id(spiffe_id);
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      RETURN_IF_ERROR(c.Exec("DELETE FROM node_selectors WHERE spiffe_id = ?", {id}).status());
      ASSIGN_OR_RETURN(int64_t changed, c.Exec("DELETE FROM attested_nodes WHERE spiffe_id = ?", {id}));
      if (changed == 0) return absl::NotFoundError(absl::StrCat("attested node ", ToAbsl(spiffe_id), " not found"));
      return AppendNodeEvent(c, id);
    });
  }

  absl::StatusOr<std::vector<AttestedNode>> ListAttestedNodes() override {
    return Tx(false, [&](SqlConn& c) -> absl::StatusOr<std::vector<AttestedNode>> {
      ASSIGN_OR_RETURN(auto rows, c.Query(kNodeSelect, {}));
      std::map<std::string, AttestedNode> nodes;
      for (const auto& r : rows) {
        AttestedNode n = NodeFromRow(r);
        std::string id = n.spiffe_id;
        nodes.emplace(std::move(id), std::move(n));
      }
      ASSIGN_OR_RETURN(auto sels, c.Query("SELECT spiffe_id, type, value FROM node_selectors", {}));
      for (const auto& r : sels) {
        auto it = nodes.find(AsStr(r[0]));
        if (it != nodes.end()) it->second.selectors.push_back({AsStr(r[1]), AsStr(r[2])});
      }
      std::vector<AttestedNode> out;
      out.reserve(nodes.size());
      for (auto& [id, n] : nodes) {
        n.selectors = Normalize(std::move(n.selectors));
        out.push_back(std::move(n));
      }
      return out;
    });
  }

  absl::StatusOr<int64_t> CountAttestedNodes() override { return Count("SELECT COUNT(*) FROM attested_nodes"); }

  absl::Status UpsertAttestedNode(const AttestedNode& n) override {
    RETURN_IF_ERROR(ValidateNode(n));
    return Tx(true, [&](SqlConn& c) -> absl::Status { return WriteNodeLocked(c, n, /*upsert=*/true); });
  }

  absl::Status AdmitAttestedNode(const AttestedNode& n) override {
    RETURN_IF_ERROR(ValidateNode(n));
    return Tx(true, [&](SqlConn& c) -> absl::Status { return AdmitLocked(c, n); });
  }

  absl::Status AdmitAttestedNodeWithJoinToken(const AttestedNode& n, std::string_view token,
                                              int64_t now_unix) override {
    RETURN_IF_ERROR(ValidateNode(n));
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      // The same single DELETE ... RETURNING as ConsumeJoinToken; any error below rolls it back.
      ASSIGN_OR_RETURN(auto rows,
                       c.Query("DELETE FROM join_tokens WHERE token = ? RETURNING expires_at", {std::string(token)}));
      if (rows.empty()) return absl::NotFoundError("join token not found (unknown or already used)");
      if (now_unix >= AsInt(rows[0][0])) return absl::FailedPreconditionError("join token expired");
      return AdmitLocked(c, n);
    });
  }

  // Insert if absent; else the re-attestation update, guarded in the same statement (no check-then-write).
  absl::Status AdmitLocked(SqlConn& c, const AttestedNode& n) {
    const int64_t now = Now();
    const int64_t evidence = n.evidence_at != 0 ? n.evidence_at : now;
    ASSIGN_OR_RETURN(
        int64_t changed,
        c.Exec("INSERT INTO attested_nodes (spiffe_id, attestation_type, cert_serial, cert_not_after,"
               " new_cert_serial, new_cert_not_after, banned, can_reattest, created_at, launch_id, evidence_at,"
               " facts) VALUES (?, ?, ?, ?, '', 0, 0, ?, ?, ?, ?, ?)"
               " ON CONFLICT (spiffe_id) DO UPDATE SET attestation_type = excluded.attestation_type,"
               " cert_serial = excluded.cert_serial, cert_not_after = excluded.cert_not_after,"
               " new_cert_serial = '', new_cert_not_after = 0, can_reattest = excluded.can_reattest,"
               " evidence_at = excluded.evidence_at, facts = excluded.facts"
               " WHERE attested_nodes.banned = 0 AND excluded.can_reattest = 1"
               " AND attested_nodes.launch_id = excluded.launch_id",
               {n.spiffe_id, n.attestation_type, n.cert_serial, n.cert_not_after, int64_t{n.can_reattest}, now,
                n.launch_id, evidence, HexEncode(n.facts)}));
    if (changed == 0) return WhyNotAdmitted(c, n);
    RETURN_IF_ERROR(ReplaceNodeSelectors(c, n.spiffe_id, Normalize(n.selectors)));
    return AppendNodeEvent(c, n.spiffe_id);
  }

  // ---- Join tokens ----

  absl::Status CreateJoinToken(const JoinToken& t) override {
    if (t.token.empty()) return absl::InvalidArgumentError("join token is empty");
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      auto r = c.Exec("INSERT INTO join_tokens (token, expires_at) VALUES (?, ?)", {t.token, t.expires_at});
      if (absl::IsAlreadyExists(r.status())) return absl::AlreadyExistsError("join token already exists");
      return r.status();
    });
  }

  absl::StatusOr<JoinToken> ConsumeJoinToken(std::string_view token, int64_t now_unix) override {
    // DELETE ... RETURNING is one atomic statement on SQLite and PostgreSQL: of concurrent consumers exactly one
    // gets the row. An expired token is deleted too (the transaction commits) and reported.
    auto r = Tx(true, [&](SqlConn& c) -> absl::StatusOr<JoinToken> {
      ASSIGN_OR_RETURN(auto rows,
                       c.Query("DELETE FROM join_tokens WHERE token = ? RETURNING expires_at", {std::string(token)}));
      if (rows.empty()) return absl::NotFoundError("join token not found (unknown or already used)");
      return JoinToken{std::string(token), AsInt(rows[0][0])};
    });
    if (r.ok() && now_unix >= r->expires_at) return absl::FailedPreconditionError("join token expired");
    return r;
  }

  absl::Status PruneJoinTokens(int64_t now_unix) override {
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      return c.Exec("DELETE FROM join_tokens WHERE expires_at <= ?", {now_unix}).status();
    });
  }

  // ---- Nonces ----

  absl::Status InsertNonce(std::string_view nonce, int64_t expires_at) override {
    if (nonce.empty()) return absl::InvalidArgumentError("nonce is empty");
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      auto r = c.Exec("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)", {Blob{std::string(nonce)}, expires_at});
      if (absl::IsAlreadyExists(r.status())) return absl::AlreadyExistsError("nonce already exists");
      return r.status();
    });
  }

  absl::Status ConsumeNonce(std::string_view nonce, int64_t now_unix) override {
    ASSIGN_OR_RETURN(int64_t expires_at, Tx(true, [&](SqlConn& c) -> absl::StatusOr<int64_t> {
                       ASSIGN_OR_RETURN(auto rows, c.Query("DELETE FROM nonces WHERE nonce = ? RETURNING expires_at",
                                                           {Blob{std::string(nonce)}}));
                       if (rows.empty()) return absl::NotFoundError("nonce not found (unknown or already used)");
                       return AsInt(rows[0][0]);
                     }));
    if (now_unix >= expires_at) return absl::FailedPreconditionError("nonce expired");
    return absl::OkStatus();
  }

  absl::Status PruneNonces(int64_t now_unix) override {
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      return c.Exec("DELETE FROM nonces WHERE expires_at <= ?", {now_unix}).status();
    });
  }

  // ---- Bundles ----

  absl::StatusOr<BundleRecord> FetchBundle(std::string_view trust_domain) override {
    return Tx(false,
              [&](SqlConn& c) -> absl::StatusOr<BundleRecord> { return LoadBundle(c, std::string(trust_domain)); });
  }

  absl::StatusOr<BundleRecord> AppendBundle(const BundleRecord& b) override {
    ASSIGN_OR_RETURN(std::vector<ParsedAuthority> certs, ParseBundleInput(b));
    return Tx(true, [&](SqlConn& c) -> absl::StatusOr<BundleRecord> {
      const std::string& td = b.trust_domain;
      ASSIGN_OR_RETURN(auto head, c.Query("SELECT sequence_number, refresh_hint_seconds FROM bundles"
                                          " WHERE trust_domain = ?",
                                          {td}));
      const bool created = head.empty();
      int64_t seq = created ? std::max<int64_t>(1, static_cast<int64_t>(b.sequence_number)) : AsInt(head[0][0]);
      int64_t hint = created ? b.refresh_hint_seconds : AsInt(head[0][1]);
      if (created) {
        RETURN_IF_ERROR(c.Exec("INSERT INTO bundles (trust_domain, sequence_number, refresh_hint_seconds)"
                               " VALUES (?, ?, ?)",
                               {td, seq, hint})
                            .status());
      }
      bool changed = false;
      if (!created && b.refresh_hint_seconds != 0 && b.refresh_hint_seconds != hint) {
        hint = b.refresh_hint_seconds;
        changed = true;
      }
      ASSIGN_OR_RETURN(bool added_certs, AddX509Authorities(c, td, certs));
      ASSIGN_OR_RETURN(bool added_keys, AddJwtKeys(c, td, b.jwt_keys));
      if (!created && (changed || added_certs || added_keys)) {
        RETURN_IF_ERROR(c.Exec("UPDATE bundles SET sequence_number = ?, refresh_hint_seconds = ?"
                               " WHERE trust_domain = ?",
                               {seq + 1, hint, td})
                            .status());
      }
      return LoadBundle(c, td);
    });
  }

  absl::StatusOr<BundleRecord> PruneBundle(std::string_view trust_domain, int64_t expired_before_unix) override {
    const std::string td(trust_domain);
    return Tx(true, [&](SqlConn& c) -> absl::StatusOr<BundleRecord> {
      ASSIGN_OR_RETURN(auto head, c.Query("SELECT sequence_number FROM bundles WHERE trust_domain = ?", {td}));
      if (head.empty()) return absl::NotFoundError(absl::StrCat("bundle ", td, " not found"));
      ASSIGN_OR_RETURN(auto counts, c.Query("SELECT COUNT(*), COALESCE(SUM(CASE WHEN not_after < ? THEN 1"
                                            " ELSE 0 END), 0) FROM bundle_x509_authorities"
                                            " WHERE trust_domain = ?",
                                            {expired_before_unix, td}));
      const int64_t total = AsInt(counts[0][0]), expired = AsInt(counts[0][1]);
      if (total > 0 && expired == total) {
        return absl::FailedPreconditionError(
            absl::StrCat("bundle ", td, ": pruning would remove every X.509 authority (all expire before ",
                         expired_before_unix, "); nothing pruned"));
      }
      ASSIGN_OR_RETURN(int64_t n1, c.Exec("DELETE FROM bundle_x509_authorities WHERE trust_domain = ?"
                                          " AND not_after < ?",
                                          {td, expired_before_unix}));
      ASSIGN_OR_RETURN(int64_t n2, c.Exec("DELETE FROM bundle_jwt_keys WHERE trust_domain = ?"
                                          " AND expires_at > 0 AND expires_at < ?",
                                          {td, expired_before_unix}));
      if (n1 + n2 > 0) {
        RETURN_IF_ERROR(c.Exec("UPDATE bundles SET sequence_number = sequence_number + 1"
                               " WHERE trust_domain = ?",
                               {td})
                            .status());
      }
      return LoadBundle(c, td);
    });
  }

  absl::Status TaintX509Authority(std::string_view trust_domain, std::string_view subject_key_id) override {
    return ChangeX509Authority(std::string(trust_domain), std::string(subject_key_id), /*revoke=*/false);
  }
  absl::Status RevokeX509Authority(std::string_view trust_domain, std::string_view subject_key_id) override {
    return ChangeX509Authority(std::string(trust_domain), std::string(subject_key_id), /*revoke=*/true);
  }
  absl::Status TaintJwtKey(std::string_view trust_domain, std::string_view kid) override {
    return ChangeJwtKey(std::string(trust_domain), std::string(kid), /*revoke=*/false);
  }
  absl::Status RevokeJwtKey(std::string_view trust_domain, std::string_view kid) override {
    return ChangeJwtKey(std::string(trust_domain), std::string(kid), /*revoke=*/true);
  }

  absl::StatusOr<std::vector<BundleRecord>> ListBundles() override {
    return Tx(false, [&](SqlConn& c) -> absl::StatusOr<std::vector<BundleRecord>> {
      ASSIGN_OR_RETURN(auto rows, c.Query("SELECT trust_domain FROM bundles ORDER BY trust_domain", {}));
      std::vector<BundleRecord> out;
      out.reserve(rows.size());
      for (const auto& r : rows) {
        ASSIGN_OR_RETURN(auto b, LoadBundle(c, AsStr(r[0])));
        out.push_back(std::move(b));
      }
      return out;
    });
  }

  absl::StatusOr<int64_t> CountBundles() override { return Count("SELECT COUNT(*) FROM bundles"); }

  absl::StatusOr<BundleRecord> CreateBundle(const BundleRecord& b) override {
    ASSIGN_OR_RETURN(std::vector<ParsedAuthority> certs, ParseBundleInput(b));
    return Tx(true, [&](SqlConn& c) -> absl::StatusOr<BundleRecord> {
      ASSIGN_OR_RETURN(auto head, c.Query("SELECT 1 FROM bundles WHERE trust_domain = ?", {b.trust_domain}));
      if (!head.empty()) return absl::AlreadyExistsError(absl::StrCat("bundle ", b.trust_domain, " already exists"));
      RETURN_IF_ERROR(c.Exec("INSERT INTO bundles (trust_domain, sequence_number, refresh_hint_seconds)"
                             " VALUES (?, ?, ?)",
                             {b.trust_domain, static_cast<int64_t>(b.sequence_number), b.refresh_hint_seconds})
                          .status());
      RETURN_IF_ERROR(AddX509Authorities(c, b.trust_domain, certs).status());
      RETURN_IF_ERROR(AddJwtKeys(c, b.trust_domain, b.jwt_keys).status());
      return LoadBundle(c, b.trust_domain);
    });
  }

  absl::StatusOr<BundleRecord> UpdateBundle(const BundleRecord& b, const BundleMask& mask) override {
    ASSIGN_OR_RETURN(std::vector<ParsedAuthority> certs, ParseBundleInput(b));
    return Tx(true, [&](SqlConn& c) -> absl::StatusOr<BundleRecord> {
      ASSIGN_OR_RETURN(auto head, c.Query("SELECT 1 FROM bundles WHERE trust_domain = ?", {b.trust_domain}));
      if (head.empty()) return absl::NotFoundError(absl::StrCat("bundle ", b.trust_domain, " not found"));
      RETURN_IF_ERROR(ReplaceBundleLocked(c, b, certs, mask));
      return LoadBundle(c, b.trust_domain);
    });
  }

  absl::StatusOr<BundleRecord> SetBundle(const BundleRecord& b) override {
    ASSIGN_OR_RETURN(std::vector<ParsedAuthority> certs, ParseBundleInput(b));
    return Tx(true, [&](SqlConn& c) -> absl::StatusOr<BundleRecord> {
      RETURN_IF_ERROR(c.Exec("INSERT INTO bundles (trust_domain, sequence_number, refresh_hint_seconds)"
                             " VALUES (?, 0, 0) ON CONFLICT (trust_domain) DO NOTHING",
                             {b.trust_domain})
                          .status());
      RETURN_IF_ERROR(ReplaceBundleLocked(c, b, certs, BundleMask{}));
      return LoadBundle(c, b.trust_domain);
    });
  }

  absl::Status DeleteBundle(std::string_view trust_domain, DeleteBundleMode mode) override {
    const std::string td(trust_domain);
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      ASSIGN_OR_RETURN(auto head, c.Query("SELECT 1 FROM bundles WHERE trust_domain = ?", {td}));
      if (head.empty()) return absl::NotFoundError(absl::StrCat("bundle ", td, " not found"));
      ASSIGN_OR_RETURN(auto fed, c.Query("SELECT entry_id FROM federated_registration_entries"
                                         " WHERE trust_domain = ? ORDER BY entry_id",
                                         {td}));
      RETURN_IF_ERROR(ReleaseFederatedEntries(c, td, fed, mode));
      RETURN_IF_ERROR(c.Exec("DELETE FROM bundle_x509_authorities WHERE trust_domain = ?", {td}).status());
      RETURN_IF_ERROR(c.Exec("DELETE FROM bundle_jwt_keys WHERE trust_domain = ?", {td}).status());
      return c.Exec("DELETE FROM bundles WHERE trust_domain = ?", {td}).status();
    });
  }

  // ---- CA journal ----

  absl::Status CreateFederationRelationship(const FederationRelationshipRecord& r) override {
    if (r.trust_domain.empty()) return absl::InvalidArgumentError("federation relationship: trust domain is empty");
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows,
                       c.Query("SELECT 1 FROM federated_trust_domains WHERE trust_domain = ?", {r.trust_domain}));
      if (!rows.empty()) {
        return absl::AlreadyExistsError(
            absl::StrCat("federation relationship with \"", r.trust_domain, "\" already exists"));
      }
      return c
          .Exec(
              "INSERT INTO federated_trust_domains (trust_domain, bundle_endpoint_url, bundle_endpoint_profile,"
              " endpoint_spiffe_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
              {r.trust_domain, r.bundle_endpoint_url, r.profile, r.endpoint_spiffe_id, Now(), Now()})
          .status();
    });
  }

  absl::StatusOr<FederationRelationshipRecord> FetchFederationRelationship(std::string_view td) override {
    return Tx(false, [&](SqlConn& c) -> absl::StatusOr<FederationRelationshipRecord> {
      ASSIGN_OR_RETURN(auto rows,
                       c.Query(absl::StrCat(kRelationshipSelect, " WHERE trust_domain = ?"), {std::string(td)}));
      if (rows.empty()) {
        return absl::NotFoundError(absl::StrCat("federation relationship with \"", ToAbsl(td), "\" not found"));
      }
      return RelationshipFromRow(rows[0]);
    });
  }

  absl::StatusOr<std::vector<FederationRelationshipRecord>> ListFederationRelationships() override {
    return Tx(false, [&](SqlConn& c) -> absl::StatusOr<std::vector<FederationRelationshipRecord>> {
      ASSIGN_OR_RETURN(auto rows, c.Query(absl::StrCat(kRelationshipSelect, " ORDER BY trust_domain"), {}));
      std::vector<FederationRelationshipRecord> out;
      for (const auto& row : rows) out.push_back(RelationshipFromRow(row));
      return out;
    });
  }

  absl::StatusOr<FederationRelationshipRecord> UpdateFederationRelationship(const FederationRelationshipRecord& r,
                                                                            bool url, bool profile) override {
    return Tx(true, [&](SqlConn& c) -> absl::StatusOr<FederationRelationshipRecord> {
      ASSIGN_OR_RETURN(auto rows,
                       c.Query(absl::StrCat(kRelationshipSelect, " WHERE trust_domain = ?"), {r.trust_domain}));
      if (rows.empty()) {
        return absl::NotFoundError(absl::StrCat("federation relationship with \"", r.trust_domain, "\" not found"));
      }
      FederationRelationshipRecord out = RelationshipFromRow(rows[0]);
      if (url) out.bundle_endpoint_url = r.bundle_endpoint_url;
      if (profile) {
        out.profile = r.profile;
        out.endpoint_spiffe_id = r.endpoint_spiffe_id;
      }
      RETURN_IF_ERROR(c.Exec("UPDATE federated_trust_domains SET bundle_endpoint_url = ?, bundle_endpoint_profile = ?,"
                             " endpoint_spiffe_id = ?, updated_at = ? WHERE trust_domain = ?",
                             {out.bundle_endpoint_url, out.profile, out.endpoint_spiffe_id, Now(), out.trust_domain})
                          .status());
      return out;
    });
  }

  absl::Status DeleteFederationRelationship(std::string_view td) override {
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      ASSIGN_OR_RETURN(int64_t n,
                       c.Exec("DELETE FROM federated_trust_domains WHERE trust_domain = ?", {std::string(td)}));
      if (n == 0) {
        return absl::NotFoundError(absl::StrCat("federation relationship with \"", ToAbsl(td), "\" not found"));
      }
      return absl::OkStatus();
    });
  }

  absl::Status SetCaJournal(std::string_view server_id, std::string_view blob) override {
    if (server_id.empty()) return absl::InvalidArgumentError("CA journal: server_id is empty");
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      return c
          .Exec(
              "INSERT INTO ca_journals (server_id, data, updated_at) VALUES (?, ?, ?)"
              " ON CONFLICT (server_id) DO UPDATE SET data = excluded.data,"
              " updated_at = excluded.updated_at",
              {std::string(server_id), Blob{std::string(blob)}, Now()})
          .status();
    });
  }

  absl::StatusOr<std::string> FetchCaJournal(std::string_view server_id) override {
    return Tx(false, [&](SqlConn& c) -> absl::StatusOr<std::string> {
      ASSIGN_OR_RETURN(auto rows,
                       c.Query("SELECT data FROM ca_journals WHERE server_id = ?", {std::string(server_id)}));
      if (rows.empty())
        return absl::NotFoundError(absl::StrCat("CA journal for server ", ToAbsl(server_id), " not found"));
      return AsStr(rows[0][0]);
    });
  }

 private:
  // pg_advisory_xact_lock keys serialising event inserts (arbitrary, fixed: "cvm" entry/node events).
  static constexpr int64_t kEntryEventLockKey = 0x63766d0001;
  static constexpr int64_t kNodeEventLockKey = 0x63766d0002;

  static constexpr const char* kRelationshipSelect =
      "SELECT trust_domain, bundle_endpoint_url, bundle_endpoint_profile, endpoint_spiffe_id FROM "
      "federated_trust_domains";
  static FederationRelationshipRecord RelationshipFromRow(const SqlRow& row) {
    return {.trust_domain = AsStr(row[0]),
            .bundle_endpoint_url = AsStr(row[1]),
            .profile = AsStr(row[2]),
            .endpoint_spiffe_id = AsStr(row[3])};
  }

  static constexpr const char* kNodeSelect =
      "SELECT spiffe_id, attestation_type, cert_serial, cert_not_after, new_cert_serial, new_cert_not_after, banned,"
      " can_reattest, created_at, launch_id, evidence_at, facts FROM attested_nodes";

  // The node with its selectors, nullopt if absent.
  absl::StatusOr<std::optional<AttestedNode>> LoadNode(SqlConn& c, const std::string& id) {
    ASSIGN_OR_RETURN(auto rows, c.Query(absl::StrCat(kNodeSelect, " WHERE spiffe_id = ?"), {id}));
    if (rows.empty()) return std::optional<AttestedNode>();
    AttestedNode n = NodeFromRow(rows[0]);
    ASSIGN_OR_RETURN(auto sels, c.Query("SELECT type, value FROM node_selectors WHERE spiffe_id = ?", {n.spiffe_id}));
    for (const auto& r : sels) n.selectors.push_back({AsStr(r[0]), AsStr(r[1])});
    n.selectors = Normalize(std::move(n.selectors));
    return std::optional<AttestedNode>(std::move(n));
  }

  // Why AdmitAttestedNode's conditional write changed nothing (read in the same transaction).
  absl::Status WhyNotAdmitted(SqlConn& c, const AttestedNode& n) {
    ASSIGN_OR_RETURN(auto rows,
                     c.Query("SELECT banned, launch_id FROM attested_nodes WHERE spiffe_id = ?", {n.spiffe_id}));
    if (rows.empty()) return absl::UnavailableError(absl::StrCat("attested node ", n.spiffe_id, " vanished"));
    if (AsInt(rows[0][0]) != 0) return absl::FailedPreconditionError(absl::StrCat("agent ", n.spiffe_id, " is banned"));
    if (n.can_reattest && AsStr(rows[0][1]) != n.launch_id) {
      return absl::FailedPreconditionError(
          absl::StrCat("agent ", n.spiffe_id,
                       " has already attested from another launch of the node (a different SEV-SNP REPORT_ID);"
                       " evict it (spire-server agent evict) to attest again"));
    }
    return absl::FailedPreconditionError(absl::StrCat(
        "agent ", n.spiffe_id, " has already attested; evict it (spire-server agent evict) to attest again"));
  }

  static AttestedNode NodeFromRow(const SqlRow& r) {
    AttestedNode n;
    n.spiffe_id = AsStr(r[0]);
    n.attestation_type = AsStr(r[1]);
    n.cert_serial = AsStr(r[2]);
    n.cert_not_after = AsInt(r[3]);
    n.new_cert_serial = AsStr(r[4]);
    n.new_cert_not_after = AsInt(r[5]);
    n.banned = AsInt(r[6]) != 0;
    n.can_reattest = AsInt(r[7]) != 0;
    n.created_at = AsInt(r[8]);
    n.launch_id = AsStr(r[9]);
    n.evidence_at = AsInt(r[10]);
    // Written only by this store from DER bytes; a row that does not decode carries no facts.
    n.facts = HexDecode(AsStr(r[11])).value_or("");
    return n;
  }

  static absl::Status ValidateNode(const AttestedNode& n) {
    if (n.spiffe_id.empty()) return absl::InvalidArgumentError("attested node: spiffe_id is empty");
    return ValidateSelectors(n.selectors, absl::StrCat("attested node ", n.spiffe_id));
  }

  int64_t Now() const { return absl::ToUnixSeconds(clock_.Now()); }

  // Runs f(conn) inside one transaction through the runner (which may retry it); returns f's result.
  template <typename F>
  auto Tx(bool write, F&& f) -> decltype(f(std::declval<SqlConn&>())) {
    return Tx(write ? TxMode::kWrite : TxMode::kRead, std::forward<F>(f));
  }
  template <typename F>
  auto Tx(TxMode mode, F&& f) -> decltype(f(std::declval<SqlConn&>())) {
    using R = decltype(f(std::declval<SqlConn&>()));
    std::optional<R> result;
    absl::Status s = runner_->Run(mode, [&](SqlConn& c) -> absl::Status {
      result.emplace(f(c));
      return StatusOf(*result);
    });
    if (!s.ok()) return R(s);
    return std::move(*result);
  }

  absl::StatusOr<int64_t> Count(std::string_view sql) {
    return Tx(false, [&](SqlConn& c) -> absl::StatusOr<int64_t> {
      ASSIGN_OR_RETURN(auto rows, c.Query(sql, {}));
      return rows.empty() ? 0 : AsInt(rows[0][0]);
    });
  }

  absl::Status CheckDuplicate(SqlConn& c, const RegistrationEntry& e, const std::string& hash,
                              const std::string& self_id) {
    ASSIGN_OR_RETURN(auto rows, c.Query("SELECT id FROM registered_entries WHERE spiffe_id = ?"
                                        " AND parent_id = ? AND selectors_hash = ?",
                                        {e.spiffe_id, e.parent_id, hash}));
    for (const auto& r : rows) {
      if (AsStr(r[0]) != self_id) {
        return absl::AlreadyExistsError(absl::StrCat("registration entry with spiffe_id ", e.spiffe_id, ", parent_id ",
                                                     e.parent_id, " and the same selectors already exists (id ",
                                                     AsStr(r[0]), ")"));
      }
    }
    return absl::OkStatus();
  }

  absl::Status InsertEntrySelectors(SqlConn& c, const std::string& id, const std::vector<Selector>& sels) {
    for (const auto& s : sels) {
      RETURN_IF_ERROR(
          c.Exec("INSERT INTO selectors (entry_id, type, value) VALUES (?, ?, ?)", {id, s.type, s.value}).status());
    }
    return absl::OkStatus();
  }

  // The entry's federates_with rows replaced by `tds` (sorted); every trust domain must have a stored bundle.
  static absl::Status ReplaceFederatesWith(SqlConn& c, const std::string& id, const std::vector<std::string>& tds) {
    RETURN_IF_ERROR(c.Exec("DELETE FROM federated_registration_entries WHERE entry_id = ?", {id}).status());
    for (const auto& td : tds) {
      ASSIGN_OR_RETURN(auto have, c.Query("SELECT 1 FROM bundles WHERE trust_domain = ?", {td}));
      if (have.empty()) {
        return absl::FailedPreconditionError(absl::StrCat("unable to find federated bundle \"spiffe://", td, "\""));
      }
      RETURN_IF_ERROR(
          c.Exec("INSERT INTO federated_registration_entries (entry_id, trust_domain) VALUES (?, ?)", {id, td})
              .status());
    }
    return absl::OkStatus();
  }

  // Sorts and de-duplicates what the joined rows produced, then fills in every entry's federates_with: per entry
  // for a few, from one scan of the (small) relation table for many.
  static absl::Status Complete(SqlConn& c, std::vector<RegistrationEntry>& out) {
    Finish(out);
    constexpr size_t kPerEntryLimit = 32;
    if (out.size() <= kPerEntryLimit) {
      for (auto& e : out) {
        ASSIGN_OR_RETURN(auto rows, c.Query("SELECT trust_domain FROM federated_registration_entries"
                                            " WHERE entry_id = ? ORDER BY trust_domain",
                                            {e.id}));
        for (const auto& r : rows) e.federates_with.push_back(AsStr(r[0]));
      }
      return absl::OkStatus();
    }
    // `out` is sorted by id (Finish): each row finds its entry by binary search, one row in memory at a time.
    return c.QueryEach(
        "SELECT entry_id, trust_domain FROM federated_registration_entries"
        " ORDER BY entry_id, trust_domain",
        {}, [&](SqlRow& r) {
          const auto* id = std::get_if<std::string>(&r[0]);
          if (id == nullptr) return;
          auto it = std::lower_bound(out.begin(), out.end(), *id,
                                     [](const RegistrationEntry& e, const std::string& want) { return e.id < want; });
          if (it != out.end() && it->id == *id) it->federates_with.push_back(AsStr(r[1]));
        });
  }

  absl::Status LoadEntry(SqlConn& c, const std::string& id, std::vector<RegistrationEntry>& out) {
    return QueryEntries(c, absl::StrCat(kEntrySelect, "WHERE e.id = ? ORDER BY e.id"), {id}, out);
  }

  absl::Status DeleteEntryLocked(SqlConn& c, const std::string& id) {
    RETURN_IF_ERROR(c.Exec("DELETE FROM selectors WHERE entry_id = ?", {id}).status());
    RETURN_IF_ERROR(c.Exec("DELETE FROM federated_registration_entries WHERE entry_id = ?", {id}).status());
    ASSIGN_OR_RETURN(int64_t changed, c.Exec("DELETE FROM registered_entries WHERE id = ?", {id}));
    if (changed == 0) return absl::NotFoundError(absl::StrCat("registration entry ", id, " not found"));
    return AppendEntryEvent(c, id);
  }

  // PostgreSQL assigns identity values at INSERT and transactions commit in any order, so without care a reader
  // could see event 11 before event 10 commits and skip 10 forever. Event inserts therefore take a
  // transaction-level advisory lock (one per event kind), held until COMMIT/ROLLBACK: the next writer can only
  // draw its event id after the previous one is committed (and visible), so event ids become visible in id order.
  // SQLite serialises writers anyway. See docs/datastore.md ("Events and incremental caches").
  static absl::Status LockEventOrder(SqlConn& c, int64_t key) {
    if (c.dialect() != Dialect::kPostgres) return absl::OkStatus();
    return c.Query("SELECT pg_advisory_xact_lock(?)", {key}).status();
  }

  absl::Status AppendEntryEvent(SqlConn& c, const std::string& id) {
    RETURN_IF_ERROR(LockEventOrder(c, kEntryEventLockKey));
    return c.Exec("INSERT INTO registered_entries_events (entry_id, created_at) VALUES (?, ?)", {id, Now()}).status();
  }
  absl::Status AppendNodeEvent(SqlConn& c, const std::string& id) {
    RETURN_IF_ERROR(LockEventOrder(c, kNodeEventLockKey));
    return c.Exec("INSERT INTO attested_node_events (spiffe_id, created_at) VALUES (?, ?)", {id, Now()}).status();
  }

  absl::Status ReplaceNodeSelectors(SqlConn& c, const std::string& id, const std::vector<Selector>& sorted) {
    RETURN_IF_ERROR(c.Exec("DELETE FROM node_selectors WHERE spiffe_id = ?", {id}).status());
    for (const auto& s : sorted) {
      RETURN_IF_ERROR(
          c.Exec("INSERT INTO node_selectors (spiffe_id, type, value) VALUES (?, ?, ?)", {id, s.type, s.value})
              .status());
    }
    return absl::OkStatus();
  }

  absl::Status WriteNodeLocked(SqlConn& c, const AttestedNode& n, bool upsert) {
    const int64_t created = n.created_at != 0 ? n.created_at : Now();
    std::string sql =
        "INSERT INTO attested_nodes (spiffe_id, attestation_type, cert_serial, cert_not_after, new_cert_serial,"
        " new_cert_not_after, banned, can_reattest, created_at, launch_id, evidence_at, facts)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
    if (upsert) {
      sql +=
          " ON CONFLICT (spiffe_id) DO UPDATE SET attestation_type = excluded.attestation_type,"
          " cert_serial = excluded.cert_serial, cert_not_after = excluded.cert_not_after,"
          " new_cert_serial = excluded.new_cert_serial, new_cert_not_after = excluded.new_cert_not_after,"
          " banned = excluded.banned, can_reattest = excluded.can_reattest, created_at = excluded.created_at,"
          " launch_id = excluded.launch_id, evidence_at = excluded.evidence_at, facts = excluded.facts";
    }
    auto r = c.Exec(sql, {n.spiffe_id, n.attestation_type, n.cert_serial, n.cert_not_after, n.new_cert_serial,
                          n.new_cert_not_after, int64_t{n.banned}, int64_t{n.can_reattest}, created, n.launch_id,
                          n.evidence_at != 0 ? n.evidence_at : created, HexEncode(n.facts)});
    if (absl::IsAlreadyExists(r.status())) {
      return absl::AlreadyExistsError(absl::StrCat("attested node ", n.spiffe_id, " already exists"));
    }
    RETURN_IF_ERROR(r.status());
    RETURN_IF_ERROR(ReplaceNodeSelectors(c, n.spiffe_id, Normalize(n.selectors)));
    return AppendNodeEvent(c, n.spiffe_id);
  }

  // The authorities parsed (AppendBundle's input checks, before any transaction).
  static absl::StatusOr<std::vector<ParsedAuthority>> ParseBundleInput(const BundleRecord& b) {
    if (b.trust_domain.empty()) return absl::InvalidArgumentError("bundle: trust_domain is empty");
    std::vector<ParsedAuthority> certs;
    for (size_t i = 0; i < b.x509_authorities_der.size(); ++i) {
      ASSIGN_OR_RETURN(auto pa, ParseAuthority(b.x509_authorities_der[i], b.trust_domain, i));
      certs.push_back(std::move(pa));
    }
    for (const auto& k : b.jwt_keys) {
      if (k.kid.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("bundle ", b.trust_domain, ": JWT key without kid"));
      }
    }
    return certs;
  }

  // Appends the X.509 authorities the bundle lacks (deduplicated by SHA-256 of the DER); true if any was added.
  static absl::StatusOr<bool> AddX509Authorities(SqlConn& c, const std::string& td,
                                                 const std::vector<ParsedAuthority>& certs) {
    ASSIGN_OR_RETURN(auto have, c.Query("SELECT fingerprint, position FROM bundle_x509_authorities"
                                        " WHERE trust_domain = ?",
                                        {td}));
    absl::flat_hash_set<std::string> fps;
    int64_t pos = 0;
    for (const auto& r : have) {
      fps.insert(AsStr(r[0]));
      pos = std::max(pos, AsInt(r[1]) + 1);
    }
    bool added = false;
    for (const auto& cert : certs) {
      if (!fps.insert(cert.fingerprint).second) continue;
      RETURN_IF_ERROR(c.Exec("INSERT INTO bundle_x509_authorities (trust_domain, fingerprint, position,"
                             " der, not_after) VALUES (?, ?, ?, ?, ?)",
                             {td, cert.fingerprint, pos++, Blob{cert.der}, cert.not_after})
                          .status());
      added = true;
    }
    return added;
  }

  // Appends the JWT keys the bundle lacks (deduplicated by kid); true if any was added. AlreadyExists when a kid
  // is present with different key material.
  static absl::StatusOr<bool> AddJwtKeys(SqlConn& c, const std::string& td, const std::vector<JwtKeyRecord>& in) {
    ASSIGN_OR_RETURN(auto have, c.Query("SELECT kid, public_key_der, position FROM bundle_jwt_keys"
                                        " WHERE trust_domain = ?",
                                        {td}));
    absl::flat_hash_map<std::string, std::string> keys;
    int64_t pos = 0;
    for (const auto& r : have) {
      keys[AsStr(r[0])] = AsStr(r[1]);
      pos = std::max(pos, AsInt(r[2]) + 1);
    }
    bool added = false;
    for (const auto& k : in) {
      auto it = keys.find(k.kid);
      if (it != keys.end()) {
        if (it->second == k.public_key_der) continue;
        return absl::AlreadyExistsError(
            absl::StrCat("bundle ", td, ": JWT key kid \"", k.kid, "\" already present with different key material"));
      }
      keys.emplace(k.kid, k.public_key_der);
      RETURN_IF_ERROR(c.Exec("INSERT INTO bundle_jwt_keys (trust_domain, kid, position, public_key_der,"
                             " expires_at) VALUES (?, ?, ?, ?, ?)",
                             {td, k.kid, pos++, Blob{k.public_key_der}, k.expires_at})
                          .status());
      added = true;
    }
    return added;
  }

  // Taints (revoke = false) or removes (revoke = true, only a tainted one) the X.509 authority of bundle `td` whose
  // subject key id is `skid`, and bumps the sequence number.
  absl::Status ChangeX509Authority(const std::string& td, const std::string& skid, bool revoke) {
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      RETURN_IF_ERROR(RequireBundle(c, td));
      ASSIGN_OR_RETURN(auto rows, c.Query("SELECT fingerprint, der, tainted FROM bundle_x509_authorities"
                                          " WHERE trust_domain = ?",
                                          {td}));
      const SqlRow* found = nullptr;
      for (const auto& r : rows) {
        if (!skid.empty() && SubjectKeyIdOfDer(AsStr(r[1])) == skid) found = &r;
      }
      if (found == nullptr) {
        return absl::NotFoundError(
            absl::StrCat("bundle ", td, ": no X.509 authority with subject key id \"", skid, "\""));
      }
      const bool tainted = AsInt((*found)[2]) != 0;
      const std::string fp = AsStr((*found)[0]);
      if (!revoke && tainted)
        return absl::InvalidArgumentError(absl::StrCat("X.509 authority ", skid, " is already tainted"));
      if (revoke && !tainted) {
        return absl::InvalidArgumentError(
            absl::StrCat("X.509 authority ", skid, " is not tainted; only a tainted authority can be revoked"));
      }
      const char* sql =
          revoke ? "DELETE FROM bundle_x509_authorities WHERE trust_domain = ? AND fingerprint = ?"
                 : "UPDATE bundle_x509_authorities SET tainted = 1 WHERE trust_domain = ? AND fingerprint = ?";
      RETURN_IF_ERROR(c.Exec(sql, {td, fp}).status());
      return BumpSequence(c, td);
    });
  }

  // The same for the JWT key `kid`.
  absl::Status ChangeJwtKey(const std::string& td, const std::string& kid, bool revoke) {
    return Tx(true, [&](SqlConn& c) -> absl::Status {
      RETURN_IF_ERROR(RequireBundle(c, td));
      ASSIGN_OR_RETURN(auto rows,
                       c.Query("SELECT tainted FROM bundle_jwt_keys WHERE trust_domain = ? AND kid = ?", {td, kid}));
      if (rows.empty()) return absl::NotFoundError(absl::StrCat("bundle ", td, ": no JWT key with kid \"", kid, "\""));
      const bool tainted = AsInt(rows[0][0]) != 0;
      if (!revoke && tainted) return absl::InvalidArgumentError(absl::StrCat("JWT key ", kid, " is already tainted"));
      if (revoke && !tainted) {
        return absl::InvalidArgumentError(
            absl::StrCat("JWT key ", kid, " is not tainted; only a tainted key can be revoked"));
      }
      const char* sql = revoke ? "DELETE FROM bundle_jwt_keys WHERE trust_domain = ? AND kid = ?"
                               : "UPDATE bundle_jwt_keys SET tainted = 1 WHERE trust_domain = ? AND kid = ?";
      RETURN_IF_ERROR(c.Exec(sql, {td, kid}).status());
      return BumpSequence(c, td);
    });
  }

  static absl::Status RequireBundle(SqlConn& c, const std::string& td) {
    ASSIGN_OR_RETURN(auto head, c.Query("SELECT sequence_number FROM bundles WHERE trust_domain = ?", {td}));
    if (head.empty()) return absl::NotFoundError(absl::StrCat("bundle ", td, " not found"));
    return absl::OkStatus();
  }

  static absl::Status BumpSequence(SqlConn& c, const std::string& td) {
    return c.Exec("UPDATE bundles SET sequence_number = sequence_number + 1 WHERE trust_domain = ?", {td}).status();
  }

  // The fields `mask` selects of the stored bundle b.trust_domain replaced by b's.
  static absl::Status ReplaceBundleLocked(SqlConn& c, const BundleRecord& b, const std::vector<ParsedAuthority>& certs,
                                          const BundleMask& mask) {
    const std::string& td = b.trust_domain;
    if (mask.x509_authorities) {
      RETURN_IF_ERROR(c.Exec("DELETE FROM bundle_x509_authorities WHERE trust_domain = ?", {td}).status());
      RETURN_IF_ERROR(AddX509Authorities(c, td, certs).status());
    }
    if (mask.jwt_keys) {
      RETURN_IF_ERROR(c.Exec("DELETE FROM bundle_jwt_keys WHERE trust_domain = ?", {td}).status());
      RETURN_IF_ERROR(AddJwtKeys(c, td, b.jwt_keys).status());
    }
    if (mask.refresh_hint) {
      RETURN_IF_ERROR(
          c.Exec("UPDATE bundles SET refresh_hint_seconds = ? WHERE trust_domain = ?", {b.refresh_hint_seconds, td})
              .status());
    }
    if (mask.sequence_number) {
      RETURN_IF_ERROR(c.Exec("UPDATE bundles SET sequence_number = ? WHERE trust_domain = ?",
                             {static_cast<int64_t>(b.sequence_number), td})
                          .status());
    }
    return absl::OkStatus();
  }

  // DeleteBundle's treatment of the entries (rows of entry ids) that federate with `td`.
  absl::Status ReleaseFederatedEntries(SqlConn& c, const std::string& td, const std::vector<SqlRow>& entries,
                                       DeleteBundleMode mode) {
    if (entries.empty()) return absl::OkStatus();
    switch (mode) {
      case DeleteBundleMode::kRestrict:
        return absl::FailedPreconditionError(
            absl::StrCat("cannot delete bundle; federated with ", entries.size(), " registration entries"));
      case DeleteBundleMode::kDelete:
        for (const auto& r : entries) RETURN_IF_ERROR(DeleteEntryLocked(c, AsStr(r[0])));
        return absl::OkStatus();
      case DeleteBundleMode::kDissociate:
        for (const auto& r : entries) {
          const std::string id = AsStr(r[0]);
          RETURN_IF_ERROR(
              c.Exec("DELETE FROM federated_registration_entries WHERE entry_id = ? AND trust_domain = ?", {id, td})
                  .status());
          RETURN_IF_ERROR(
              c.Exec("UPDATE registered_entries SET revision_number = revision_number + 1 WHERE id = ?", {id})
                  .status());
          RETURN_IF_ERROR(AppendEntryEvent(c, id));
        }
        return absl::OkStatus();
    }
    return absl::InvalidArgumentError("unknown bundle delete mode");
  }

  absl::StatusOr<BundleRecord> LoadBundle(SqlConn& c, const std::string& td) {
    ASSIGN_OR_RETURN(auto head, c.Query("SELECT sequence_number, refresh_hint_seconds FROM bundles"
                                        " WHERE trust_domain = ?",
                                        {td}));
    if (head.empty()) return absl::NotFoundError(absl::StrCat("bundle ", td, " not found"));
    BundleRecord b;
    b.trust_domain = td;
    b.sequence_number = static_cast<uint64_t>(AsInt(head[0][0]));
    b.refresh_hint_seconds = AsInt(head[0][1]);
    ASSIGN_OR_RETURN(auto certs, c.Query("SELECT der, tainted FROM bundle_x509_authorities WHERE trust_domain = ?"
                                         " ORDER BY position",
                                         {td}));
    for (const auto& r : certs) {
      b.x509_authorities_der.push_back(AsStr(r[0]));
      if (AsInt(r[1]) != 0) b.tainted_x509_der.push_back(AsStr(r[0]));
    }
    ASSIGN_OR_RETURN(auto keys, c.Query("SELECT kid, public_key_der, expires_at, tainted FROM bundle_jwt_keys"
                                        " WHERE trust_domain = ? ORDER BY position",
                                        {td}));
    for (const auto& r : keys) b.jwt_keys.push_back({AsStr(r[0]), AsStr(r[1]), AsInt(r[2]), AsInt(r[3]) != 0});
    return b;
  }

  std::unique_ptr<SqlTxRunner> runner_;
  Clock& clock_;
  Random& random_;  // entry ids; thread-safe by the Random contract
};

// One connection, one mutex, no retry.
class SingleConnRunner final : public SqlTxRunner {
 public:
  explicit SingleConnRunner(std::unique_ptr<SqlConn> conn) : conn_(std::move(conn)) {}
  absl::Status Run(TxMode mode, const std::function<absl::Status(SqlConn&)>& body) override {
    std::lock_guard<std::mutex> lock(mu_);
    RETURN_IF_ERROR(conn_->Begin(mode == TxMode::kWrite));
    if (auto s = body(*conn_); !s.ok()) {
      conn_->Rollback();
      return s;
    }
    if (auto s = conn_->Commit(); !s.ok()) {
      conn_->Rollback();
      return s;
    }
    return absl::OkStatus();
  }

 private:
  std::mutex mu_;
  std::unique_ptr<SqlConn> conn_;
};

}  // namespace

std::unique_ptr<DataStore> NewSqlDataStore(std::unique_ptr<SqlConn> conn, Clock& clock, Random& random) {
  return std::make_unique<SqlDataStore>(std::make_unique<SingleConnRunner>(std::move(conn)), clock, random);
}

std::unique_ptr<DataStore> NewSqlDataStore(std::unique_ptr<SqlTxRunner> runner, Clock& clock, Random& random) {
  return std::make_unique<SqlDataStore>(std::move(runner), clock, random);
}

}  // namespace spirecvm::datastore
