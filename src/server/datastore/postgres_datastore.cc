#include "server/datastore/postgres_datastore.h"

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "common/strings.h"
#include "server/datastore/sql_conn.h"
#include "server/datastore/sql_datastore.h"
#include "spdlog/spdlog.h"

namespace spirecvm::datastore {
namespace {

// Type OIDs (pg_type.h) the results are converted by.
constexpr Oid kBoolOid = 16, kByteaOid = 17, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kOidOid = 26,
              kNumericOid = 1700;

// Advisory lock key serialising schema migrations across servers starting at the same time.
constexpr int64_t kMigrationLockKey = 0x63766d0000;

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// Rewrites '?' placeholders to $1..$n, leaving quoted literals and identifiers alone.
std::string RewritePlaceholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  char quote = 0;
  for (char ch : sql) {
    if (quote != 0) {
      if (ch == quote) quote = 0;
      out += ch;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      out += ch;
    } else if (ch == '?') {
      absl::StrAppend(&out, "$", ++n);
    } else {
      out += ch;
    }
  }
  return out;
}

int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// bytea in text output format (bytea_output = hex, the default since 9.0): "\x0a1b...".
std::string DecodeByteaHex(const char* s, int len) {
  std::string out;
  if (len < 2 || s[0] != '\\' || s[1] != 'x') {
    // Escape format (bytea_output = escape): let libpq decode it.
    size_t n = 0;
    unsigned char* p = PQunescapeBytea(reinterpret_cast<const unsigned char*>(s), &n);
    if (p != nullptr) {
      out.assign(reinterpret_cast<char*>(p), n);
      PQfreemem(p);
    }
    return out;
  }
  out.reserve(static_cast<size_t>(len - 2) / 2);
  for (int i = 2; i + 1 < len; i += 2) {
    out += static_cast<char>((HexVal(s[i]) << 4) | HexVal(s[i + 1]));
  }
  return out;
}

bool IsConnectionSqlState(std::string_view st) {
  return st.substr(0, 2) == "08" || st == "57P01" || st == "57P02" || st == "57P03" ||
         // A write on a server that is (now) a standby: reconnecting may reach the new primary.
         st == "25006";
}

// One libpq connection with its prepared statements (named s1, s2, ... keyed by SQL text).
class PgConn final : public SqlConn {
 public:
  PgConn(PGconn* c, absl::Time opened) : conn_(c), opened_(opened) {
    PQsetNoticeProcessor(
        conn_, [](void*, const char* msg) { spdlog::debug("postgres notice: {}", msg); }, nullptr);
  }
  ~PgConn() override { PQfinish(conn_); }
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  Dialect dialect() const override { return Dialect::kPostgres; }

