// End-to-end node attestation load (issue 6, "Speed"): attestations per second over gRPC/TLS against a real
// spire-server subprocess configured with NodeAttestor "aws_iid" + sev_snp required (the SEV-SNP simulator's ARK
// trusted through insecure_extra_roots, a TEST-ONLY "AWS" signer's certificate in aws_certificates_path), SQLite.
//
// Every attestation is a distinct EC2 instance (so trust-on-first-use never refuses) with its own P-256 key and
// CSR. Each client thread runs the agent's own code path: GrpcServerConnector (TLS, server verified against the
// bundle from `spire-server bundle show`) and AttestOverStream, answering the SEV-SNP challenge with a simulator
// report whose REPORT_DATA binds nonce, CSR key and document (attestation/sevsnp_binding/binding.h).
//
// Client-side work that is not part of what the server does (RSA-2048 CMS signing of the documents, key and CSR
// generation) happens before the timed phase so that, on a small machine, it does not steal CPU from the server.
// The report (ECDSA P-384 sign) must be made on the fly: it binds the server's nonce.
//
// Reports: attestations/s, latency p50/p99, the server process's CPU per attestation (utime+stime of
// /proc/<pid>/stat before/after the timed phase, divided by the count), and beside it the sum of the cryptographic
// primitives one attestation costs the server, timed here with OpenSSL in the same run, and their ratio.
//
// Usage: attest_load [--count N] [--threads N] [--reuse-connections] [--warmup N] [--server-bin PATH]
//                    [--log-level INFO] [--keep-dir]
//   default: fresh TLS connection per attestation (as a real agent attests: a new channel, a full handshake).
//   --reuse-connections: one channel per client thread, reused (no handshake per attestation).
//   --server-wrapper "valgrind --tool=callgrind --callgrind-out-file=F": run the server under a profiler.
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "agent/manager/server_client.h"
#include "agent/sevsnp/simulated_provider.h"
#include "attestation/awsiid/testing/test_signer.h"
#include "attestation/awsiid/verifier.h"
#include "attestation/sevsnp/sim/test_only_amd_signer.h"
#include "attestation/sevsnp_binding/binding.h"
#include "common/process.h"
#include "common/strings.h"
#include "crypto/csr.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "spiffe/spiffe_id.h"

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

namespace spirecvm::bench {
namespace {

constexpr char kTd[] = "example.org";
constexpr char kRegion[] = "us-east-1";
constexpr char kAccount[] = "123456789012";

pid_t g_server = -1;  // killed by Die so a failed run leaves no server behind

[[noreturn]] void Die(const std::string& why) {
  std::cerr << "attest_load: " << why << "\n";
  if (g_server > 0) kill(g_server, SIGKILL);
  std::exit(1);
}

template <typename T>
T Must(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) Die(absl::StrCat(what, ": ", v.status().ToString()));
  return *std::move(v);
}

void MustOk(const absl::Status& st, const char* what) {
  if (!st.ok()) Die(absl::StrCat(what, ": ", st.ToString()));
}

// ---------------------------------------------------------------------------------------------------------------
// The server subprocess.

int FreePort() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) Die("bind for a free port");
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  close(s);
  return port;
}

