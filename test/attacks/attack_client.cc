// attack-client: TEST ONLY. An agent that lies. It speaks SPIRE's agent API (agent.v1.AttestAgent with the aws_iid
// SEV-SNP challenge, RenewAgent, SyncAuthorizedEntries, BatchNewX509SVID) and the Workload API like a real agent or
// workload, and can tamper with every field of the exchange (--tamper). The attack suite (test/attacks/*.sh) runs one
// case per invocation and reads the single line it prints:
//
//   RESULT ok id=<agent SPIFFE ID>            the server accepted (the suite fails on this for an attack)
//   RESULT code=<gRPC code name> msg=<text>   the server refused, with its reason
//
// Exit status: 0 when a RESULT line was printed, 2 for a usage or local error (never an attack outcome).
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "attestation/awsiid/testing/test_signer.h"
#include "attestation/awsiid/verifier.h"
#include "attestation/sevsnp/sim/test_only_amd_signer.h"
#include "attestation/sevsnp_binding/binding.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/flags.h"
#include "common/grpc_status.h"
#include "crypto/csr.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "openssl/x509v3.h"
#include "spiffe/jwt_svid.h"
#include "spire/api/server/agent/v1/agent.grpc.pb.h"
#include "spire/api/server/entry/v1/entry.grpc.pb.h"
#include "spire/api/server/svid/v1/svid.grpc.pb.h"
#include "workload.grpc.pb.h"

namespace {

using namespace spirecvm;
namespace snpabi = sevsnp::abi;
namespace fs = std::filesystem;
namespace agentv1 = ::spire::api::server::agent::v1;
namespace entryv1 = ::spire::api::server::entry::v1;
namespace svidv1 = ::spire::api::server::svid::v1;

struct KeyInfo {
  std::string csr_der, spki_der;
};

struct Options {
  std::string server, bundle, td = "example.org";
  std::string iid_state, account = "123456789012", region = "us-east-1", instance = "i-0aaaaaaaaaaaaaaaa";
  std::string pending_time;  // RFC 3339; empty: now
  std::string sim_dir, attacker_sim_dir, report_id, tamper = "none", save, svid, hold;
  std::string socket, token, audience, entry_id, type = "aws_iid", csp_id;
  int64_t delay_ms = 0;
};

[[noreturn]] void Die(const std::string& msg) {
  std::cerr << "attack-client: " << msg << "\n";
  std::exit(2);
}

template <typename T>
T Must(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Die(what + ": " + std::string(v.status().message()));
  return *std::move(v);
}

int PrintStatus(const absl::Status& st) {
  // One line, whatever the server put in its message.
  std::string msg = absl::StrReplaceAll(std::string(st.message()), {{"\n", "\\n"}});
  std::cout << "RESULT code=" << absl::StatusCodeToString(st.code()) << " msg=" << msg << std::endl;
  return 0;
}

// ---- the evidence ------------------------------------------------------------------------------------------------

struct Iid {
  std::string document, rsa2048;
};

Iid MakeIid(const Options& o, const std::string& instance, const std::string& account, const std::string& region,
            bool foreign_signer) {
  awsiid::testing::DocumentFields f;
  f.account_id = account;
  f.region = region;
  f.instance_id = instance;
  f.pending_time = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  if (!o.pending_time.empty()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, o.pending_time, &f.pending_time, &err)) Die("--pending-time: " + err);
  }
  auto signer = Must(foreign_signer ? awsiid::testing::TestAwsSigner::Generate()
                                    : awsiid::testing::TestAwsSigner::LoadOrCreate(o.iid_state),
                     "IID signer");
  Iid iid;
  iid.document = awsiid::testing::MakeDocument(f);
  iid.rsa2048 = Must(awsiid::testing::SignRsa2048(signer, iid.document), "sign IID");
  return iid;
}

std::string ReportIdFor(const Options& o) {
  if (!o.report_id.empty()) return Must(HexDecode(o.report_id), "--report-id");
  return crypto::Sha256("launch of " + o.instance);  // one launch per instance unless told otherwise
}