  absl::Status QueryEach(std::string_view sql, const SqlParams& params,
                         absl::FunctionRef<void(SqlRow&)> on_row) override {
    ASSIGN_OR_RETURN(PgResult res, Run(sql, params));
    const int nrows = PQntuples(res.get()), ncols = PQnfields(res.get());
    SqlRow row;
    for (int r = 0; r < nrows; ++r) {
      row.clear();
      row.reserve(static_cast<size_t>(ncols));
      for (int c = 0; c < ncols; ++c) row.push_back(Value(res.get(), r, c));
      on_row(row);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<int64_t> Exec(std::string_view sql, const SqlParams& params) override {
    ASSIGN_OR_RETURN(PgResult res, Run(sql, params));
    int64_t n = 0;
    if (!absl::SimpleAtoi(PQcmdTuples(res.get()), &n)) n = 0;
    return n;
  }

  absl::Status ExecScript(std::string_view sql) override {
    std::string s(sql);
    PgResult res(PQexec(conn_, s.c_str()));
    return Check(res.get(), "script");
  }

  absl::Status Begin(bool write) override {
    // Writes: SERIALIZABLE, so read-modify-write methods (bundle merge, sequence numbers, duplicate checks) are
    // safe across servers; conflicts surface as SQLSTATE 40001 and the runner retries the whole transaction.
    // Reads: one consistent snapshot across the method's statements (also valid on a hot standby).
    return Simple(write ? "BEGIN ISOLATION LEVEL SERIALIZABLE, READ WRITE"
                        : "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY");
  }

  absl::Status Commit() override {
    PgResult res(PQexec(conn_, "COMMIT"));
    RETURN_IF_ERROR(Check(res.get(), "COMMIT"));
    // COMMIT of a transaction that failed earlier answers "ROLLBACK" without an error.
    if (std::string_view(PQcmdStatus(res.get())) != "COMMIT") {
      return WithRetry(absl::UnavailableError("postgres: COMMIT rolled back"), SqlRetry::kSerialization);
    }
    return absl::OkStatus();
  }

  void Rollback() override {
    if (PQstatus(conn_) != CONNECTION_OK) return;
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
    PgResult res(PQexec(conn_, "ROLLBACK"));
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) broken_ = true;
  }

  // False once the connection is lost or left in a state the pool must not hand out again.
  bool Reusable() const {
    return !broken_ && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
  }
  absl::Time opened() const { return opened_; }
  PGconn* raw() const { return conn_; }

 private:
  // One column of one result row as a SqlValue (integers and booleans as int64, bytea as Blob, the rest as text).
  static SqlValue Value(const PGresult* res, int r, int c) {
    if (PQgetisnull(res, r, c)) return std::monostate{};
    const char* v = PQgetvalue(res, r, c);
    const auto len = static_cast<size_t>(PQgetlength(res, r, c));
    switch (PQftype(res, c)) {
      case kInt2Oid:
      case kInt4Oid:
      case kInt8Oid:
      case kOidOid:
      case kNumericOid: {
        int64_t n = 0;
        if (!absl::SimpleAtoi(absl::string_view(v, len), &n)) {
          double d = 0;
          if (absl::SimpleAtod(absl::string_view(v, len), &d)) n = static_cast<int64_t>(d);
        }
        return n;
      }
      case kBoolOid:
        return int64_t{v[0] == 't'};
      case kByteaOid:
        return Blob{DecodeByteaHex(v, static_cast<int>(len))};
      default:
        return std::string(v, len);
    }
  }

  absl::Status Simple(const char* sql) {
    PgResult res(PQexec(conn_, sql));
    return Check(res.get(), sql);
  }

  absl::StatusOr<PgResult> Run(std::string_view sql, const SqlParams& params) {
    std::string key(sql);
    auto it = stmts_.find(key);
    if (it == stmts_.end()) {
      std::string name = absl::StrCat("s", stmts_.size() + 1);
      const std::string text = RewritePlaceholders(sql);
      PgResult prep(PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr));
      RETURN_IF_ERROR(Check(prep.get(), absl::StrCat("prepare \"", ToAbsl(sql), "\"")));
      it = stmts_.emplace(std::move(key), std::move(name)).first;
    }
    std::vector<std::string> text(params.size());
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<int> lengths(params.size(), 0), formats(params.size(), 0);
    for (size_t i = 0; i < params.size(); ++i) {
      const SqlValue& v = params[i];
      if (const auto* n = std::get_if<int64_t>(&v)) {
        text[i] = absl::StrCat(*n);
        values[i] = text[i].c_str();
      } else if (const auto* s = std::get_if<std::string>(&v)) {
        values[i] = s->c_str();
      } else if (const auto* b = std::get_if<Blob>(&v)) {
        values[i] = b->bytes.data();
        lengths[i] = static_cast<int>(b->bytes.size());
        formats[i] = 1;  // binary: raw bytes for bytea
      }
    }
    PgResult res(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(params.size()), values.data(),
                                lengths.data(), formats.data(), /*resultFormat=*/0));
    RETURN_IF_ERROR(Check(res.get(), sql));
    return res;
  }

