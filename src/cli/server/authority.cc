// spire-server localauthority x509|jwt show|prepare|activate|taint|revoke and upstreamauthority taint|revoke:
// SPIRE's localauthority.v1 API, with SPIRE's flags, messages and output.
#include <cctype>
#include <functional>

#include "absl/strings/str_cat.h"
#include "cli/server/cli_common.h"
#include "spire/api/server/localauthority/v1/localauthority.grpc.pb.h"

namespace spirecvm::cli {
namespace {

namespace lav1 = ::spire::api::server::localauthority::v1;
using Stub = lav1::LocalAuthority::Stub;

// SPIRE's authoritycommon: ID and expiry; X.509 also the upstream authority's subject key ID.
void PrintState(const lav1::AuthorityState& a, bool x509, std::ostream& out) {
  out << "  Authority ID: " << a.authority_id() << "\n";
  out << "  Expires at: " << GoTimeUtc(a.expires_at()) << "\n";
  if (!x509) return;
  if (!a.upstream_authority_subject_key_id().empty()) {
    out << "  Upstream authority Subject Key ID: " << a.upstream_authority_subject_key_id() << "\n";
  } else {
    out << "  Upstream authority ID: No upstream authority\n";
  }
}

// `show`: active, prepared and old authority.
template <typename Request, typename Response>
int Show(const char* name, bool x509, const std::vector<std::string>& args, Io io,
         grpc::Status (Stub::*call)(grpc::ClientContext*, const Request&, Response*)) {
  flags::FlagSet fs(name);
  ServerFlags server;
  server.Register(fs);
  if (!server.Parse(fs, args, io)) return 1;
  Response resp;
  grpc::ClientContext ctx;
  auto stub = lav1::LocalAuthority::NewStub(Dial(server.socket));
  if (auto s = ((*stub).*call)(&ctx, Request(), &resp); !s.ok()) {
    return FailRpc(io, x509 ? "could not get X.509 authorities" : "", s);
  }
  if (server.json()) return (io.out << SpireJson(resp), 0);
  const char* kind = x509 ? "X.509" : "JWT";
  const std::pair<const char*, const lav1::AuthorityState*> slots[] = {
      {"active", resp.has_active() ? &resp.active() : nullptr},
      {"prepared", resp.has_prepared() ? &resp.prepared() : nullptr},
      {"old", resp.has_old() ? &resp.old() : nullptr}};
  for (size_t i = 0; i < 3; ++i) {
    if (i > 0) io.out << "\n";
    std::string title = slots[i].first;
    title[0] = static_cast<char>(std::toupper(title[0]));
    io.out << title << " " << kind << " authority:\n";
    if (slots[i].second != nullptr) {
      PrintState(*slots[i].second, x509, io.out);
    } else {
      io.out << "  No " << slots[i].first << " " << kind << " authority found\n";
    }
  }
  return 0;
}

// prepare / activate / taint / revoke: one call (with -authorityID except prepare), one authority state back.
struct StateVerb {
  const char* name;  // "localauthority x509 taint"
  bool x509;
  const char* verb;  // "taint"
  const char* past;  // "Tainted"
  bool with_id;
};

template <typename Request, typename Response>
int StateCommand(const StateVerb& v, const std::vector<std::string>& args, Io io,
                 grpc::Status (Stub::*call)(grpc::ClientContext*, const Request&, Response*),
                 const std::function<const lav1::AuthorityState*(const Response&)>& state,
                 const std::function<void(Request*, const std::string&)>& set_id) {
  const char* kind = v.x509 ? "X.509" : "JWT";
  flags::FlagSet fs(v.name);
  ServerFlags server;
  std::string authority_id;
  server.Register(fs);
  if (v.with_id) {
    fs.String("authorityID", &authority_id, absl::StrCat("The authority ID of the ", kind, " authority to ", v.verb));
  }
  if (!server.Parse(fs, args, io)) return 1;
  if (v.with_id && authority_id.empty()) return Fail(io, "an authority ID is required");
  Request req;
  if (v.with_id) set_id(&req, authority_id);
  Response resp;
  grpc::ClientContext ctx;
  auto stub = lav1::LocalAuthority::NewStub(Dial(server.socket));
  if (auto s = ((*stub).*call)(&ctx, req, &resp); !s.ok()) {
    return FailRpc(io, absl::StrCat("could not ", v.verb, " ", kind, " authority"), s);
  }
  if (server.json()) return (io.out << SpireJson(resp), 0);
  io.out << v.past << " " << kind << " authority:\n";
  const lav1::AuthorityState* a = state(resp);
  if (a == nullptr) {
    std::string past = v.past;
    past[0] = static_cast<char>(std::tolower(past[0]));
    return Fail(io, absl::StrCat("internal error: expected to have ", past, " ", kind, " authority information"));
  }
  PrintState(*a, v.x509, io.out);
  return 0;
}

template <typename Request>
void SetAuthorityId(Request* r, const std::string& id) {
  r->set_authority_id(id);
}

#define CVM_STATE(Resp, field) [](const lav1::Resp& r) { return r.has_##field() ? &r.field() : nullptr; }

}  // namespace

int LocalAuthorityX509Show(const std::vector<std::string>& args, Io io) {
  return Show("localauthority x509 show", true, args, io, &Stub::GetX509AuthorityState);
}
int LocalAuthorityJwtShow(const std::vector<std::string>& args, Io io) {
  return Show("localauthority jwt show", false, args, io, &Stub::GetJWTAuthorityState);
}

int LocalAuthorityX509Prepare(const std::vector<std::string>& args, Io io) {
  return StateCommand<lav1::PrepareX509AuthorityRequest, lav1::PrepareX509AuthorityResponse>(
      {"localauthority x509 prepare", true, "prepare", "Prepared", false}, args, io, &Stub::PrepareX509Authority,
      CVM_STATE(PrepareX509AuthorityResponse, prepared_authority), nullptr);
}
int LocalAuthorityX509Activate(const std::vector<std::string>& args, Io io) {
  return StateCommand<lav1::ActivateX509AuthorityRequest, lav1::ActivateX509AuthorityResponse>(
      {"localauthority x509 activate", true, "activate", "Activated", true}, args, io, &Stub::ActivateX509Authority,
      CVM_STATE(ActivateX509AuthorityResponse, activated_authority),
      SetAuthorityId<lav1::ActivateX509AuthorityRequest>);
}
int LocalAuthorityX509Taint(const std::vector<std::string>& args, Io io) {
  return StateCommand<lav1::TaintX509AuthorityRequest, lav1::TaintX509AuthorityResponse>(
      {"localauthority x509 taint", true, "taint", "Tainted", true}, args, io, &Stub::TaintX509Authority,
      CVM_STATE(TaintX509AuthorityResponse, tainted_authority), SetAuthorityId<lav1::TaintX509AuthorityRequest>);
}
int LocalAuthorityX509Revoke(const std::vector<std::string>& args, Io io) {
  return StateCommand<lav1::RevokeX509AuthorityRequest, lav1::RevokeX509AuthorityResponse>(
      {"localauthority x509 revoke", true, "revoke", "Revoked", true}, args, io, &Stub::RevokeX509Authority,
      CVM_STATE(RevokeX509AuthorityResponse, revoked_authority), SetAuthorityId<lav1::RevokeX509AuthorityRequest>);
}
int LocalAuthorityJwtPrepare(const std::vector<std::string>& args, Io io) {
  return StateCommand<lav1::PrepareJWTAuthorityRequest, lav1::PrepareJWTAuthorityResponse>(
      {"localauthority jwt prepare", false, "prepare", "Prepared", false}, args, io, &Stub::PrepareJWTAuthority,
      CVM_STATE(PrepareJWTAuthorityResponse, prepared_authority), nullptr);
}
int LocalAuthorityJwtActivate(const std::vector<std::string>& args, Io io) {
  return StateCommand<lav1::ActivateJWTAuthorityRequest, lav1::ActivateJWTAuthorityResponse>(
      {"localauthority jwt activate", false, "activate", "Activated", true}, args, io, &Stub::ActivateJWTAuthority,
      CVM_STATE(ActivateJWTAuthorityResponse, activated_authority), SetAuthorityId<lav1::ActivateJWTAuthorityRequest>);
}
int LocalAuthorityJwtTaint(const std::vector<std::string>& args, Io io) {
  return StateCommand<lav1::TaintJWTAuthorityRequest, lav1::TaintJWTAuthorityResponse>(
      {"localauthority jwt taint", false, "taint", "Tainted", true}, args, io, &Stub::TaintJWTAuthority,
      CVM_STATE(TaintJWTAuthorityResponse, tainted_authority), SetAuthorityId<lav1::TaintJWTAuthorityRequest>);
}
int LocalAuthorityJwtRevoke(const std::vector<std::string>& args, Io io) {
  return StateCommand<lav1::RevokeJWTAuthorityRequest, lav1::RevokeJWTAuthorityResponse>(
      {"localauthority jwt revoke", false, "revoke", "Revoked", true}, args, io, &Stub::RevokeJWTAuthority,
      CVM_STATE(RevokeJWTAuthorityResponse, revoked_authority), SetAuthorityId<lav1::RevokeJWTAuthorityRequest>);
}

namespace {

// upstreamauthority taint|revoke: by the subject key ID of the upstream authority's CA certificate.
template <typename Request, typename Response>
int UpstreamCommand(const char* name, const char* verb, const char* past, const std::vector<std::string>& args, Io io,
                    grpc::Status (Stub::*call)(grpc::ClientContext*, const Request&, Response*)) {
  flags::FlagSet fs(name);
  ServerFlags server;
  std::string skid;
  server.Register(fs);
  fs.String(
      "subjectKeyID", &skid,
      absl::StrCat("The X.509 Subject Key Identifier (or SKID) of the authority's CA certificate of the ",
                   std::string_view(verb) == "taint" ? "upstream X.509" : "X.509 upstream", " authority to ", verb));
  if (!server.Parse(fs, args, io)) return 1;
  if (skid.empty()) return Fail(io, "the Subject Key ID of the X.509 upstream authority is required");
  Request req;
  req.set_subject_key_id(skid);
  Response resp;
  grpc::ClientContext ctx;
  auto stub = lav1::LocalAuthority::NewStub(Dial(server.socket));
  if (auto s = ((*stub).*call)(&ctx, req, &resp); !s.ok()) {
    return FailRpc(io, absl::StrCat("could not ", verb, " X.509 upstream authority"), s);
  }
  if (server.json()) return (io.out << SpireJson(resp), 0);
  io.out << past << " X.509 upstream authority:\n  Subject Key ID: " << resp.upstream_authority_subject_key_id()
         << "\n";
  return 0;
}

}  // namespace

int UpstreamAuthorityTaint(const std::vector<std::string>& args, Io io) {
  return UpstreamCommand("upstreamauthority taint", "taint", "Tainted", args, io, &Stub::TaintX509UpstreamAuthority);
}
int UpstreamAuthorityRevoke(const std::vector<std::string>& args, Io io) {
  return UpstreamCommand("upstreamauthority revoke", "revoke", "Revoked", args, io, &Stub::RevokeX509UpstreamAuthority);
}

}  // namespace spirecvm::cli
