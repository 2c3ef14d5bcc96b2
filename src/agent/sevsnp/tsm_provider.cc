#include "agent/sevsnp/tsm_provider.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "attestation/sevsnp/abi/report.h"
#include "common/random.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent::snp {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

absl::Status MkdirEntry(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0) {
    const int err = errno;
    std::string msg = absl::StrCat("configfs-tsm: mkdir ", dir, ": ", ErrnoText(err));
    if (err == EEXIST) return absl::AlreadyExistsError(msg);
    if (err == ENOENT) return absl::NotFoundError(msg);
    if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(msg + " (the agent must run as root)");
    return absl::InternalError(msg);
  }
  return absl::OkStatus();
}

absl::Status RmdirEntry(const std::string& dir) {
  if (::rmdir(dir.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("configfs-tsm: rmdir ", dir, ": ", ErrnoText(errno)));
  }
  return absl::OkStatus();
}

// Removes the entry when the attempt ends, whatever the path out.
class EntryGuard {
 public:
  EntryGuard(std::string dir, const std::function<absl::Status(const std::string&)>& remove)
      : dir_(std::move(dir)), remove_(remove) {}
  ~EntryGuard() {
    if (absl::Status st = remove_(dir_); !st.ok()) spdlog::warn("{}", std::string(st.message()));
  }
  EntryGuard(const EntryGuard&) = delete;
  EntryGuard& operator=(const EntryGuard&) = delete;

 private:
  std::string dir_;
  const std::function<absl::Status(const std::string&)>& remove_;
};

// The whole attribute, read until EOF (configfs serves binary attributes in one buffer; loop anyway).
absl::StatusOr<std::string> ReadAttr(const std::string& path, size_t max) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    std::string msg = absl::StrCat("configfs-tsm: open ", path, ": ", ErrnoText(err));
    return err == ENOENT ? absl::NotFoundError(msg) : absl::InternalError(msg);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat("configfs-tsm: read ", path, ": ", ErrnoText(err)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max) {
      ::close(fd);
      return absl::InternalError(absl::StrCat("configfs-tsm: ", path, " is larger than ", max, " bytes"));
    }
  }
  ::close(fd);
  return out;
}

// One write(2) of the whole value: configfs takes an attribute in one write and commits it on close.
absl::Status WriteAttr(const std::string& path, std::string_view data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("configfs-tsm: open ", path, ": ", ErrnoText(errno)));
  ssize_t n;
  do {
    n = ::write(fd, data.data(), data.size());
  } while (n < 0 && errno == EINTR);
  const int write_err = n < 0 ? errno : 0;
  const int close_rc = ::close(fd);
  const int close_err = close_rc != 0 ? errno : 0;
  if (n < 0) return absl::InternalError(absl::StrCat("configfs-tsm: write ", path, ": ", ErrnoText(write_err)));
  if (static_cast<size_t>(n) != data.size()) {
    return absl::InternalError(
        absl::StrCat("configfs-tsm: short write to ", path, ": ", n, " of ", data.size(), " bytes"));
  }
  if (close_rc != 0) return absl::InternalError(absl::StrCat("configfs-tsm: close ", path, ": ", ErrnoText(close_err)));
  return absl::OkStatus();
}

}  // namespace

TsmProvider::TsmProvider(TsmOptions options) : options_(std::move(options)) {
  if (!options_.make_entry) options_.make_entry = MkdirEntry;
  if (!options_.remove_entry) options_.remove_entry = RmdirEntry;
  if (options_.max_attempts < 1) options_.max_attempts = 1;
}

std::string TsmProvider::UniqueEntryName() {
  // pid + counter keeps our own entries apart; the random part keeps us apart from other processes in the same
  // pid namespace reuse window (and makes names unguessable to a local process that wants to pre-create one).
  uint8_t rnd[8];
  SystemRandom::Get().Fill(absl::MakeSpan(rnd, sizeof(rnd)));
  std::string hex;
  for (uint8_t b : rnd) absl::StrAppend(&hex, absl::Hex(b, absl::kZeroPad2));
  return absl::StrCat("spire-cvm-", ::getpid(), "-", counter_++, "-", hex);
}

