#include "loadgen/agent.h"

#include "crypto/csr.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "spire/api/server/agent/v1/agent.grpc.pb.h"
#include "spire/api/server/entry/v1/entry.grpc.pb.h"
#include "spire/api/server/svid/v1/svid.grpc.pb.h"

namespace spirecvm::loadgen {
namespace agentv1 = spire::api::server::agent::v1;
namespace entryv1 = spire::api::server::entry::v1;
namespace svidv1 = spire::api::server::svid::v1;

namespace {

void Complete(Phase* phase, const char* rpc, TimePoint scheduled, const grpc::Status& status) {
  phase->Rpc(rpc).Record(SteadyClock::now() - scheduled, status.error_code());
  phase->Finished();
}

void SetDeadline(grpc::ClientContext* ctx, std::chrono::milliseconds timeout) {
  ctx->set_deadline(std::chrono::system_clock::now() + timeout);
}

// AttestAgent with a join token: one request, the server answers with the result (no challenge).
class AttestReactor : public grpc::ClientBidiReactor<agentv1::AttestAgentRequest, agentv1::AttestAgentResponse> {
 public:
  AttestReactor(SimAgent* agent, Phase* phase, TimePoint scheduled, std::shared_ptr<grpc::Channel> channel,
                const std::string& token, const std::string& csr, std::chrono::milliseconds timeout)
      : agent_(agent), phase_(phase), scheduled_(scheduled), stub_(agentv1::Agent::NewStub(channel)) {
    SetDeadline(&ctx_, timeout);
    auto* params = req_.mutable_params();
    params->mutable_data()->set_type("join_token");
    params->mutable_data()->set_payload(token);
    params->mutable_params()->set_csr(csr);
  }
  void Start() {
    stub_->async()->AttestAgent(&ctx_, this);
    StartWrite(&req_);
    StartRead(&resp_);
    StartCall();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    if (resp_.has_result()) {
      svid_ = resp_.result().svid();
      got_result_ = true;
      StartRead(&resp_);  // to the end of the stream
    } else {
      ctx_.TryCancel();  // a challenge: join_token has none
    }
  }
  void OnDone(const grpc::Status& s) override {
    grpc::Status status = s;
    if (status.ok() && !got_result_) status = grpc::Status(grpc::StatusCode::INTERNAL, "no attestation result");
    if (status.ok()) agent_->OnSvid(svid_);
    Complete(phase_, "AttestAgent", scheduled_, status);
    delete this;
  }

 private:
  SimAgent* agent_;
  Phase* phase_;
  TimePoint scheduled_;
  std::unique_ptr<agentv1::Agent::Stub> stub_;
  grpc::ClientContext ctx_;
  agentv1::AttestAgentRequest req_;
  agentv1::AttestAgentResponse resp_;
  spire::api::types::X509SVID svid_;
  bool got_result_ = false;
};

}  // namespace

namespace {

// SyncAuthorizedEntries as an agent runs it: the first request (no mask: whole entries); either the full set comes
// back, or pages of revisions and then the agent asks for every ID it saw (it has no cache) and half-closes.
class SyncReactor
    : public grpc::ClientBidiReactor<entryv1::SyncAuthorizedEntriesRequest, entryv1::SyncAuthorizedEntriesResponse> {
 public:
  SyncReactor(SimAgent* agent, Phase* phase, TimePoint scheduled, std::shared_ptr<grpc::Channel> channel,
              std::chrono::milliseconds timeout)
      : agent_(agent), phase_(phase), scheduled_(scheduled), stub_(entryv1::Entry::NewStub(channel)) {
    SetDeadline(&ctx_, timeout);
  }
  void Start() {
    stub_->async()->SyncAuthorizedEntries(&ctx_, this);
    writing_ = true;
    StartWrite(&first_);
    StartRead(&resp_);
    StartCall();
  }
  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> l(mu_);
    writing_ = false;
    if (!ok) return;
    if (ids_pending_) {
      ids_pending_ = false;
      writing_ = true;
      StartWrite(&ids_req_);
    } else if (close_pending_) {
      close_pending_ = false;
      StartWritesDone();
    }
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& e : resp_.entries()) ids_.push_back(e.id());
    for (const auto& r : resp_.entry_revisions()) revision_ids_.push_back(r.id());
    if (resp_.more()) {
      StartRead(&resp_);
      return;
    }
    if (!revision_ids_.empty() && !asked_) {
      asked_ = true;
      for (const auto& id : revision_ids_) ids_req_.add_ids(id);
      if (writing_) {
        ids_pending_ = true;
      } else {
        writing_ = true;
        StartWrite(&ids_req_);
      }
    } else if (writing_) {
      close_pending_ = true;
    } else {
      StartWritesDone();
    }
    StartRead(&resp_);
  }
  void OnDone(const grpc::Status& status) override {
    if (status.ok()) {
      phase_->Rpc("SyncAuthorizedEntries").AddItems(static_cast<int64_t>(ids_.size()), 0);  // entries received
      agent_->OnEntries(std::move(ids_));
    }
    Complete(phase_, "SyncAuthorizedEntries", scheduled_, status);
    delete this;
  }

