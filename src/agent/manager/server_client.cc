#include "agent/manager/server_client.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/status.h"
#include "crypto/x509.h"
#include "spiffe/x509_svid.h"
#include "spire/api/server/agent/v1/agent.grpc.pb.h"
#include "spire/api/server/bundle/v1/bundle.grpc.pb.h"
#include "spire/api/server/entry/v1/entry.grpc.pb.h"
#include "spire/api/server/svid/v1/svid.grpc.pb.h"

namespace spirecvm::agent {
namespace {

// Server authentication the SPIFFE way (as go-spiffe/SPIRE do): the presented chain must verify to the bundle's
// X.509 authorities under the X509-SVID profile, and its SPIFFE ID must be spiffe://<td>/spire/server. There is no
// hostname check (the server certificate has only a URI SAN). The roots are deliberately NOT given to gRPC's TLS
// stack: OpenSSL would then auto-complete the agent's client chain with the root, and the check is ours anyway.
class SpiffeServerVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  SpiffeServerVerifier(std::string want, std::vector<std::string> roots_der)
      : want_(std::move(want)), roots_der_(std::move(roots_der)) {}
  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request, std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    absl::Status st = Check(request);
    *sync_status =
        st.ok() ? grpc::Status::OK : grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(st.message()));
    return true;
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

 private:
  absl::Status Check(grpc::experimental::TlsCustomVerificationCheckRequest* request) {
    grpc::string_ref full = request->peer_cert_full_chain();
    std::string pem(full.data(), full.size());
    if (pem.empty()) {
      grpc::string_ref leaf = request->peer_cert();
      pem.assign(leaf.data(), leaf.size());
    }
    auto chain = crypto::ParseCertsPem(pem);
    if (!chain.ok()) return absl::UnauthenticatedError("server presented no certificate");
    std::vector<ssl::X509Ptr> roots;
    for (const auto& der : roots_der_) {
      auto r = crypto::ParseCertDer(der);
      if (r.ok()) roots.push_back(std::move(*r));
    }
    std::vector<const X509*> chain_ptrs, root_ptrs;
    for (const auto& c : *chain) chain_ptrs.push_back(c.get());
    for (const auto& r : roots) root_ptrs.push_back(r.get());
    auto id = spiffe::VerifyX509Svid(chain_ptrs, root_ptrs, absl::Now());
    if (!id.ok()) return absl::UnauthenticatedError(absl::StrCat("server certificate: ", id.status().message()));
    if (id->ToString() != want_) {
      return absl::UnauthenticatedError(
          absl::StrCat("unexpected server ID \"", id->ToString(), "\", want \"", want_, "\""));
    }
    return absl::OkStatus();
  }

  std::string want_;
  std::vector<std::string> roots_der_;
};

// A client bidirectional stream with a deadline, as the protocol drivers (AttestStream, EntrySyncStream) see it.
template <typename Base, typename Req, typename Resp>
class GrpcBidiStream final : public Base {
 public:
  template <typename OpenFn>
  GrpcBidiStream(absl::Duration timeout, OpenFn open) {
    ctx_.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
    rw_ = open(&ctx_);
  }
  ~GrpcBidiStream() override {
    if (!finished_) {
      ctx_.TryCancel();
      rw_->Finish().IgnoreError();
    }
  }
  bool Write(const Req& req) override { return rw_->Write(req); }
  bool Read(Resp* resp) override { return rw_->Read(resp); }
  absl::Status Finish() override {
    if (finished_) return status_;
    finished_ = true;
    rw_->WritesDone();
    status_ = FromGrpc(rw_->Finish());
    return status_;
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<Req, Resp>> rw_;
  bool finished_ = false;
  absl::Status status_;
};

namespace bundlev1 = ::spire::api::server::bundle::v1;

class GrpcServerClient final : public ServerClient {
 public:
  GrpcServerClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
      : channel_(std::move(channel)),
        agent_(agentv1::Agent::NewStub(channel_)),
        svid_(svidv1::SVID::NewStub(channel_)),
        entry_(entryv1::Entry::NewStub(channel_)),
        bundle_(bundlev1::Bundle::NewStub(channel_)),
        timeout_(timeout) {}

  absl::StatusOr<agentv1::AttestAgentResponse::Result> Attest(NodeAttestorClient& attestor,
                                                              const AttestationKeyInfo& key) override {
    GrpcBidiStream<AttestStream, agentv1::AttestAgentRequest, agentv1::AttestAgentResponse> stream(
        timeout_, [&](grpc::ClientContext* ctx) { return agent_->AttestAgent(ctx); });
    return AttestOverStream(stream, attestor, key);
  }

  absl::StatusOr<sapi::X509SVID> RenewAgent(const std::string& csr_der) override {
    agentv1::RenewAgentRequest req;
    req.mutable_params()->set_csr(csr_der);
    agentv1::RenewAgentResponse resp;
    auto ctx = Ctx();
    RETURN_IF_ERROR(FromGrpc(agent_->RenewAgent(ctx.get(), req, &resp)));
    return resp.svid();
  }

