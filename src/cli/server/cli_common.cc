#include "cli/server/cli_common.h"

#include <array>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "common/files.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::cli {

bool ParseFlags(flags::FlagSet& fs, const std::vector<std::string>& args, Io io, std::vector<std::string>* rest) {
  auto r = fs.Parse(args);
  if (!r.ok()) {
    io.err << r.status().message() << "\n" << fs.Usage();
    return false;
  }
  if (rest != nullptr) {
    *rest = *r;
  } else if (!r->empty()) {
    io.err << "unexpected argument: " << (*r)[0] << "\n" << fs.Usage();
    return false;
  }
  return true;
}

void ServerFlags::Register(flags::FlagSet& fs, bool with_output) {
  fs.String("socketPath", &socket, "Path to the SPIRE Server API socket");
  if (with_output) fs.String("output", &output, "Desired output format (pretty, json)");
}

bool ServerFlags::Parse(flags::FlagSet& fs, const std::vector<std::string>& args, Io io) {
  if (!ParseFlags(fs, args, io)) return false;
  const std::string f = absl::AsciiStrToLower(output);
  if (f == "json" || f == "pretty" || f == "prettyprint") {
    output = f == "json" ? "json" : "pretty";
    return true;
  }
  io.err << "invalid value \"" << output << "\" for flag -output: bad formatter flag: unknown format option: \""
         << output << "\"\n"
         << fs.Usage();
  return false;
}

bool ServerFlags::json() const { return output == "json"; }

std::shared_ptr<grpc::Channel> Dial(const std::string& socket_path) {
  return grpc::CreateChannel("unix:" + socket_path, grpc::InsecureChannelCredentials());
}

std::string CodeName(int code) {
  static constexpr std::array<const char*, 17> kNames = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code >= 0 && static_cast<size_t>(code) < kNames.size()) return kNames[static_cast<size_t>(code)];
  return absl::StrCat("Code(", code, ")");
}

std::string RpcError(const grpc::Status& s) {
  return absl::StrCat("rpc error: code = ", CodeName(static_cast<int>(s.error_code())), " desc = ", s.error_message());
}

std::string GoQuote(absl::string_view s) {
  return absl::StrCat("\"", absl::StrReplaceAll(s, {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}}), "\"");
}

absl::StatusOr<std::string> ReadInput(const std::string& path) {
  if (path == "-") return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  return files::ReadFile(path);
}

int Fail(Io io, absl::string_view message) {
  io.err << "Error: " << message << "\n";
  return 1;
}

int FailRpc(Io io, absl::string_view what, const grpc::Status& s) {
  return Fail(io, what.empty() ? RpcError(s) : absl::StrCat(what, ": ", RpcError(s)));
}

namespace {

// protojson's EmitUnpopulated prints unset messages as null; SPIRE's printer then drops them.
void DropNulls(nlohmann::json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end();) {
      if (it->is_null()) {
        it = j.erase(it);
      } else {
        DropNulls(*it);
        ++it;
      }
    }
  } else if (j.is_array()) {
    nlohmann::json kept = nlohmann::json::array();
    for (auto& v : j) {
      if (v.is_null()) continue;
      DropNulls(v);
      kept.push_back(std::move(v));
    }
    j = std::move(kept);
  }
}

// Go's encoding/json escapes these even inside strings (they only ever occur inside strings in JSON text).
std::string GoEscape(std::string s) {
  return absl::StrReplaceAll(
      s,
      {{"<", "\\u003c"}, {">", "\\u003e"}, {"&", "\\u0026"}, {"\xE2\x80\xA8", "\\u2028"}, {"\xE2\x80\xA9", "\\u2029"}});
}

}  // namespace

std::string SpireJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  if (auto st = google::protobuf::util::MessageToJsonString(m, &out, o); !st.ok()) {
    return GoJson({{"error", std::string(st.message())}});
  }
  nlohmann::json j = nlohmann::json::parse(out, nullptr, /*allow_exceptions=*/false);
  DropNulls(j);
  return GoEscape(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) + "\n";
}

std::string GoJson(const nlohmann::ordered_json& j) {
  return GoEscape(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)) + "\n";
}

std::string GoTimeUtc(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S +0000 UTC", absl::FromUnixSeconds(unix_seconds), absl::UTCTimeZone());
}

absl::StatusOr<stypes::Selector> ParseSelector(const std::string& s) {
  auto pos = s.find(':');
  if (pos == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("selector \"", s, "\" must be formatted as type:value"));
  }
  stypes::Selector out;
  out.set_type(s.substr(0, pos));
  out.set_value(s.substr(pos + 1));
  return out;
}

absl::StatusOr<stypes::SPIFFEID> ParseId(const std::string& s) {
  auto id = spiffe::SpiffeId::Parse(s);
  if (!id.ok()) return id.status();
  stypes::SPIFFEID out;
  out.set_trust_domain(id->trust_domain().name());
  out.set_path(id->path());
  return out;
}

std::string IdString(const stypes::SPIFFEID& id) { return absl::StrCat("spiffe://", id.trust_domain(), id.path()); }

absl::StatusOr<int> ParseMatch(const std::string& s) {
  // MATCH_EXACT = 0, MATCH_SUBSET = 1, MATCH_SUPERSET = 2, MATCH_ANY = 3 in both SelectorMatch and
  // FederatesWithMatch.
  if (s == "exact") return 0;
  if (s == "subset") return 1;
  if (s == "superset") return 2;
  if (s == "any") return 3;
  return absl::InvalidArgumentError(absl::StrCat("match behavior \"", s, "\" unknown"));
}

}  // namespace spirecvm::cli
