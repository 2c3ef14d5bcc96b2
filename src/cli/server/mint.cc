// spire-server x509 mint / jwt mint: SPIRE's svid.v1 MintX509SVID (with bundle.v1 GetBundle) and MintJWTSVID.
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cli/server/cli_common.h"
#include "common/duration.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/status.h"
#include "crypto/csr.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "spire/api/server/bundle/v1/bundle.grpc.pb.h"
#include "spire/api/server/svid/v1/svid.grpc.pb.h"

namespace spirecvm::cli {
namespace {

namespace svidv1 = ::spire::api::server::svid::v1;
namespace bundlev1 = ::spire::api::server::bundle::v1;

// SPIRE rounds a -ttl duration up to whole seconds; more than int32 seconds is an error.
absl::StatusOr<int32_t> TtlSeconds(absl::Duration ttl) {
  const int64_t secs = absl::ToInt64Seconds(absl::Ceil(ttl, absl::Seconds(1)));
  if (secs > std::numeric_limits<int32_t>::max() || secs < std::numeric_limits<int32_t>::min()) {
    return absl::InvalidArgumentError("invalid value for TTL: value out of range");
  }
  return static_cast<int32_t>(secs);
}

void WarnIfCapped(const char* what, int64_t expires_at, absl::Duration ttl, Io io) {
  const absl::Time eol = absl::FromUnixSeconds(expires_at);
  if (eol - absl::Now() < ttl) {
    io.err << what << " lifetime was capped shorter than specified ttl; expires \""
           << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", eol, absl::UTCTimeZone()) << "\"\n";
  }
}

std::string DersToPem(const std::vector<std::string>& ders) {
  std::string out;
  for (const auto& d : ders) {
    auto c = crypto::ParseCertDer(d);
    if (c.ok()) out += crypto::CertToPem(c->get());
  }
  return out;
}

struct MintedX509 {
  std::vector<std::string> chain, roots;
  std::string key_der, key_pem;
};

// -write: svid.pem, key.pem (0600) and bundle.pem in `dir`.
absl::Status WriteX509Files(const std::string& dir, const MintedX509& m, Io io) {
  RETURN_IF_ERROR(files::EnsureDir(dir, 0755));
  RETURN_IF_ERROR(
      Annotate(files::WriteFileAtomic(dir + "/svid.pem", DersToPem(m.chain), 0644), "unable to write SVID"));
  io.out << "X509-SVID written to " << dir << "/svid.pem\n";
  RETURN_IF_ERROR(Annotate(files::WriteFileAtomic(dir + "/key.pem", m.key_pem, 0600), "unable to write key"));
  io.out << "Private key written to " << dir << "/key.pem\n";
  RETURN_IF_ERROR(
      Annotate(files::WriteFileAtomic(dir + "/bundle.pem", DersToPem(m.roots), 0644), "unable to write bundle"));
  io.out << "Root CAs written to " << dir << "/bundle.pem\n";
  return absl::OkStatus();
}

void PrintX509(const MintedX509& m, bool json, Io io) {
  if (json) {  // SPIRE's mintResult struct: DER as base64
    nlohmann::ordered_json chain = nlohmann::ordered_json::array(), roots = nlohmann::ordered_json::array();
    for (const auto& c : m.chain) chain.push_back(Base64Encode(c));
    for (const auto& r : m.roots) roots.push_back(Base64Encode(r));
    io.out << GoJson({{"x509_svid", chain}, {"private_key", Base64Encode(m.key_der)}, {"root_cas", roots}});
    return;
  }
  io.out << "X509-SVID:\n"
         << DersToPem(m.chain) << "\nPrivate key:\n"
         << m.key_pem << "\nRoot CAs:\n"
         << DersToPem(m.roots) << "\n";
}

// The key, the CSR for it, the minted chain and the server's roots.
absl::StatusOr<MintedX509> MintX509(const std::string& socket, const stypes::SPIFFEID& id,
                                    const std::vector<std::string>& dns, absl::Duration ttl, Io io) {
  ASSIGN_OR_RETURN(int32_t ttl_secs, TtlSeconds(ttl));
  auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
  if (!key.ok()) return Annotate(key.status(), "unable to generate key");
  auto csr = crypto::CreateCsr(key->get(), IdString(id), dns);
  if (!csr.ok()) return Annotate(csr.status(), "unable to generate CSR");
  auto ch = Dial(socket);
  svidv1::MintX509SVIDRequest req;
  req.set_csr(*csr);
  req.set_ttl(ttl_secs);
  svidv1::MintX509SVIDResponse resp;
  grpc::ClientContext ctx;
  auto s = svidv1::SVID::NewStub(ch)->MintX509SVID(&ctx, req, &resp);
  if (!s.ok()) return absl::UnknownError(absl::StrCat("unable to mint SVID: ", RpcError(s)));
  if (resp.svid().cert_chain().empty()) return absl::UnknownError("server response missing SVID chain");
  stypes::Bundle bundle;
  grpc::ClientContext bctx;
  s = bundlev1::Bundle::NewStub(ch)->GetBundle(&bctx, bundlev1::GetBundleRequest(), &bundle);
  if (!s.ok()) return absl::UnknownError(absl::StrCat("unable to get bundle: ", RpcError(s)));
  if (bundle.x509_authorities().empty()) return absl::UnknownError("server response missing X509 Authorities");
  WarnIfCapped("X509-SVID", resp.svid().expires_at(), ttl, io);
  MintedX509 m;
  m.chain.assign(resp.svid().cert_chain().begin(), resp.svid().cert_chain().end());
  for (const auto& a : bundle.x509_authorities()) m.roots.push_back(a.asn1());
  ASSIGN_OR_RETURN(m.key_der, crypto::PrivateKeyToPkcs8Der(key->get()));
  ASSIGN_OR_RETURN(m.key_pem, crypto::PrivateKeyToPem(key->get()));
  return m;
}

}  // namespace

int X509Mint(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("x509 mint");
  ServerFlags server;
  std::string spiffe_id, write_dir;
  absl::Duration ttl = absl::ZeroDuration();
  std::vector<std::string> dns;
  server.Register(fs);
  fs.String("spiffeID", &spiffe_id, "SPIFFE ID of the X509-SVID");
  fs.Duration("ttl", &ttl, "TTL of the X509-SVID");
  fs.StringList("dns", &dns, "DNS name that will be included in SVID. Can be used more than once.");
  fs.String("write", &write_dir, "Directory to write output to instead of stdout");
  if (!server.Parse(fs, args, io)) return 1;
  if (spiffe_id.empty()) return Fail(io, "spiffeID must be specified");
  auto id = ParseId(spiffe_id);
  if (!id.ok()) return Fail(io, id.status().message());
  auto minted = MintX509(server.socket, *id, dns, ttl, io);
  if (!minted.ok()) return Fail(io, minted.status().message());
  if (write_dir.empty()) {
    PrintX509(*minted, server.json(), io);
    return 0;
  }
  if (auto st = WriteX509Files(write_dir, *minted, io); !st.ok()) return Fail(io, st.message());
  return 0;
}

namespace {

// The "exp" claim of a compact JWS, read without verifying it (only to warn about a capped lifetime).
absl::StatusOr<int64_t> JwtExpiry(const std::string& token) {
  std::vector<std::string> parts = absl::StrSplit(token, '.');
  if (parts.size() != 3) return absl::InvalidArgumentError("the token is not a compact JWS");
  ASSIGN_OR_RETURN(std::string payload, Base64UrlDecode(parts[1]));
  auto claims = nlohmann::json::parse(payload, nullptr, false);
  if (claims.is_discarded() || !claims.is_object()) return absl::InvalidArgumentError("the claims are not JSON");
  auto exp = claims.find("exp");
  if (exp == claims.end() || !exp->is_number()) return absl::InvalidArgumentError("no expiry claim");
  return exp->get<int64_t>();
}

}  // namespace

int JwtMint(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("jwt mint");
  ServerFlags server;
  std::string spiffe_id, write_file;
  std::vector<std::string> audience;
  absl::Duration ttl = absl::ZeroDuration();
  server.Register(fs);
  fs.String("spiffeID", &spiffe_id, "SPIFFE ID of the JWT-SVID");
  fs.Duration("ttl", &ttl, "TTL of the JWT-SVID");
  fs.StringList("audience", &audience, "Audience claim that will be included in the SVID. Can be used more than once.");
  fs.String("write", &write_file, "File to write token to instead of stdout");
  if (!server.Parse(fs, args, io)) return 1;
  if (spiffe_id.empty()) return Fail(io, "spiffeID must be specified");
  if (audience.empty()) return Fail(io, "at least one audience must be specified");
  auto id = ParseId(spiffe_id);
  if (!id.ok()) return Fail(io, id.status().message());
  auto ttl_secs = TtlSeconds(ttl);
  if (!ttl_secs.ok()) return Fail(io, ttl_secs.status().message());
  svidv1::MintJWTSVIDRequest req;
  *req.mutable_id() = *id;
  req.set_ttl(*ttl_secs);
  for (const auto& a : audience) req.add_audience(a);
  svidv1::MintJWTSVIDResponse resp;
  grpc::ClientContext ctx;
  auto s = svidv1::SVID::NewStub(Dial(server.socket))->MintJWTSVID(&ctx, req, &resp);
  if (!s.ok()) return FailRpc(io, "unable to mint SVID", s);
  const std::string& token = resp.svid().token();
  if (token.empty()) return Fail(io, "server response missing token");
  if (auto exp = JwtExpiry(token); exp.ok()) {
    WarnIfCapped("JWT-SVID", *exp, ttl, io);
  } else {
    io.err << "Unable to determine JWT-SVID lifetime: " << exp.status().message() << "\n";
  }
  if (write_file.empty()) {
    io.out << (server.json() ? SpireJson(resp) : token + "\n");
    return 0;
  }
  if (auto st = files::WriteFileAtomic(write_file, token, 0600); !st.ok()) {
    return Fail(io, absl::StrCat("unable to write token: ", st.message()));
  }
  io.out << "JWT-SVID written to " << write_file << "\n";
  return 0;
}

}  // namespace spirecvm::cli
