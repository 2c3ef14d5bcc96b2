#include "server/datastore/sqlite_error.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace spirecvm::datastore {
namespace {

bool IsDiskFailure(int rc) { return (rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_IOERR; }

absl::Status DiskStatus(sqlite3* db, int rc, int ext, std::string_view what, std::string_view path) {
  const int sys = db != nullptr ? sqlite3_system_errno(db) : 0;
  const bool full = (rc & 0xff) == SQLITE_FULL || sys == ENOSPC || sys == EDQUOT;
  const char* reason = full ? std::strerror(ENOSPC) : (sys != 0 ? std::strerror(sys) : "I/O error");
  std::string msg = absl::StrCat("datastore: sqlite database ", ToAbsl(path), ": ", reason, " (", ToAbsl(what), ": ",
                                 db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc), ", code ", ext, ")");
  spdlog::error("{}", msg);
  return full ? absl::ResourceExhaustedError(msg) : absl::UnavailableError(msg);
}

}  // namespace

absl::Status SqliteStatus(sqlite3* db, int rc, std::string_view what, std::string_view path) {
  const int ext = db != nullptr ? sqlite3_extended_errcode(db) : rc;
  if (IsDiskFailure(rc)) return DiskStatus(db, rc, ext, what, path);
  std::string msg = absl::StrCat("sqlite: ", ToAbsl(what), ": ",
                                 db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc), " (code ", ext, ")");
  switch (ext) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
      return absl::AlreadyExistsError(msg);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return absl::FailedPreconditionError(msg);
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(msg);
    default:
      return absl::InternalError(msg);
  }
}

}  // namespace spirecvm::datastore
