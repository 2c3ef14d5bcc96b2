// spire-server bundle show|list|count|set|delete: SPIRE's bundle.v1 GetBundle / ListFederatedBundles /
// GetFederatedBundle / CountBundles / BatchSetFederatedBundle / BatchDeleteFederatedBundle.
#include "spiffe/bundle.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "cli/server/cli_common.h"
#include "crypto/x509.h"
#include "spire/api/server/bundle/v1/bundle.grpc.pb.h"

namespace spirecvm::cli {
namespace {

namespace bundlev1 = ::spire::api::server::bundle::v1;
using OJson = nlohmann::ordered_json;

absl::StatusOr<std::string> ValidFormat(std::string format) {
  format = absl::AsciiStrToLower(format.empty() ? "pem" : format);
  if (format != "pem" && format != "spiffe") return absl::InvalidArgumentError("invalid format: \"" + format + "\"");
  return format;
}

// The SPIFFE bundle document as go-spiffe marshals it (key order of its structs), indented by 4 as SPIRE prints it.
absl::StatusOr<std::string> SpiffeDocument(const stypes::Bundle& b) {
  auto td = spiffe::TrustDomain::Parse(b.trust_domain());
  if (!td.ok()) return td.status();
  spiffe::Bundle sb{.trust_domain = *td};
  for (const auto& c : b.x509_authorities()) sb.x509_authorities_der.push_back(c.asn1());
  for (const auto& k : b.jwt_authorities())
    sb.jwt_authorities.push_back({.kid = k.key_id(), .public_key_der = k.public_key()});
  nlohmann::json doc = nlohmann::json::parse(spiffe::BundleToJwks(sb), nullptr, false);
  OJson keys = OJson::array();
  for (const auto& k : doc["keys"]) {
    OJson key;
    for (const char* f : {"use", "kty", "kid", "crv", "x", "y", "n", "e", "x5c"}) {
      if (k.contains(f)) key[f] = k[f];
    }
    keys.push_back(std::move(key));
  }
  OJson out = {{"keys", std::move(keys)}};
  if (b.sequence_number() > 0) out["spiffe_sequence"] = b.sequence_number();
  if (b.refresh_hint() > 0) out["spiffe_refresh_hint"] = b.refresh_hint();
  return out.dump(4) + "\n";
}

// SPIRE's printBundleWithFormat: PEM certificates, or the SPIFFE document; -list puts a header before each.
absl::Status PrintBundle(const stypes::Bundle& b, const std::string& format, bool header, std::ostream& out) {
  if (header) {
    out << "****************************************\n* " << b.trust_domain()
        << "\n****************************************\n";
  }
  if (format == "spiffe") {
    auto doc = SpiffeDocument(b);
    if (!doc.ok()) return doc.status();
    out << *doc;
    return absl::OkStatus();
  }
  for (const auto& c : b.x509_authorities()) {
    auto certs = crypto::ParseCertsDerConcat(c.asn1());
    if (!certs.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("unable to parse certificates ASN.1 DER data: ", certs.status().message()));
    }
    for (const auto& cert : *certs) out << crypto::CertToPem(cert.get());
  }
  return absl::OkStatus();
}

int PrintOrFail(const stypes::Bundle& b, const std::string& format, bool header, Io io) {
  if (auto st = PrintBundle(b, format, header, io.out); !st.ok()) return Fail(io, st.message());
  return 0;
}

}  // namespace

int BundleShow(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("bundle show");
  ServerFlags server;
  std::string format = "pem";
  server.Register(fs);
  fs.String("format", &format,
            "The format to show the bundle (only pretty output format supports this flag). Either \"pem\" or "
            "\"spiffe\".");
  if (!server.Parse(fs, args, io)) return 1;
  stypes::Bundle resp;
  grpc::ClientContext ctx;
  auto s = bundlev1::Bundle::NewStub(Dial(server.socket))->GetBundle(&ctx, bundlev1::GetBundleRequest(), &resp);
  if (!s.ok()) return FailRpc(io, "", s);
  if (server.json()) {
    io.out << SpireJson(resp);
    return 0;
  }
  auto f = ValidFormat(format);
  if (!f.ok()) return Fail(io, f.status().message());
  return PrintOrFail(resp, *f, false, io);
}