// Runs argv, returns (exit code, stdout).
std::pair<int, std::string> RunCapture(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe(fds) != 0) Die("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    close(fds[0]);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

struct ProcCpu {
  double utime_s = 0, stime_s = 0;
  double total() const { return utime_s + stime_s; }
};

ProcCpu ReadProcCpu(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(f, line);
  auto rp = line.rfind(')');
  if (rp == std::string::npos) Die("cannot read /proc/<server>/stat");
  std::istringstream in(line.substr(rp + 2));
  // Fields from 3 (state) on; utime and stime are fields 14 and 15.
  std::string tok;
  std::vector<std::string> f3;
  while (in >> tok) f3.push_back(tok);
  if (f3.size() < 13) Die("short /proc/<server>/stat");
  const double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  return ProcCpu{std::stod(f3[11]) / hz, std::stod(f3[12]) / hz};
}

double SelfCpu() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// ---------------------------------------------------------------------------------------------------------------
// One pre-generated agent identity: key, CSR and a signed instance identity document of its own instance.

struct Identity {
  ssl::EvpPkeyPtr key;
  std::string csr_der, spki_der;
  std::string document, payload_json;
};

Identity MakeIdentity(const awsiid::testing::TestAwsSigner& aws, int i, const std::string& run_tag) {
  Identity id;
  id.key = Must(crypto::GenerateKey(crypto::KeyType::kEcP256), "agent key");
  id.csr_der = Must(crypto::CreateCsr(id.key.get(), std::nullopt), "agent CSR");
  id.spki_der = Must(crypto::PublicKeyToDer(id.key.get()), "agent SPKI");
  awsiid::testing::DocumentFields f;
  f.account_id = kAccount;
  f.region = kRegion;
  char iid[32];
  std::snprintf(iid, sizeof iid, "i-0%s%09x", run_tag.c_str(), i);  // "i-" + 17 hex digits
  f.instance_id = iid;
  f.pending_time = absl::Now();
  id.document = awsiid::testing::MakeDocument(f);
  awsiid::AttestationPayload p;
  p.document = id.document;
  p.rsa2048 = Must(awsiid::testing::SignRsa2048(aws, id.document), "IID signature");
  p.sev_snp_challenge = true;  // as spire-cvm's agent announces it
  id.payload_json = p.ToJson();
  return id;
}

// The agent side of aws_iid with a pre-generated identity and the simulator as report provider.
class LoadSession final : public agent::NodeAttestationSession {
 public:
  LoadSession(const Identity& id, agent::snp::SimulatedProvider& provider) : id_(id), provider_(provider) {}
  absl::StatusOr<std::string> Payload() override { return id_.payload_json; }
  absl::StatusOr<std::string> AnswerChallenge(std::string_view challenge) override {
    auto c = sevsnp::SevSnpChallenge::FromJson(challenge);
    if (!c.ok()) return c.status();
    const std::string rd = sevsnp::SevSnpReportData(c->nonce, id_.spki_der, id_.document);
    agent::snp::ReportData report_data{};
    std::copy(rd.begin(), rd.end(), report_data.begin());
    auto r = provider_.GetReport(report_data);
    if (!r.ok()) return r.status();
    sevsnp::SevSnpAnswer a;
    a.report = std::move(r->report);
    a.cert_table = std::move(r->cert_table);
    return a.ToJson();
  }

 private:
  const Identity& id_;
  agent::snp::SimulatedProvider& provider_;
};

class LoadAttestor final : public agent::NodeAttestorClient {
 public:
  explicit LoadAttestor(std::unique_ptr<agent::snp::SimulatedProvider> p) : provider_(std::move(p)) {}
  std::string type() const override { return "aws_iid"; }
  absl::StatusOr<std::unique_ptr<agent::NodeAttestationSession>> Start(const agent::AttestationKeyInfo&) override {
    return std::make_unique<LoadSession>(*current_, *provider_);
  }
  const Identity* current_ = nullptr;

 private:
  std::unique_ptr<agent::snp::SimulatedProvider> provider_;
};

// ---------------------------------------------------------------------------------------------------------------
// The server's cryptographic primitives, timed directly with OpenSSL.

// Runs fn repeatedly for at least `seconds`, returns microseconds per call.
double TimeUs(const std::function<void()>& fn, double seconds = 1.0) {
  for (int i = 0; i < 20; ++i) fn();  // warm
  int64_t n = 0;
  auto start = SteadyClock::now();
  double elapsed = 0;
  do {
    for (int i = 0; i < 50; ++i) fn();
    n += 50;
    elapsed = std::chrono::duration<double>(SteadyClock::now() - start).count();
  } while (elapsed < seconds);
  return elapsed * 1e6 / static_cast<double>(n);
}

std::string DigestSign(EVP_PKEY* key, const EVP_MD* md, const std::string& data) {
  ssl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    Die("DigestSign init");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1) {
    Die("DigestSign");
  }
  sig.resize(len);
  return sig;
}

