#include "server/server.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/status.h"
#include "common/telemetry/rpc_metrics.h"
#include "common/unix_socket.h"
#include "crypto/keys.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/server_builder.h"
#include "server/api/audit_log.h"
#include "server/api/spire/on_pool.h"
#include "server/tls_frame.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server {

absl::StatusOr<std::string> LoadOrCreateServerId(const std::string& data_dir, Random& rnd) {
  const std::string path = data_dir + "/server_id";
  auto id = files::ReadFile(path);
  if (id.ok() && !id->empty()) return std::string(absl::StripAsciiWhitespace(*id));
  std::string fresh = HexEncode(rnd.Bytes(16));
  RETURN_IF_ERROR(files::WriteFileAtomic(path, fresh + "\n", 0600));
  return fresh;
}

CaConfig CaConfigFrom(const ServerConfig& cfg, std::string server_id) {
  return CaConfig{.trust_domain = cfg.trust_domain,
                  .ca_key_type = cfg.ca_key_type,
                  .jwt_key_type = cfg.jwt_key_type,
                  .ca_ttl = cfg.ca_ttl,
                  .subject_country = cfg.ca_subject_country,
                  .subject_org = cfg.ca_subject_org,
                  .subject_cn = cfg.ca_subject_cn,
                  .server_id = std::move(server_id),
                  .jwt_issuer = cfg.jwt_issuer,
                  .disable_jwt_svids = cfg.disable_jwt_svids};
}

absl::StatusOr<CaParts> BuildCa(const ServerConfig& cfg, const PluginPlan& plan, std::string server_id,
                                datastore::DataStore& ds, Clock& clock, Random& rnd) {
  CaParts parts;
  ASSIGN_OR_RETURN(parts.km, plan.keymanager.Build({cfg.trust_domain, clock, rnd}));
  if (plan.upstream) {
    ASSIGN_OR_RETURN(parts.upstream, plan.upstream->Build({}));
  }
  ASSIGN_OR_RETURN(parts.ca, CaManager::Create(CaConfigFrom(cfg, std::move(server_id)), *parts.km, ds, clock, rnd,
                                               parts.upstream.get()));
  RETURN_IF_ERROR(Annotate(parts.ca->Initialize(), "CA"));
  return parts;
}

absl::StatusOr<NodeAttestors> BuildAttestors(const PluginPlan& plan, const NodeAttestorDeps& deps) {
  NodeAttestors attestors;
  for (const auto& planned : plan.attestors) {
    ASSIGN_OR_RETURN(attestors[planned.name], planned.Build(deps));
  }
  return attestors;
}

// The audit log (server.audit_log_enabled): one line per call, written by an interceptor (api/audit_log.h); the
// per-RPC call counters of the telemetry listener, another interceptor.
void SetInterceptors(grpc::ServerBuilder& builder, bool audit, telemetry::Registry* rpc_metrics) {
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
  if (audit) creators.push_back(NewAuditLogInterceptorFactory());
  if (rpc_metrics != nullptr) creators.push_back(telemetry::RpcMetricsInterceptorFactory(rpc_metrics));
  if (!creators.empty()) builder.experimental().SetInterceptorCreators(std::move(creators));
}

