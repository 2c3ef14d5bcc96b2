#include "api_print.h"

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/status.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "cvm/facts_extension.h"

namespace spirecvm::cli::agent {
namespace {

std::string Ts(absl::Time t) { return absl::FormatTime("%Y-%m-%d %H:%M:%S +0000 UTC", t, absl::UTCTimeZone()); }

std::string DerChainToPem(const std::string& der) {
  auto certs = crypto::ParseCertsDerConcat(der);
  if (!certs.ok()) return "";
  std::string out;
  for (const auto& c : *certs) out += crypto::CertToPem(c.get());
  return out;
}

// The node facts the SVID carries (docs/svid-evidence.md); nothing when it carries none, as SPIRE prints.
void PrintNodeFacts(std::ostream& out, const X509* leaf) {
  auto facts = cvm::PeerFacts(leaf);
  if (absl::IsNotFound(facts.status())) return;
  if (!facts.ok()) {
    out << "Node facts:\t\tmalformed (" << facts.status().message() << ")\n";
    return;
  }
  out << "Node facts:\n" << cvm::NodeFactsText(*facts);
}

}  // namespace

std::string GrpcCodeName(grpc::StatusCode c) {
  static const char* names[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  int i = static_cast<int>(c);
  return (i >= 0 && i <= 16) ? names[i] : absl::StrCat("Code(", i, ")");
}

void PrintX509Response(std::ostream& out, const X509SVIDResponse& resp, absl::Duration took) {
  out << "Received " << resp.svids_size() << " svid after " << absl::FormatDuration(took) << "\n\n";
  for (const auto& s : resp.svids()) {
    out << "SPIFFE ID:\t\t" << s.spiffe_id() << "\n";
    if (!s.hint().empty()) out << "Hint:\t\t\t" << s.hint() << "\n";
    auto certs = crypto::ParseCertsDerConcat(s.x509_svid());
    if (certs.ok() && !certs->empty()) {
      out << "SVID Valid After:\t" << Ts(crypto::NotBefore((*certs)[0].get())) << "\n";
      out << "SVID Valid Until:\t" << Ts(crypto::NotAfter((*certs)[0].get())) << "\n";
      PrintNodeFacts(out, (*certs)[0].get());
      for (size_t i = 1; i < certs->size(); ++i) {
        out << "Intermediate #" << i << " Valid After:\t" << Ts(crypto::NotBefore((*certs)[i].get())) << "\n";
        out << "Intermediate #" << i << " Valid Until:\t" << Ts(crypto::NotAfter((*certs)[i].get())) << "\n";
      }
    }
    auto cas = crypto::ParseCertsDerConcat(s.bundle());
    if (cas.ok()) {
      for (size_t i = 0; i < cas->size(); ++i) {
        out << "CA #" << i + 1 << " Valid After:\t" << Ts(crypto::NotBefore((*cas)[i].get())) << "\n";
        out << "CA #" << i + 1 << " Valid Until:\t" << Ts(crypto::NotAfter((*cas)[i].get())) << "\n";
      }
    }
    out << "\n";
  }
}

absl::Status WriteX509Response(const X509SVIDResponse& resp, const std::string& dir) {
  RETURN_IF_ERROR(files::EnsureDir(dir, 0755));
  const std::string base = absl::StrCat(dir, "/");
  for (int i = 0; i < resp.svids_size(); ++i) {
    const auto& s = resp.svids(i);
    RETURN_IF_ERROR(files::WriteFileAtomic(absl::StrCat(base, "svid.", i, ".pem"), DerChainToPem(s.x509_svid()), 0644));
    ASSIGN_OR_RETURN(ssl::EvpPkeyPtr key, crypto::PrivateKeyFromDer(s.x509_svid_key()));
    ASSIGN_OR_RETURN(const std::string pem, crypto::PrivateKeyToPem(key.get()));
    RETURN_IF_ERROR(files::WriteFileAtomic(absl::StrCat(base, "svid.", i, ".key"), pem, 0600));
    RETURN_IF_ERROR(files::WriteFileAtomic(absl::StrCat(base, "bundle.", i, ".pem"), DerChainToPem(s.bundle()), 0644));
    int j = 0;
    for (const auto& [td, b] : resp.federated_bundles()) {
      RETURN_IF_ERROR(
          files::WriteFileAtomic(absl::StrCat(base, "federated_bundle.", i, ".", j++, ".pem"), DerChainToPem(b), 0644));
    }
  }
  return absl::OkStatus();
}

}  // namespace spirecvm::cli::agent