 private:
  SimAgent* agent_;
  Phase* phase_;
  TimePoint scheduled_;
  std::unique_ptr<entryv1::Entry::Stub> stub_;
  grpc::ClientContext ctx_;
  std::mutex mu_;
  entryv1::SyncAuthorizedEntriesRequest first_, ids_req_;
  entryv1::SyncAuthorizedEntriesResponse resp_;
  std::vector<std::string> ids_, revision_ids_;
  bool writing_ = false, ids_pending_ = false, close_pending_ = false, asked_ = false;
};

// A unary call's state, alive until its callback has run.
template <class Service, class Req, class Resp>
struct Unary {
  Unary(const std::shared_ptr<grpc::Channel>& channel, std::chrono::milliseconds timeout)
      : stub(Service::NewStub(channel)) {
    SetDeadline(&ctx, timeout);
  }
  std::unique_ptr<typename Service::Stub> stub;
  grpc::ClientContext ctx;
  Req req;
  Resp resp;
};

}  // namespace

absl::StatusOr<CsrPool> MakeCsrPool(size_t n) {
  CsrPool pool;
  for (size_t i = 0; i < n; ++i) {
    auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
    if (!key.ok()) return key.status();
    auto csr = crypto::CreateCsr(key->get(), std::nullopt);
    if (!csr.ok()) return csr.status();
    pool.push_back(*std::move(csr));
  }
  return pool;
}

SimAgent::SimAgent(const Target& target, std::string join_token) : target_(target), token_(std::move(join_token)) {}

absl::Status SimAgent::Init() {
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  if (!key.ok()) return key.status();
  key_ = *std::move(key);
  auto pem = crypto::PrivateKeyToPem(key_.get());
  if (!pem.ok()) return pem.status();
  key_pem_ = *std::move(pem);
  auto csr = crypto::CreateCsr(key_.get(), std::nullopt);
  if (!csr.ok()) return csr.status();
  csr_der_ = *std::move(csr);
  return absl::OkStatus();
}

std::shared_ptr<grpc::Channel> SimAgent::MakeChannel(const std::string& chain_pem) const {
  const bool with_identity = !chain_pem.empty();
  grpc::experimental::TlsChannelCredentialsOptions opts;
  std::vector<grpc::experimental::IdentityKeyCertPair> identity;
  if (with_identity) identity.push_back({key_pem_, chain_pem});
  opts.set_certificate_provider(
      std::make_shared<grpc::experimental::StaticDataCertificateProvider>(target_.bundle_pem, identity));
  opts.watch_root_certs();
  if (with_identity) opts.watch_identity_key_cert_pairs();
  // The chain is verified against the bundle; the host name is not checked (the server's SVID names it by
  // SPIFFE ID, which an agent checks; this load generator trusts the bundle it was given).
  opts.set_verify_server_certs(true);
  opts.set_check_call_host(false);
  opts.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // its own connection, as a real agent has
  args.SetSslTargetNameOverride(target_.trust_domain);
  return grpc::CreateCustomChannel(target_.address, grpc::experimental::TlsCredentials(opts), args);
}

std::shared_ptr<grpc::Channel> SimAgent::AgentChannel() const {
  std::lock_guard<std::mutex> l(mu_);
  return channel_;
}

void SimAgent::OnSvid(const spire::api::types::X509SVID& svid) {
  std::string chain;
  for (const auto& der : svid.cert_chain()) {
    auto cert = crypto::ParseCertDer(der);
    if (cert.ok()) chain += crypto::CertToPem(cert->get());
  }
  auto channel = MakeChannel(chain);  // a new SVID: a new connection presenting it, as an agent does
  std::lock_guard<std::mutex> l(mu_);
  channel_ = std::move(channel);
  issued_ = std::chrono::system_clock::now();
  expires_ = std::chrono::system_clock::time_point(std::chrono::seconds(svid.expires_at()));
  renewing_ = false;
}

void SimAgent::OnEntries(std::vector<std::string> ids) {
  std::lock_guard<std::mutex> l(mu_);
  entry_ids_ = std::move(ids);
}

bool SimAgent::Attested() const {
  std::lock_guard<std::mutex> l(mu_);
  return channel_ != nullptr;
}

