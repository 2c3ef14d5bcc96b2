// spire-server healthcheck
#include "cli/server/cli_common.h"

namespace spirecvm::cli {

int Healthcheck(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("healthcheck");
  std::string socket = kDefaultServerSocket;
  bool shallow = false, verbose = false;
  fs.String("socketPath", &socket, "Path to the SPIRE Server API socket");
  fs.Bool("shallow", &shallow, "Perform a less stringent health check");
  fs.Bool("verbose", &verbose, "Print verbose information");
  if (!ParseFlags(fs, args, io)) return 1;
  admin::v1::HealthResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto s = AdminClient(socket)->Health(&ctx, admin::v1::Empty(), &resp);
  if (!s.ok()) {
    if (verbose) io.err << "Health check failed: " << s.error_message() << "\n";
    io.err << "Server is unhealthy: unable to determine health\n";
    return 1;
  }
  io.out << "Server is healthy.\n";
  return 0;
}

}  // namespace spirecvm::cli
