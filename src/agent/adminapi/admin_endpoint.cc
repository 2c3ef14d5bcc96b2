#include "agent/adminapi/admin_endpoint.h"

#include <unistd.h>

#include "agent/adminapi/admin_socket.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent::adminapi {

absl::StatusOr<std::unique_ptr<AdminEndpoint>> AdminEndpoint::Start(const std::string& socket_path, AdminApiDeps deps) {
  std::unique_ptr<AdminEndpoint> ep(new AdminEndpoint());
  ASSIGN_OR_RETURN(ep->listen_fd_, ListenAdminSocket(socket_path));
  ep->socket_path_ = socket_path;
  ep->authorizer_ = std::make_unique<DelegateAuthorizer>(deps.cache, deps.attestor, deps.proc_root,
                                                         std::move(deps.authorized_delegates));
  ep->debug_ = std::make_unique<DebugService>(std::move(deps.debug), *deps.clock);
  ep->logger_ = std::make_unique<LoggerService>(deps.logger ? deps.logger : spdlog::default_logger());
  ep->delegated_ = std::make_unique<DelegatedIdentityService>(
      DelegatedIdentityDeps{deps.cache, ep->authorizer_.get(), deps.minter, &ep->peers_, deps.pool});

  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.RegisterService(ep->debug_.get());
  builder.RegisterService(ep->logger_.get());
  builder.RegisterService(ep->delegated_.get());
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 1 << 16);
  ep->server_ = builder.BuildAndStart();
  if (!ep->server_) return absl::InternalError("could not start the admin API gRPC server");
  ep->server_->GetHealthCheckService()->SetServingStatus(true);
  ep->acceptor_ =
      std::make_unique<PeerAcceptor>("admin API", ep->listen_fd_, ep->server_.get(), &ep->peers_, deps.proc_root);
  RETURN_IF_ERROR(ep->acceptor_->Start());
  return ep;
}

void AdminEndpoint::Shutdown() {
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

AdminEndpoint::~AdminEndpoint() {
  Shutdown();
  if (server_) server_->Wait();
}

}  // namespace spirecvm::agent::adminapi
