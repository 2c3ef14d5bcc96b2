#include "server/api/spire/svid_service.h"

#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "crypto/csr.h"
#include "crypto/ssl_ptr.h"
#include "server/api/limits.h"
#include "server/api/spire/convert.h"

namespace spirecvm::server::spireapi {
namespace {

using ExtStackPtr =
    std::unique_ptr<STACK_OF(X509_EXTENSION),
                    decltype([](STACK_OF(X509_EXTENSION) * s) { sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free); })>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, decltype([](GENERAL_NAMES* n) { GENERAL_NAMES_free(n); })>;

}  // namespace

absl::StatusOr<std::vector<std::string>> CsrDnsNames(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ssl::X509ReqPtr req(d2i_X509_REQ(nullptr, &p, static_cast<long>(der.size())));
  if (!req) return absl::InvalidArgumentError("malformed CSR");
  std::vector<std::string> out;
  ExtStackPtr exts(X509_REQ_get_extensions(req.get()));
  if (!exts) return out;
  NamesPtr names(static_cast<GENERAL_NAMES*>(X509V3_get_d2i(exts.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type != GEN_DNS) continue;
    const ASN1_STRING* s = gn->d.dNSName;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
  }
  return out;
}

// SPIRE's "trust domain workload ID": a member of our trust domain, with a path, outside /spire/.
absl::StatusOr<spiffe::SpiffeId> SvidService::WorkloadId(const std::string& uri) const {
  ASSIGN_OR_RETURN(auto id, spiffe::SpiffeId::Parse(uri));
  if (!id.MemberOf(deps_.trust_domain)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", uri, "\" is not a member of trust domain \"", deps_.trust_domain.name(), "\""));
  }
  if (id.path().empty()) return absl::InvalidArgumentError(absl::StrCat("\"", uri, "\": path cannot be empty"));
  if (id.path().rfind("/spire/", 0) == 0) {
    return absl::InvalidArgumentError(absl::StrCat("\"", uri, "\": the \"/spire/*\" namespace is reserved"));
  }
  return id;
}

grpc::Status SvidService::MintX509SVID(grpc::ServerContext*, const svidv1::MintX509SVIDRequest* req,
                                       svidv1::MintX509SVIDResponse* resp) {
  if (req->ttl() < 0) return ToGrpc(absl::InvalidArgumentError("ttl must not be negative"));
  if (req->csr().size() > kMaxCsr) return ToGrpc(absl::InvalidArgumentError("malformed CSR: too large"));
  auto csr = crypto::ParseAndVerifyCsr(req->csr());
  if (!csr.ok()) return ToGrpc(Annotate(absl::InvalidArgumentError(csr.status().message()), "malformed CSR"));
  if (csr->uri_sans.empty()) return ToGrpc(absl::InvalidArgumentError("CSR URI SAN is required"));
  if (csr->uri_sans.size() > 1) return ToGrpc(absl::InvalidArgumentError("only one URI SAN is expected"));
  auto id = WorkloadId(csr->uri_sans[0]);
  if (!id.ok()) return ToGrpc(Annotate(id.status(), "CSR URI SAN is invalid"));
  auto dns = CsrDnsNames(req->csr());
  if (!dns.ok()) return ToGrpc(dns.status());
  const absl::Duration ttl = req->ttl() > 0 ? absl::Seconds(req->ttl()) : deps_.ttls.x509;
  auto svid = deps_.ca.SignX509Svid(csr->spki_der, *id, ttl, *dns);
  if (!svid.ok()) return ToGrpc(Annotate(svid.status(), "failed to sign X509-SVID"));
  deps_.metrics.x509_svids_minted++;
  auto* out = resp->mutable_svid();
  for (const auto& c : svid->chain_der) out->add_cert_chain(c);
  IdToProto(id->ToString(), out->mutable_id());
  out->set_expires_at(absl::ToUnixSeconds(svid->not_after));
  return grpc::Status::OK;
}

grpc::Status SvidService::MintJWTSVID(grpc::ServerContext*, const svidv1::MintJWTSVIDRequest* req,
                                      svidv1::MintJWTSVIDResponse* resp) {
  auto parsed = IdFromProto(req->id());
  if (!parsed.ok()) return ToGrpc(Annotate(absl::InvalidArgumentError(parsed.status().message()), "invalid SPIFFE ID"));
  auto id = WorkloadId(parsed->ToString());
  if (!id.ok()) return ToGrpc(Annotate(id.status(), "invalid SPIFFE ID"));
  if (req->audience().empty()) return ToGrpc(absl::InvalidArgumentError("at least one audience is required"));
  if (req->ttl() < 0) return ToGrpc(absl::InvalidArgumentError("ttl must not be negative"));
  const absl::Duration ttl = req->ttl() > 0 ? absl::Seconds(req->ttl()) : deps_.ttls.jwt;
  std::vector<std::string> aud(req->audience().begin(), req->audience().end());
  auto jwt = deps_.ca.SignJwtSvid(*id, aud, ttl);
  if (!jwt.ok()) return ToGrpc(Annotate(jwt.status(), "failed to sign JWT-SVID"));
  deps_.metrics.jwt_svids_minted++;
  auto* out = resp->mutable_svid();
  out->set_token(jwt->token);
  IdToProto(id->ToString(), out->mutable_id());
  out->set_issued_at(absl::ToUnixSeconds(jwt->issued_at));
  out->set_expires_at(absl::ToUnixSeconds(jwt->expires_at));
  return grpc::Status::OK;
}

}  // namespace spirecvm::server::spireapi
