#include "common/telemetry/config.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/strings.h"

namespace spirecvm::telemetry {
namespace {

std::optional<int> Port(config::Section& s, std::string_view key) {
  auto v = s.Int(key);
  if (!v) return std::nullopt;
  if (*v <= 0 || *v > 65535) {
    s.AddKeyError(key, absl::StrCat(ToAbsl(key), " ", *v, " is not a port number"));
    return std::nullopt;
  }
  return static_cast<int>(*v);
}

void Path(config::Section& s, std::string_view key, std::string& out) {
  auto v = s.String(key);
  if (!v) return;
  if (v->empty() || (*v)[0] != '/') {
    s.AddKeyError(key, absl::StrCat(ToAbsl(key), " \"", *v, "\" must start with \"/\""));
    return;
  }
  out = *v;
}

}  // namespace

void ParseHealthChecks(config::Section& hc, HealthChecksConfig& out) {
  if (auto v = hc.Bool("listener_enabled")) out.listener_enabled = *v;
  if (auto v = hc.String("bind_address")) out.bind_address = *v;
  if (auto v = Port(hc, "bind_port")) out.bind_port = *v;
  Path(hc, "live_path", out.live_path);
  Path(hc, "ready_path", out.ready_path);
  if (out.live_path == out.ready_path) {
    hc.AddKeyError("ready_path", absl::StrCat("live_path and ready_path are both \"", out.live_path, "\""));
  }
}

void ParseTelemetry(config::Section& tel, TelemetryConfig& out) {
  for (const char* sink : {"DogStatsd", "Statsd", "M3", "InMem"}) {
    if (tel.Has(sink)) {
      tel.MarkKnown(sink);  // one error, naming the reason, rather than "unknown key"
      tel.AddKeyError(sink, absl::StrCat("telemetry sink ", sink, " is not supported (only Prometheus is served)"));
    }
  }
  auto prom = tel.Child("Prometheus");
  if (!prom) return;
  out.prometheus = true;
  if (auto v = prom->String("host")) out.prometheus_host = *v;
  if (auto v = Port(*prom, "port")) out.prometheus_port = *v;
}

}  // namespace spirecvm::telemetry
