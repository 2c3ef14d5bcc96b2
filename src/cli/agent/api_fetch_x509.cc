// spire-agent api fetch x509: one X509SVIDResponse, printed (or as JSON) and optionally written to a directory.
#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api_print.h"
#include "cli_common.h"
#include "common/files.h"
#include "workload.grpc.pb.h"

namespace spirecvm::cli::agent {

int ApiFetchX509Command(const std::vector<std::string>& args, Io io) {
  std::string socket_path = DefaultSocketPath();
  std::string write_dir, output = "pretty";
  bool silent = false;
  absl::Duration timeout = absl::Seconds(5);
  flags::FlagSet fs("api fetch x509");
  fs.String("socketPath", &socket_path, "Path to the SPIFFE Workload API socket");
  fs.String("write", &write_dir,
            "Write SVID data to the specified path (optional; only available for pretty output format)");
  fs.Bool("silent", &silent, "Suppress stdout");
  fs.Duration("timeout", &timeout, "Time to wait for a response");
  fs.String("output", &output, "Desired output format (pretty, json)");
  int code = 0;
  if (!ParseFlags(fs, args, io, &code)) return code;
  if (output != "pretty" && output != "json") {
    io.err << "invalid output format \"" << output << "\"\n";
    return 1;
  }
  auto stub = SpiffeWorkloadAPI::NewStub(WorkloadChannel(socket_path));
  auto ctx = WorkloadContext(timeout);
  absl::Time start = absl::Now();
  auto reader = stub->FetchX509SVID(ctx.get(), X509SVIDRequest());
  X509SVIDResponse resp;
  bool got = reader->Read(&resp);
  absl::Duration took = absl::Now() - start;
  if (!got) {
    // The stream ended without a message: report the agent's status (cancelling first would hide it).
    io.err << RpcError(reader->Finish()) << "\n";
    return 1;
  }
  ctx->TryCancel();  // one response is all `fetch` wants
  (void)reader->Finish();
  if (output == "json") {
    std::string json;
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    (void)google::protobuf::util::MessageToJsonString(resp, &json, o);
    if (!silent) io.out << json << "\n";
  } else if (!silent) {
    PrintX509Response(io.out, resp, took);
  }
  if (!write_dir.empty()) {
    if (absl::Status s = WriteX509Response(resp, write_dir); !s.ok()) {
      io.err << s.message() << "\n";
      return 1;
    }
  }
  return 0;
}

}  // namespace spirecvm::cli::agent
