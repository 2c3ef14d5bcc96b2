#include "cli_common.h"

#include <cstdlib>
#include <iostream>

#include "absl/strings/match.h"
#include "agent/config/agent_config.h"

namespace spirecvm::cli::agent {

bool ParseFlags(flags::FlagSet& fs, const std::vector<std::string>& args, int* exit_code,
                std::vector<std::string>* rest) {
  auto r = fs.Parse(args);
  if (!r.ok()) {
    std::string msg(r.status().message());
    if (msg == "flag: help requested") {
      std::cerr << fs.Usage();
      *exit_code = 0;
      return false;
    }
    std::cerr << msg << "\n" << fs.Usage();
    *exit_code = 1;
    return false;
  }
  if (rest != nullptr) {
    *rest = *r;
  } else if (!r->empty()) {
    std::cerr << "unexpected argument: " << (*r)[0] << "\n" << fs.Usage();
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

std::unique_ptr<grpc::ClientContext> WorkloadContext(double timeout_s) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->AddMetadata("workload.spiffe.io", "true");
  if (timeout_s > 0) {
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000)));
  }
  return ctx;
}

}  // namespace spirecvm::cli::agent
