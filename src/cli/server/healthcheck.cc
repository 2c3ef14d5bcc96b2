// spire-server healthcheck: grpc.health.v1 Check on the admin socket, as SPIRE's CLI does.
#include "cli/server/cli_common.h"
#include "grpc/health/v1/health.grpc.pb.h"

namespace spirecvm::cli {

int Healthcheck(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("healthcheck");
  ServerFlags server;
  bool shallow = false, verbose = false;
  server.Register(fs, /*with_output=*/false);
  fs.Bool("shallow", &shallow, "Perform a less stringent health check");
  fs.Bool("verbose", &verbose, "Print verbose information");
  if (!server.Parse(fs, args, io)) return 1;
  if (verbose) io.out << "Checking server health...\n";
  ::grpc::health::v1::HealthCheckResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto s = ::grpc::health::v1::Health::NewStub(Dial(server.socket))
               ->Check(&ctx, ::grpc::health::v1::HealthCheckRequest(), &resp);
  if (!s.ok()) {
    if (verbose) io.err << "Failed to check health: " << RpcError(s) << "\n";
    return Fail(io, "server is unhealthy: unable to determine health");
  }
  if (resp.status() != ::grpc::health::v1::HealthCheckResponse::SERVING) {
    return Fail(io, "server is unhealthy: server returned status \"" +
                        ::grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status()) + "\"");
  }
  io.out << "Server is healthy.\n";
  return 0;
}

}  // namespace spirecvm::cli