// The tampering of report fields the suite names; false when `t` is not one of them.
bool TamperReportFields(const std::string& t, snpabi::Report& r, const sevsnp::sim::TestOnlyAmdSigner& s) {
  if (t == "debug") {
    r.policy |= snpabi::policy_bit::kDebug;
  } else if (t == "migrate-ma") {
    r.policy |= snpabi::policy_bit::kMigrateMa;
  } else if (t == "vmpl1") {
    r.vmpl = 1;
  } else if (t == "mask-chip-key") {
    r.signer_info |= 2u;
    r.chip_id = {};
  } else if (t == "version99") {
    r.version = 99;
  } else if (t == "tcb-rollback") {
    snpabi::Tcb old = s.tcb();
    old.snp = 1;
    old.ucode = 1;
    r.reported_tcb = r.current_tcb = r.committed_tcb = r.launch_tcb = snpabi::EncodeTcb(old, s.product());
  } else {
    return t == "none";
  }
  return true;
}

// What the session answers the SEV-SNP challenge with, for a given nonce.
struct AnswerMaker {
  const Options& o;
  std::string spki_der, document;

  std::string Answer(const std::string& nonce) const {
    const std::string& t = o.tamper;
    if (t == "unavailable" || t == "log-injection") {
      sevsnp::SevSnpAnswer a;
      a.unavailable = t == "unavailable" ? "no SEV-SNP here" : "x\ntype=audit status=success forged=1\r\n\x1b[31m";
      return a.ToJson();
    }
    if (t == "answer-garbage") return "{\"report\": 12";
    std::string other_key = spki_der, other_doc = document, n = nonce;
    if (t == "other-csr-key") {
      auto k = Must(crypto::GenerateKey(crypto::KeyType::kEcP256), "key");
      other_key = Must(crypto::PublicKeyToDer(k.get()), "spki");
    }
    if (t == "other-iid") other_doc = MakeIid(o, "i-0ffffffffffffffff", o.account, o.region, false).document;
    if (t == "other-nonce") n = std::string(sevsnp::kNonceSize, 'x');
    const std::string rd = sevsnp::SevSnpReportData(n, other_key, other_doc);
    const std::string dir = (t == "other-chain") ? o.attacker_sim_dir : o.sim_dir;
    auto signer = Must(sevsnp::sim::TestOnlyAmdSigner::CreateOrLoad(dir), "simulator " + dir);
    snpabi::Report r = signer->DefaultReport();
    std::copy(rd.begin(), rd.end(), r.report_data.begin());
    const std::string rid = ReportIdFor(o);
    std::copy(rid.begin(), rid.end(), r.report_id.begin());
    TamperReportFields(t, r, *signer);
    sevsnp::SevSnpAnswer a;
    const auto kind = (t == "vcek") ? snpabi::SigningKey::kVcek : snpabi::SigningKey::kVlek;
    if (t == "vlek-signed-by-vcek") {
      r.signer_info = (r.signer_info & ~(7u << 2)) | (1u << 2);  // says VLEK
      a.report = Must(signer->SignReportRaw(r, snpabi::SigningKey::kVcek), "sign");
    } else {
      a.report = Must(signer->SignReport(r, kind), "sign");
    }
    a.cert_table = signer->CertTable(t == "vcek-table-for-vlek" ? snpabi::SigningKey::kVcek : kind);
    if (t == "bad-signature") a.report[a.report.size() - 0x1A0] ^= 1;  // a byte of signature R
    if (t == "report-truncated") a.report.resize(600);
    if (t == "report-oversized") a.report += std::string(4096, 'A');
    if (t == "answer-oversized") a.cert_table += std::string(70 * 1024, 'C');
    return a.ToJson();
  }
};

// Shared by the two sessions of the "cross-stream" case and the replay case: the nonce each role was given.
struct NonceBoard {
  std::mutex mu;
  std::condition_variable cv;
  std::map<int, std::string> nonces;
  void Add(int role, std::string n) {
    std::lock_guard l(mu);
    nonces[role] = std::move(n);
    cv.notify_all();
  }
  std::string WaitFor(int role) {
    std::unique_lock l(mu);
    if (!cv.wait_for(l, std::chrono::seconds(30), [&] { return nonces.count(role) > 0; })) Die("no nonce");
    return nonces[role];
  }
};

