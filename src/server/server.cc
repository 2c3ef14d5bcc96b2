#include "server/server.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/unix_socket.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/server_builder.h"
#include "httplib.h"
#include "server/api/admin_service.h"
#include "server/api/node_service.h"
#include "server/datastore/postgres_datastore.h"
#include "server/datastore/sqlite_datastore.h"
#include "server/nodeattest/aws_iid_attestor.h"
#include "server/nodeattest/join_token_attestor.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server {
namespace {

std::string NewServerId(Random& rnd) { return HexEncode(rnd.Bytes(16)); }

}  // namespace

absl::StatusOr<PluginPlan> PlanPlugins(ServerConfig& cfg) {
  PluginPlan plan;
  if (auto* ds = cfg.Find("DataStore")) {
    config::Section d = ds->data;
    plan.datastore_type = d.String("database_type").value_or("");
    plan.connection_string = d.String("connection_string").value_or("");
    if (plan.datastore_type != "sqlite3" && plan.datastore_type != "postgres") {
      d.AddError(ds->pos, absl::StrCat("DataStore \"sql\": database_type \"", plan.datastore_type,
                                       "\" is not one of sqlite3, postgres"));
    } else if (plan.datastore_type == "postgres") {
      if (auto n = d.Int("max_open_conns")) {
        if (*n < 1 || *n > 10000) d.AddKeyError("max_open_conns", "must be between 1 and 10000");
        plan.max_open_conns = static_cast<int>(std::clamp<int64_t>(*n, 1, 10000));
      }
      if (auto l = d.Duration("conn_max_lifetime")) {
        if (*l < absl::ZeroDuration()) d.AddKeyError("conn_max_lifetime", "must not be negative");
        plan.conn_max_lifetime = *l;
      }
      plan.ro_connection_string = d.String("ro_connection_string").value_or("");
    }
    if (plan.connection_string.empty()) d.AddError(ds->pos, "DataStore \"sql\": connection_string is required");
  }
  if (auto* km = cfg.Find("KeyManager")) {
    config::Section d = km->data;
    plan.keymanager = km->name;
    if (km->name == "disk") {
      plan.keys_path = d.String("keys_path").value_or("");
      if (plan.keys_path.empty()) d.AddError(km->pos, "KeyManager \"disk\": keys_path is required");
    }
  }
  if (auto* up = cfg.Find("UpstreamAuthority")) {
    config::Section d = up->data;
    DiskUpstreamConfig u;
    u.cert_file_path = d.String("cert_file_path").value_or("");
    u.key_file_path = d.String("key_file_path").value_or("");
    u.bundle_file_path = d.String("bundle_file_path").value_or("");
    if (u.cert_file_path.empty() || u.key_file_path.empty()) {
      d.AddError(up->pos, "UpstreamAuthority \"disk\": cert_file_path and key_file_path are required");
    }
    plan.upstream = u;
  }
  for (auto* na : cfg.FindAll("NodeAttestor")) {
    config::Section d = na->data;
    if (na->name == "join_token") {
      plan.attestors.emplace_back("join_token", [](ServerContext& sc) -> absl::StatusOr<std::unique_ptr<NodeAttestor>> {
        return NewJoinTokenAttestor(sc.trust_domain, *sc.ds, *sc.clock);
      });
      continue;
    }
    if (na->name == "aws_iid") {
      AwsIidAttestorConfig acfg = ParseAwsIidAttestorConfig(d);
      plan.attestors.emplace_back("aws_iid", [acfg](ServerContext& sc) {
        return NewAwsIidAttestor(acfg, sc.trust_domain, *sc.ds, *sc.clock, *sc.rnd);
      });
      continue;
    }
    d.AddError(na->pos, absl::StrCat("NodeAttestor \"", na->name, "\" is not built into this server"));
  }
  if (auto st = cfg.root->Finish(); !st.ok()) return st;
  return plan;
}

