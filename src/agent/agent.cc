#include "agent/agent.h"

#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "agent/manager/bundle_url.h"
#include "agent/workload/attestor_set.h"
#include "common/random.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent {
namespace {

// SDS names validation contexts by trust domain ID ("spiffe://other.org"); the cache keys federated bundles by name.
std::map<std::string, spiffe::Bundle> SdsFederatedBundles(const WorkloadUpdate& u) {
  std::map<std::string, spiffe::Bundle> out;
  for (const auto& [td, view] : u.federated) {
    if (view != nullptr) out.emplace(absl::StrCat("spiffe://", td), view->bundle);
  }
  return out;
}

constexpr size_t kWorkloadApiWorkers = 4;

// Builds one plugin from its parsed configuration; errors name the plugin.
template <typename Interface, typename Deps>
absl::StatusOr<std::unique_ptr<Interface>> Build(const std::string& kind, const PluginConfig<Interface, Deps>& p,
                                                 const Deps& deps) {
  if (!p.build) return absl::InvalidArgumentError(absl::StrCat(kind, " \"", p.name, "\" was not configured"));
  absl::StatusOr<std::unique_ptr<Interface>> built = p.build(deps);
  if (!built.ok()) return Annotate(built, absl::StrCat(kind, " \"", p.name, "\""));
  return built;
}

absl::StatusOr<std::unique_ptr<WorkloadAttestor>> BuildWorkloadAttestors(const AgentConfig& config,
                                                                         const WorkloadAttestorDeps& deps) {
  std::vector<std::unique_ptr<WorkloadAttestor>> all;
  for (const WorkloadAttestorConfig& w : config.workload_attestors) {
    ASSIGN_OR_RETURN(std::unique_ptr<WorkloadAttestor> a, Build("WorkloadAttestor", w, deps));
    all.push_back(std::move(a));
  }
  if (all.size() == 1) return std::move(all[0]);
  return std::unique_ptr<WorkloadAttestor>(new AttestorSet(std::move(all)));
}

}  // namespace

absl::StatusOr<AgentPlugins> BuildPlugins(const AgentConfig& config, const WorkloadAttestorDeps& workload_deps) {
  AgentPlugins p;
  ASSIGN_OR_RETURN(p.key_manager, Build("KeyManager", config.key_manager, KeyManagerDepsFor(config)));
  ASSIGN_OR_RETURN(p.node_attestor, Build("NodeAttestor", config.node_attestor, NodeAttestorDepsFor(config)));
  ASSIGN_OR_RETURN(p.workload_attestor, BuildWorkloadAttestors(config, workload_deps));
  return p;
}

absl::StatusOr<ManagerOptions> ManagerOptionsFor(const AgentConfig& config) {
  ManagerOptions mo;
  mo.trust_domain = config.trust_domain;
  mo.workload_key_type = config.workload_key_type;
  mo.sync_interval = config.sync_interval;
  mo.insecure_bootstrap = config.insecure_bootstrap;
  if (!config.trust_bundle_path.empty()) {
    ASSIGN_OR_RETURN(mo.bootstrap_bundle,
                     LoadBootstrapBundle(config.trust_bundle_path, config.trust_bundle_format, config.trust_domain));
  } else if (!config.trust_bundle_url.empty()) {
    ASSIGN_OR_RETURN(std::string text, FetchBundleUrl(config.trust_bundle_url, config.trust_bundle_unix_socket));
    ASSIGN_OR_RETURN(mo.bootstrap_bundle, ParseBootstrapBundle(text, config.trust_bundle_url,
                                                               config.trust_bundle_format, config.trust_domain));
    spdlog::info("bootstrap trust bundle downloaded from {}", config.trust_bundle_url);
  }
  return mo;
}

absl::StatusOr<std::unique_ptr<WorkloadEndpoint>> StartWorkloadApi(const std::string& socket_path, WorkloadApiDeps deps,
                                                                   sds::SdsDeps sds) {
  ASSIGN_OR_RETURN(std::unique_ptr<WorkloadEndpoint> ep,
                   WorkloadEndpoint::Start(socket_path, std::move(deps), std::move(sds)));
  spdlog::info("Workload API listening on {}", socket_path);
  return ep;
}

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(const AgentConfig& config) {
  RETURN_IF_ERROR(ValidateAgentConfig(config));
  std::unique_ptr<Agent> a(new Agent());
  a->config_ = config;
  ASSIGN_OR_RETURN(a->plugins_, BuildPlugins(config));
  RETURN_IF_ERROR(a->BuildManager());
  return a;
}