class Session {
 public:
  Session(const Options& o, KeyInfo key, NonceBoard* board, int role)
      : o_(o), key_(std::move(key)), board_(board), role_(role) {}

  absl::StatusOr<std::string> Payload() {
    const std::string& t = o_.tamper;
    if (t == "payload-oversized") return std::string(200 * 1024, '{');
    if (t == "message-oversized") return std::string(5 * 1024 * 1024, ' ');
    bool foreign = (t == "iid-foreign-signer");
    Iid iid = MakeIid(o_, o_.instance, o_.account, o_.region, foreign);
    awsiid::AttestationPayload p;
    p.document = iid.document;
    p.rsa2048 = iid.rsa2048;
    p.sev_snp_challenge = true;
    if (t == "iid-substitute") {  // another instance's document under this one's signature
      p.document = absl::StrReplaceAll(iid.document, {{o_.instance, "i-0eeeeeeeeeeeeeeee"}});
    }
    if (t == "no-challenge") p.sev_snp_challenge = false;
    if (t == "iid-signature-only") {
      p.signature = Must(awsiid::testing::SignRsaSignature(
                             Must(awsiid::testing::TestAwsSigner::LoadOrCreate(o_.iid_state), "signer"), p.document),
                         "signature");
      p.rsa2048.clear();
    }
    document_ = p.document;
    std::string json = p.ToJson();
    if (t == "payload-truncated") json.resize(json.size() / 2);
    return json;
  }

  absl::StatusOr<std::string> AnswerChallenge(std::string_view challenge) {
    auto c = sevsnp::SevSnpChallenge::FromJson(challenge);
    if (!c.ok()) return c.status();
    std::cerr << "attack-client: challenge received\n";
    if (board_ != nullptr) board_->Add(role_, c->nonce);
    std::string nonce = c->nonce;
    if (o_.tamper == "replay-nonce") {
      if (role_ == 0) return absl::AbortedError("attacker: first stream abandoned after taking its nonce");
      nonce = board_->WaitFor(0);  // the nonce of the abandoned first stream
    }
    if (o_.tamper == "cross-stream") {
      if (role_ == 0) {  // stream A: hold until B has its own challenge and has answered with A's nonce
        board_->WaitFor(1);
        std::this_thread::sleep_for(std::chrono::seconds(2));
        return absl::AbortedError("attacker: stream A abandoned");
      }
      nonce = board_->WaitFor(0);
    }
    if (!o_.hold.empty()) {
      if (auto st = files::WriteFileAtomic(o_.hold + ".ready", "1", 0644); !st.ok()) return st;
      while (!fs::exists(o_.hold)) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (o_.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(o_.delay_ms));
    return AnswerMaker{o_, key_.spki_der, document_}.Answer(nonce);
  }

 private:
  const Options& o_;
  KeyInfo key_;
  NonceBoard* board_;
  int role_;
  std::string document_;
};

// ---- the agent API ------------------------------------------------------------------------------------------------

struct Svid {
  std::vector<std::string> chain_der;
  std::string key_pem;
};

// A channel to the server's agent endpoint. The attacker does not verify the server (it attacks a server it started);
// with `svid` it presents that certificate chain, as an agent does after attestation.
std::shared_ptr<grpc::Channel> Connect(const Options& o, const Svid* svid) {
  grpc::experimental::TlsChannelCredentialsOptions opts;
  if (svid != nullptr) {
    std::string pem;
    for (const auto& der : svid->chain_der) pem += crypto::CertToPem(Must(crypto::ParseCertDer(der), "SVID").get());
    opts.set_certificate_provider(std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
        std::vector<grpc::experimental::IdentityKeyCertPair>{{svid->key_pem, pem}}));
    opts.watch_identity_key_cert_pairs();
  }
  opts.set_check_call_host(false);
  opts.set_verify_server_certs(false);
  opts.set_certificate_verifier(std::make_shared<grpc::experimental::NoOpCertificateVerifier>());
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetSslTargetNameOverride(o.td);
  args.SetMaxSendMessageSize(16 * 1024 * 1024);
  return grpc::CreateCustomChannel(o.server, grpc::experimental::TlsCredentials(opts), args);
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  return ctx;
}

