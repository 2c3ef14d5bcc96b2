#include "agent/agent.h"

#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "agent/nodeattest/aws_iid.h"
#include "agent/nodeattest/join_token.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent {
namespace {

std::mutex& RegistryMu() {
  static std::mutex mu;
  return mu;
}
std::map<std::string, NodeAttestorFactory>& Registry() {
  static std::map<std::string, NodeAttestorFactory> r;
  return r;
}

}  // namespace

void RegisterNodeAttestor(const std::string& name, NodeAttestorFactory factory) {
  std::lock_guard<std::mutex> l(RegistryMu());
  Registry()[name] = std::move(factory);
}

absl::StatusOr<std::unique_ptr<NodeAttestorClient>> MakeNodeAttestor(const AgentConfig& config) {
  const std::string& name = config.node_attestor.name;
  if (name == "join_token") return std::unique_ptr<NodeAttestorClient>(new JoinTokenAttestor(config.join_token));
  if (name == "aws_iid") return NewAwsIidAttestorFromPluginData(config.node_attestor.data, config.filename);
  std::lock_guard<std::mutex> l(RegistryMu());
  auto it = Registry().find(name);
  if (it == Registry().end()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown NodeAttestor \"", name, "\""));
  }
  return it->second(config);
}

absl::StatusOr<std::unique_ptr<Agent>> Agent::Create(const AgentConfig& config) {
  if (absl::Status st = ValidateAgentConfig(config); !st.ok()) return st;
  std::unique_ptr<Agent> a(new Agent());
  a->config_ = config;
  auto attestor = MakeNodeAttestor(config);
  if (!attestor.ok()) return attestor.status();
  a->attestor_ = std::move(*attestor);
  a->keys_ = MakeKeyManager(config.key_manager, config.key_manager_directory);
  a->storage_ = std::make_unique<AgentStorage>(config.data_dir, config.trust_domain);
  a->connector_ = std::make_unique<GrpcServerConnector>(absl::StrCat(config.server_address, ":", config.server_port),
                                                        config.trust_domain);
  a->cache_ = Cache::Create(RealClock::Get(), static_cast<size_t>(config.x509_svid_cache_max_size));
  ManagerOptions mo;
  mo.trust_domain = config.trust_domain;
  mo.workload_key_type = config.workload_key_type;
  mo.sync_interval = config.sync_interval;
  mo.insecure_bootstrap = config.insecure_bootstrap;
  if (!config.trust_bundle_path.empty()) {
    auto b = LoadBootstrapBundle(config.trust_bundle_path, config.trust_bundle_format, config.trust_domain);
    if (!b.ok()) return b.status();
    mo.bootstrap_bundle = std::move(*b);
  }
  a->manager_ = std::make_unique<Manager>(std::move(mo), RealClock::Get(), *a->connector_, *a->attestor_, *a->keys_,
                                          *a->storage_, a->cache_);
  a->workload_attestor_ = std::make_unique<UnixAttestor>(config.unix_attestor.value_or(UnixAttestorConfig{}));
  a->peers_ = std::make_unique<PeerRegistry>();
  a->pool_ = std::make_unique<WorkerPool>(4);
  return a;
}

absl::Status Agent::Start() {
  if (absl::Status st = manager_->Init(); !st.ok()) return st;
  WorkloadApiDeps deps;
  deps.cache = cache_;
  deps.attestor = workload_attestor_.get();
  deps.minter = manager_.get();
  deps.peers = peers_.get();
  deps.pool = pool_.get();
  deps.clock = &RealClock::Get();
  auto ep = WorkloadEndpoint::Start(config_.socket_path, std::move(deps));
  if (!ep.ok()) return ep.status();
  endpoint_ = std::move(*ep);
  spdlog::info("Workload API listening on {}", config_.socket_path);
  manager_thread_ = std::thread([this] { manager_->Run(); });
  return absl::OkStatus();
}

void Agent::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (endpoint_) endpoint_->Shutdown();
  if (pool_) pool_->Stop();
  if (manager_) manager_->Stop();
  if (manager_thread_.joinable()) manager_thread_.join();
}

Agent::~Agent() {
  Stop();
  endpoint_.reset();
}

}  // namespace spirecvm::agent