absl::Status Agent::BuildManager() {
  ASSIGN_OR_RETURN(ManagerOptions mo, ManagerOptionsFor(config_));
  storage_ = std::make_unique<AgentStorage>(config_.data_dir, config_.trust_domain);
  connector_ = std::make_unique<GrpcServerConnector>(absl::StrCat(config_.server_address, ":", config_.server_port),
                                                     config_.trust_domain);
  cache_ = Cache::Create(RealClock::Get(), static_cast<size_t>(config_.x509_svid_cache_max_size),
                         static_cast<size_t>(config_.jwt_svid_cache_max_size));
  manager_ = std::make_unique<Manager>(std::move(mo),
                                       ManagerDeps{&RealClock::Get(), connector_.get(), plugins_.node_attestor.get(),
                                                   plugins_.key_manager.get(), storage_.get(), cache_},
                                       ManagerHooks{&metrics_, [this](bool attested) { SetAttested(attested); }});
  return absl::OkStatus();
}

absl::Status Agent::Start() {
  RETURN_IF_ERROR(manager_->Init());
  peers_ = std::make_unique<PeerRegistry>();
  pool_ = std::make_unique<WorkerPool>(kWorkloadApiWorkers);
  WorkloadApiDeps deps;
  deps.cache = cache_;
  deps.attestor = plugins_.workload_attestor.get();
  deps.minter = manager_.get();
  deps.peers = peers_.get();
  deps.pool = pool_.get();
  deps.clock = &RealClock::Get();
  deps.metrics = &metrics_;
  // Envoy SDS on the same socket, with the federated bundles the caller's entries federate with (the cache pushes a
  // new view when one of them changes).
  sds::SdsDeps sds{.options = config_.sds, .random = &SystemRandom::Get(), .federated = SdsFederatedBundles};
  ASSIGN_OR_RETURN(endpoint_, StartWorkloadApi(config_.socket_path, std::move(deps), std::move(sds)));
  endpoint_->SetServing(attested_.load());  // an SVID restored by Init() counts: SPIRE serves with it too
  RETURN_IF_ERROR(StartAdminApi());
  running_.store(true);
  manager_thread_ = std::thread([this] {
    manager_->Run();
    running_.store(false);
  });
  return StartHttpListeners();
}

// Called by the manager (Init on this thread, later on the manager thread); the endpoint exists from Start() on.
void Agent::SetAttested(bool attested) {
  attested_.store(attested);
  if (endpoint_ != nullptr) endpoint_->SetServing(attested);
}

absl::Status Agent::StartHttpListeners() {
  if (config_.health_checks.listener_enabled) {
    const auto& hc = config_.health_checks;
    ASSIGN_OR_RETURN(health_,
                     telemetry::HttpListener::Start("health_checks", hc.bind_address, hc.bind_port,
                                                    telemetry::HealthRoutes(
                                                        hc, [this] { return live(); }, [this] { return ready(); })));
  }
  if (config_.telemetry.prometheus) {
    const absl::Time started = absl::Now();
    metrics_.Gauge("uptime_in_ms", "The uptime of the agent in milliseconds.",
                   [started] { return absl::ToInt64Milliseconds(absl::Now() - started); });
    Cache* c = cache_.get();
    metrics_.Gauge("lru_cache_svid_map_size", "X509-SVIDs the agent holds for workloads.",
                   [c] { return static_cast<int64_t>(c->svid_count()); });
    const auto& t = config_.telemetry;
    ASSIGN_OR_RETURN(telemetry_,
                     telemetry::HttpListener::Start("telemetry", t.prometheus_host, t.prometheus_port,
                                                    telemetry::TelemetryRoutes([this] { return metrics_.Render(); })));
  }
  return absl::OkStatus();
}

absl::Status Agent::StartAdminApi() {
  if (config_.admin_socket_path.empty()) return absl::OkStatus();
  adminapi::AdminApiDeps deps;
  deps.cache = cache_;
  deps.attestor = plugins_.workload_attestor.get();
  deps.minter = manager_.get();
  deps.pool = pool_.get();
  deps.clock = &RealClock::Get();
  deps.authorized_delegates = config_.authorized_delegates;
  Manager* m = manager_.get();
  Cache* c = cache_.get();
  deps.debug = adminapi::DebugSource{[m] { return m->agent_svid_chain(); }, [m] { return m->bundle(); },
                                     [m] { return m->last_sync_success(); }, [c] { return c->svid_count(); },
                                     [c] { return c->jwt_count(); }};
  deps.logger = spdlog::default_logger();
  ASSIGN_OR_RETURN(admin_, adminapi::AdminEndpoint::Start(config_.admin_socket_path, std::move(deps)));
  spdlog::info("admin API listening on {}", config_.admin_socket_path);
  return absl::OkStatus();
}

void Agent::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (health_) health_->Stop();
  if (telemetry_) telemetry_->Stop();
  if (endpoint_) endpoint_->Shutdown();
  if (admin_) admin_->Shutdown();
  if (pool_) pool_->Stop();
  if (manager_) manager_->Stop();
  if (manager_thread_.joinable()) manager_thread_.join();
}

Agent::~Agent() {
  Stop();
  admin_.reset();
  endpoint_.reset();
}

}  // namespace spirecvm::agent