absl::StatusOr<std::unique_ptr<grpc::Server>> StartAgentEndpoint(const std::string& address,
                                                                 const std::vector<grpc::Service*>& services,
                                                                 const ServerSvid& svid, int* bound_port, bool audit,
                                                                 telemetry::Registry* rpc_metrics) {
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(svid.key_path(), svid.cert_path(), 1);
  grpc::experimental::TlsServerCredentialsOptions tls(provider);
  tls.watch_identity_key_cert_pairs();
  // Agents attest without a certificate; afterwards every call is checked against the bundle by the service.
  tls.set_cert_request_type(GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address, grpc::experimental::TlsServerCredentials(tls), bound_port);
  for (grpc::Service* s : services) builder.RegisterService(s);
  SetInterceptors(builder, audit, rpc_metrics);
  builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
  // Unauthenticated peers reach this port: bound what they can hold. Every method is on the callback API: a call
  // costs no thread while it waits (AttestAgent has step deadlines; blocking work goes to a bounded pool,
  // api/spire_agent/unary_call.h); connections are recycled like SPIRE's (3 min maximum age) and dead peers found
  // by keepalive pings.
  grpc::ResourceQuota quota("agent-api");
  quota.Resize(1024 * 1024 * 1024);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 100);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, 3 * 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, 5 * 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 60 * 1000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20 * 1000);
  // 4 KB TLS records instead of gRPC's 16 KB: a smaller frame buffer per connection, and the outgoing BIO buffer
  // tls_connection_options.cc sizes to hold one record (tls_frame.h).
  builder.AddChannelArgument(GRPC_ARG_TSI_MAX_FRAME_SIZE, kTlsFrameBytes);
  // No BDP probing: gRPC's bandwidth-delay estimator sends PINGs to size the receive window, and with it on each
  // unary call from a gRPC C++ agent cost a third write on each side (a PING or its acknowledgement) and about a
  // fifth of the server's CPU per sync (docs/benchmarks.md, "No BDP pings on the agent endpoint"). Agents' requests are
  // small; HTTP/2's fixed window suits them. Pings a peer sends on its own are still acknowledged.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || *bound_port == 0) return absl::UnavailableError(absl::StrCat("cannot listen on ", address));
  return server;
}

absl::StatusOr<std::unique_ptr<grpc::Server>> StartAdminEndpoint(const std::string& socket_path,
                                                                 const std::vector<grpc::Service*>& services,
                                                                 bool audit, telemetry::Registry* rpc_metrics) {
  // Bound through the checked, held directory; the mode set through the node, never by path.
  ASSIGN_OR_RETURN(auto dir, UnixSocketDir::Open(socket_path, {.dir_mode = 0750, .socket_mode = 0770}));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(dir->GrpcAddress(), grpc::InsecureServerCredentials());
  for (grpc::Service* s : services) builder.RegisterService(s);
  SetInterceptors(builder, audit, rpc_metrics);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) return absl::UnavailableError(absl::StrCat("cannot listen on unix socket ", socket_path));
  server->GetHealthCheckService()->SetServingStatus(true);
  RETURN_IF_ERROR(dir->SetSocketMode());
  return server;
}

absl::StatusOr<std::unique_ptr<Server>> Server::Create(ServerConfig cfg, Clock& clock, Random& rnd) {
  ASSIGN_OR_RETURN(PluginPlan plan, PlanPlugins(cfg));
  return std::unique_ptr<Server>(new Server(std::move(cfg), std::move(plan), clock, rnd));
}

Server::Server(ServerConfig cfg, PluginPlan plan, Clock& clock, Random& rnd)
    : cfg_(std::move(cfg)), plan_(std::move(plan)), clock_(clock), rnd_(rnd) {}

Server::~Server() { Shutdown(); }

absl::Status Server::Start() {
  RETURN_IF_ERROR(files::EnsureDir(cfg_.data_dir, 0700));
  ASSIGN_OR_RETURN(server_id_, LoadOrCreateServerId(cfg_.data_dir, rnd_));
  ASSIGN_OR_RETURN(ds_, plan_.datastore.Build({clock_, rnd_}));
  ASSIGN_OR_RETURN(ca_, BuildCa(cfg_, plan_, server_id_, *ds_, clock_, rnd_));
  ASSIGN_OR_RETURN(attestors_, BuildAttestors(plan_, {cfg_.trust_domain, *ds_, clock_, rnd_}));
  RETURN_IF_ERROR(BuildServices());
  RETURN_IF_ERROR(StartEndpoints());
  RETURN_IF_ERROR(StartHttpListeners());
  RETURN_IF_ERROR(StartFederation());
  StartBackgroundLoop();
  return absl::OkStatus();
}