  absl::StatusOr<svidv1::BatchNewX509SVIDResponse> BatchNewX509Svid(
      const svidv1::BatchNewX509SVIDRequest& req) override {
    svidv1::BatchNewX509SVIDResponse resp;
    auto ctx = Ctx();
    RETURN_IF_ERROR(FromGrpc(svid_->BatchNewX509SVID(ctx.get(), req, &resp)));
    if (resp.results_size() != req.params_size()) {
      return absl::InternalError(
          absl::StrCat("BatchNewX509SVID: ", resp.results_size(), " results for ", req.params_size(), " requests"));
    }
    return resp;
  }

  absl::StatusOr<sapi::JWTSVID> NewJwtSvid(const std::string& entry_id,
                                           const std::vector<std::string>& audience) override {
    svidv1::NewJWTSVIDRequest req;
    req.set_entry_id(entry_id);
    for (const auto& a : audience) req.add_audience(a);
    svidv1::NewJWTSVIDResponse resp;
    auto ctx = Ctx();
    RETURN_IF_ERROR(FromGrpc(svid_->NewJWTSVID(ctx.get(), req, &resp)));
    if (!resp.has_svid() || resp.svid().token().empty()) return absl::InternalError("NewJWTSVID returned no token");
    return resp.svid();
  }

  absl::StatusOr<EntrySyncResult> SyncEntries(const std::vector<KnownEntry>& known) override {
    GrpcBidiStream<EntrySyncStream, entryv1::SyncAuthorizedEntriesRequest, entryv1::SyncAuthorizedEntriesResponse>
        stream(timeout_, [&](grpc::ClientContext* ctx) { return entry_->SyncAuthorizedEntries(ctx); });
    return SyncEntriesOverStream(stream, known);
  }

  absl::StatusOr<sapi::Bundle> GetBundle() override {
    sapi::Bundle resp;
    auto ctx = Ctx();
    RETURN_IF_ERROR(FromGrpc(bundle_->GetBundle(ctx.get(), bundlev1::GetBundleRequest(), &resp)));
    return resp;
  }

  absl::StatusOr<sapi::Bundle> GetFederatedBundle(const std::string& trust_domain) override {
    bundlev1::GetFederatedBundleRequest req;
    req.set_trust_domain(trust_domain);
    sapi::Bundle resp;
    auto ctx = Ctx();
    RETURN_IF_ERROR(FromGrpc(bundle_->GetFederatedBundle(ctx.get(), req, &resp)));
    return resp;
  }

 private:
  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout_));
    return ctx;
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<agentv1::Agent::Stub> agent_;
  std::unique_ptr<svidv1::SVID::Stub> svid_;
  std::unique_ptr<entryv1::Entry::Stub> entry_;
  std::unique_ptr<bundlev1::Bundle::Stub> bundle_;
  absl::Duration timeout_;
};

std::string DerToPem(const std::vector<std::string>& ders) {
  std::string out;
  for (const auto& der : ders) {
    auto cert = crypto::ParseCertDer(der);
    if (cert.ok()) out += crypto::CertToPem(cert->get());
  }
  return out;
}

}  // namespace

absl::StatusOr<std::shared_ptr<ServerClient>> GrpcServerConnector::Connect(const ServerCredentials& creds) {
  // Before building the options: gRPC 1.51 frees them only when they are turned into credentials.
  if (!creds.insecure && creds.roots_der.empty()) {
    return absl::FailedPreconditionError("no trust bundle to verify the server with");
  }
  grpc::experimental::TlsChannelCredentialsOptions opts;
  std::vector<grpc::experimental::IdentityKeyCertPair> identity;
  if (!creds.chain_der.empty()) {
    identity.push_back({creds.key_pem, DerToPem(creds.chain_der)});
  }
  if (!identity.empty()) {
    opts.set_certificate_provider(std::make_shared<grpc::experimental::StaticDataCertificateProvider>(identity));
    opts.watch_identity_key_cert_pairs();
  }
  opts.set_check_call_host(false);
  opts.set_verify_server_certs(false);  // verified by SpiffeServerVerifier against the bundle
  if (creds.insecure) {
    opts.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  } else {
    opts.set_certificate_verifier(grpc::experimental::ExternalCertificateVerifier::Create<SpiffeServerVerifier>(
        absl::StrCat(td_.IdString(), "/spire/server"), creds.roots_der));
  }
  auto channel_creds = grpc::experimental::TlsCredentials(opts);
  if (!channel_creds) return absl::InternalError("could not create TLS channel credentials");
  grpc::ChannelArguments args;
  // Keep one connection per credential set; a new set makes a new channel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // Send the trust domain as the TLS server name: the server's SVID carries it as a DNS SAN, so the server
  // finds its certificate for it (an address as SNI matches nothing). Identity is checked on the URI SAN.
  args.SetSslTargetNameOverride(td_.name());
  auto channel = grpc::CreateCustomChannel(target_, channel_creds, args);
  return std::shared_ptr<ServerClient>(std::make_shared<GrpcServerClient>(std::move(channel), timeout_));
}

}  // namespace spirecvm::agent