struct Server::HealthListener {
  httplib::Server http;
  std::thread thread;
};

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerConfig cfg, Clock& clock, Random& rnd) {
  auto plan = PlanPlugins(cfg);
  if (!plan.ok()) return plan.status();
  std::unique_ptr<Server> s(new Server(std::move(cfg), clock, rnd));
  s->plan_ = std::move(*plan);
  return s;
}

Server::Server(ServerConfig cfg, Clock& clock, Random& rnd) : cfg_(std::move(cfg)), clock_(clock), rnd_(rnd) {}

Server::~Server() { Shutdown(); }

absl::Status Server::Start() {
  if (auto st = files::EnsureDir(cfg_.data_dir, 0700); !st.ok()) return st;

  // A stable identity for this server's CA journal: several servers may share one database.
  const std::string id_path = cfg_.data_dir + "/server_id";
  auto id = files::ReadFile(id_path);
  if (id.ok() && !id->empty()) {
    server_id_ = std::string(absl::StripAsciiWhitespace(*id));
  } else {
    server_id_ = NewServerId(rnd_);
    if (auto st = files::WriteFileAtomic(id_path, server_id_ + "\n", 0600); !st.ok()) return st;
  }

  absl::StatusOr<std::unique_ptr<datastore::DataStore>> ds;
  if (plan_.datastore_type == "postgres") {
    ds = datastore::OpenPostgres({.connection_string = plan_.connection_string,
                                  .ro_connection_string = plan_.ro_connection_string,
                                  .max_open_conns = plan_.max_open_conns,
                                  .conn_max_lifetime = plan_.conn_max_lifetime},
                                 clock_);
  } else {
    ds = datastore::OpenSqlite({.path = plan_.connection_string}, clock_);
  }
  if (!ds.ok()) return absl::Status(ds.status().code(), absl::StrCat("DataStore \"sql\": ", ds.status().message()));
  ds_ = std::move(*ds);

  if (plan_.keymanager == "disk") {
    auto km = NewDiskKeyManager(plan_.keys_path);
    if (!km.ok()) return km.status();
    km_ = std::move(*km);
  } else {
    km_ = NewMemoryKeyManager();
  }
  if (plan_.upstream) {
    auto up = NewDiskUpstreamAuthority(*plan_.upstream);
    if (!up.ok()) return up.status();
    upstream_ = std::move(*up);
  }

  CaConfig cc{.trust_domain = cfg_.trust_domain,
              .ca_key_type = cfg_.ca_key_type,
              .jwt_key_type = cfg_.jwt_key_type,
              .ca_ttl = cfg_.ca_ttl,
              .subject_country = cfg_.ca_subject_country,
              .subject_org = cfg_.ca_subject_org,
              .subject_cn = cfg_.ca_subject_cn,
              .server_id = server_id_,
              .jwt_issuer = cfg_.jwt_issuer};
  auto ca = CaManager::Create(cc, *km_, *ds_, clock_, rnd_, upstream_.get());
  if (!ca.ok()) return ca.status();
  ca_ = std::move(*ca);
  if (auto st = ca_->Initialize(); !st.ok()) return absl::Status(st.code(), absl::StrCat("CA: ", st.message()));

  sc_.cfg = &cfg_;
  sc_.trust_domain = cfg_.trust_domain;
  sc_.server_spiffe_id = cfg_.trust_domain.IdString() + "/spire/server";
  sc_.ds = ds_.get();
  sc_.ca = ca_.get();
  entries_ = std::make_unique<EntryCache>(*ds_, sc_.server_spiffe_id);
  if (auto st = entries_->Load(); !st.ok()) return st;
  sc_.entries = entries_.get();
  sc_.clock = &clock_;
  sc_.rnd = &rnd_;
  sc_.metrics = &metrics_;
  bundle_ = std::make_unique<BundleCache>(*ds_, cfg_.trust_domain.name());
  sc_.bundle = bundle_.get();
  for (auto& [name, build] : plan_.attestors) {
    auto a = build(sc_);
    if (!a.ok())
      return absl::Status(a.status().code(), absl::StrCat("NodeAttestor \"", name, "\": ", a.status().message()));
    sc_.attestors[name] = std::move(*a);
  }

  // The server's own X509-SVID for the agent-facing TLS endpoint; gRPC re-reads the files when they change.
  svid_key_path_ = cfg_.data_dir + "/server_svid.key";
  svid_cert_path_ = cfg_.data_dir + "/server_svid.pem";
  if (auto st = RotateServerSvid(true); !st.ok()) return st;

  node_service_ = std::make_unique<NodeService>(sc_);
  admin_service_ = std::make_unique<AdminService>(sc_);

  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(svid_key_path_, svid_cert_path_, 1);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  // Agents attest without a certificate; afterwards every call is checked against the bundle by the service.
  tls.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  grpc::ServerBuilder agent_builder;
  agent_builder.AddListeningPort(absl::StrCat(cfg_.bind_address, ":", cfg_.bind_port),
                                 grpc::experimental::TlsServerCredentials(tls), &bound_port_);
  agent_builder.RegisterService(node_service_.get());
  agent_builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  agent_server_ = agent_builder.BuildAndStart();
  if (agent_server_ == nullptr || bound_port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", cfg_.bind_address, ":", cfg_.bind_port));
  }

  if (auto st = PrepareSocketPath(cfg_.socket_path, 0750); !st.ok()) return st;
  grpc::ServerBuilder admin_builder;
  admin_builder.AddListeningPort("unix:" + cfg_.socket_path, grpc::InsecureServerCredentials());
  admin_builder.RegisterService(admin_service_.get());
  admin_server_ = admin_builder.BuildAndStart();
  if (admin_server_ == nullptr)
    return absl::UnavailableError(absl::StrCat("cannot listen on unix socket ", cfg_.socket_path));
  if (chmod(cfg_.socket_path.c_str(), 0770) != 0) {
    return absl::InternalError(absl::StrCat("chmod 0770 ", cfg_.socket_path, ": ", strerror(errno)));
  }

  if (cfg_.health_checks.listener_enabled) {
    health_ = std::make_unique<HealthListener>();
    auto ready = [this](const httplib::Request&, httplib::Response& res) {
      bool ok = ds_->FetchBundle(cfg_.trust_domain.name()).ok();
      res.status = ok ? 200 : 503;
      res.set_content(ok ? "{\"ready\":true}" : "{\"ready\":false}", "application/json");
    };
    health_->http.Get(cfg_.health_checks.live_path, [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{\"live\":true}", "application/json");
    });
    health_->http.Get(cfg_.health_checks.ready_path, ready);
    if (!health_->http.bind_to_port(cfg_.health_checks.bind_address, cfg_.health_checks.bind_port)) {
      return absl::UnavailableError(absl::StrCat("health_checks: cannot listen on ", cfg_.health_checks.bind_address,
                                                 ":", cfg_.health_checks.bind_port));
    }
    health_->thread = std::thread([h = health_.get()] { h->http.listen_after_bind(); });
  }

  if (cfg_.telemetry.prometheus) {
    telemetry_ = std::make_unique<HealthListener>();
    telemetry_->http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      int64_t entries = ds_->CountEntries().value_or(-1), agents = ds_->CountAttestedNodes().value_or(-1);
      res.set_content(metrics_.Render(entries, agents, entries_->size()), "text/plain; version=0.0.4");
    });
    if (!telemetry_->http.bind_to_port(cfg_.telemetry.prometheus_host, cfg_.telemetry.prometheus_port)) {
      return absl::UnavailableError(absl::StrCat("telemetry: cannot listen on ", cfg_.telemetry.prometheus_host, ":",
                                                 cfg_.telemetry.prometheus_port));
    }
    telemetry_->thread = std::thread([t = telemetry_.get()] { t->http.listen_after_bind(); });
  }

  loop_ = std::thread([this] { BackgroundLoop(); });
  spdlog::info("spire-server started: trust domain {}, agent API on {}:{}, admin API on {}", cfg_.trust_domain.name(),
               cfg_.bind_address, bound_port_, cfg_.socket_path);
  return absl::OkStatus();
}