  absl::Status Check(PGresult* res, std::string_view what) {
    const ExecStatusType st = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return absl::OkStatus();
    const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = state != nullptr ? state : "";
    const char* primary = res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    std::string detail = primary != nullptr ? primary : PQerrorMessage(conn_);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
    std::string msg = absl::StrCat("postgres: ", ToAbsl(what), ": ", detail);
    if (!sqlstate.empty()) absl::StrAppend(&msg, " (SQLSTATE ", sqlstate, ")");
    if (PQstatus(conn_) != CONNECTION_OK || IsConnectionSqlState(sqlstate)) {
      broken_ = true;
      return WithRetry(absl::UnavailableError(msg), SqlRetry::kConnectionLost);
    }
    // No SQLSTATE: a client-side failure (out of memory, protocol trouble); do not reuse the connection.
    if (sqlstate.empty()) broken_ = true;
    if (sqlstate == "23505") return absl::AlreadyExistsError(msg);
    if (sqlstate == "23503") return absl::FailedPreconditionError(msg);
    if (sqlstate == "40001" || sqlstate == "40P01") {
      return WithRetry(absl::UnavailableError(msg), SqlRetry::kSerialization);
    }
    if (sqlstate == "55P03" || sqlstate == "57014" || sqlstate == "53300") return absl::UnavailableError(msg);
    return absl::InternalError(msg);
  }

  PGconn* conn_;
  absl::Time opened_;
  bool broken_ = false;
  std::unordered_map<std::string, std::string> stmts_;
};

absl::StatusOr<std::unique_ptr<PgConn>> Connect(const std::string& conninfo, std::string_view target) {
  const char* keys[] = {"dbname", "fallback_application_name", nullptr};
  const char* vals[] = {conninfo.c_str(), "spire-cvm-server", nullptr};
  PGconn* c = PQconnectdbParams(keys, vals, /*expand_dbname=*/1);
  if (c == nullptr) return absl::ResourceExhaustedError("postgres: out of memory allocating a connection");
  if (PQstatus(c) != CONNECTION_OK) {
    std::string err = PQerrorMessage(c);
    PQfinish(c);
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return WithRetry(absl::UnavailableError(absl::StrCat("postgres: cannot connect to ", ToAbsl(target), ": ", err)),
                     SqlRetry::kConnectionLost);
  }
  return std::make_unique<PgConn>(c, absl::Now());
}

// A bounded pool of connections to one server. Connections are opened lazily; broken or too old ones are closed
// when returned.
class PgPool {
 public:
  PgPool(std::string conninfo, int max_open, absl::Duration max_lifetime)
      : conninfo_(std::move(conninfo)),
        target_(DescribePostgresTarget(conninfo_)),
        max_open_(max_open),
        max_lifetime_(max_lifetime) {}

  ~PgPool() {
    std::lock_guard<std::mutex> l(mu_);
    idle_.clear();
  }

  const std::string& target() const { return target_; }

  // Waits at most until `deadline` for a free slot.
  absl::StatusOr<std::unique_ptr<PgConn>> Acquire(absl::Time deadline) {
    std::unique_lock<std::mutex> l(mu_);
    for (;;) {
      while (!idle_.empty()) {
        std::unique_ptr<PgConn> c = std::move(idle_.back());
        idle_.pop_back();
        if (c->Reusable() && !TooOld(*c)) return c;
        --open_;
        l.unlock();
        c.reset();
        l.lock();
      }
      if (open_ < max_open_) {
        ++open_;
        l.unlock();
        auto c = Connect(conninfo_, target_);
        if (!c.ok()) {
          l.lock();
          --open_;
          cv_.notify_one();
          return c.status();
        }
        return c;
      }
      if (cv_.wait_until(l, absl::ToChronoTime(deadline)) == std::cv_status::timeout && idle_.empty() &&
          open_ >= max_open_) {
        return absl::UnavailableError(
            absl::StrCat("postgres: all ", max_open_, " connections to ", target_, " are busy (max_open_conns)"));
      }
    }
  }

