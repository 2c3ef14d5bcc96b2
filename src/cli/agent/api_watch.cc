// spire-agent api watch: prints every X509SVIDResponse the agent pushes, until interrupted.
#include "absl/time/clock.h"
#include "api_print.h"
#include "cli_common.h"
#include "workload.grpc.pb.h"

namespace spirecvm::cli::agent {

int ApiWatchCommand(const std::vector<std::string>& args, Io io) {
  std::string socket_path = DefaultSocketPath();
  flags::FlagSet fs("api watch");
  fs.String("socketPath", &socket_path, "Path to the SPIFFE Workload API socket");
  int code = 0;
  if (!ParseFlags(fs, args, io, &code)) return code;
  auto stub = SpiffeWorkloadAPI::NewStub(WorkloadChannel(socket_path));
  for (;;) {
    auto ctx = WorkloadContext(absl::ZeroDuration());
    absl::Time start = absl::Now();
    auto reader = stub->FetchX509SVID(ctx.get(), X509SVIDRequest());
    X509SVIDResponse resp;
    while (reader->Read(&resp)) {
      PrintX509Response(io.out, resp, absl::Now() - start);
      io.out.flush();
      start = absl::Now();
    }
    grpc::Status st = reader->Finish();
    io.err << RpcError(st) << "\n";
    if (st.error_code() == grpc::StatusCode::INVALID_ARGUMENT) return 1;
    // SPIRE's watcher retries: the agent may be restarting.
    absl::SleepFor(absl::Seconds(1));
  }
}

}  // namespace spirecvm::cli::agent
