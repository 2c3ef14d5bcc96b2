#include "server/api/spire/debug_service.h"

#include <openssl/x509.h>

#include <algorithm>

#include "common/files.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "crypto/x509.h"
#include "server/api/spire/convert.h"

namespace spirecvm::server::spireapi {
namespace {

// The subject as Go's pkix.Name.String() prints it (RFC 2253: most specific first, e.g. "O=SPIFFE,C=US").
std::string SubjectString(const X509* cert) {
  ssl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0) return "";
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : "";
}

}  // namespace

grpc::Status DebugService::GetInfo(grpc::ServerContext*, const debugv1::GetInfoRequest*,
                                   debugv1::GetInfoResponse* resp) {
  auto pem = files::ReadFile(deps_.svid_cert_path);
  if (!pem.ok()) return ToGrpc(Annotate(pem.status(), "failed to read the server SVID"));
  auto chain = crypto::ParseCertsPem(*pem);
  if (!chain.ok()) return ToGrpc(Annotate(chain.status(), "failed to parse the server SVID"));
  for (const auto& c : *chain) {
    auto* out = resp->add_svid_chain();
    auto uris = crypto::UriSans(c.get());
    if (!uris.empty()) IdToProto(uris[0], out->mutable_id());
    out->set_expires_at(absl::ToUnixSeconds(crypto::NotAfter(c.get())));
    out->set_subject(SubjectString(c.get()));
  }
  auto agents = deps_.ds.CountAttestedNodes();
  if (!agents.ok()) return ToGrpc(Annotate(agents.status(), "failed to count agents"));
  auto entries = deps_.ds.CountEntries();
  if (!entries.ok()) return ToGrpc(Annotate(entries.status(), "failed to count entries"));
  resp->set_uptime(static_cast<int32_t>(absl::ToInt64Seconds(deps_.clock.Now() - started_)));
  resp->set_agents_count(static_cast<int32_t>(*agents));
  resp->set_entries_count(static_cast<int32_t>(*entries));
  // Every stored bundle but ours, as SPIRE counts them.
  auto bundles = deps_.ds.CountBundles();
  if (!bundles.ok()) return ToGrpc(Annotate(bundles.status(), "failed to count bundles"));
  resp->set_federated_bundles_count(static_cast<int32_t>(std::max<int64_t>(0, *bundles - 1)));
  return grpc::Status::OK;
}

}  // namespace spirecvm::server::spireapi
