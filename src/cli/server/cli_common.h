// Shared plumbing for spire-server's CLI verbs: Go-style flags, the admin API client over the Unix
// socket, and text/JSON output.
#pragma once

#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "admin.grpc.pb.h"
#include "common/flags.h"
#include "google/protobuf/message.h"

namespace spirecvm::cli {

inline constexpr char kDefaultServerSocket[] = "/tmp/spire-server/private/api.sock";

struct Io {
  std::ostream& out;
  std::ostream& err;
};

using CommandFn = std::function<int(const std::vector<std::string>& args, Io io)>;

// Parses flags; on error prints the message and the usage to err. Returns false when the caller should exit 1.
bool ParseFlags(flags::FlagSet& fs, const std::vector<std::string>& args, Io io,
                std::vector<std::string>* rest = nullptr);

std::unique_ptr<admin::v1::Admin::Stub> AdminClient(const std::string& socket_path);
// Prints "Error: <message>" for a failed call and returns 1.
int CallFailed(const grpc::Status& s, Io io);
std::string ToJson(const google::protobuf::Message& m);
bool ValidOutputFormat(const std::string& f, Io io);
std::string FormatUnix(int64_t t);
// The one parser of -selector values ("type:value"; the value may contain ':'). Both halves must be non-empty:
// an empty type or value can match no registration entry. InvalidArgument names the selector otherwise.
absl::StatusOr<types::Selector> ParseSelector(const std::string& s);

// `entry count` / `agent count`: one admin call, "N thing(s)" or JSON.
template <typename Request>
int CountCommand(const char* name, const std::vector<std::string>& args, Io io,
                 grpc::Status (admin::v1::Admin::Stub::*call)(grpc::ClientContext*, const Request&,
                                                              admin::v1::CountResponse*),
                 const char* singular, const char* plural) {
  flags::FlagSet fs(name);
  std::string socket = kDefaultServerSocket, output = "pretty";
  fs.String("socketPath", &socket, "Path to the SPIRE Server API socket");
  fs.String("output", &output, "Desired output format (pretty, json)");
  if (!ParseFlags(fs, args, io) || !ValidOutputFormat(output, io)) return 1;
  admin::v1::CountResponse resp;
  grpc::ClientContext ctx;
  auto stub = AdminClient(socket);
  auto s = ((*stub).*call)(&ctx, Request(), &resp);
  if (!s.ok()) return CallFailed(s, io);
  if (output == "json") {
    io.out << ToJson(resp);
  } else {
    io.out << resp.count() << " " << (resp.count() == 1 ? singular : plural) << "\n";
  }
  return 0;
}

// Verb tables (one file per verb).
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
int BundleShow(const std::vector<std::string>& args, Io io);
int Healthcheck(const std::vector<std::string>& args, Io io);
int Validate(const std::vector<std::string>& args, Io io);
int Run(const std::vector<std::string>& args, Io io);
int X509Mint(const std::vector<std::string>& args, Io io);
int JwtMint(const std::vector<std::string>& args, Io io);
int SevVerify(const std::vector<std::string>& args, Io io);

}  // namespace spirecvm::cli
