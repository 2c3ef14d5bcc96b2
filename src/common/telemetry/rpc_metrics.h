// SPIRE's per-RPC call counters: every call a gRPC server answers counts once, when its status is sent, as
// `<service>_rpc_<service key>_<method key>{status="<code>"}` with SPIRE's names (pkg/common/api/middleware):
// "/spire.api.server.agent.v1.Agent/AttestAgent" -> rpc_agent_v1_agent_attest_agent,
// "/SpiffeWorkloadAPI/FetchX509SVID" -> rpc_workload_api_fetch_x509svid.
#pragma once

#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/telemetry/registry.h"

namespace spirecvm::telemetry {

// SPIRE's metricKey: PascalCase to snake_case ("BatchNewX509SVID" -> "batch_new_x509svid"); other than letters and
// digits become "_".
std::string MetricKey(std::string_view name);
// "rpc_" + the key parts of a full gRPC method name, joined by "_".
std::string RpcMetricKey(std::string_view full_method);

// For ServerBuilder::experimental().SetInterceptorCreators. `registry` must outlive the server.
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> RpcMetricsInterceptorFactory(Registry* registry);

}  // namespace spirecvm::telemetry