bool DigestVerify(EVP_PKEY* key, const EVP_MD* md, const std::string& data, const std::string& sig) {
  ssl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  return EVP_DigestVerifyInit(ctx.get(), nullptr, md, nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

struct Primitives {
  double csr_verify_us, iid_rsa_verify_us, report_p384_verify_us, svid_p256_sign_us;
  double tls_ecdhe_keygen_us, tls_ecdhe_derive_us, tls_cert_verify_sign_us;
  double sum_without_tls() const {
    return csr_verify_us + iid_rsa_verify_us + report_p384_verify_us + svid_p256_sign_us;
  }
  double sum_with_tls() const {
    return sum_without_tls() + tls_ecdhe_keygen_us + tls_ecdhe_derive_us + tls_cert_verify_sign_us;
  }
};

Primitives TimePrimitives(const Identity& id, const awsiid::testing::TestAwsSigner& aws) {
  Primitives p{};
  // 1. The agent CSR's self-signature (ECDSA P-256 verify, SHA-256 over the request info).
  const unsigned char* q = reinterpret_cast<const unsigned char*>(id.csr_der.data());
  X509_REQ* req = d2i_X509_REQ(nullptr, &q, static_cast<long>(id.csr_der.size()));
  if (req == nullptr) Die("parse CSR");
  EVP_PKEY* req_key = X509_REQ_get0_pubkey(req);
  p.csr_verify_us = TimeUs([&] {
    if (X509_REQ_verify(req, req_key) != 1) Die("CSR verify");
  });
  X509_REQ_free(req);
  // 2. The IID CMS signature: RSA-2048 PKCS#1 v1.5 verify with SHA-256 (over the document, about the size of the
  //    signed attributes plus the document's digest).
  std::string rsa_sig = DigestSign(aws.key.get(), EVP_sha256(), id.document);
  p.iid_rsa_verify_us = TimeUs([&] {
    if (!DigestVerify(aws.key.get(), EVP_sha256(), id.document, rsa_sig)) Die("RSA verify");
  });
  // 3. The report signature: SHA-384 over the 672 signed bytes + ECDSA P-384 verify (warm chain cache: no chain
  //    work per attestation).
  auto p384 = Must(crypto::GenerateKey(crypto::KeyType::kEcP384), "P-384 key");
  std::string report_body(672, '\x5a');
  std::string p384_sig = DigestSign(p384.get(), EVP_sha384(), report_body);
  p.report_p384_verify_us = TimeUs([&] {
    if (!DigestVerify(p384.get(), EVP_sha384(), report_body, p384_sig)) Die("P-384 verify");
  });
  // 4. The agent X509-SVID: ECDSA P-256 sign (SHA-256) over a TBSCertificate-sized buffer (CA key ec-p256).
  auto ca = Must(crypto::GenerateKey(crypto::KeyType::kEcP256), "P-256 key");
  std::string tbs(450, '\x30');
  p.svid_p256_sign_us = TimeUs([&] { DigestSign(ca.get(), EVP_sha256(), tbs); });
  // 5. TLS 1.3 full handshake, server side: ephemeral ECDHE P-256 (gRPC's server restricts the group to P-256;
  //    keygen + derive) and CertificateVerify (ECDSA P-256 sign with the server SVID key). The attesting agent has
  //    no client certificate, so there is no client-signature verify.
  ssl::EvpPkeyPtr peer = Must(crypto::GenerateKey(crypto::KeyType::kEcP256), "peer key");
  p.tls_ecdhe_keygen_us = TimeUs([&] { Must(crypto::GenerateKey(crypto::KeyType::kEcP256), "ephemeral key"); });
  ssl::EvpPkeyPtr eph = Must(crypto::GenerateKey(crypto::KeyType::kEcP256), "ephemeral key");
  p.tls_ecdhe_derive_us = TimeUs([&] {
    ssl::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(eph.get(), nullptr));
    size_t len = 0;
    unsigned char secret[64];
    if (EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) != 1 ||
        EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1 || len > sizeof secret ||
        EVP_PKEY_derive(ctx.get(), secret, &len) != 1) {
      Die("ECDH derive");
    }
  });
  std::string transcript(130, '\x20');
  p.tls_cert_verify_sign_us = TimeUs([&] { DigestSign(ca.get(), EVP_sha256(), transcript); });
  return p;
}

// ---------------------------------------------------------------------------------------------------------------

