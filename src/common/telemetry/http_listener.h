// A small HTTP listener on its own thread (cpp-httplib), for the health checks and the Prometheus
// telemetry endpoint, shared by the server and the agent. Handlers run on the listener's thread and must only read
// thread-safe state.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/telemetry/config.h"

namespace spirecvm::telemetry {

struct HttpResponse {
  int status = 200;
  std::string body;
  std::string content_type;
};
using HttpRoute = std::pair<std::string, std::function<HttpResponse()>>;  // GET path -> handler

class HttpListener {
 public:
  // Binds host:port (Unavailable, naming `what`, when it cannot) and serves `routes` on a new thread.
  static absl::StatusOr<std::unique_ptr<HttpListener>> Start(std::string_view what, const std::string& host, int port,
                                                             std::vector<HttpRoute> routes);
  ~HttpListener();  // Stop()
  void Stop();

 private:
  struct Impl;
  explicit HttpListener(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// health_checks: `live_path` answers what `live()` says, `ready_path` what `ready()` says (200, or 503 when false).
std::vector<HttpRoute> HealthRoutes(const HealthChecksConfig& cfg, std::function<bool()> live,
                                    std::function<bool()> ready);
// telemetry: /metrics in the Prometheus text format, rendered by `render()`.
std::vector<HttpRoute> TelemetryRoutes(std::function<std::string()> render);

}  // namespace spirecvm::telemetry