absl::Status Server::RotateServerSvid(bool force) {
  absl::Time now = clock_.Now();
  if (!force && now < svid_not_before_ + (svid_not_after_ - svid_not_before_) / 2) return absl::OkStatus();
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  if (!key.ok()) return key.status();
  auto id = spiffe::SpiffeId::FromPath(cfg_.trust_domain, "/spire/server");
  if (!id.ok()) return id.status();
  // A DNS SAN equal to the trust domain name lets agents send it as the TLS server name (SNI) and match this
  // certificate; identity is still checked on the URI SAN. Trust domains with '_' are not host names: none then.
  std::vector<std::string> dns;
  if (cfg_.trust_domain.name().find('_') == std::string::npos) dns.push_back(cfg_.trust_domain.name());
  auto svid = ca_->SignX509Svid(key->get(), *id, cfg_.default_x509_svid_ttl, dns);
  if (!svid.ok()) return svid.status();
  std::string chain_pem;
  for (auto& der : svid->chain_der) {
    auto c = crypto::ParseCertDer(der);
    if (!c.ok()) return c.status();
    chain_pem += crypto::CertToPem(c->get());
  }
  auto key_pem = crypto::PrivateKeyToPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  if (auto st = files::WriteFileAtomic(svid_key_path_, *key_pem, 0600); !st.ok()) return st;
  if (auto st = files::WriteFileAtomic(svid_cert_path_, chain_pem, 0644); !st.ok()) return st;
  svid_not_before_ = now;
  svid_not_after_ = svid->not_after;
  return absl::OkStatus();
}