absl::Status Server::BuildServices() {
  const std::string server_spiffe_id = cfg_.trust_domain.IdString() + "/spire/server";
  entries_ = std::make_unique<EntryCache>(*ds_, server_spiffe_id);
  RETURN_IF_ERROR(entries_->Load());
  nodes_ = std::make_unique<NodeCache>(*ds_, clock_, cfg_.max_attested_node_info_staleness);
  RETURN_IF_ERROR(nodes_->Refresh());
  bundle_ = std::make_unique<BundleCache>(*ds_, cfg_.trust_domain.name());
  bundle_refresher_ = std::make_unique<federation::BundleRefresher>(federation::BundleRefresherDeps{
      .ds = *ds_, .clock = clock_, .relationships = [this] { return FederationRelationships(); }});
  const SvidTtls ttls = SvidTtls::FromConfig(cfg_);
  BuildSpireAdminServices(ttls);
  BuildSpireAgentServices();
  return absl::OkStatus();
}

// What SPIRE's agent-facing services are built from.
AgentApiDeps Server::AgentDeps() {
  return {.trust_domain = cfg_.trust_domain,
          .ds = *ds_,
          .ca = *ca_.ca,
          .entries = *entries_,
          .bundle = *bundle_,
          .attestors = attestors_,
          .clock = clock_,
          .metrics = metrics_,
          .ttls = SvidTtls::FromConfig(cfg_),
          .limits = &agent_limits_,
          .blocking = &agent_blocking_,
          .nodes = nodes_->enabled() ? nodes_.get() : nullptr};
}

// SPIRE's agent-facing APIs, the only agent API, spoken by our agent and SPIRE's.
// Admin callers over TLS (admin_ids, entries with admin = true) reach the admin services through them.
void Server::BuildSpireAgentServices() {
  if (cfg_.ratelimit_attestation) agent_limits_.attestation = std::make_unique<PerIpRateLimiter>(1);
  if (cfg_.ratelimit_signing) agent_limits_.signing = std::make_unique<PerIpRateLimiter>(500);
  agent_limits_.step_timeout = cfg_.attestation_step_timeout;
  const AgentApiDeps deps = AgentDeps();
  admin_callers_ = std::make_unique<spireagent::AdminCallerDeps>(spireagent::AdminCallerDeps{
      .trust_domain = cfg_.trust_domain, .ds = *ds_, .bundle = *bundle_, .clock = clock_, .admin_ids = cfg_.admin_ids});
  const auto* auth = admin_callers_.get();
  spire_agent_.agent = std::make_unique<spireagent::AgentService>(
      deps, spireagent::AdminDelegate<spireapi::AgentService>{auth, spire_admin_.agent.get()});
  spire_agent_.entry = std::make_unique<spireagent::EntryService>(
      deps, spireagent::AdminDelegate<spireapi::EntryService>{auth, spire_admin_.entry.get()});
  spire_agent_.bundle = std::make_unique<spireagent::BundleService>(
      deps, spireagent::AdminDelegate<spireapi::BundleService>{auth, spire_admin_.bundle.get()});
  spire_agent_.svid = std::make_unique<spireagent::SvidService>(
      deps, spireagent::AdminDelegate<spireapi::SvidService>{auth, spire_admin_.svid.get()});
}

// SPIRE's admin APIs on the admin socket: both CLIs (ours and SPIRE's) and SPIRE's tools manage this server with them.
void Server::BuildSpireAdminServices(const SvidTtls& ttls) {
  const auto& td = cfg_.trust_domain;
  spire_admin_.entry = std::make_unique<spireapi::EntryService>(
      spireapi::EntryServiceDeps{.trust_domain = td, .ds = *ds_, .entries = *entries_});
  spire_admin_.agent = std::make_unique<spireapi::AgentService>(
      spireapi::AgentServiceDeps{.trust_domain = td, .ds = *ds_, .entries = *entries_, .clock = clock_, .rnd = rnd_});
  spire_admin_.bundle = std::make_unique<spireapi::BundleService>(
      spireapi::BundleServiceDeps{.trust_domain = td, .ds = *ds_, .entries = entries_.get()});
  spire_admin_.svid = std::make_unique<spireapi::SvidService>(
      spireapi::SvidServiceDeps{.trust_domain = td, .ca = *ca_.ca, .metrics = metrics_, .ttls = ttls});
  spire_admin_.localauthority = std::make_unique<spireapi::LocalAuthorityService>(*ca_.ca);
  spire_admin_.logger = std::make_unique<spireapi::LoggerService>();
  spire_admin_.trustdomain = std::make_unique<spireapi::TrustDomainService>(
      spireapi::TrustDomainServiceDeps{.trust_domain = td, .ds = *ds_, .refresher = bundle_refresher_.get()});
}

