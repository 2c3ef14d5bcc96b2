// The `health_checks { ... }` and `telemetry { Prometheus { ... } }` blocks SPIRE's server and agent both accept,
// read the same way for both binaries.
#pragma once

#include <string>

#include "common/config_reader.h"

namespace spirecvm::telemetry {

struct HealthChecksConfig {
  bool listener_enabled = false;
  std::string bind_address = "localhost";
  int bind_port = 80;
  std::string live_path = "/live";
  std::string ready_path = "/ready";
};

struct TelemetryConfig {
  bool prometheus = false;  // telemetry { Prometheus { host = "..." port = N } }
  std::string prometheus_host = "localhost";
  int prometheus_port = 9988;
};

// Read `health_checks { listener_enabled bind_address bind_port live_path ready_path }`; a bad port or a path not
// starting with "/" is recorded on the section.
void ParseHealthChecks(config::Section& hc, HealthChecksConfig& out);
// Read `telemetry { Prometheus { host port } }`. Other sinks SPIRE has (DogStatsd, Statsd, M3, InMem) are refused
// by name: we only serve Prometheus.
void ParseTelemetry(config::Section& tel, TelemetryConfig& out);

}  // namespace spirecvm::telemetry
