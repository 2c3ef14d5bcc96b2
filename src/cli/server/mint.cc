// spire-server x509 mint / jwt mint
#include "cli/server/cli_common.h"
#include "common/files.h"
#include "common/status.h"
#include "crypto/csr.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace spirecvm::cli {
namespace {

std::string DerChainToPem(const google::protobuf::RepeatedPtrField<std::string>& ders) {
  std::string out;
  for (auto& d : ders) {
    auto c = crypto::ParseCertDer(d);
    if (c.ok()) out += crypto::CertToPem(c->get());
  }
  return out;
}

// The private key the SVID is minted for and a CSR for it carrying `spiffe_id`.
absl::StatusOr<std::pair<ssl::EvpPkeyPtr, std::string>> NewKeyAndCsr(const std::string& spiffe_id) {
  ASSIGN_OR_RETURN(ssl::EvpPkeyPtr key, crypto::GenerateKey(crypto::KeyType::kEcP256));
  ASSIGN_OR_RETURN(std::string csr, crypto::CreateCsr(key.get(), spiffe_id));
  return std::make_pair(std::move(key), std::move(csr));
}

// -write: svid.pem, key.pem (0600) and bundle.pem in `dir`, created if needed.
absl::Status WriteX509Files(const std::string& dir, const std::string& svid_pem, const std::string& key_pem,
                            const std::string& bundle_pem, Io io) {
  RETURN_IF_ERROR(files::EnsureDir(dir, 0755));
  for (auto [name, data, mode] : {std::tuple{"svid.pem", &svid_pem, 0644}, std::tuple{"key.pem", &key_pem, 0600},
                                  std::tuple{"bundle.pem", &bundle_pem, 0644}}) {
    RETURN_IF_ERROR(files::WriteFileAtomic(dir + "/" + name, *data, static_cast<mode_t>(mode)));
  }
  io.out << "X509-SVID written to " << dir << "/svid.pem\n";
  io.out << "Private key written to " << dir << "/key.pem\n";
  io.out << "Root CAs written to " << dir << "/bundle.pem\n";
  return absl::OkStatus();
}

int PrintError(const absl::Status& s, Io io) {
  io.err << "Error: " << s.message() << "\n";
  return 1;
}

}  // namespace

int X509Mint(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("x509 mint");
  std::string socket = kDefaultServerSocket, spiffe_id, write_dir, output = "pretty";
  int64_t ttl = 0;
  std::vector<std::string> dns;
  fs.String("socketPath", &socket, "Path to the SPIRE Server API socket");
  fs.String("spiffeID", &spiffe_id, "SPIFFE ID of the X509-SVID");
  fs.Int("ttl", &ttl, "TTL of the X509-SVID in seconds (default: the server's default_x509_svid_ttl)");
  fs.StringList("dns", &dns, "DNS name that will be included in SVID. Can be used more than once");
  fs.String("write", &write_dir, "Directory to write output to instead of stdout");
  fs.String("output", &output, "Desired output format (pretty, json)");
  if (!ParseFlags(fs, args, io) || !ValidOutputFormat(output, io)) return 1;
  if (spiffe_id.empty()) {
    io.err << "Error: a SPIFFE ID is required (-spiffeID)\n" << fs.Usage();
    return 1;
  }
  if (ttl < 0 || ttl > INT32_MAX) {
    io.err << "Error: -ttl must be between 0 and 2147483647 seconds\n";
    return 1;
  }
  auto key_csr = NewKeyAndCsr(spiffe_id);
  if (!key_csr.ok()) return PrintError(key_csr.status(), io);
  auto& [key, csr] = *key_csr;
  auto client = AdminClient(socket);
  admin::v1::MintX509SVIDRequest req;
  req.set_csr(csr);
  req.set_ttl(static_cast<int32_t>(ttl));
  admin::v1::MintX509SVIDResponse resp;
  grpc::ClientContext ctx;
  if (auto s = client->MintX509SVID(&ctx, req, &resp); !s.ok()) return CallFailed(s, io);
  types::Bundle bundle;
  grpc::ClientContext ctx2;
  if (auto s = client->GetBundle(&ctx2, admin::v1::GetBundleRequest(), &bundle); !s.ok()) return CallFailed(s, io);
  auto key_pem = crypto::PrivateKeyToPem(key.get());
  if (!key_pem.ok()) return PrintError(key_pem.status(), io);
  const std::string svid_pem = DerChainToPem(resp.svid().cert_chain());
  const std::string bundle_pem = DerChainToPem(bundle.x509_authorities());
  if (!write_dir.empty()) {
    absl::Status st = WriteX509Files(write_dir, svid_pem, *key_pem, bundle_pem, io);
    return st.ok() ? 0 : PrintError(st, io);
  }
  if (output == "json") {
    io.out << ToJson(resp);
    return 0;
  }
  io.out << "X509-SVID:\n" << svid_pem << "\nPrivate key:\n" << *key_pem << "\nRoot CAs:\n" << bundle_pem;
  return 0;
}

int JwtMint(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("jwt mint");
  std::string socket = kDefaultServerSocket, spiffe_id, write_file, output = "pretty";
  std::vector<std::string> audience;
  int64_t ttl = 0;
  fs.String("socketPath", &socket, "Path to the SPIRE Server API socket");
  fs.String("spiffeID", &spiffe_id, "SPIFFE ID of the JWT-SVID");
  fs.StringList("audience", &audience, "Audience claim that will be included in the SVID. Can be used more than once");
  fs.Int("ttl", &ttl, "TTL of the JWT-SVID in seconds (default: the server's default_jwt_svid_ttl)");
  fs.String("write", &write_file, "File to write token to instead of stdout");
  fs.String("output", &output, "Desired output format (pretty, json)");
  if (!ParseFlags(fs, args, io) || !ValidOutputFormat(output, io)) return 1;
  if (spiffe_id.empty()) {
    io.err << "Error: a SPIFFE ID is required (-spiffeID)\n" << fs.Usage();
    return 1;
  }
  if (audience.empty()) {
    io.err << "Error: at least one audience is required (-audience)\n" << fs.Usage();
    return 1;
  }
  if (ttl < 0 || ttl > INT32_MAX) {
    io.err << "Error: -ttl must be between 0 and 2147483647 seconds\n";
    return 1;
  }
  admin::v1::MintJWTSVIDRequest req;
  req.set_spiffe_id(spiffe_id);
  for (auto& a : audience) req.add_audience(a);
  req.set_ttl(static_cast<int32_t>(ttl));
  admin::v1::MintJWTSVIDResponse resp;
  grpc::ClientContext ctx;
  auto s = AdminClient(socket)->MintJWTSVID(&ctx, req, &resp);
  if (!s.ok()) return CallFailed(s, io);
  if (!write_file.empty()) {
    if (auto st = files::WriteFileAtomic(write_file, resp.svid().token() + "\n", 0600); !st.ok()) {
      return PrintError(st, io);
    }
    io.out << "JWT-SVID written to " << write_file << "\n";
    return 0;
  }
  if (output == "json") {
    io.out << ToJson(resp);
  } else {
    io.out << resp.svid().token() << "\n";
  }
  return 0;
}

}  // namespace spirecvm::cli