bool SimAgent::RenewDue(std::chrono::system_clock::time_point now) const {
  std::lock_guard<std::mutex> l(mu_);
  return channel_ && !renewing_ && now >= issued_ + (expires_ - issued_) / 2;
}

size_t SimAgent::EntryCount() const {
  std::lock_guard<std::mutex> l(mu_);
  return entry_ids_.size();
}

void SimAgent::Attest(TimePoint scheduled, Phase* phase) {
  phase->Started();
  auto* r = new AttestReactor(this, phase, scheduled, MakeChannel(""), token_, csr_der_, target_.rpc_timeout);
  r->Start();
}

void SimAgent::Sync(TimePoint scheduled, Phase* phase) {
  auto channel = AgentChannel();
  phase->Started();
  if (!channel) {
    Complete(phase, "SyncAuthorizedEntries", scheduled,
             grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "not attested"));
    return;
  }
  (new SyncReactor(this, phase, scheduled, channel, target_.rpc_timeout))->Start();
}

void SimAgent::GetEntries(TimePoint scheduled, Phase* phase) {
  using Call = Unary<entryv1::Entry, entryv1::GetAuthorizedEntriesRequest, entryv1::GetAuthorizedEntriesResponse>;
  auto channel = AgentChannel();
  phase->Started();
  if (!channel) {
    Complete(phase, "GetAuthorizedEntries", scheduled, grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "not attested"));
    return;
  }
  auto* c = new Call(channel, target_.rpc_timeout);
  c->stub->async()->GetAuthorizedEntries(&c->ctx, &c->req, &c->resp, [this, c, phase, scheduled](grpc::Status s) {
    if (s.ok()) {
      std::vector<std::string> ids;
      for (const auto& e : c->resp.entries()) ids.push_back(e.id());
      phase->Rpc("GetAuthorizedEntries").AddItems(static_cast<int64_t>(ids.size()), 0);  // entries received
      OnEntries(std::move(ids));
    }
    Complete(phase, "GetAuthorizedEntries", scheduled, s);
    delete c;
  });
}

void SimAgent::BatchNewSvids(TimePoint scheduled, Phase* phase, const CsrPool& pool) {
  using Call = Unary<svidv1::SVID, svidv1::BatchNewX509SVIDRequest, svidv1::BatchNewX509SVIDResponse>;
  auto channel = AgentChannel();
  phase->Started();
  if (!channel) {
    Complete(phase, "BatchNewX509SVID", scheduled, grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "not attested"));
    return;
  }
  auto* c = new Call(channel, target_.rpc_timeout);
  {
    std::lock_guard<std::mutex> l(mu_);
    for (size_t i = 0; i < entry_ids_.size(); ++i) {
      auto* p = c->req.add_params();
      p->set_entry_id(entry_ids_[i]);
      p->set_csr(pool[(std::hash<std::string>()(entry_ids_[i]) + i) % pool.size()]);
    }
  }
  c->stub->async()->BatchNewX509SVID(&c->ctx, &c->req, &c->resp, [c, phase, scheduled](grpc::Status s) {
    int64_t ok = 0, failed = 0;
    for (const auto& r : c->resp.results()) (r.status().code() == 0 && r.has_svid() ? ok : failed)++;
    if (!s.ok()) failed = c->req.params_size();
    phase->Rpc("BatchNewX509SVID").AddItems(ok, failed);
    Complete(phase, "BatchNewX509SVID", scheduled, s);
    delete c;
  });
}

void SimAgent::Renew(TimePoint scheduled, Phase* phase) {
  using Call = Unary<agentv1::Agent, agentv1::RenewAgentRequest, agentv1::RenewAgentResponse>;
  std::shared_ptr<grpc::Channel> channel;
  {
    std::lock_guard<std::mutex> l(mu_);
    channel = channel_;
    renewing_ = true;
  }
  phase->Started();
  if (!channel) {
    Complete(phase, "RenewAgent", scheduled, grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "not attested"));
    return;
  }
  auto* c = new Call(channel, target_.rpc_timeout);
  c->req.mutable_params()->set_csr(csr_der_);  // same key: the agent's key outlives its SVIDs here
  c->stub->async()->RenewAgent(&c->ctx, &c->req, &c->resp, [this, c, phase, scheduled](grpc::Status s) {
    if (s.ok()) {
      OnSvid(c->resp.svid());
    } else {
      std::lock_guard<std::mutex> l(mu_);
      renewing_ = false;
    }
    Complete(phase, "RenewAgent", scheduled, s);
    delete c;
  });
}

}  // namespace spirecvm::loadgen