// The admin services on the callback API, each call on the admin pool (api/spire/on_pool.h).
std::vector<grpc::Service*> Server::AdminOnPool() {
  WorkerPool* pool = &admin_blocking_;
  admin_on_pool_.push_back(std::make_unique<spireapi::EntryServiceOnPool>(spire_admin_.entry.get(), pool));
  admin_on_pool_.push_back(std::make_unique<spireapi::AgentServiceOnPool>(spire_admin_.agent.get(), pool));
  admin_on_pool_.push_back(std::make_unique<spireapi::BundleServiceOnPool>(spire_admin_.bundle.get(), pool));
  admin_on_pool_.push_back(std::make_unique<spireapi::SvidServiceOnPool>(spire_admin_.svid.get(), pool));
  admin_on_pool_.push_back(
      std::make_unique<spireapi::LocalAuthorityServiceOnPool>(spire_admin_.localauthority.get(), pool));
  admin_on_pool_.push_back(std::make_unique<spireapi::LoggerServiceOnPool>(spire_admin_.logger.get(), pool));
  admin_on_pool_.push_back(std::make_unique<spireapi::DebugServiceOnPool>(spire_admin_.debug.get(), pool));
  admin_on_pool_.push_back(std::make_unique<spireapi::TrustDomainServiceOnPool>(spire_admin_.trustdomain.get(), pool));
  std::vector<grpc::Service*> out;
  for (const auto& s : admin_on_pool_) out.push_back(s.get());
  return out;
}

absl::Status Server::StartEndpoints() {
  svid_ = std::make_unique<ServerSvid>(ServerSvidDeps{.ca = *ca_.ca,
                                                      .clock = clock_,
                                                      .trust_domain = cfg_.trust_domain,
                                                      .ttl = cfg_.default_x509_svid_ttl,
                                                      .key_path = cfg_.data_dir + "/server_svid.key",
                                                      .cert_path = cfg_.data_dir + "/server_svid.pem",
                                                      .ds = ds_.get()});
  RETURN_IF_ERROR(svid_->Rotate(/*force=*/true));
  spire_admin_.debug = std::make_unique<spireapi::DebugService>(
      spireapi::DebugServiceDeps{.ds = *ds_, .clock = clock_, .svid_cert_path = svid_->cert_path()});
  int bound_port = 0;
  ASSIGN_OR_RETURN(agent_server_, StartAgentEndpoint(absl::StrCat(cfg_.bind_address, ":", cfg_.bind_port),
                                                     {spire_agent_.agent.get(), spire_agent_.entry.get(),
                                                      spire_agent_.bundle.get(), spire_agent_.svid.get()},
                                                     *svid_, &bound_port, cfg_.audit_log_enabled, RpcMetrics()));
  ASSIGN_OR_RETURN(admin_server_,
                   StartAdminEndpoint(cfg_.socket_path, AdminOnPool(), cfg_.audit_log_enabled, RpcMetrics()));
  spdlog::info("spire-server started: trust domain {}, agent API on {}:{}, admin API on {}", cfg_.trust_domain.name(),
               cfg_.bind_address, bound_port, cfg_.socket_path);
  return absl::OkStatus();
}

telemetry::Registry* Server::RpcMetrics() { return cfg_.telemetry.prometheus ? &rpc_metrics_ : nullptr; }