  void Release(std::unique_ptr<PgConn> c) {
    const bool keep = c->Reusable() && !TooOld(*c);
    std::unique_lock<std::mutex> l(mu_);
    if (keep) {
      idle_.push_back(std::move(c));
    } else {
      --open_;
      l.unlock();
      c.reset();
      l.lock();
    }
    cv_.notify_one();
  }

  // Adds an already open connection (the one OpenPostgres migrated with).
  void Adopt(std::unique_ptr<PgConn> c) {
    std::lock_guard<std::mutex> l(mu_);
    ++open_;
    idle_.push_back(std::move(c));
  }

 private:
  bool TooOld(const PgConn& c) const {
    return max_lifetime_ > absl::ZeroDuration() && absl::Now() - c.opened() > max_lifetime_;
  }

  const std::string conninfo_;
  const std::string target_;
  const int max_open_;
  const absl::Duration max_lifetime_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PgConn>> idle_;
  int open_ = 0;
};

void Pause(absl::Duration d) { std::this_thread::sleep_for(absl::ToChronoNanoseconds(d)); }

absl::Duration Jitter(absl::Duration max) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const int64_t us = std::max<int64_t>(1, absl::ToInt64Microseconds(max));
  return absl::Microseconds(std::uniform_int_distribution<int64_t>(us / 2, us)(rng));
}

// Runs transactions on the pool(s) with retries. Retry policy (per transaction, up to retry_timeout):
//  - SQLSTATE 40001 / 40P01 (serialization failure, deadlock), at any statement or at COMMIT: the server rolled
//    the transaction back, so it is re-run from scratch after a short randomised backoff.
//  - connection lost (or refused) BEFORE COMMIT was sent: the server discards an uncommitted transaction when its
//    connection goes, so re-running it on a fresh connection is safe; backoff 50 ms doubling to 2 s.
//  - connection lost DURING COMMIT: the outcome is unknown (the commit may or may not have happened). Not
//    retried: re-running a non-idempotent write (an entry create with a fresh id, a token consume) could apply it
//    twice or turn success into NotFound. Unavailable "commit outcome unknown" is returned; the caller (an admin,
//    an agent) re-reads and retries at its level, as with any RPC whose reply was lost.
class PgRunner final : public SqlTxRunner {
 public:
  PgRunner(std::unique_ptr<PgPool> primary, std::unique_ptr<PgPool> replica, absl::Duration retry_timeout)
      : primary_(std::move(primary)), replica_(std::move(replica)), retry_timeout_(retry_timeout) {}

  absl::Status Run(TxMode mode, const std::function<absl::Status(SqlConn&)>& body) override {
    const bool write = mode == TxMode::kWrite;
    const absl::Time deadline = absl::Now() + retry_timeout_;
    absl::Duration conn_backoff = absl::Milliseconds(50);
    for (int attempt = 1;; ++attempt) {
      PgPool* pool = primary_.get();
      absl::StatusOr<std::unique_ptr<PgConn>> conn = absl::UnavailableError("");
      if (mode == TxMode::kRead && replica_ != nullptr &&
          absl::ToUnixNanos(absl::Now()) >= replica_down_until_ns_.load()) {
        conn = replica_->Acquire(deadline);
        if (!conn.ok()) {
          ReplicaDown(conn.status());
        } else {
          pool = replica_.get();
        }
      }
      if (pool == primary_.get()) conn = primary_->Acquire(deadline);
      absl::Status s;
      bool committing = false;
      if (!conn.ok()) {
        s = conn.status();
      } else {
        PgConn& c = **conn;
        s = c.Begin(write);
        if (s.ok()) s = body(c);
        if (s.ok()) {
          committing = true;
          s = c.Commit();
        }
        if (!s.ok()) c.Rollback();
        pool->Release(std::move(*conn));
        if (s.ok()) return s;
      }
      const SqlRetry kind = RetryOf(s);
      if (kind == SqlRetry::kNone) return s;
      if (pool == replica_.get() && kind == SqlRetry::kConnectionLost) ReplicaDown(s);
      if (committing && kind == SqlRetry::kConnectionLost) {
        return absl::UnavailableError(absl::StrCat(
            "datastore: connection to PostgreSQL lost during COMMIT; the outcome of this write is unknown (",
            s.message(), ")"));
      }
      const absl::Time now = absl::Now();
      if (now >= deadline) {
        return Annotate(s, absl::StrCat("datastore: giving up after ", attempt, " attempts in ",
                                        absl::FormatDuration(retry_timeout_)));
      }
      absl::Duration wait;
      if (kind == SqlRetry::kSerialization) {
        wait = Jitter(std::min(absl::Milliseconds(2) * (1 << std::min(attempt, 7)), absl::Milliseconds(200)));
        spdlog::debug("datastore: transaction attempt {} conflicted, retrying: {}", attempt, std::string(s.message()));
      } else {
        wait = Jitter(conn_backoff);
        conn_backoff = std::min(conn_backoff * 2, absl::Seconds(2));
        spdlog::warn("datastore: PostgreSQL connection problem (attempt {}), retrying the transaction in {}: {}",
                     attempt, absl::FormatDuration(wait), std::string(s.message()));
      }
      Pause(std::min(wait, deadline - now));
    }
  }

