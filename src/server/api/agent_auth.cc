#include "server/api/agent_auth.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/x509.h"
#include "grpc/grpc_security_constants.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::server {
namespace {

absl::StatusOr<std::shared_ptr<const BundleSnapshot>> CurrentBundle(const AgentAuthDeps& deps) {
  auto bundle = deps.bundle.Get();
  if (!bundle.ok())
    return absl::UnavailableError(absl::StrCat("trust bundle unavailable: ", bundle.status().message()));
  return bundle;
}

absl::StatusOr<spiffe::VerifiedX509Svid> VerifyChain(const AgentAuthDeps& deps, const BundleSnapshot& bundle,
                                                     const std::vector<ssl::X509Ptr>& chain, std::string_view what) {
  std::vector<const X509*> roots, certs;
  for (auto& r : bundle.roots) roots.push_back(r.get());
  for (auto& c : chain) certs.push_back(c.get());
  auto v = spiffe::VerifyX509SvidPath(certs, roots, deps.clock.Now());
  if (!v.ok()) {
    return absl::UnauthenticatedError(absl::StrCat(ToAbsl(what), " X509-SVID does not verify: ", v.status().message()));
  }
  return v;
}

// The agent the chain (PEM, leaf first) proves against `bundle`: verified once per bundle and validity window
// (bundle.verified), parsed and checked again only when that answer is missing or expired.
absl::StatusOr<VerifiedSvid> VerifyAgentSvid(const AgentAuthDeps& deps, const BundleSnapshot& bundle,
                                             const std::string& chain_pem) {
  if (auto hit = bundle.verified->Find(chain_pem, deps.clock.Now())) return *std::move(hit);
  auto chain = crypto::ParseCertsPem(chain_pem);
  if (!chain.ok()) return absl::UnauthenticatedError("no agent X509-SVID presented");
  ASSIGN_OR_RETURN(spiffe::VerifiedX509Svid v, VerifyChain(deps, bundle, *chain, "agent"));
  if (!v.id.MemberOf(deps.trust_domain) || !absl::StartsWith(v.id.path(), "/spire/agent/")) {
    return absl::PermissionDeniedError(
        absl::StrCat("caller ", v.id.ToString(), " is not an agent of ", deps.trust_domain.name()));
  }
  VerifiedSvid out{v.id.ToString(), crypto::SerialDecimal((*chain)[0].get()), v.valid_from, v.valid_until};
  bundle.verified->Put(chain_pem, out);
  return out;
}

// The attested node behind `spiffe_id` as the datastore has it, if it is active, not banned, and `serial` is its
// current SVID (or the one issued at its last renewal, which then becomes current).
absl::StatusOr<datastore::AttestedNode> StoredActiveNode(const AgentAuthDeps& deps, const std::string& spiffe_id,
                                                         const std::string& serial) {
  // A promotion that loses a compare-and-swap race is re-read once: a concurrent call of the same agent may have
  // promoted the serial already (then it is current), or the node changed (re-attested, banned) and is re-judged.
  for (int attempt = 0;; ++attempt) {
    auto node = deps.ds.FetchAttestedNode(spiffe_id);
    if (absl::IsNotFound(node.status())) {
      return absl::PermissionDeniedError("agent is not attested or no longer active");
    }
    if (!node.ok()) return node.status();
    if (node->banned) return absl::PermissionDeniedError(absl::StrCat("agent ", spiffe_id, " is banned"));
    if (serial != node->cert_serial && serial != node->new_cert_serial) {
      return absl::PermissionDeniedError(
          absl::StrCat("agent SVID serial ", serial, " is not the current one for ", spiffe_id));
    }
    if (node->new_cert_serial.empty() || serial != node->new_cert_serial) return node;
    // The agent now uses the SVID issued at its last renewal: that one becomes the current serial.
    const datastore::NodeSerials expected{node->cert_serial, 0, node->new_cert_serial, 0};
    const datastore::NodeSerials promoted{node->new_cert_serial, node->new_cert_not_after, "", 0};
    auto st = deps.ds.UpdateAttestedNodeSerials(spiffe_id, expected, promoted);
    if (st.ok()) {
      node->cert_serial = promoted.cert_serial;
      node->cert_not_after = promoted.cert_not_after;
      node->new_cert_serial.clear();
      node->new_cert_not_after = 0;
      return node;
    }
    if (!absl::IsFailedPrecondition(st) || attempt > 0) {
      return absl::PermissionDeniedError(absl::StrCat("agent ", spiffe_id, ": ", st.message()));
    }
  }
}

// ActiveNode through the node cache (node_cache.h) when there is one: a cached record answers only for its current
// serial; anything else is judged against the datastore, and the cache keeps what that judged active.
absl::StatusOr<datastore::AttestedNode> ActiveNode(const AgentAuthDeps& deps, const std::string& spiffe_id,
                                                   const std::string& serial) {
  NodeCache* cache = deps.nodes;
  if (cache == nullptr) return StoredActiveNode(deps, spiffe_id, serial);
  auto hit = cache->Lookup(spiffe_id);
  if (hit != nullptr && !hit->banned && !hit->cert_serial.empty() && serial == hit->cert_serial) return *hit;
  const NodeCache::ReadTicket ticket = cache->BeginRead();
  auto node = StoredActiveNode(deps, spiffe_id, serial);
  if (node.ok()) {
    cache->Put(*node, ticket);
  } else {
    cache->Remove(spiffe_id);
  }
  return node;
}

}  // namespace

