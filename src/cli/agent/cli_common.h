// Shared pieces of the spire-agent commands: flag parsing conventions, the Workload API client channel.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "common/flags.h"

namespace spirecvm::cli::agent {

// Parses args; on error prints it with the usage to stderr. Returns false (with *exit_code) when the command must
// stop: 1 for a bad flag, 0 for -h.
bool ParseFlags(flags::FlagSet& fs, const std::vector<std::string>& args, int* exit_code,
                std::vector<std::string>* rest = nullptr);

// A channel to the Workload API at a path or unix:// URI (SPIFFE_ENDPOINT_SOCKET form).
std::shared_ptr<grpc::Channel> WorkloadChannel(const std::string& socket_path);
// A context carrying the `workload.spiffe.io: true` header and a deadline (none when timeout_s <= 0).
std::unique_ptr<grpc::ClientContext> WorkloadContext(double timeout_s);
std::string DefaultSocketPath();  // $SPIFFE_ENDPOINT_SOCKET when set (unix:// stripped), else SPIRE's default

int RunCommand(const std::vector<std::string>& args);  // "run"
int ValidateCommand(const std::vector<std::string>& args);
int HealthcheckCommand(const std::vector<std::string>& args);
int ApiFetchX509Command(const std::vector<std::string>& args);
int ApiFetchJwtCommand(const std::vector<std::string>& args);
int ApiValidateJwtCommand(const std::vector<std::string>& args);
int ApiWatchCommand(const std::vector<std::string>& args);

}  // namespace spirecvm::cli::agent