// One AttestAgent exchange driven by `session`: params, then one answer per challenge, until the result.
absl::StatusOr<agentv1::AttestAgentResponse::Result> RunAttest(const Options& o, std::shared_ptr<grpc::Channel> ch,
                                                               Session& session, const KeyInfo& key) {
  auto stub = agentv1::Agent::NewStub(ch);
  auto ctx = Ctx();
  auto stream = stub->AttestAgent(ctx.get());
  agentv1::AttestAgentRequest first;
  auto payload = session.Payload();
  if (!payload.ok()) return payload.status();
  first.mutable_params()->mutable_data()->set_type(o.type);
  first.mutable_params()->mutable_data()->set_payload(*payload);
  first.mutable_params()->mutable_params()->set_csr(key.csr_der);
  stream->Write(first);
  agentv1::AttestAgentResponse resp;
  for (int round = 0; round < 16 && stream->Read(&resp); ++round) {
    if (resp.has_result()) {
      stream->WritesDone();
      grpc::Status st = stream->Finish();
      if (!st.ok()) return FromGrpc(st);
      return resp.result();
    }
    auto answer = session.AnswerChallenge(resp.challenge());
    if (!answer.ok()) {
      ctx->TryCancel();
      (void)stream->Finish();
      return answer.status();
    }
    agentv1::AttestAgentRequest next;
    next.set_challenge_response(*answer);
    stream->Write(next);
  }
  return FromGrpc(stream->Finish());
}

Svid LoadSvid(const std::string& dir) {
  Svid s;
  for (const auto& c : Must(crypto::ParseCertsPem(Must(files::ReadFile(dir + "/svid.pem"), "svid.pem")), "svid")) {
    s.chain_der.push_back(crypto::CertToDer(c.get()));
  }
  s.key_pem = Must(files::ReadFile(dir + "/key.pem"), "key.pem");
  return s;
}

KeyInfo NewKey(crypto::KeyType kt, ssl::EvpPkeyPtr* key_out, std::optional<std::string> uri) {
  *key_out = Must(crypto::GenerateKey(kt), "key");
  KeyInfo k;
  k.csr_der = Must(crypto::CreateCsr(key_out->get(), std::move(uri)), "CSR");
  k.spki_der = Must(crypto::PublicKeyToDer(key_out->get()), "SPKI");
  return k;
}

int Attest(const Options& o) {
  NonceBoard board;
  ssl::EvpPkeyPtr key;
  KeyInfo k = NewKey(crypto::KeyType::kEcP256, &key, std::nullopt);
  if (o.tamper == "replay-nonce") {
    Session first(o, k, &board, 0);
    (void)RunAttest(o, Connect(o, nullptr), first, k);
  }
  std::thread a;
  Session stream_a(o, k, &board, 0);
  if (o.tamper == "cross-stream") a = std::thread([&] { (void)RunAttest(o, Connect(o, nullptr), stream_a, k); });
  Session session(o, k, &board, 1);
  auto r = RunAttest(o, Connect(o, nullptr), session, k);
  if (a.joinable()) a.join();
  if (!r.ok()) return PrintStatus(r.status());
  if (!o.save.empty()) {
    std::string pem;
    for (const auto& der : r->svid().cert_chain()) {
      pem += crypto::CertToPem(Must(crypto::ParseCertDer(der), "SVID").get());
    }
    fs::create_directories(o.save);
    if (auto st = files::WriteFileAtomic(o.save + "/svid.pem", pem, 0644); !st.ok()) Die(st.ToString());
    if (auto st = files::WriteFileAtomic(o.save + "/key.pem", Must(crypto::PrivateKeyToPem(key.get()), "key"), 0600);
        !st.ok()) {
      Die(st.ToString());
    }
  }
  std::cout << "RESULT ok id=spiffe://" << r->svid().id().trust_domain() << r->svid().id().path() << std::endl;
  return 0;
}