 private:
  // Reads go to the primary for a while after the replica failed (logged once per period).
  void ReplicaDown(const absl::Status& why) {
    replica_down_until_ns_.store(absl::ToUnixNanos(absl::Now() + absl::Seconds(5)));
    spdlog::warn("datastore: read replica {} unavailable, reading from the primary for 5s: {}", replica_->target(),
                 std::string(why.message()));
  }

  std::unique_ptr<PgPool> primary_;
  std::unique_ptr<PgPool> replica_;
  const absl::Duration retry_timeout_;
  std::atomic<int64_t> replica_down_until_ns_{0};
};

absl::Status ValidateOptions(const PostgresOptions& opts) {
  if (opts.connection_string.empty()) {
    return absl::InvalidArgumentError("datastore: postgres connection_string is empty");
  }
  if (opts.max_open_conns < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("datastore: max_open_conns must be >= 1 (got ", opts.max_open_conns, ")"));
  }
  for (const std::string* cs : {&opts.connection_string, &opts.ro_connection_string}) {
    if (cs->empty()) continue;
    char* err = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(cs->c_str(), &err);
    if (parsed == nullptr) {
      std::string msg = err != nullptr ? err : "unparsable";
      if (err != nullptr) PQfreemem(err);
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      return absl::InvalidArgumentError(absl::StrCat("datastore: invalid PostgreSQL connection string: ", msg));
    }
    PQconninfoFree(parsed);
  }
  return absl::OkStatus();
}