absl::Status Server::StartHttpListeners() {
  if (cfg_.health_checks.listener_enabled) {
    const auto& hc = cfg_.health_checks;
    auto live = [] { return true; };  // the listener answers from this process
    auto ready = [this] { return ds_->FetchBundle(cfg_.trust_domain.name()).ok(); };
    ASSIGN_OR_RETURN(health_, telemetry::HttpListener::Start("health_checks", hc.bind_address, hc.bind_port,
                                                             telemetry::HealthRoutes(hc, live, ready)));
  }
  if (cfg_.telemetry.prometheus) {
    auto render = [this] {
      int64_t entries = ds_->CountEntries().value_or(-1), agents = ds_->CountAttestedNodes().value_or(-1);
      return metrics_.Render(entries, agents, entries_->size()) + rpc_metrics_.Render();
    };
    ASSIGN_OR_RETURN(
        telemetry_, telemetry::HttpListener::Start("telemetry", cfg_.telemetry.prometheus_host,
                                                   cfg_.telemetry.prometheus_port, telemetry::TelemetryRoutes(render)));
  }
  return absl::OkStatus();
}

std::vector<FederationRelationship> Server::FederationRelationships() {
  std::vector<FederationRelationship> out = cfg_.federation.federates_with;
  auto stored = ds_->ListFederationRelationships();
  if (!stored.ok()) {
    spdlog::warn("federation: cannot list the stored relationships: {}", stored.status().ToString());
    return out;
  }
  for (const auto& rec : *stored) {
    auto rel = spireapi::RelationshipFromRecord(rec);
    if (!rel.ok()) continue;
    bool configured =
        std::any_of(out.begin(), out.end(), [&](const auto& c) { return c.trust_domain == rel->trust_domain; });
    if (!configured) out.push_back(*std::move(rel));  // the configuration wins, as in SPIRE
  }
  return out;
}

absl::Status Server::StartFederation() {
  const FederationConfig& fed = cfg_.federation;
  if (fed.bundle_endpoint) {
    ASSIGN_OR_RETURN(bundle_endpoint_, federation::BundleEndpoint::Start({.ds = *ds_,
                                                                          .trust_domain = cfg_.trust_domain,
                                                                          .cfg = *fed.bundle_endpoint,
                                                                          .svid_cert_path = svid_->cert_path(),
                                                                          .svid_key_path = svid_->key_path()}));
    spdlog::info("SPIFFE bundle endpoint ({}) on {}:{}",
                 fed.bundle_endpoint->profile == BundleEndpointProfile::kHttpsWeb ? "https_web" : "https_spiffe",
                 fed.bundle_endpoint->address, bundle_endpoint_->port());
  }
  bundle_refresher_->Start();
  return absl::OkStatus();
}

void Server::StartBackgroundLoop() {
  loop_ = std::make_unique<BackgroundLoop>(
      BackgroundDeps{.entries = *entries_,
                     .ca = *ca_.ca,
                     .svid = *svid_,
                     .bundle = *bundle_,
                     .ds = *ds_,
                     .metrics = metrics_,
                     .clock = clock_,
                     .trust_domain = cfg_.trust_domain.name(),
                     .interval = cfg_.cache_refresh_interval,
                     .node_prune = {cfg_.prune_attested_nodes_expired_for, cfg_.prune_tofu_nodes},
                     .nodes = nodes_.get()});
  loop_->Start();
}

void Server::Shutdown() {
  if (stopped_) return;
  stopped_ = true;
  if (loop_) loop_->Stop();
  if (bundle_refresher_) bundle_refresher_->Stop();
  if (bundle_endpoint_) bundle_endpoint_->Stop();
  auto deadline = std::chrono::system_clock::now() + std::chrono::seconds(2);
  if (agent_server_) agent_server_->Shutdown(deadline);
  agent_blocking_.Stop();  // runs what the agent endpoint queued before it stopped
  if (admin_server_) admin_server_->Shutdown(deadline);
  admin_blocking_.Stop();
  if (health_) health_->Stop();
  if (telemetry_) telemetry_->Stop();
  if (!cfg_.socket_path.empty() && admin_server_) unlink(cfg_.socket_path.c_str());
}

}  // namespace spirecvm::server