// A self-signed "SVID" of another trust domain (its own CA): what an agent of that domain would present.
Svid ForeignSvid(const std::string& id) {
  auto key = Must(crypto::GenerateKey(crypto::KeyType::kEcP256), "key");
  ssl::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 4242);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("evil"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  const std::string san = "URI:" + id;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  X509_add_ext(cert.get(), ext, -1);
  X509_EXTENSION_free(ext);
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) Die("cannot sign the foreign SVID");
  return Svid{{crypto::CertToDer(cert.get())}, Must(crypto::PrivateKeyToPem(key.get()), "key")};
}

Svid SvidFor(const Options& o) {
  if (o.svid.rfind("foreign:", 0) == 0) return ForeignSvid(o.svid.substr(8));
  return LoadSvid(o.svid);
}

int Renew(const Options& o) {
  Svid s = SvidFor(o);
  ssl::EvpPkeyPtr key;
  agentv1::RenewAgentRequest req;
  req.mutable_params()->set_csr(NewKey(crypto::KeyType::kEcP256, &key, std::nullopt).csr_der);
  agentv1::RenewAgentResponse resp;
  auto ctx = Ctx();
  grpc::Status st = agentv1::Agent::NewStub(Connect(o, &s))->RenewAgent(ctx.get(), req, &resp);
  if (!st.ok()) return PrintStatus(FromGrpc(st));
  std::cout << "RESULT ok id=spiffe://" << resp.svid().id().trust_domain() << resp.svid().id().path() << std::endl;
  return 0;
}

// entry.v1.GetAuthorizedEntries: the cheapest call that needs an authenticated, current agent.
int Sync(const Options& o) {
  Svid s = SvidFor(o);
  entryv1::GetAuthorizedEntriesRequest req;
  entryv1::GetAuthorizedEntriesResponse resp;
  auto ctx = Ctx();
  grpc::Status st = entryv1::Entry::NewStub(Connect(o, &s))->GetAuthorizedEntries(ctx.get(), req, &resp);
  if (!st.ok()) return PrintStatus(FromGrpc(st));
  std::cout << "RESULT ok id=entries:" << resp.entries_size() << std::endl;
  return 0;
}

// A CSR whose extensionRequest asks for basicConstraints CA:TRUE and keyCertSign.
std::string CsrRequestingCa(EVP_PKEY* key) {
  ssl::X509ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_REQ_set_pubkey(req.get(), key);
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints, "critical,CA:TRUE"));
  sk_X509_EXTENSION_push(exts, X509V3_EXT_conf_nid(nullptr, nullptr, NID_key_usage, "critical,keyCertSign,cRLSign"));
  X509_REQ_add_extensions(req.get(), exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  if (X509_REQ_sign(req.get(), key, EVP_sha256()) == 0) Die("cannot sign the CA CSR");
  unsigned char* der = nullptr;
  int n = i2d_X509_REQ(req.get(), &der);
  if (n <= 0) Die("cannot encode the CA CSR");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  return out;
}

// BatchNewX509SVID for --entry with a CSR that asks for more than the entry gives (--tamper csr-ca|csr-foreign-id).
int NewX509(const Options& o) {
  Svid s = SvidFor(o);
  ssl::EvpPkeyPtr key = Must(crypto::GenerateKey(crypto::KeyType::kEcP256), "key");
  std::string csr;
  if (o.tamper == "csr-foreign-id") {
    csr = Must(crypto::CreateCsr(key.get(), std::string("spiffe://evil.org/admin")), "CSR");
  } else {
    csr = CsrRequestingCa(key.get());
  }
  svidv1::BatchNewX509SVIDRequest req;
  auto* p = req.add_params();
  p->set_entry_id(o.entry_id);
  p->set_csr(csr);
  svidv1::BatchNewX509SVIDResponse r;
  auto ctx = Ctx();
  grpc::Status st = svidv1::SVID::NewStub(Connect(o, &s))->BatchNewX509SVID(ctx.get(), req, &r);
  if (!st.ok()) return PrintStatus(FromGrpc(st));
  if (r.results_size() != 1) Die("expected one result");
  const auto& res = r.results(0);
  if (res.status().code() != 0) {
    return PrintStatus(absl::Status(static_cast<absl::StatusCode>(res.status().code()), res.status().message()));
  }
  std::cout << "RESULT ok id=spiffe://" << res.svid().id().trust_domain() << res.svid().id().path() << std::endl;
  return 0;
}

