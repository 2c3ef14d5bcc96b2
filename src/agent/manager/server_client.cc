#include "agent/manager/server_client.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>

#include "absl/strings/str_cat.h"
#include "agent/nodeattest/attest_stream.h"
#include "crypto/x509.h"

namespace spirecvm::agent {
namespace {

absl::Status FromGrpc(const grpc::Status& st) {
  if (st.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message());
}

// After gRPC verified the chain to the bundle roots, require the server's SPIFFE ID (no hostname check: the
// server certificate carries only its URI SAN).
class SpiffeServerVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit SpiffeServerVerifier(std::string want) : want_(std::move(want)) {}
  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request, std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    auto uris = request->uri_names();
    if (uris.size() != 1) {
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  absl::StrCat("server certificate has ", uris.size(), " URI SANs, want 1"));
      return true;
    }
    std::string got(uris[0].data(), uris[0].size());
    if (got != want_) {
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  absl::StrCat("unexpected server ID \"", got, "\", want \"", want_, "\""));
      return true;
    }
    *sync_status = grpc::Status::OK;
    return true;
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

 private:
  std::string want_;
};

class GrpcAttestStream final : public AttestStream {
 public:
  explicit GrpcAttestStream(v1::Node::Stub* stub, absl::Duration timeout) {
    ctx_.set_deadline(std::chrono::system_clock::now() + absl::ToChronoSeconds(timeout));
    rw_ = stub->AttestAgent(&ctx_);
  }
  ~GrpcAttestStream() override {
    if (!finished_) {
      ctx_.TryCancel();
      rw_->Finish().IgnoreError();
    }
  }
  bool Write(const v1::AttestAgentRequest& req) override { return rw_->Write(req); }
  bool Read(v1::AttestAgentResponse* resp) override { return rw_->Read(resp); }
  absl::Status Finish() override {
    if (finished_) return status_;
    finished_ = true;
    rw_->WritesDone();
    status_ = FromGrpc(rw_->Finish());
    return status_;
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AttestAgentRequest, v1::AttestAgentResponse>> rw_;
  bool finished_ = false;
  absl::Status status_;
};

class GrpcServerClient final : public ServerClient {
 public:
  GrpcServerClient(std::shared_ptr<grpc::Channel> channel, absl::Duration timeout)
      : channel_(std::move(channel)), stub_(v1::Node::NewStub(channel_)), timeout_(timeout) {}

  absl::StatusOr<v1::AttestAgentResponse::Result> Attest(NodeAttestorClient& attestor,
                                                         const AttestationKeyInfo& key) override {
    GrpcAttestStream stream(stub_.get(), timeout_);
    return AttestOverStream(stream, attestor, key);
  }

  absl::StatusOr<spirecvm::types::X509SVID> RenewAgent(const std::string& csr_der) override {
    v1::RenewAgentRequest req;
    req.set_csr(csr_der);
    v1::RenewAgentResponse resp;
    auto ctx = Ctx();
    if (absl::Status st = FromGrpc(stub_->RenewAgent(ctx.get(), req, &resp)); !st.ok()) return st;
    return resp.svid();
  }

  absl::StatusOr<v1::BatchNewX509SVIDResponse> BatchNewX509Svid(const v1::BatchNewX509SVIDRequest& req) override {
    v1::BatchNewX509SVIDResponse resp;
    auto ctx = Ctx();
    if (absl::Status st = FromGrpc(stub_->BatchNewX509SVID(ctx.get(), req, &resp)); !st.ok()) return st;
    return resp;
  }

  absl::StatusOr<spirecvm::types::JWTSVID> NewJwtSvid(const std::string& entry_id,
                                                      const std::vector<std::string>& audience) override {
    v1::NewJWTSVIDRequest req;
    req.set_entry_id(entry_id);
    for (const auto& a : audience) req.add_audience(a);
    v1::NewJWTSVIDResponse resp;
    auto ctx = Ctx();
    if (absl::Status st = FromGrpc(stub_->NewJWTSVID(ctx.get(), req, &resp)); !st.ok()) return st;
    return resp.svid();
  }

  absl::StatusOr<v1::SyncAuthorizedEntriesResponse> Sync(const v1::SyncAuthorizedEntriesRequest& req) override {
    v1::SyncAuthorizedEntriesResponse resp;
    auto ctx = Ctx();
    if (absl::Status st = FromGrpc(stub_->SyncAuthorizedEntries(ctx.get(), req, &resp)); !st.ok()) return st;
    return resp;
  }

  absl::StatusOr<spirecvm::types::Bundle> GetBundle() override {
    spirecvm::types::Bundle resp;
    auto ctx = Ctx();
    if (absl::Status st = FromGrpc(stub_->GetBundle(ctx.get(), v1::GetBundleRequest(), &resp)); !st.ok()) return st;
    return resp;
  }

 private:
  std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout_));
    return ctx;
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Node::Stub> stub_;
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
  grpc::experimental::TlsChannelCredentialsOptions opts;
  std::vector<grpc::experimental::IdentityKeyCertPair> identity;
  if (!creds.chain_der.empty()) {
    identity.push_back({creds.key_pem, DerToPem(creds.chain_der)});
  }
  std::string roots;
  if (!creds.insecure) {
    roots = DerToPem(creds.roots_der);
    if (roots.empty()) return absl::FailedPreconditionError("no trust bundle to verify the server with");
  }
  if (!roots.empty() || !identity.empty()) {
    opts.set_certificate_provider(
        std::make_shared<grpc::experimental::StaticDataCertificateProvider>(roots, identity));
  }
  if (!roots.empty()) opts.watch_root_certs();
  if (!identity.empty()) opts.watch_identity_key_cert_pairs();
  opts.set_check_call_host(false);
  if (creds.insecure) {
    opts.set_verify_server_certs(false);
    opts.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  } else {
    opts.set_verify_server_certs(true);
    opts.set_certificate_verifier(grpc::experimental::ExternalCertificateVerifier::Create<SpiffeServerVerifier>(
        absl::StrCat(td_.IdString(), "/spire/server")));
  }
  auto channel_creds = grpc::experimental::TlsCredentials(opts);
  if (!channel_creds) return absl::InternalError("could not create TLS channel credentials");
  grpc::ChannelArguments args;
  // Keep one connection per credential set; a new set makes a new channel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(target_, channel_creds, args);
  return std::shared_ptr<ServerClient>(std::make_shared<GrpcServerClient>(std::move(channel), timeout_));
}

}  // namespace spirecvm::agent
