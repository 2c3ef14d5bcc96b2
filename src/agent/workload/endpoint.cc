#include "agent/workload/endpoint.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/random.h"
#include "common/status.h"
#include "common/telemetry/rpc_metrics.h"
#include "common/unix_socket.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent {

absl::StatusOr<std::unique_ptr<WorkloadEndpoint>> WorkloadEndpoint::Start(const std::string& socket_path,
                                                                          WorkloadApiDeps deps, sds::SdsDeps sds) {
  std::unique_ptr<WorkloadEndpoint> ep(new WorkloadEndpoint());
  ep->socket_path_ = socket_path;
  // The directory is checked and held; the socket is bound through it and made 0777 through the node itself.
  ASSIGN_OR_RETURN(ep->listen_fd_, ListenUnixSocket(socket_path, {.dir_mode = 0755, .socket_mode = 0777}));
  ep->service_ = std::make_unique<WorkloadApiService>(std::move(deps));
  if (sds.random == nullptr) sds.random = &SystemRandom::Get();
  ep->sds_ = std::make_unique<sds::SdsService>(ep->service_.get(), std::move(sds));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  if (telemetry::Registry* m = ep->service_->deps().metrics) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(telemetry::RpcMetricsInterceptorFactory(m));
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  builder.RegisterService(ep->service_.get());
  builder.RegisterService(ep->sds_.get());
  // Watchers hold streams for a long time, but one connection must not open unbounded numbers of them.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, ep->service_->deps().max_streams_per_connection);
  ep->server_ = builder.BuildAndStart();
  if (!ep->server_) return absl::InternalError("could not start the Workload API gRPC server");
  ep->server_->GetHealthCheckService()->SetServingStatus(false);
  ep->acceptor_ = std::make_unique<PeerAcceptor>("workload API", ep->listen_fd_, ep->server_.get(),
                                                 ep->service_->deps().peers, ep->service_->deps().proc_root);
  if (telemetry::Registry* m = ep->service_->deps().metrics) {
    ep->acceptor_->OnAccept([m] { m->Add("workload_api_connection", {}, 1, "Workload API connections accepted."); });
  }
  RETURN_IF_ERROR(ep->acceptor_->Start());
  return ep;
}

void WorkloadEndpoint::SetServing(bool serving) {
  // Safe from any thread, also after Shutdown() (gRPC's health service then ignores it).
  if (server_ != nullptr) server_->GetHealthCheckService()->SetServingStatus(serving);
}

void WorkloadEndpoint::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (acceptor_) acceptor_->Shutdown();
  if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    ::unlink(socket_path_.c_str());
  }
}

WorkloadEndpoint::~WorkloadEndpoint() {
  Shutdown();
  if (server_) server_->Wait();
}

}  // namespace spirecvm::agent