int BundleList(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("bundle list");
  ServerFlags server;
  std::string id, format = "pem";
  server.Register(fs);
  fs.String("id", &id, "SPIFFE ID of the trust domain");
  fs.String("format", &format,
            "The format to list federated bundles (only pretty output format supports this flag). Either \"pem\" or "
            "\"spiffe\".");
  if (!server.Parse(fs, args, io)) return 1;
  auto stub = bundlev1::Bundle::NewStub(Dial(server.socket));
  if (!id.empty()) {
    bundlev1::GetFederatedBundleRequest req;
    req.set_trust_domain(id);
    stypes::Bundle b;
    grpc::ClientContext ctx;
    if (auto s = stub->GetFederatedBundle(&ctx, req, &b); !s.ok()) return FailRpc(io, "", s);
    if (server.json()) return (io.out << SpireJson(b), 0);
    auto f = ValidFormat(format);
    return f.ok() ? PrintOrFail(b, *f, false, io) : Fail(io, f.status().message());
  }
  bundlev1::ListFederatedBundlesResponse resp;
  grpc::ClientContext ctx;
  if (auto s = stub->ListFederatedBundles(&ctx, bundlev1::ListFederatedBundlesRequest(), &resp); !s.ok()) {
    return FailRpc(io, "", s);
  }
  if (server.json()) return (io.out << SpireJson(resp), 0);
  auto f = ValidFormat(format);
  if (!f.ok()) return Fail(io, f.status().message());
  for (int i = 0; i < resp.bundles_size(); ++i) {
    if (i != 0) io.out << "\n";
    if (int rc = PrintOrFail(resp.bundles(i), *f, true, io); rc != 0) return rc;
  }
  return 0;
}

int BundleCount(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("bundle count");
  ServerFlags server;
  server.Register(fs);
  if (!server.Parse(fs, args, io)) return 1;
  bundlev1::CountBundlesResponse resp;
  grpc::ClientContext ctx;
  auto s = bundlev1::Bundle::NewStub(Dial(server.socket))->CountBundles(&ctx, bundlev1::CountBundlesRequest(), &resp);
  if (!s.ok()) return FailRpc(io, "", s);
  if (server.json()) return (io.out << SpireJson(resp), 0);
  io.out << resp.count() << (resp.count() == 1 ? " bundle" : " bundles") << "\n";
  return 0;
}

// SPIRE's util.ParseBundle: PEM certificates (the trust domain as given), or a SPIFFE bundle document.
absl::StatusOr<stypes::Bundle> ParseBundleData(const std::string& data, const std::string& format,
                                               const std::string& id) {
  stypes::Bundle b;
  if (format == "pem") {
    auto certs = crypto::ParseCertsPem(data);
    if (!certs.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("unable to parse bundle data: ", certs.status().message()));
    }
    b.set_trust_domain(id);
    for (const auto& c : *certs) b.add_x509_authorities()->set_asn1(crypto::CertToDer(c.get()));
    return b;
  }
  auto td = spiffe::TrustDomain::Parse(id.rfind("spiffe://", 0) == 0 ? id.substr(9) : id);
  if (!td.ok()) return td.status();
  auto sb = spiffe::BundleFromJwks(*td, data);
  if (!sb.ok())
    return absl::InvalidArgumentError(absl::StrCat("unable to parse to spiffe bundle: ", sb.status().message()));
  b.set_trust_domain(td->name());
  for (const auto& der : sb->x509_authorities_der) b.add_x509_authorities()->set_asn1(der);
  for (const auto& k : sb->jwt_authorities) {
    auto* key = b.add_jwt_authorities();
    key->set_key_id(k.kid);
    key->set_public_key(k.public_key_der);
  }
  b.set_refresh_hint(sb->refresh_hint_seconds);
  b.set_sequence_number(sb->sequence_number);
  return b;
}

