#include <gtest/gtest.h>

#include "common/hcl.h"
#include "common/telemetry/config.h"
#include "common/telemetry/http_listener.h"
#include "common/telemetry/registry.h"
#include "common/telemetry/rpc_metrics.h"

namespace spirecvm::telemetry {
namespace {

TEST(RpcMetricKeyTest, SpireNames) {
  EXPECT_EQ(MetricKey("One"), "one");
  EXPECT_EQ(MetricKey("one,two,three,Four"), "one_two_three_four");
  EXPECT_EQ(MetricKey("ABCDef"), "abc_def");
  EXPECT_EQ(MetricKey("AbcDEF"), "abc_def");
  EXPECT_EQ(MetricKey("OneTWOThree"), "one_two_three");
  EXPECT_EQ(MetricKey("ONETwoTHREE"), "one_two_three");
  EXPECT_EQ(RpcMetricKey("/spire.api.server.agent.v1.Agent/AttestAgent"), "rpc_agent_v1_agent_attest_agent");
  EXPECT_EQ(RpcMetricKey("/spire.api.server.svid.v1.SVID/BatchNewX509SVID"), "rpc_svid_v1_svid_batch_new_x509svid");
  EXPECT_EQ(RpcMetricKey("/spire.api.server.localauthority.v1.LocalAuthority/GetJWTAuthorityState"),
            "rpc_localauthority_v1_local_authority_get_jwt_authority_state");
  EXPECT_EQ(RpcMetricKey("/SpiffeWorkloadAPI/FetchX509SVID"), "rpc_workload_api_fetch_x509svid");
  EXPECT_EQ(RpcMetricKey("/SpiffeWorkloadAPI/FetchJWTSVID"), "rpc_workload_api_fetch_jwtsvid");
  EXPECT_EQ(RpcMetricKey("/SpiffeWorkloadAPI/FetchX509Bundles"), "rpc_workload_api_fetch_x509_bundles");
  EXPECT_EQ(RpcMetricKey("/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets"), "rpc_sds_v3_stream_secrets");
  EXPECT_EQ(RpcMetricKey("/grpc.health.v1.Health/Check"), "rpc_health_check");
}

TEST(RegistryTest, CountersAndGaugesRenderAsPrometheusText) {
  Registry r("spire_agent");
  r.CountCall("agent_svid_rotate", absl::OkStatus(), "Agent SVID rotations.");
  r.CountCall("agent_svid_rotate", absl::OkStatus());
  r.CountCall("agent_svid_rotate", absl::PermissionDeniedError("no"));
  r.Add("workload_api_connection");
  r.Gauge("uptime_in_ms", "Uptime.", [] { return int64_t{42}; });
  EXPECT_EQ(r.Value("agent_svid_rotate", {{"status", "OK"}}), 2u);
  EXPECT_EQ(r.Value("agent_svid_rotate", {{"status", "PermissionDenied"}}), 1u);
  EXPECT_EQ(r.Value("never"), 0u);
  EXPECT_EQ(r.Render(),
            "# HELP spire_agent_agent_svid_rotate Agent SVID rotations.\n"
            "# TYPE spire_agent_agent_svid_rotate counter\n"
            "spire_agent_agent_svid_rotate{status=\"OK\"} 2\n"
            "spire_agent_agent_svid_rotate{status=\"PermissionDenied\"} 1\n"
            "# HELP spire_agent_uptime_in_ms Uptime.\n"
            "# TYPE spire_agent_uptime_in_ms gauge\n"
            "spire_agent_uptime_in_ms 42\n"
            "# TYPE spire_agent_workload_api_connection counter\n"
            "spire_agent_workload_api_connection 1\n");
}

TEST(RegistryTest, LabelValuesAreEscaped) {
  Registry r("x");
  r.Add("k", {{"v", "a\"b\\c\nd"}});
  EXPECT_NE(r.Render().find("x_k{v=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos);
}

TEST(StatusLabelTest, GoCodeNames) {
  EXPECT_EQ(StatusLabel(0), "OK");
  EXPECT_EQ(StatusLabel(7), "PermissionDenied");
  EXPECT_EQ(StatusLabel(16), "Unauthenticated");
  EXPECT_EQ(StatusLabel(99), "Unknown");
}

TEST(HttpRoutesTest, HealthAndTelemetry) {
  HealthChecksConfig hc;
  bool ready = false;
  auto routes = HealthRoutes(
      hc, [] { return true; }, [&] { return ready; });
  ASSERT_EQ(routes.size(), 2u);
  EXPECT_EQ(routes[0].first, "/live");
  EXPECT_EQ(routes[0].second().status, 200);
  EXPECT_EQ(routes[1].first, "/ready");
  EXPECT_EQ(routes[1].second().status, 503);
  ready = true;
  EXPECT_EQ(routes[1].second().body, "{\"ready\":true}");
  auto metrics = TelemetryRoutes([] { return std::string("x 1\n"); });
  ASSERT_EQ(metrics.size(), 1u);
  EXPECT_EQ(metrics[0].first, "/metrics");
  EXPECT_EQ(metrics[0].second().body, "x 1\n");
}

TEST(HttpRoutesTest, NotLiveAnswers503) {
  HealthChecksConfig hc;
  auto routes = HealthRoutes(
      hc, [] { return false; }, [] { return false; });
  EXPECT_EQ(routes[0].second().status, 503);
  EXPECT_EQ(routes[0].second().body, "{\"live\":false}");
}

struct Parsed {
  HealthChecksConfig hc;
  TelemetryConfig tel;
  absl::Status status;
};

Parsed Parse(const std::string& text) {
  Parsed p;
  auto body = hcl::Parse(text, "t.conf");
  if (!body.ok()) {
    p.status = body.status();
    return p;
  }
  auto root = config::Section::FromBody(*body, "", "t.conf");
  if (auto hc = root.Child("health_checks")) ParseHealthChecks(*hc, p.hc);
  if (auto tel = root.Child("telemetry")) ParseTelemetry(*tel, p.tel);
  p.status = root.Finish();
  return p;
}

TEST(TelemetryConfigTest, ReadsBothBlocks) {
  Parsed p = Parse(
      "health_checks { listener_enabled = true\n bind_address = \"127.0.0.1\"\n bind_port = 8080\n"
      " live_path = \"/l\"\n ready_path = \"/r\" }\n"
      "telemetry { Prometheus { host = \"0.0.0.0\"\n port = 9090 } }\n");
  ASSERT_TRUE(p.status.ok()) << p.status;
  EXPECT_TRUE(p.hc.listener_enabled);
  EXPECT_EQ(p.hc.bind_address, "127.0.0.1");
  EXPECT_EQ(p.hc.bind_port, 8080);
  EXPECT_EQ(p.hc.live_path, "/l");
  EXPECT_EQ(p.hc.ready_path, "/r");
  EXPECT_TRUE(p.tel.prometheus);
  EXPECT_EQ(p.tel.prometheus_host, "0.0.0.0");
  EXPECT_EQ(p.tel.prometheus_port, 9090);
}

TEST(TelemetryConfigTest, RefusesBadPortsPathsAndOtherSinks) {
  Parsed p = Parse(
      "health_checks { bind_port = 70000\n live_path = \"live\" }\n"
      "telemetry { Statsd { address = \"x\" }\n Prometheus { port = 0 } }\n");
  ASSERT_FALSE(p.status.ok());
  std::string msg(p.status.message());
  EXPECT_NE(msg.find("bind_port 70000 is not a port number"), std::string::npos) << msg;
  EXPECT_NE(msg.find("live_path \"live\" must start with \"/\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("telemetry sink Statsd is not supported"), std::string::npos) << msg;
  EXPECT_NE(msg.find("port 0 is not a port number"), std::string::npos) << msg;
}

}  // namespace
}  // namespace spirecvm::telemetry