// Waits for the database to come up (a server started together with its database, or during a restart).
absl::StatusOr<std::unique_ptr<PgConn>> ConnectWithRetry(const PostgresOptions& opts, const std::string& target) {
  const absl::Time start = absl::Now();
  const absl::Time deadline = start + opts.connect_timeout;
  absl::Duration backoff = absl::Milliseconds(200);
  for (int attempt = 1;; ++attempt) {
    auto c = Connect(opts.connection_string, target);
    if (c.ok()) {
      if (attempt > 1) spdlog::info("datastore: connected to PostgreSQL {} after {} attempts", target, attempt);
      return c;
    }
    const absl::Time now = absl::Now();
    if (now + backoff > deadline) {
      return absl::UnavailableError(absl::StrCat("datastore: PostgreSQL ", target, " unreachable: gave up after ",
                                                 attempt, " attempts in ", absl::FormatDuration(now - start),
                                                 " (connect_timeout ", absl::FormatDuration(opts.connect_timeout),
                                                 "); last error: ", c.status().message()));
    }
    spdlog::warn("datastore: PostgreSQL {} not reachable yet (attempt {}), retrying in {}: {}", target, attempt,
                 absl::FormatDuration(backoff), std::string(c.status().message()));
    Pause(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
}

absl::Status CheckServerVersion(PgConn& conn, const std::string& target) {
  PgResult ver(PQexec(conn.raw(), "SHOW server_version_num"));
  int v = 0;
  if (PQresultStatus(ver.get()) == PGRES_TUPLES_OK && PQntuples(ver.get()) == 1 &&
      absl::SimpleAtoi(PQgetvalue(ver.get(), 0, 0), &v) && v < 100000) {
    return absl::FailedPreconditionError(
        absl::StrCat("datastore: PostgreSQL ", target, " is version ", v, "; 10 or newer is required"));
  }
  return absl::OkStatus();
}

// Migrates under a session advisory lock, so servers starting together do not race on CREATE TABLE.
absl::StatusOr<int64_t> MigrateUnderLock(PgConn& conn, const std::string& target) {
  const std::string context = absl::StrCat("datastore: PostgreSQL ", target);
  RETURN_IF_ERROR(Annotate(conn.ExecScript(absl::StrCat("SELECT pg_advisory_lock(", kMigrationLockKey, ")")), context));
  auto version = MigrateSchema(conn);
  (void)conn.ExecScript(absl::StrCat("SELECT pg_advisory_unlock(", kMigrationLockKey, ")"));
  RETURN_IF_ERROR(Annotate(version, context));
  return version;
}

// The read-replica pool (null without ro_connection_string); an unreachable replica is only logged.
std::unique_ptr<PgPool> OpenReplicaPool(const PostgresOptions& opts) {
  if (opts.ro_connection_string.empty()) return nullptr;
  auto replica = std::make_unique<PgPool>(opts.ro_connection_string, opts.max_open_conns, opts.conn_max_lifetime);
  auto c = replica->Acquire(absl::Now() + absl::Seconds(1));
  if (c.ok()) {
    replica->Release(std::move(*c));
  } else {
    spdlog::warn("datastore: read replica {} not reachable at start (reads use the primary until it is): {}",
                 replica->target(), std::string(c.status().message()));
  }
  return replica;
}

}  // namespace

std::string DescribePostgresTarget(const std::string& connection_string) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(connection_string.c_str(), &err);
  if (opts == nullptr) {
    if (err != nullptr) PQfreemem(err);
    return "(unparsable connection string)";
  }
  std::vector<std::string> parts;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    const std::string_view k = o->keyword;
    if (o->val == nullptr || o->val[0] == '\0') continue;
    if (k == "host" || k == "hostaddr" || k == "port" || k == "dbname" || k == "user") {
      parts.push_back(absl::StrCat(ToAbsl(k), "=", o->val));
    }
  }
  PQconninfoFree(opts);
  return parts.empty() ? "(libpq defaults)" : absl::StrJoin(parts, " ");
}

absl::StatusOr<std::unique_ptr<DataStore>> OpenPostgres(const PostgresOptions& opts, Clock& clock, Random& random) {
  RETURN_IF_ERROR(ValidateOptions(opts));
  const std::string target = DescribePostgresTarget(opts.connection_string);
  ASSIGN_OR_RETURN(std::unique_ptr<PgConn> first, ConnectWithRetry(opts, target));
  RETURN_IF_ERROR(CheckServerVersion(*first, target));
  ASSIGN_OR_RETURN(int64_t version, MigrateUnderLock(*first, target));
  spdlog::info("datastore: PostgreSQL {} at schema version {}", target, version);

  auto primary = std::make_unique<PgPool>(opts.connection_string, opts.max_open_conns, opts.conn_max_lifetime);
  if (first->Reusable()) primary->Adopt(std::move(first));
  return NewSqlDataStore(std::make_unique<PgRunner>(std::move(primary), OpenReplicaPool(opts), opts.retry_timeout),
                         clock, random);
}

}  // namespace spirecvm::datastore
