#include "server/api/agent_auth.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "crypto/x509.h"
#include "grpc/grpc_security_constants.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::server {

absl::StatusOr<AuthenticatedAgent> AuthenticateAgentChain(ServerContext& sc, const std::string& chain_pem) {
  auto chain = crypto::ParseCertsPem(chain_pem);
  if (!chain.ok()) return absl::UnauthenticatedError("no agent X509-SVID presented");
  auto bundle = sc.bundle->Get();
  if (!bundle.ok())
    return absl::UnavailableError(absl::StrCat("trust bundle unavailable: ", bundle.status().message()));
  std::vector<const X509*> roots, certs;
  for (auto& r : (*bundle)->roots) roots.push_back(r.get());
  for (auto& c : *chain) certs.push_back(c.get());
  auto id = spiffe::VerifyX509Svid(certs, roots, sc.clock->Now());
  if (!id.ok())
    return absl::UnauthenticatedError(absl::StrCat("agent X509-SVID does not verify: ", id.status().message()));
  if (!id->MemberOf(sc.trust_domain) || !absl::StartsWith(id->path(), "/spire/agent/")) {
    return absl::PermissionDeniedError(
        absl::StrCat("caller ", id->ToString(), " is not an agent of ", sc.trust_domain.name()));
  }
  AuthenticatedAgent a;
  a.spiffe_id = id->ToString();
  a.serial = crypto::SerialDecimal((*chain)[0].get());
  auto node = sc.ds->FetchAttestedNode(a.spiffe_id);
  if (!node.ok()) {
    if (absl::IsNotFound(node.status()))
      return absl::PermissionDeniedError("agent is not attested or no longer active");
    return node.status();
  }
  if (node->banned) return absl::PermissionDeniedError(absl::StrCat("agent ", a.spiffe_id, " is banned"));
  if (a.serial != node->cert_serial && a.serial != node->new_cert_serial) {
    return absl::PermissionDeniedError(
        absl::StrCat("agent SVID serial ", a.serial, " is not the current one for ", a.spiffe_id));
  }
  // The agent now uses the SVID issued at its last renewal: that one becomes the current serial.
  if (!node->new_cert_serial.empty() && a.serial == node->new_cert_serial) {
    auto st = sc.ds->UpdateAttestedNodeSerials(a.spiffe_id, node->new_cert_serial, node->new_cert_not_after, "", 0);
    if (!st.ok()) return st;
    node->cert_serial = node->new_cert_serial;
    node->cert_not_after = node->new_cert_not_after;
    node->new_cert_serial.clear();
    node->new_cert_not_after = 0;
  }
  a.node = std::move(*node);
  return a;
}

absl::StatusOr<AuthenticatedAgent> AuthenticateAgent(ServerContext& sc, const grpc::ServerContext& ctx) {
  auto auth = ctx.auth_context();
  if (auth == nullptr) return absl::UnauthenticatedError("no TLS peer");
  // The leaf is its own property; on the server side the chain property holds what the peer sent after
  // the leaf (and may hold nothing). Build leaf-first, skipping a repeated leaf.
  auto leaf = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (leaf.empty()) return absl::UnauthenticatedError("no agent X509-SVID presented");
  std::string pem(leaf.front().data(), leaf.front().size());
  auto chain = auth->FindPropertyValues(GRPC_X509_PEM_CERT_CHAIN_PROPERTY_NAME);
  if (!chain.empty()) {
    auto leaf_cert = crypto::ParseCertsPem(pem);
    auto rest = crypto::ParseCertsPem(std::string(chain.front().data(), chain.front().size()));
    if (leaf_cert.ok() && rest.ok()) {
      for (auto& c : *rest) {
        if (X509_cmp(c.get(), (*leaf_cert)[0].get()) == 0) continue;
        pem += crypto::CertToPem(c.get());
      }
    }
  }
  return AuthenticateAgentChain(sc, pem);
}

}  // namespace spirecvm::server
