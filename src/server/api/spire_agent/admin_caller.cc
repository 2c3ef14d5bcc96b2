#include "server/api/spire_agent/admin_caller.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/x509.h"
#include "server/api/agent_auth.h"
#include "spdlog/spdlog.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::server::spireagent {
namespace {

// The X.509 authorities trusted for callers of trust domain `td`: ours, or the stored federated bundle's.
absl::StatusOr<std::vector<ssl::X509Ptr>> RootsFor(const AdminCallerDeps& deps, const spiffe::TrustDomain& td) {
  std::vector<ssl::X509Ptr> roots;
  if (td == deps.trust_domain) {
    auto bundle = deps.bundle.Get();
    if (!bundle.ok())
      return absl::UnavailableError(absl::StrCat("trust bundle unavailable: ", bundle.status().message()));
    for (const auto& r : (*bundle)->roots) roots.push_back(ssl::X509Ptr(X509_dup(r.get())));
    return roots;
  }
  auto fed = deps.ds.FetchBundle(td.name());
  if (absl::IsNotFound(fed.status())) {
    return absl::UnauthenticatedError(absl::StrCat("no bundle for trust domain ", td.name()));
  }
  if (!fed.ok()) return fed.status();
  for (const auto& der : fed->x509_authorities_der) {
    ASSIGN_OR_RETURN(auto cert, crypto::ParseCertDer(der));
    roots.push_back(std::move(cert));
  }
  return roots;
}

// Is `id` an admin: configured in admin_ids, or the SPIFFE ID of an entry with admin = true (SPIRE's rule)?
absl::StatusOr<bool> IsAdmin(const AdminCallerDeps& deps, const std::string& id) {
  if (std::find(deps.admin_ids.begin(), deps.admin_ids.end(), id) != deps.admin_ids.end()) return true;
  datastore::ListEntriesFilter f;
  f.by_spiffe_id = id;
  ASSIGN_OR_RETURN(auto entries, deps.ds.ListEntries(f));
  return std::any_of(entries.begin(), entries.end(), [](const auto& e) { return e.admin; });
}

}  // namespace

absl::StatusOr<spiffe::SpiffeId> AuthenticateAdminChain(const AdminCallerDeps& deps, const std::string& chain_pem) {
  auto chain = crypto::ParseCertsPem(chain_pem);
  if (!chain.ok() || chain->empty()) return absl::UnauthenticatedError("no X509-SVID presented");
  auto claimed = spiffe::ValidateX509SvidLeafProfile((*chain)[0].get());
  if (!claimed.ok()) {
    return absl::UnauthenticatedError(absl::StrCat("caller X509-SVID is not valid: ", claimed.status().message()));
  }
  ASSIGN_OR_RETURN(auto roots_owned, RootsFor(deps, claimed->trust_domain()));
  std::vector<const X509*> roots, certs;
  for (auto& r : roots_owned) roots.push_back(r.get());
  for (auto& c : *chain) certs.push_back(c.get());
  auto id = spiffe::VerifyX509Svid(certs, roots, deps.clock.Now());
  if (!id.ok()) {
    return absl::UnauthenticatedError(absl::StrCat("caller X509-SVID does not verify: ", id.status().message()));
  }
  ASSIGN_OR_RETURN(bool admin, IsAdmin(deps, id->ToString()));
  if (!admin) return absl::PermissionDeniedError(absl::StrCat("caller ", id->ToString(), " is not an admin"));
  return id;
}

absl::StatusOr<spiffe::SpiffeId> AuthenticateAdmin(const AdminCallerDeps& deps, const grpc::ServerContextBase* ctx) {
  if (ctx == nullptr) return absl::UnauthenticatedError("no TLS peer");
  ASSIGN_OR_RETURN(std::string pem, PeerChainPem(*ctx));
  auto id = AuthenticateAdminChain(deps, pem);
  if (id.ok()) spdlog::info("admin caller {} over TLS", id->ToString());
  return id;
}

grpc::Status AdminDenied(std::string_view method, const absl::Status& why) {
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                      absl::StrCat(ToAbsl(method),
                                   " is an admin method: only admin callers (admin_ids or entries with admin = true) "
                                   "over TLS and the admin socket may call it: ",
                                   why.message()));
}

}  // namespace spirecvm::server::spireagent
