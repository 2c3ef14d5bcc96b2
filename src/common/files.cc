#include "common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/fd.h"
#include "common/strings.h"

namespace spirecvm::files {
namespace {

absl::Status ErrnoStatus(int err, std::string_view what, std::string_view path) {
  std::string msg = absl::StrCat(ToAbsl(what), " ", ToAbsl(path), ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

std::string DirName(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, "open", path);
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

absl::Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string dir = DirName(path);
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  Fd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus(errno, "create temporary file for", path);
  std::string tmp(name.data());
  // Any failure below leaves the old file untouched and removes the temporary; the error names the file being
  // written (the operator's path), then the temporary.
  auto fail = [&](int err, std::string_view what) {
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, what, absl::StrCat(path, " (temporary ", tmp, ")"));
  };
  // chmod before writing so secret content is never readable under the temp file's default mode.
  if (::fchmod(fd.get(), mode) != 0) return fail(errno, "chmod");
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(errno, "write");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return fail(errno, "fsync");
  if (::close(fd.release()) != 0) return fail(errno, "close");
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus(err, absl::StrCat("rename ", tmp, " to"), path);
  }
  // fsync the directory so the rename itself survives a crash.
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) return ErrnoStatus(errno, "open directory", dir);
  if (::fsync(dfd.get()) != 0) return ErrnoStatus(errno, "fsync directory", dir);
  return absl::OkStatus();
}

absl::Status EnsureDir(const std::string& path, mode_t mode) {
  if (path.empty()) return absl::InvalidArgumentError("EnsureDir: empty path");
  // Walk the prefixes; intermediate directories get `mode` too (minus umask) as they are created.
  size_t pos = 0;
  while (true) {
    pos = path.find('/', pos + 1);
    std::string prefix = path.substr(0, pos);
    if (!prefix.empty() && prefix != "/") {
      if (::mkdir(prefix.c_str(), mode | S_IRWXU) != 0 && errno != EEXIST) {
        return ErrnoStatus(errno, "mkdir", prefix);
      }
      struct stat st;
      if (::stat(prefix.c_str(), &st) != 0) return ErrnoStatus(errno, "stat", prefix);
      if (!S_ISDIR(st.st_mode)) {
        return absl::FailedPreconditionError(absl::StrCat("mkdir ", prefix, ": exists and is not a directory"));
      }
    }
    if (pos == std::string::npos) break;
  }
  if (::chmod(path.c_str(), mode) != 0) return ErrnoStatus(errno, "chmod", path);
  return absl::OkStatus();
}

}  // namespace spirecvm::files
