// spire-server bundle show
#include "spiffe/bundle.h"

#include "cli/server/cli_common.h"
#include "crypto/x509.h"

namespace spirecvm::cli {

int BundleShow(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("bundle show");
  std::string socket = kDefaultServerSocket, format = "pem", output = "pretty";
  fs.String("socketPath", &socket, "Path to the SPIRE Server API socket");
  fs.String(
      "format", &format,
      "The format to show the bundle (only pretty output format supports this flag). Either \"pem\" or \"spiffe\"");
  fs.String("output", &output, "Desired output format (pretty, json)");
  if (!ParseFlags(fs, args, io) || !ValidOutputFormat(output, io)) return 1;
  if (format != "pem" && format != "spiffe") {
    io.err << "Error: invalid format \"" << format << "\": want pem or spiffe\n";
    return 1;
  }
  types::Bundle resp;
  grpc::ClientContext ctx;
  auto s = AdminClient(socket)->GetBundle(&ctx, admin::v1::GetBundleRequest(), &resp);
  if (!s.ok()) return CallFailed(s, io);
  if (output == "json") {
    io.out << ToJson(resp);
    return 0;
  }
  auto td = spiffe::TrustDomain::Parse(resp.trust_domain());
  if (!td.ok()) {
    io.err << "Error: server returned an invalid trust domain\n";
    return 1;
  }
  spiffe::Bundle b{.trust_domain = *td};
  for (auto& c : resp.x509_authorities()) b.x509_authorities_der.push_back(c);
  for (auto& k : resp.jwt_authorities()) {
    b.jwt_authorities.push_back({k.key_id(), k.public_key(), absl::FromUnixSeconds(k.expires_at())});
  }
  b.sequence_number = resp.sequence_number();
  b.refresh_hint_seconds = resp.refresh_hint();
  if (format == "pem") {
    io.out << spiffe::BundleToPem(b);
  } else {
    io.out << spiffe::BundleToJwks(b) << "\n";
  }
  return 0;
}

}  // namespace spirecvm::cli
