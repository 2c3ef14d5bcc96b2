#include "cli/server/cli_common.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

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

std::unique_ptr<admin::v1::Admin::Stub> AdminClient(const std::string& socket_path) {
  auto ch = grpc::CreateChannel("unix:" + socket_path, grpc::InsecureChannelCredentials());
  return admin::v1::Admin::NewStub(ch);
}

int CallFailed(const grpc::Status& s, Io io) {
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    io.err << "Error: cannot reach the server's admin API: " << s.error_message() << "\n";
  } else {
    io.err << "Error: " << s.error_message() << "\n";
  }
  return 1;
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  o.always_print_primitive_fields = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

bool ValidOutputFormat(const std::string& f, Io io) {
  if (f == "pretty" || f == "json") return true;
  io.err << "invalid -output value \"" << f << "\": want pretty or json\n";
  return false;
}

std::string FormatUnix(int64_t t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t), absl::UTCTimeZone());
}

absl::StatusOr<types::Selector> ParseSelector(const std::string& s) {
  auto pos = s.find(':');
  if (pos == std::string::npos || pos == 0 || pos + 1 == s.size()) {
    return absl::InvalidArgumentError(absl::StrCat("selector \"", s, "\" must be formatted as type:value"));
  }
  types::Selector out;
  out.set_type(s.substr(0, pos));
  out.set_value(s.substr(pos + 1));
  return out;
}

}  // namespace spirecvm::cli
