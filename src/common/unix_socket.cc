#include "common/unix_socket.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"

namespace spirecvm {

absl::Status PrepareSocketPath(const std::string& socket_path, mode_t dir_mode) {
  if (socket_path.empty()) return absl::InvalidArgumentError("socket path is empty");
  if (socket_path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path ", socket_path, " is too long (", socket_path.size(),
                                                   " bytes, max ", sizeof(sockaddr_un{}.sun_path) - 1, ")"));
  }
  auto slash = socket_path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : socket_path.substr(0, slash));
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      return absl::InternalError(absl::StrCat("stat ", dir, ": ", std::strerror(errno)));
    }
    // Only a directory we create gets dir_mode: chmod-ing an existing shared parent such as /tmp would be wrong.
    RETURN_IF_ERROR(Annotate(files::EnsureDir(dir, dir_mode), "creating socket directory"));
  } else if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("socket directory ", dir, " is not a directory"));
  }
  if (::lstat(socket_path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return absl::InternalError(absl::StrCat("stat ", socket_path, ": ", std::strerror(errno)));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("refusing to remove ", socket_path, ": it exists and is not a socket"));
  }
  if (::unlink(socket_path.c_str()) != 0 && errno != ENOENT) {
    return absl::InternalError(absl::StrCat("remove stale socket ", socket_path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<PeerCred> GetPeerCred(int fd) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return absl::InternalError(absl::StrCat("getsockopt(SO_PEERCRED) on fd ", fd, ": ", std::strerror(errno)));
  }
  if (len != sizeof cred) return absl::InternalError("getsockopt(SO_PEERCRED): short result");
  return PeerCred{cred.pid, cred.uid, cred.gid};
}

absl::StatusOr<uint64_t> ProcessStartTime(pid_t pid, const std::string& proc_root) {
  std::string path = absl::StrCat(proc_root, "/", pid, "/stat");
  ASSIGN_OR_RETURN(auto content, files::ReadFile(path));
  // comm (field 2) is in parentheses and may itself contain ')' and spaces: fields resume after the LAST ')'.
  auto close = content.rfind(')');
  if (close == std::string::npos) {
    return absl::DataLossError(absl::StrCat(path, ": malformed (no ')' after comm)"));
  }
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(content).substr(close + 1), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state), so field 22 (starttime) is fields[19].
  constexpr size_t kIndex = 22 - 3;
  if (fields.size() <= kIndex) {
    return absl::DataLossError(absl::StrCat(path, ": malformed (only ", fields.size() + 2, " fields)"));
  }
  absl::string_view f = fields[kIndex];
  while (!f.empty() && (f.back() == '\n')) f.remove_suffix(1);
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  if (ec != std::errc() || ptr != f.data() + f.size() || f.empty()) {
    return absl::DataLossError(absl::StrCat(path, ": starttime \"", f, "\" is not a number"));
  }
  return v;
}

}  // namespace spirecvm
