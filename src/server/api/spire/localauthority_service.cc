#include "server/api/spire/localauthority_service.h"

#include "common/grpc_status.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server::spireapi {
namespace {

void ToProto(const AuthorityState& s, lav1::AuthorityState* out) {
  out->set_authority_id(s.authority_id);
  out->set_expires_at(absl::ToUnixSeconds(s.expires_at));
  out->set_upstream_authority_subject_key_id(s.upstream_authority_id);
}

template <typename Resp>
grpc::Status StatesToProto(const absl::StatusOr<AuthorityStates>& st, Resp* resp) {
  if (!st.ok()) return ToGrpc(st.status());
  ToProto(st->active, resp->mutable_active());
  if (st->prepared) ToProto(*st->prepared, resp->mutable_prepared());
  if (st->old) ToProto(*st->old, resp->mutable_old());
  return grpc::Status::OK;
}

// One step's answer: the authority it applied to, or the step's error (logged, as SPIRE logs failed steps).
grpc::Status StateToProto(std::string_view step, const absl::StatusOr<AuthorityState>& st, lav1::AuthorityState* out) {
  if (!st.ok()) {
    spdlog::warn("localauthority {}: {}", step, st.status().ToString());
    return ToGrpc(st.status());
  }
  ToProto(*st, out);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status LocalAuthorityService::GetJWTAuthorityState(grpc::ServerContext*, const lav1::GetJWTAuthorityStateRequest*,
                                                         lav1::GetJWTAuthorityStateResponse* resp) {
  return StatesToProto(ca_.States(AuthorityKind::kJwt), resp);
}

grpc::Status LocalAuthorityService::PrepareJWTAuthority(grpc::ServerContext*, const lav1::PrepareJWTAuthorityRequest*,
                                                        lav1::PrepareJWTAuthorityResponse* resp) {
  return StateToProto("jwt prepare", ca_.Prepare(AuthorityKind::kJwt), resp->mutable_prepared_authority());
}

grpc::Status LocalAuthorityService::ActivateJWTAuthority(grpc::ServerContext*,
                                                         const lav1::ActivateJWTAuthorityRequest* req,
                                                         lav1::ActivateJWTAuthorityResponse* resp) {
  return StateToProto("jwt activate", ca_.Activate(AuthorityKind::kJwt, req->authority_id()),
                      resp->mutable_activated_authority());
}

grpc::Status LocalAuthorityService::TaintJWTAuthority(grpc::ServerContext*, const lav1::TaintJWTAuthorityRequest* req,
                                                      lav1::TaintJWTAuthorityResponse* resp) {
  return StateToProto("jwt taint", ca_.Taint(AuthorityKind::kJwt, req->authority_id()),
                      resp->mutable_tainted_authority());
}

grpc::Status LocalAuthorityService::RevokeJWTAuthority(grpc::ServerContext*, const lav1::RevokeJWTAuthorityRequest* req,
                                                       lav1::RevokeJWTAuthorityResponse* resp) {
  return StateToProto("jwt revoke", ca_.Revoke(AuthorityKind::kJwt, req->authority_id()),
                      resp->mutable_revoked_authority());
}

grpc::Status LocalAuthorityService::GetX509AuthorityState(grpc::ServerContext*,
                                                          const lav1::GetX509AuthorityStateRequest*,
                                                          lav1::GetX509AuthorityStateResponse* resp) {
  return StatesToProto(ca_.States(AuthorityKind::kX509), resp);
}

grpc::Status LocalAuthorityService::PrepareX509Authority(grpc::ServerContext*, const lav1::PrepareX509AuthorityRequest*,
                                                         lav1::PrepareX509AuthorityResponse* resp) {
  return StateToProto("x509 prepare", ca_.Prepare(AuthorityKind::kX509), resp->mutable_prepared_authority());
}

grpc::Status LocalAuthorityService::ActivateX509Authority(grpc::ServerContext*,
                                                          const lav1::ActivateX509AuthorityRequest* req,
                                                          lav1::ActivateX509AuthorityResponse* resp) {
  return StateToProto("x509 activate", ca_.Activate(AuthorityKind::kX509, req->authority_id()),
                      resp->mutable_activated_authority());
}

grpc::Status LocalAuthorityService::TaintX509Authority(grpc::ServerContext*, const lav1::TaintX509AuthorityRequest* req,
                                                       lav1::TaintX509AuthorityResponse* resp) {
  return StateToProto("x509 taint", ca_.Taint(AuthorityKind::kX509, req->authority_id()),
                      resp->mutable_tainted_authority());
}

grpc::Status LocalAuthorityService::RevokeX509Authority(grpc::ServerContext*,
                                                        const lav1::RevokeX509AuthorityRequest* req,
                                                        lav1::RevokeX509AuthorityResponse* resp) {
  return StateToProto("x509 revoke", ca_.Revoke(AuthorityKind::kX509, req->authority_id()),
                      resp->mutable_revoked_authority());
}

grpc::Status LocalAuthorityService::TaintX509UpstreamAuthority(grpc::ServerContext*,
                                                               const lav1::TaintX509UpstreamAuthorityRequest* req,
                                                               lav1::TaintX509UpstreamAuthorityResponse* resp) {
  auto skid = ca_.TaintUpstream(req->subject_key_id());
  if (!skid.ok()) return ToGrpc(skid.status());
  resp->set_upstream_authority_subject_key_id(*skid);
  return grpc::Status::OK;
}

grpc::Status LocalAuthorityService::RevokeX509UpstreamAuthority(grpc::ServerContext*,
                                                                const lav1::RevokeX509UpstreamAuthorityRequest* req,
                                                                lav1::RevokeX509UpstreamAuthorityResponse* resp) {
  auto skid = ca_.RevokeUpstream(req->subject_key_id());
  if (!skid.ok()) return ToGrpc(skid.status());
  resp->set_upstream_authority_subject_key_id(*skid);
  return grpc::Status::OK;
}

}  // namespace spirecvm::server::spireapi