void Server::BackgroundLoop() {
  absl::Time last_rotate = absl::InfinitePast(), last_prune = absl::InfinitePast();
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    cv_.wait_for(l, absl::ToChronoMilliseconds(cfg_.cache_refresh_interval), [this] { return stopping_; });
    if (stopping_) break;
    l.unlock();
    if (auto st = entries_->Refresh(); !st.ok()) {
      spdlog::warn("entry cache refresh: {}", st.ToString());
    } else {
      metrics_.entry_cache_refreshes++;
    }
    absl::Time now = clock_.Now();
    if (now - last_rotate >= absl::Seconds(1)) {
      last_rotate = now;
      if (auto st = ca_->Rotate(); !st.ok()) spdlog::error("CA rotation: {}", st.ToString());
      if (auto st = RotateServerSvid(false); !st.ok()) spdlog::error("server SVID rotation: {}", st.ToString());
    }
    // After any rotation above, and every tick for authorities other servers published.
    if (auto st = bundle_->Refresh(); !st.ok()) spdlog::warn("trust bundle refresh: {}", st.ToString());
    if (now - last_prune >= absl::Seconds(30)) {
      last_prune = now;
      int64_t t = absl::ToUnixSeconds(now);
      (void)ds_->PruneJoinTokens(t);
      (void)ds_->PruneEntries(t);  // entries created with -entryExpiry
      (void)ds_->PruneNonces(t);
      (void)ds_->PruneBundle(cfg_.trust_domain.name(), t);
      (void)ds_->PruneEvents(t - 3600);
    }
    l.lock();
  }
}

void Server::Shutdown() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (loop_.joinable()) loop_.join();
  auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);
  if (agent_server_) agent_server_->Shutdown(deadline);
  if (admin_server_) admin_server_->Shutdown(deadline);
  for (auto* l : {health_.get(), telemetry_.get()}) {
    if (l == nullptr) continue;
    l->http.stop();
    if (l->thread.joinable()) l->thread.join();
  }
  if (!cfg_.socket_path.empty() && admin_server_) unlink(cfg_.socket_path.c_str());
}

}  // namespace spirecvm::server
