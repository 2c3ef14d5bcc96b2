#include "cli_common.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "agent/config/agent_config.h"
#include "api_print.h"

namespace spirecvm::cli::agent {

bool ParseFlags(flags::FlagSet& fs, const std::vector<std::string>& args, Io io, int* exit_code,
                std::vector<std::string>* rest) {
  auto r = fs.Parse(args);
  if (!r.ok()) {
    std::string msg(r.status().message());
    if (msg == "flag: help requested") {
      io.err << fs.Usage();
      *exit_code = 0;
      return false;
    }
    io.err << msg << "\n" << fs.Usage();
    *exit_code = 1;
    return false;
  }
  if (rest != nullptr) {
    *rest = *r;
  } else if (!r->empty()) {
    io.err << "unexpected argument: " << (*r)[0] << "\n" << fs.Usage();
    *exit_code = 1;
    return false;
  }
  return true;
}

std::string DefaultSocketPath() {
  const char* env = std::getenv("SPIFFE_ENDPOINT_SOCKET");
  if (env != nullptr && *env != '\0') {
    std::string s(env);
    if (absl::StartsWith(s, "unix://")) return s.substr(7);
    if (absl::StartsWith(s, "unix:")) return s.substr(5);
    return s;
  }
  return spirecvm::agent::kDefaultSocketPath;
}

std::shared_ptr<grpc::Channel> WorkloadChannel(const std::string& socket_path) {
  std::string target = socket_path;
  if (absl::StartsWith(target, "unix://")) target = target.substr(7);
  return grpc::CreateChannel("unix:" + target, grpc::InsecureChannelCredentials());
}

std::unique_ptr<grpc::ClientContext> WorkloadContext(absl::Duration timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("workload.spiffe.io", "true");
  if (timeout > absl::ZeroDuration()) ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return ctx;
}

std::string RpcError(const grpc::Status& st) {
  return "rpc error: code = " + GrpcCodeName(st.error_code()) + " desc = " + st.error_message();
}

}  // namespace spirecvm::cli::agent
