#include "common/telemetry/rpc_metrics.h"

#include <cctype>
#include <utility>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace spirecvm::telemetry {
namespace {

// SPIRE's short service names (the server API prefix is dropped; the rest keep their package).
std::string ShortService(std::string_view raw) {
  static constexpr std::pair<std::string_view, std::string_view> kShort[] = {
      {"SpiffeWorkloadAPI", "WorkloadAPI"},
      {"envoy.service.secret.v3.SecretDiscoveryService", "SDS.v3"},
      {"grpc.health.v1.Health", "Health"},
      {"spire.api.agent.delegatedidentity.v1.DelegatedIdentity", "DelegatedIdentity"},
  };
  for (const auto& [from, to] : kShort) {
    if (raw == from) return std::string(to);
  }
  constexpr std::string_view kServerPrefix = "spire.api.server.";
  if (raw.substr(0, kServerPrefix.size()) == kServerPrefix) raw.remove_prefix(kServerPrefix.size());
  return std::string(raw);
}

bool Lower(char c) { return std::islower(static_cast<unsigned char>(c)) != 0; }

class RpcMetricsInterceptor final : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(Registry* registry, std::string key) : registry_(registry), key_(std::move(key)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      grpc::Status st = methods->GetSendStatus();
      registry_->CountCall(key_, absl::Status(static_cast<absl::StatusCode>(st.error_code()), st.error_message()));
    }
    methods->Proceed();
  }

 private:
  Registry* registry_;
  std::string key_;
};

class RpcMetricsFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcMetricsFactory(Registry* registry) : registry_(registry) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    const char* method = info->method();
    if (method == nullptr) return nullptr;
    return new RpcMetricsInterceptor(registry_, RpcMetricKey(method));
  }

 private:
  Registry* registry_;
};

}  // namespace

std::string MetricKey(std::string_view in) {
  std::string out;
  for (size_t i = 0; i < in.size(); ++i) {
    const unsigned char r = static_cast<unsigned char>(in[i]);
    if (!std::isalnum(r)) {
      out.push_back('_');
      continue;
    }
    // An underscore before an upper-case letter that is neither first nor last, next to a lower-case one.
    if (std::isupper(r) && i > 0 && i + 1 < in.size() && (Lower(in[i + 1]) || Lower(in[i - 1])) && out.back() != '_') {
      out.push_back('_');
    }
    out.push_back(static_cast<char>(std::tolower(r)));
  }
  return out;
}

std::string RpcMetricKey(std::string_view full_method) {
  if (!full_method.empty() && full_method[0] == '/') full_method.remove_prefix(1);
  std::pair<absl::string_view, absl::string_view> parts = absl::StrSplit(ToAbsl(full_method), absl::MaxSplits('/', 1));
  std::vector<std::string> keys = {"rpc"};
  const std::string service = ShortService(ToStd(parts.first));
  for (absl::string_view s : absl::StrSplit(service, '.')) keys.push_back(MetricKey(ToStd(s)));
  keys.push_back(MetricKey(ToStd(parts.second)));
  return absl::StrJoin(keys, "_");
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> RpcMetricsInterceptorFactory(
    Registry* registry) {
  return std::make_unique<RpcMetricsFactory>(registry);
}

}  // namespace spirecvm::telemetry