// ---- the Workload API ------------------------------------------------------------------------------------------

int Workload(const Options& o, const std::string& cmd) {
  auto channel = grpc::CreateChannel("unix:" + o.socket, grpc::InsecureChannelCredentials());
  auto stub = SpiffeWorkloadAPI::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  if (cmd != "fetch-no-header") ctx.AddMetadata("workload.spiffe.io", "true");
  grpc::Status st;
  if (cmd == "fetch-no-header") {
    auto reader = stub->FetchX509SVID(&ctx, X509SVIDRequest());
    X509SVIDResponse resp;
    while (reader->Read(&resp)) {
    }
    st = reader->Finish();
  } else {
    ValidateJWTSVIDRequest req;
    req.set_svid(o.token);
    req.set_audience(o.audience);
    ValidateJWTSVIDResponse resp;
    st = stub->ValidateJWTSVID(&ctx, req, &resp);
    if (st.ok()) {
      std::cout << "RESULT ok id=" << resp.spiffe_id() << std::endl;
      return 0;
    }
  }
  if (st.ok()) {
    std::cout << "RESULT ok id=workload" << std::endl;
    return 0;
  }
  return PrintStatus(FromGrpc(st));
}

// A caller whose PID is reused: process C connects to the Workload API and leaves the connection to a child G, C
// exits, its PID is handed to a new process N (through /proc/sys/kernel/ns_last_pid; root only), and G calls
// FetchX509SVID over C's connection. The agent recorded C's PID and start time at accept: N's start time differs.
int ReusedPid(const Options& o) {
  int result[2], go[2];
  if (::pipe(result) != 0 || ::pipe(go) != 0) Die("pipe");
  const pid_t c = ::fork();
  if (c == 0) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", o.socket.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ::_exit(3);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the agent accepts and records C
    if (::fork() == 0) {
      char b;
      ::close(go[1]);
      if (::read(go[0], &b, 1) != 1) ::_exit(4);
      auto stub = SpiffeWorkloadAPI::NewStub(grpc::CreateInsecureChannelFromFd("", fd));
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      ctx.AddMetadata("workload.spiffe.io", "true");
      auto reader = stub->FetchX509SVID(&ctx, X509SVIDRequest());
      X509SVIDResponse resp;
      const bool got = reader->Read(&resp);
      if (got) ctx.TryCancel();  // a refused stream has ended with its status: cancelling would mask it
      grpc::Status st = reader->Finish();
      std::string line =
          got ? std::string("RESULT ok id=") + (resp.svids_size() ? resp.svids(0).spiffe_id() : "")
              : "RESULT code=" + absl::StatusCodeToString(FromGrpc(st).code()) + " msg=" + st.error_message();
      line += "\n";
      (void)!::write(result[1], line.data(), line.size());
      ::_exit(0);
    }
    ::_exit(0);
  }
  ::close(result[1]);
  int status = 0;
  ::waitpid(c, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Die("the connecting process failed");
  pid_t reused = -1;
  for (int attempt = 0; attempt < 200 && reused < 0; ++attempt) {
    FILE* f = std::fopen("/proc/sys/kernel/ns_last_pid", "w");
    if (f == nullptr) Die("cannot write /proc/sys/kernel/ns_last_pid (needs root)");
    std::fprintf(f, "%d", c - 1);
    std::fclose(f);
    const pid_t n = ::fork();
    if (n == 0) {
      std::this_thread::sleep_for(std::chrono::seconds(20));
      ::_exit(0);
    }
    if (n == c) {
      reused = n;
    } else {
      ::kill(n, SIGKILL);
      ::waitpid(n, nullptr, 0);
    }
  }
  if (reused < 0) Die("could not get the PID reused");
  std::cerr << "attack-client: PID " << c << " now belongs to a new process\n";
  (void)!::write(go[1], "g", 1);
  ::close(go[1]);
  std::string out;
  char buf[512];
  for (ssize_t n; (n = ::read(result[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::kill(reused, SIGKILL);
  ::waitpid(reused, nullptr, 0);
  if (out.empty()) Die("the caller reported nothing");
  std::cout << out << std::flush;
  return 0;
}

// JWTs a workload might be handed: alg none, or signed by a key the bundle does not hold (--tamper wrong-kid).
int ForgeJwt(const Options& o) {
  const int64_t exp = absl::ToUnixSeconds(absl::Now()) + 600;
  const std::string sub = absl::StrCat("spiffe://", o.td, "/wl");
  if (o.tamper == "alg-none") {
    const std::string claims = absl::StrCat(R"({"sub":")", sub, R"(","aud":[")", o.audience, R"("],"exp":)", exp, "}");
    std::cout << Base64UrlEncode(R"({"alg":"none","typ":"JWT"})") << "." << Base64UrlEncode(claims) << "." << std::endl;
    return 0;
  }
  auto key = Must(crypto::GenerateKey(crypto::KeyType::kEcP256), "key");
  auto id = Must(spiffe::SpiffeId::Parse(sub), "sub");
  std::cout << Must(spiffe::SignJwtSvid({.key = key.get(), .kid = "attacker-kid"}, id, {o.audience}, absl::Now(),
                                        absl::FromUnixSeconds(exp)),
                    "sign JWT")
            << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty())
    Die("usage: attack-client attest|renew|sync|newx509|fetch-no-header|validate-jwt|forge-jwt [flags]");
  const std::string cmd = args[0];
  Options o;
  flags::FlagSet f("attack-client " + cmd);
  f.String("server", &o.server, "server host:port");
  f.String("bundle", &o.bundle, "trust bundle PEM");
  f.String("td", &o.td, "trust domain");
  f.String("iid-state", &o.iid_state, "the IMDS emulator's state dir (the test AWS key)");
  f.String("account", &o.account, "IID accountId");
  f.String("region", &o.region, "IID region");
  f.String("instance", &o.instance, "IID instanceId");
  f.String("pending-time", &o.pending_time, "IID pendingTime (RFC 3339)");
  f.String("sim-dir", &o.sim_dir, "SEV-SNP simulator dir (trusted by the server)");
  f.String("attacker-sim-dir", &o.attacker_sim_dir, "a simulator dir the server does not trust");
  f.String("report-id", &o.report_id, "REPORT_ID (64 hex); default: one launch per instance");
  f.String("tamper", &o.tamper, "what to tamper with");
  f.String("csp-id", &o.csp_id, "the simulated VLEK's csp_id (init-sim)");
  f.String("type", &o.type, "attestation type");
  f.String("save", &o.save, "directory to save the agent SVID and key in");
  f.String("svid", &o.svid, "directory with svid.pem + key.pem, or foreign:<SPIFFE ID>");
  f.String("hold", &o.hold, "before answering, write FILE.ready and wait for FILE");
  f.String("socket", &o.socket, "Workload API socket");
  f.String("token", &o.token, "JWT to validate");
  f.String("audience", &o.audience, "JWT audience");
  f.String("entry", &o.entry_id, "entry ID (newx509)");
  f.Int("delay-ms", &o.delay_ms, "sleep before answering the challenge");
  auto rest = f.Parse(std::vector<std::string>(args.begin() + 1, args.end()));
  if (!rest.ok()) Die(rest.status().ToString());
  if (cmd == "attest") return Attest(o);
  if (cmd == "renew") return Renew(o);
  if (cmd == "sync") return Sync(o);
  if (cmd == "newx509") return NewX509(o);
  if (cmd == "fetch-no-header" || cmd == "validate-jwt") return Workload(o, cmd);
  if (cmd == "forge-jwt") return ForgeJwt(o);
  if (cmd == "reused-pid") return ReusedPid(o);
  if (cmd == "init-sim") {  // as `sevsnp-sim init`, with RSA-2048 roots: the suite makes three, quickly
    sevsnp::sim::SignerOptions so;
    so.rsa_bits = 2048;
    so.csp_id = o.csp_id;
    (void)Must(sevsnp::sim::TestOnlyAmdSigner::CreateOrLoad(o.sim_dir, so), "simulator " + o.sim_dir);
    return 0;
  }
  Die("unknown command " + cmd);
}