absl::StatusOr<AuthenticatedAgent> AuthenticateAgentChain(const AgentAuthDeps& deps, const std::string& chain_pem) {
  ASSIGN_OR_RETURN(auto bundle, CurrentBundle(deps));
  ASSIGN_OR_RETURN(VerifiedSvid v, VerifyAgentSvid(deps, *bundle, chain_pem));
  AuthenticatedAgent a;
  a.spiffe_id = std::move(v.spiffe_id);
  a.serial = std::move(v.serial);
  ASSIGN_OR_RETURN(a.node, ActiveNode(deps, a.spiffe_id, a.serial));
  return a;
}

absl::StatusOr<spiffe::SpiffeId> VerifyCallerSvid(const AgentAuthDeps& deps, const std::string& chain_pem) {
  auto chain = crypto::ParseCertsPem(chain_pem);
  if (!chain.ok()) return absl::UnauthenticatedError("no X509-SVID presented");
  ASSIGN_OR_RETURN(auto bundle, CurrentBundle(deps));
  ASSIGN_OR_RETURN(spiffe::VerifiedX509Svid v, VerifyChain(deps, *bundle, *chain, "caller"));
  spiffe::SpiffeId id = std::move(v.id);
  if (!id.MemberOf(deps.trust_domain)) {
    return absl::PermissionDeniedError(
        absl::StrCat("caller ", id.ToString(), " is not in trust domain ", deps.trust_domain.name()));
  }
  return id;
}

std::string LeafFirstChainPem(std::string_view leaf_pem, std::string_view chain_pem) {
  // Compared as text, not parsed: parsing a certificate costs OpenSSL 3 a public-key decoder lookup, which was
  // half the server's CPU per sync when done here on every call (docs/benchmarks.md). Both properties are
  // written by gRPC's PEM encoder from the same handshake; whitespace differences are ignored all the same.
  std::string pem(leaf_pem);
  if (!pem.empty() && pem.back() != '\n') pem += '\n';
  for (std::string_view block : crypto::PemCertificateBlocks(chain_pem)) {
    if (crypto::SamePemBlock(block, leaf_pem)) continue;
    pem.append(block.data(), block.size()).push_back('\n');
  }
  return pem;
}

absl::StatusOr<std::string> PeerChainPem(const grpc::ServerContextBase& ctx) {
  auto auth = ctx.auth_context();
  if (auth == nullptr) return absl::UnauthenticatedError("no TLS peer");
  // The leaf is its own property; on the server side the chain property holds what the peer sent after
  // the leaf (and may hold nothing, or repeat the leaf).
  auto leaf = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (leaf.empty()) return absl::UnauthenticatedError("no X509-SVID presented");
  auto chain = auth->FindPropertyValues(GRPC_X509_PEM_CERT_CHAIN_PROPERTY_NAME);
  const std::string_view leaf_pem(leaf.front().data(), leaf.front().size());
  if (chain.empty()) return std::string(leaf_pem);
  return LeafFirstChainPem(leaf_pem, {chain.front().data(), chain.front().size()});
}

absl::StatusOr<AuthenticatedAgent> AuthenticateAgent(const AgentAuthDeps& deps, const grpc::ServerContextBase& ctx) {
  ASSIGN_OR_RETURN(std::string pem, PeerChainPem(ctx));
  return AuthenticateAgentChain(deps, pem);
}

}  // namespace spirecvm::server