struct Options {
  int count = 400;
  int threads = 4;
  int warmup = 20;
  bool reuse = false;
  bool keep_dir = false;
  std::string server_bin;
  std::string log_level = "INFO";
  std::string server_wrapper;  // e.g. "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out" (profiling)
};

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int Main(int argc, char** argv) {
  Options o;
  {
    fs::path self = fs::canonical("/proc/self/exe");
    o.server_bin = (self.parent_path().parent_path() / "src/cli/server/spire-server").string();
  }
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die("missing value for " + a);
      return argv[++i];
    };
    if (a == "--count")
      o.count = std::stoi(next());
    else if (a == "--threads")
      o.threads = std::stoi(next());
    else if (a == "--warmup")
      o.warmup = std::stoi(next());
    else if (a == "--reuse-connections")
      o.reuse = true;
    else if (a == "--keep-dir")
      o.keep_dir = true;
    else if (a == "--server-bin")
      o.server_bin = next();
    else if (a == "--log-level")
      o.log_level = next();
    else if (a == "--server-wrapper")
      o.server_wrapper = next();
    else
      Die("usage: attest_load [--count N] [--threads N] [--warmup N] [--reuse-connections] [--server-bin PATH] "
          "[--log-level LEVEL] [--server-wrapper \"CMD ARGS\"] [--keep-dir]");
  }
  if (access(o.server_bin.c_str(), X_OK) != 0) Die("spire-server not found at " + o.server_bin + " (--server-bin)");

  char tmpl[] = "/tmp/attest-load.XXXXXX";
  if (mkdtemp(tmpl) == nullptr) Die("mkdtemp");
  const std::string dir = tmpl;
  std::cerr << "work dir " << dir << "\n";

  // Evidence roots: the SEV-SNP simulator (RSA-4096 ARK/ASK/ASVK, as AMD's) and the test "AWS" signer.
  auto amd = std::shared_ptr<const sevsnp::sim::TestOnlyAmdSigner>(
      Must(sevsnp::sim::TestOnlyAmdSigner::CreateOrLoad(
               dir + "/sim",
               {.csp_id = absl::StrCat("CN=cc-", kRegion, ".amazonaws.com")}),  // AWS's VLEK of the IID's region
           "SEV-SNP simulator"));
  auto aws = Must(awsiid::testing::TestAwsSigner::Generate(), "test AWS signer");
  MustOk(aws.WriteCertsDir(dir + "/awscerts", kRegion), "AWS certs dir");

  const int port = FreePort();
  const std::string sock = dir + "/server/api.sock";
  fs::create_directories(dir + "/server");
  {
    std::ofstream c(dir + "/server.conf");
    c << "server {\n  bind_address = \"127.0.0.1\"\n  bind_port = " << port << "\n  socket_path = \"" << sock
      << "\"\n  trust_domain = \"" << kTd << "\"\n  data_dir = \"" << dir << "/server\"\n  log_level = \""
      << o.log_level
      << "\"\n  ratelimit {\n    attestation = false\n  }\n}\nplugins {\n  DataStore \"sql\" {\n    plugin_data {\n    "
         "  database_type = \"sqlite3\"\n"
      << "      connection_string = \"" << dir << "/server/datastore.sqlite3\"\n    }\n  }\n"
      << "  KeyManager \"memory\" {\n    plugin_data {}\n  }\n  NodeAttestor \"aws_iid\" {\n    plugin_data {\n"
      << "      aws_certificates_path = \"" << dir << "/awscerts\"\n      account_ids = [\"" << kAccount << "\"]\n"
      << "      sev_snp {\n        required = true\n"
      << "        insecure_extra_roots = [\"" << dir << "/sim/ark.pem\"]\n        kds_fetch = false\n      }\n"
      << "    }\n  }\n}\n";
  }

  pid_t server = fork();
  if (server == 0) {
    int log = open((dir + "/server.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 1);
    dup2(log, 2);
    std::vector<std::string> args;
    std::istringstream w(o.server_wrapper);
    for (std::string tok; w >> tok;) args.push_back(tok);
    for (const char* a : {o.server_bin.c_str(), "run", "-config"}) args.emplace_back(a);
    args.push_back(dir + "/server.conf");
    std::vector<char*> av;
    for (auto& a : args) av.push_back(a.data());
    av.push_back(nullptr);
    execvp(av[0], av.data());
    _exit(127);
  }
  g_server = server;
  auto stop_server = [&] {
    if (server > 0) {
      kill(server, SIGTERM);
      int st;
      for (int i = 0; i < 600 && waitpid(server, &st, WNOHANG) == 0; ++i) usleep(50000);
      if (waitpid(server, &st, WNOHANG) == 0) {
        kill(server, SIGKILL);
        waitpid(server, &st, 0);
      }
      server = -1;
      g_server = -1;
    }
    if (!o.keep_dir) fs::remove_all(dir);
  };

  // Bundle (also waits for the server to be up).
  std::string bundle_pem;
  for (int i = 0; i < 1200; ++i) {  // up to ~2 min (a server under valgrind starts slowly)
    auto [rc, out] = RunCapture({o.server_bin, "bundle", "show", "-socketPath", sock});
    if (rc == 0 && out.find("BEGIN CERTIFICATE") != std::string::npos) {
      bundle_pem = out;
      break;
    }
    int st;
    if (waitpid(server, &st, WNOHANG) == server) {
      server = -1;
      g_server = -1;
      std::ifstream l(dir + "/server.log");
      std::cerr << l.rdbuf();
      Die("spire-server exited at start");
    }
    usleep(100000);
  }
  if (bundle_pem.empty()) {
    stop_server();
    Die("spire-server did not serve its bundle");
  }
  agent::ServerCredentials creds;
  for (const auto& c : Must(crypto::ParseCertsPem(bundle_pem), "bundle PEM"))
    creds.roots_der.push_back(crypto::CertToDer(c.get()));
  auto td = Must(spiffe::TrustDomain::Parse(kTd), "trust domain");

  // Identities, made before the timed phase.
  const int total = o.warmup + o.count;
  std::cerr << "generating " << total << " identities (key, CSR, signed IID)\n";
  char tag[8];
  std::snprintf(tag, sizeof tag, "%07x", static_cast<unsigned>(getpid()) & 0xfffffff);
  std::vector<Identity> ids;
  ids.reserve(static_cast<size_t>(total));
  for (int i = 0; i < total; ++i) ids.push_back(MakeIdentity(aws, i, tag));

  std::vector<std::unique_ptr<LoadAttestor>> attestors;
  for (int t = 0; t < o.threads; ++t) {
    agent::snp::SimulatorOptions so;
    attestors.push_back(std::make_unique<LoadAttestor>(
        Must(agent::snp::SimulatedProvider::CreateWithSigner(so, amd), "simulated provider")));
  }

  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::mutex err_mu;
  std::string first_error;
  std::vector<std::vector<double>> lat(static_cast<size_t>(o.threads));

  auto run_phase = [&](int begin, int end) {
    next = begin;
    std::vector<std::thread> th;
    for (int t = 0; t < o.threads; ++t) {
      th.emplace_back([&, t] {
        agent::GrpcServerConnector connector(absl::StrCat("127.0.0.1:", port), td, absl::Seconds(60));
        std::shared_ptr<agent::ServerClient> client;
        for (int i = next++; i < end; i = next++) {
          const Identity& id = ids[static_cast<size_t>(i)];
          auto t0 = SteadyClock::now();
          if (!o.reuse || client == nullptr) client = Must(connector.Connect(creds), "connect");
          attestors[static_cast<size_t>(t)]->current_ = &id;
          auto r =
              client->Attest(*attestors[static_cast<size_t>(t)], agent::AttestationKeyInfo{id.csr_der, id.spki_der});
          if (!o.reuse) client.reset();  // closes the channel: the next attestation makes a new TLS connection
          double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
          if (!r.ok() || r->svid().cert_chain_size() == 0) {
            failures++;
            std::lock_guard<std::mutex> l(err_mu);
            if (first_error.empty()) first_error = r.ok() ? "empty SVID" : r.status().ToString();
            continue;
          }
          if (i >= o.warmup) lat[static_cast<size_t>(t)].push_back(ms);
        }
      });
    }
    for (auto& x : th) x.join();
  };

  std::cerr << "warm-up: " << o.warmup << " attestations\n";
  run_phase(0, o.warmup);
  usleep(200000);  // let the server settle (closing connections)

  ProcCpu cpu0 = ReadProcCpu(server);
  double self0 = SelfCpu();
  auto t0 = SteadyClock::now();
  run_phase(o.warmup, total);
  double wall = std::chrono::duration<double>(SteadyClock::now() - t0).count();
  usleep(200000);  // connection teardown is part of the cost of a fresh-connection attestation
  ProcCpu cpu1 = ReadProcCpu(server);
  double self1 = SelfCpu();

  // Primitives: after the load, the server is idle (this process's threads only).
  std::cerr << "timing primitives\n";
  Primitives prim = TimePrimitives(ids[0], aws);
  stop_server();

  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  const int ok = static_cast<int>(all.size());
  const double server_cpu_ms = (cpu1.total() - cpu0.total()) * 1e3;
  const double per_att_us = ok > 0 ? server_cpu_ms * 1e3 / ok : 0;
  const double prim_sum = o.reuse ? prim.sum_without_tls() : prim.sum_with_tls();

  std::printf("attest_load: %d attestations (%d failed), %d client threads, %s, server log_level %s\n", ok,
              failures.load(), o.threads, o.reuse ? "reused connections" : "fresh TLS connection per attestation",
              o.log_level.c_str());
  if (!first_error.empty()) std::printf("  first error: %s\n", first_error.c_str());
  std::printf("  throughput            %.1f attestations/s (wall %.2f s)\n", ok / wall, wall);
  std::printf("  latency               p50 %.2f ms  p99 %.2f ms\n", Percentile(all, 0.50), Percentile(all, 0.99));
  std::printf("  server CPU            %.0f us/attestation (utime %.2f s + stime %.2f s over %d)\n", per_att_us,
              cpu1.utime_s - cpu0.utime_s, cpu1.stime_s - cpu0.stime_s, ok);
  std::printf("  client CPU            %.0f us/attestation (this process: TLS client, report signing)\n",
              ok > 0 ? (self1 - self0) * 1e6 / ok : 0);
  std::printf(
      "  primitives (us/op)    CSR P-256 verify %.1f | IID RSA-2048 verify %.1f | report P-384 verify %.1f | "
      "SVID P-256 sign %.1f | TLS ECDHE P-256 keygen %.1f + derive %.1f | TLS CertificateVerify P-256 sign %.1f\n",
      prim.csr_verify_us, prim.iid_rsa_verify_us, prim.report_p384_verify_us, prim.svid_p256_sign_us,
      prim.tls_ecdhe_keygen_us, prim.tls_ecdhe_derive_us, prim.tls_cert_verify_sign_us);
  std::printf("  primitives sum        %.0f us/attestation (%s)\n", prim_sum,
              o.reuse ? "without TLS handshake" : "with the server's TLS handshake crypto");
  std::printf("  ratio                 %.2fx server CPU / primitives (target <= 1.5x): %s\n",
              prim_sum > 0 ? per_att_us / prim_sum : 0,
              ok == 0                        ? "NO DATA"
              : !o.server_wrapper.empty()    ? "NOT MEASURED (the CPU read is the --server-wrapper process's)"
              : per_att_us <= 1.5 * prim_sum ? "MET"
                                             : "MISSED");
  std::printf(
      "RESULT attest_load mode=%s threads=%d ok=%d failed=%d att_per_s=%.1f p50_ms=%.2f p99_ms=%.2f "
      "server_cpu_us=%.0f primitives_us=%.0f ratio=%.2f\n",
      o.reuse ? "reuse" : "fresh", o.threads, ok, failures.load(), ok / wall, Percentile(all, 0.50),
      Percentile(all, 0.99), per_att_us, prim_sum, prim_sum > 0 ? per_att_us / prim_sum : 0);
  return failures.load() == 0 ? 0 : 2;
}

}  // namespace
}  // namespace spirecvm::bench

int main(int argc, char** argv) {
  spirecvm::ConfigureProcessRuntime();
  return spirecvm::bench::Main(argc, argv);
}
