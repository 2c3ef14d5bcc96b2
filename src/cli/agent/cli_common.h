// Shared pieces of the spire-agent commands: output streams, flag parsing conventions, the Workload API client
// channel, and the command table.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "common/flags.h"

namespace spirecvm::cli::agent {

// Where a command writes: stdout and stderr in the binary, string streams in tests.
struct Io {
  std::ostream& out;
  std::ostream& err;
};

// Parses args; on error prints it with the usage to io.err. Returns false (with *exit_code) when the command must
// stop: 1 for a bad flag, 0 for -h.
bool ParseFlags(flags::FlagSet& fs, const std::vector<std::string>& args, Io io, int* exit_code,
                std::vector<std::string>* rest = nullptr);

// A channel to the Workload API at a path or unix:// URI (SPIFFE_ENDPOINT_SOCKET form).
std::shared_ptr<grpc::Channel> WorkloadChannel(const std::string& socket_path);
// A context carrying the `workload.spiffe.io: true` header and a deadline (none when timeout <= 0).
std::unique_ptr<grpc::ClientContext> WorkloadContext(absl::Duration timeout);
std::string DefaultSocketPath();  // $SPIFFE_ENDPOINT_SOCKET when set (unix:// stripped), else SPIRE's default
// "rpc error: code = <Name> desc = <message>", SPIRE's (Go gRPC's) wording.
std::string RpcError(const grpc::Status& st);

// The whole command line (args without argv[0]); returns the exit code.
int Main(const std::vector<std::string>& args, Io io);

int RunCommand(const std::vector<std::string>& args, Io io);  // "run"
int ValidateCommand(const std::vector<std::string>& args, Io io);
int HealthcheckCommand(const std::vector<std::string>& args, Io io);
int ApiFetchX509Command(const std::vector<std::string>& args, Io io);
int ApiFetchJwtCommand(const std::vector<std::string>& args, Io io);
int ApiValidateJwtCommand(const std::vector<std::string>& args, Io io);
int ApiWatchCommand(const std::vector<std::string>& args, Io io);

}  // namespace spirecvm::cli::agent