int BundleSet(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("bundle set");
  ServerFlags server;
  std::string id, path, format = "pem";
  server.Register(fs);
  fs.String("id", &id, "SPIFFE ID of the trust domain");
  fs.String("path", &path, "Path to the bundle data");
  fs.String("format", &format, "The format of the bundle data. Either \"pem\" or \"spiffe\".");
  if (!server.Parse(fs, args, io)) return 1;
  if (id.empty()) return Fail(io, "id flag is required");
  auto f = ValidFormat(format);
  if (!f.ok()) return Fail(io, f.status().message());
  auto data = ReadInput(path.empty() ? "-" : path);
  if (!data.ok()) return Fail(io, absl::StrCat("unable to load bundle data: ", data.status().message()));
  auto bundle = ParseBundleData(*data, *f, id);
  if (!bundle.ok()) return Fail(io, bundle.status().message());
  bundlev1::BatchSetFederatedBundleRequest req;
  *req.add_bundle() = *std::move(bundle);
  bundlev1::BatchSetFederatedBundleResponse resp;
  grpc::ClientContext ctx;
  auto s = bundlev1::Bundle::NewStub(Dial(server.socket))->BatchSetFederatedBundle(&ctx, req, &resp);
  if (!s.ok()) return FailRpc(io, "failed to set federated bundle", s);
  if (server.json()) return (io.out << SpireJson(resp), 0);
  if (resp.results_size() == 0) return Fail(io, "failed to set federated bundle: the server returned no result");
  const auto& st = resp.results(0).status();
  if (st.code() != 0) return Fail(io, absl::StrCat("failed to set federated bundle: ", st.message()));
  io.out << "bundle set.\n";
  return 0;
}

int BundleDelete(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("bundle delete");
  ServerFlags server;
  std::string id, mode = "restrict";
  server.Register(fs);
  fs.String("id", &id, "SPIFFE ID of the trust domain");
  fs.String("mode", &mode, "Deletion mode: one of restrict, delete, or dissociate");
  if (!server.Parse(fs, args, io)) return 1;
  if (id.empty()) return Fail(io, "id is required");
  bundlev1::BatchDeleteFederatedBundleRequest req;
  if (mode == "" || mode == "restrict") {
    req.set_mode(bundlev1::BatchDeleteFederatedBundleRequest::RESTRICT);
  } else if (mode == "dissociate") {
    req.set_mode(bundlev1::BatchDeleteFederatedBundleRequest::DISSOCIATE);
  } else if (mode == "delete") {
    req.set_mode(bundlev1::BatchDeleteFederatedBundleRequest::DELETE);
  } else {
    return Fail(io, absl::StrCat("unsupported mode \"", mode, "\""));
  }
  req.add_trust_domains(id);
  bundlev1::BatchDeleteFederatedBundleResponse resp;
  grpc::ClientContext ctx;
  auto s = bundlev1::Bundle::NewStub(Dial(server.socket))->BatchDeleteFederatedBundle(&ctx, req, &resp);
  if (!s.ok()) return FailRpc(io, "failed to delete federated bundle", s);
  if (server.json()) return (io.out << SpireJson(resp), 0);
  if (resp.results_size() == 0) return Fail(io, "failed to delete federated bundle: the server returned no result");
  const auto& r = resp.results(0);
  if (r.status().code() != 0) {
    return Fail(io,
                absl::StrCat("failed to delete federated bundle \"", r.trust_domain(), "\": ", r.status().message()));
  }
  io.out << "bundle deleted.\n";
  return 0;
}

}  // namespace spirecvm::cli