absl::StatusOr<Report> TsmProvider::GetReport(const ReportData& report_data) {
  absl::Status last;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    absl::StatusOr<Report> r = Attempt(report_data);
    if (r.ok()) return r;
    last = r.status();
    if (!absl::IsAborted(last) && !absl::IsAlreadyExists(last)) return last;
    spdlog::warn("{} (attempt {} of {})", std::string(last.message()), attempt, options_.max_attempts);
  }
  return absl::AbortedError(absl::StrCat(last.message(), "; gave up after ", options_.max_attempts, " attempts"));
}

absl::StatusOr<Report> TsmProvider::Attempt(const ReportData& report_data) {
  const std::string dir = absl::StrCat(options_.root, "/", UniqueEntryName());
  if (absl::Status st = options_.make_entry(dir); !st.ok()) {
    if (absl::IsNotFound(st)) {
      return absl::NotFoundError(absl::StrCat(st.message(), ": is configfs mounted and is this an SEV-SNP VM?"));
    }
    return st;
  }
  EntryGuard guard(dir, options_.remove_entry);

  ASSIGN_OR_RETURN(const std::string provider, ReadAttr(dir + "/provider", 256));
  const absl::string_view provider_name = absl::StripAsciiWhitespace(provider);
  if (provider_name != "sev_guest") {
    return absl::FailedPreconditionError(absl::StrCat("configfs-tsm: ", dir, "/provider is \"", provider_name,
                                                      "\", not \"sev_guest\": this is not an SEV-SNP guest"));
  }
  uint64_t writes = 0;
  if (options_.privlevel.has_value()) {
    RETURN_IF_ERROR(WriteAttr(dir + "/privlevel", absl::StrCat(*options_.privlevel, "\n")));
    ++writes;
  }
  const std::string_view inblob(reinterpret_cast<const char*>(report_data.data()), report_data.size());
  RETURN_IF_ERROR(WriteAttr(dir + "/inblob", inblob));
  ++writes;

  ASSIGN_OR_RETURN(std::string outblob, ReadAttr(dir + "/outblob", 64 * 1024));
  absl::StatusOr<std::string> auxblob = ReadAttr(dir + "/auxblob", 64 * 1024);
  if (!auxblob.ok()) {
    if (!absl::IsNotFound(auxblob.status())) return auxblob.status();
    auxblob = std::string();  // a kernel without auxblob: no certificate table
  }
  ASSIGN_OR_RETURN(const std::string generation, ReadAttr(dir + "/generation", 64));
  const absl::string_view gen_text = absl::StripAsciiWhitespace(generation);
  uint64_t gen = 0;
  auto [ptr, ec] = std::from_chars(gen_text.data(), gen_text.data() + gen_text.size(), gen);
  if (gen_text.empty() || ec != std::errc() || ptr != gen_text.data() + gen_text.size()) {
    return absl::InternalError(absl::StrCat("configfs-tsm: ", dir, "/generation is not a number: \"", gen_text, "\""));
  }
  if (gen != writes) {
    return absl::AbortedError(absl::StrCat("configfs-tsm: ", dir, "/generation is ", gen, " after our ", writes,
                                           " write(s): another process wrote to the entry"));
  }
  if (outblob.size() != sevsnp::abi::kReportSize) {
    return absl::InternalError(absl::StrCat("configfs-tsm: ", dir, "/outblob is ", outblob.size(),
                                            " bytes, want an SEV-SNP report of ", sevsnp::abi::kReportSize));
  }
  Report out;
  out.report = std::move(outblob);
  out.cert_table = *std::move(auxblob);
  return out;
}

}  // namespace spirecvm::agent::snp
