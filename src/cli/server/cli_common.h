// Shared plumbing for spire-server's CLI verbs: Go-style flags, the connection to the server's admin socket (SPIRE's
// published APIs, nothing else), and output as SPIRE's CLI prints it (pretty text, or `-output json`).
#pragma once

#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/flags.h"
#include "google/protobuf/message.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/status.h"
#include "nlohmann/json.hpp"
#include "spire/api/types/bundle.pb.h"
#include "spire/api/types/selector.pb.h"
#include "spire/api/types/spiffeid.pb.h"

namespace spirecvm::cli {

namespace stypes = ::spire::api::types;

inline constexpr char kDefaultServerSocket[] = "/tmp/spire-server/private/api.sock";

struct Io {
  std::ostream& out;
  std::ostream& err;
};

using CommandFn = std::function<int(const std::vector<std::string>& args, Io io)>;

// Parses flags; on error prints the message and the usage to err. Returns false when the caller should exit 1.
bool ParseFlags(flags::FlagSet& fs, const std::vector<std::string>& args, Io io,
                std::vector<std::string>* rest = nullptr);

// -socketPath and -output, which every verb that talks to the server has (SPIRE's Adapter and cliprinter).
struct ServerFlags {
  std::string socket = kDefaultServerSocket;
  std::string output = "pretty";
  void Register(flags::FlagSet& fs, bool with_output = true);
  // Parses the flags and checks -output ("pretty", "prettyprint" or "json", any case), as SPIRE's flag does.
  bool Parse(flags::FlagSet& fs, const std::vector<std::string>& args, Io io);
  bool json() const;
};

// One channel to the admin socket; the verbs make the stubs they need from it.
std::shared_ptr<grpc::Channel> Dial(const std::string& socket_path);

// Go's codes.Code names ("NotFound"), for results that carry a types.Status code.
std::string CodeName(int code);
// A failed call as Go's gRPC prints it: "rpc error: code = NotFound desc = entry not found".
std::string RpcError(const grpc::Status& s);
// "Error: <message>" on stderr, as SPIRE's CLI ends a failed verb; returns the exit code 1.
int Fail(Io io, absl::string_view message);
int FailRpc(Io io, absl::string_view what, const grpc::Status& s);  // "Error: <what>: rpc error: ..." (what may be "")

// What SPIRE's cliprinter prints for `-output json`: protojson with proto field names and unpopulated fields, nulls
// dropped, keys sorted, compact, Go's HTML-safe escaping, one line.
std::string SpireJson(const google::protobuf::Message& m);
// A Go struct marshalled by encoding/json (field order kept): one line.
std::string GoJson(const nlohmann::ordered_json& j);

// Go's time.Time String() of a Unix time in UTC: "2023-11-14 22:13:20 +0000 UTC".
std::string GoTimeUtc(int64_t unix_seconds);

// SPIRE's ParseSelector: "type:value", split at the first ':'. A missing ':' is an error naming the selector.
absl::StatusOr<stypes::Selector> ParseSelector(const std::string& s);
// A SPIFFE ID flag as SPIRE's CLI sends it: trust domain and path.
absl::StatusOr<stypes::SPIFFEID> ParseId(const std::string& s);
std::string IdString(const stypes::SPIFFEID& id);
// Go's %q of a string (quoted, with \\ and \" escaped), as SPIRE's messages print server messages.
std::string GoQuote(absl::string_view s);
// Reads a whole file, or stdin when path is "-", as SPIRE's -data / -file / -path flags do.
absl::StatusOr<std::string> ReadInput(const std::string& path);
// "exact" | "any" | "superset" | "subset" -> SelectorMatch / FederatesWithMatch behaviour (same numbers).
absl::StatusOr<int> ParseMatch(const std::string& s);

// SPIRE's util.ParseBundle: PEM certificates ("pem", the trust domain `id` as given) or a SPIFFE bundle document
// ("spiffe"); InvalidArgument with SPIRE's message.
absl::StatusOr<stypes::Bundle> ParseBundleData(const std::string& data, const std::string& format,
                                               const std::string& id);

// Verb tables (one file per verb group).
int RunCommand(const std::string& name, const std::vector<std::string>& args, Io io);
int TokenGenerate(const std::vector<std::string>& args, Io io);
int EntryCreate(const std::vector<std::string>& args, Io io);
int EntryUpdate(const std::vector<std::string>& args, Io io);
int EntryShow(const std::vector<std::string>& args, Io io);
int EntryDelete(const std::vector<std::string>& args, Io io);
int EntryCount(const std::vector<std::string>& args, Io io);
int AgentList(const std::vector<std::string>& args, Io io);
int AgentShow(const std::vector<std::string>& args, Io io);
int AgentCount(const std::vector<std::string>& args, Io io);
int AgentEvict(const std::vector<std::string>& args, Io io);
int AgentBan(const std::vector<std::string>& args, Io io);
int AgentPurge(const std::vector<std::string>& args, Io io);
int BundleShow(const std::vector<std::string>& args, Io io);
int BundleList(const std::vector<std::string>& args, Io io);
int BundleCount(const std::vector<std::string>& args, Io io);
int BundleSet(const std::vector<std::string>& args, Io io);
int BundleDelete(const std::vector<std::string>& args, Io io);
int FederationCreate(const std::vector<std::string>& args, Io io);
int FederationUpdate(const std::vector<std::string>& args, Io io);
int FederationDelete(const std::vector<std::string>& args, Io io);
int FederationList(const std::vector<std::string>& args, Io io);
int FederationShow(const std::vector<std::string>& args, Io io);
int FederationRefresh(const std::vector<std::string>& args, Io io);
int Healthcheck(const std::vector<std::string>& args, Io io);
int Validate(const std::vector<std::string>& args, Io io);
int Run(const std::vector<std::string>& args, Io io);
int X509Mint(const std::vector<std::string>& args, Io io);
int JwtMint(const std::vector<std::string>& args, Io io);
int LocalAuthorityX509Show(const std::vector<std::string>& args, Io io);
int LocalAuthorityX509Prepare(const std::vector<std::string>& args, Io io);
int LocalAuthorityX509Activate(const std::vector<std::string>& args, Io io);
int LocalAuthorityX509Taint(const std::vector<std::string>& args, Io io);
int LocalAuthorityX509Revoke(const std::vector<std::string>& args, Io io);
int LocalAuthorityJwtShow(const std::vector<std::string>& args, Io io);
int LocalAuthorityJwtPrepare(const std::vector<std::string>& args, Io io);
int LocalAuthorityJwtActivate(const std::vector<std::string>& args, Io io);
int LocalAuthorityJwtTaint(const std::vector<std::string>& args, Io io);
int LocalAuthorityJwtRevoke(const std::vector<std::string>& args, Io io);
int UpstreamAuthorityTaint(const std::vector<std::string>& args, Io io);
int UpstreamAuthorityRevoke(const std::vector<std::string>& args, Io io);
int LoggerGet(const std::vector<std::string>& args, Io io);
int LoggerSet(const std::vector<std::string>& args, Io io);
int LoggerReset(const std::vector<std::string>& args, Io io);
int SevVerify(const std::vector<std::string>& args, Io io);
int SevMeasure(const std::vector<std::string>& args, Io io);

}  // namespace spirecvm::cli
