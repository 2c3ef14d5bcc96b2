// SPIRE's spire.api.server.localauthority.v1.LocalAuthority on the admin socket: what SPIRE's
// `spire-server localauthority jwt|x509 show|prepare|activate|taint|revoke` and `upstreamauthority taint|revoke` call
// for a forced rotation. A thin edge over CaManager's forced-rotation steps, which carry SPIRE's codes and messages.
#pragma once

#include "server/ca/ca_manager.h"
#include "spire/api/server/localauthority/v1/localauthority.grpc.pb.h"

namespace spirecvm::server::spireapi {

namespace lav1 = ::spire::api::server::localauthority::v1;

// Thread-safe: CaManager serialises the steps.
class LocalAuthorityService final : public lav1::LocalAuthority::Service {
 public:
  explicit LocalAuthorityService(CaManager& ca) : ca_(ca) {}

  grpc::Status GetJWTAuthorityState(grpc::ServerContext*, const lav1::GetJWTAuthorityStateRequest*,
                                    lav1::GetJWTAuthorityStateResponse*) override;
  grpc::Status PrepareJWTAuthority(grpc::ServerContext*, const lav1::PrepareJWTAuthorityRequest*,
                                   lav1::PrepareJWTAuthorityResponse*) override;
  grpc::Status ActivateJWTAuthority(grpc::ServerContext*, const lav1::ActivateJWTAuthorityRequest*,
                                    lav1::ActivateJWTAuthorityResponse*) override;
  grpc::Status TaintJWTAuthority(grpc::ServerContext*, const lav1::TaintJWTAuthorityRequest*,
                                 lav1::TaintJWTAuthorityResponse*) override;
  grpc::Status RevokeJWTAuthority(grpc::ServerContext*, const lav1::RevokeJWTAuthorityRequest*,
                                  lav1::RevokeJWTAuthorityResponse*) override;

  grpc::Status GetX509AuthorityState(grpc::ServerContext*, const lav1::GetX509AuthorityStateRequest*,
                                     lav1::GetX509AuthorityStateResponse*) override;
  grpc::Status PrepareX509Authority(grpc::ServerContext*, const lav1::PrepareX509AuthorityRequest*,
                                    lav1::PrepareX509AuthorityResponse*) override;
  grpc::Status ActivateX509Authority(grpc::ServerContext*, const lav1::ActivateX509AuthorityRequest*,
                                     lav1::ActivateX509AuthorityResponse*) override;
  grpc::Status TaintX509Authority(grpc::ServerContext*, const lav1::TaintX509AuthorityRequest*,
                                  lav1::TaintX509AuthorityResponse*) override;
  grpc::Status RevokeX509Authority(grpc::ServerContext*, const lav1::RevokeX509AuthorityRequest*,
                                   lav1::RevokeX509AuthorityResponse*) override;
  // Meaningful with an UpstreamAuthority (the disk plugin: after its files were replaced and the server restarted,
  // the old authority is signed by the previous upstream CA); without one, FailedPrecondition as SPIRE answers.
  grpc::Status TaintX509UpstreamAuthority(grpc::ServerContext*, const lav1::TaintX509UpstreamAuthorityRequest*,
                                          lav1::TaintX509UpstreamAuthorityResponse*) override;
  grpc::Status RevokeX509UpstreamAuthority(grpc::ServerContext*, const lav1::RevokeX509UpstreamAuthorityRequest*,
                                           lav1::RevokeX509UpstreamAuthorityResponse*) override;

 private:
  CaManager& ca_;
};

}  // namespace spirecvm::server::spireapi
