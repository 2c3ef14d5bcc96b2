#include "agent/adminapi/debug_service.h"

#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "crypto/x509.h"
#include "spiffe/spiffe_id.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::agent::adminapi {
namespace {

constexpr absl::Duration kCacheExpiry = absl::Seconds(5);

// The subject as Go's pkix.Name.String() prints it (RFC 2253: most specific first, e.g. "O=SPIFFE,C=US").
std::string SubjectString(const X509* cert) {
  ssl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0) return "";
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : "";
}

debugv1::GetInfoResponse::Cert Describe(const X509* cert) {
  debugv1::GetInfoResponse::Cert out;
  std::vector<std::string> uris = crypto::UriSans(cert);
  if (!uris.empty()) {
    absl::StatusOr<spiffe::SpiffeId> id = spiffe::SpiffeId::Parse(uris[0]);
    if (id.ok()) {
      out.mutable_id()->set_trust_domain(id->trust_domain().name());
      out.mutable_id()->set_path(id->path());
    }
  }
  out.set_expires_at(absl::ToUnixSeconds(crypto::NotAfter(cert)));
  out.set_subject(SubjectString(cert));
  return out;
}

}  // namespace

absl::StatusOr<std::vector<debugv1::GetInfoResponse::Cert>> DescribeAgentChain(
    const std::vector<std::string>& chain_der, const spiffe::Bundle& bundle, absl::Time now) {
  if (chain_der.empty()) return absl::FailedPreconditionError("the agent has no SVID yet");
  std::vector<ssl::X509Ptr> chain, roots;
  for (const std::string& der : chain_der) {
    ASSIGN_OR_RETURN(ssl::X509Ptr c, crypto::ParseCertDer(der));
    chain.push_back(std::move(c));
  }
  for (const std::string& der : bundle.x509_authorities_der) {
    ASSIGN_OR_RETURN(ssl::X509Ptr c, crypto::ParseCertDer(der));
    roots.push_back(std::move(c));
  }
  std::vector<const X509*> chain_ptrs, root_ptrs;
  for (const auto& c : chain) chain_ptrs.push_back(c.get());
  for (const auto& r : roots) root_ptrs.push_back(r.get());
  absl::Status verified = spiffe::VerifyX509Svid(chain_ptrs, root_ptrs, now).status();
  if (!verified.ok()) return absl::InternalError(absl::StrCat("failed to verify agent SVID: ", verified.message()));
  std::vector<debugv1::GetInfoResponse::Cert> out;
  for (const auto& c : chain) out.push_back(Describe(c.get()));
  for (const auto& r : roots) {
    // The root the last certificate of the chain was issued by (the one the verification used).
    if (X509_check_issued(r.get(), chain.back().get()) == X509_V_OK) {
      out.push_back(Describe(r.get()));
      break;
    }
  }
  return out;
}

DebugService::DebugService(DebugSource source, const Clock& clock)
    : source_(std::move(source)), clock_(clock), started_(clock.Now()) {}

absl::StatusOr<debugv1::GetInfoResponse> DebugService::Compute() {
  std::optional<spiffe::Bundle> bundle = source_.bundle();
  if (!bundle.has_value()) return absl::FailedPreconditionError("the agent has no trust bundle yet");
  const absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(auto chain, DescribeAgentChain(source_.agent_svid_chain(), *bundle, now));
  debugv1::GetInfoResponse r;
  for (auto& c : chain) *r.add_svid_chain() = std::move(c);
  r.set_uptime(static_cast<int32_t>(absl::ToInt64Seconds(now - started_)));
  const auto x509 = static_cast<int32_t>(source_.cached_x509_svids());
  // Deprecated in the proto, still filled by SPIRE's agent (older CLIs read it).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  r.set_svids_count(x509);
#pragma GCC diagnostic pop
  r.set_cached_x509_svids_count(x509);
  r.set_cached_jwt_svids_count(static_cast<int32_t>(source_.cached_jwt_svids()));
  r.set_cached_svidstore_x509_svids_count(0);  // no SVIDStore plugins
  const absl::Time last_sync = source_.last_sync_success();
  r.set_last_sync_success(last_sync == absl::InfinitePast() ? 0 : absl::ToUnixSeconds(last_sync));
  return r;
}

grpc::Status DebugService::GetInfo(grpc::ServerContext*, const debugv1::GetInfoRequest*,
                                   debugv1::GetInfoResponse* out) {
  std::lock_guard<std::mutex> l(mu_);
  const absl::Time now = clock_.Now();
  if (!cached_.has_value() || now - cached_at_ >= kCacheExpiry) {
    absl::StatusOr<debugv1::GetInfoResponse> r = Compute();
    if (!r.ok()) return ToGrpc(r.status());
    cached_ = std::move(*r);
    cached_at_ = now;
  }
  *out = *cached_;
  return grpc::Status::OK;
}

}  // namespace spirecvm::agent::adminapi
