// spire-agent healthcheck: asks the gRPC health service on the Workload API socket, which answers SERVING only
// once the agent holds an attested identity (agent/workload/endpoint.h SetServing).
#include <grpcpp/generic/generic_stub.h>

#include <condition_variable>
#include <mutex>

#include "cli_common.h"

namespace spirecvm::cli::agent {
namespace {

// grpc.health.v1.HealthCheckResponse{status = 1}: SERVING is 1. Encoded by hand to avoid generating health.proto.
bool IsServing(const grpc::ByteBuffer& buf) {
  std::vector<grpc::Slice> slices;
  if (!buf.Dump(&slices).ok()) return false;
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return bytes.size() == 2 && bytes[0] == 0x08 && bytes[1] == 0x01;
}

}  // namespace

int HealthcheckCommand(const std::vector<std::string>& args, Io io) {
  std::string socket_path = DefaultSocketPath();
  bool shallow = false, verbose = false;
  flags::FlagSet fs("healthcheck");
  fs.String("socketPath", &socket_path, "Path to the SPIRE Agent API socket");
  fs.Bool("shallow", &shallow, "Perform a less stringent health check");
  fs.Bool("verbose", &verbose, "Print verbose information");
  int code = 0;
  if (!ParseFlags(fs, args, io, &code)) return code;
  if (verbose) io.out << "Checking agent health...\n";
  auto channel = WorkloadChannel(socket_path);
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::ByteBuffer req;  // HealthCheckRequest{service=""}: zero bytes
  grpc::Slice empty("", 0);
  req = grpc::ByteBuffer(&empty, 1);
  grpc::ByteBuffer resp;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &req, &resp, [&](grpc::Status s) {
    std::lock_guard<std::mutex> l(mu);
    status = std::move(s);
    done = true;
    cv.notify_one();
  });
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return done; });
  }
  if (!status.ok()) {
    io.err << "Agent is unavailable.";
    if (verbose) io.err << " " << status.error_message();
    io.err << "\n";
    return 1;
  }
  if (!IsServing(resp)) {
    io.err << "Agent is unhealthy: not attested to the server yet.\n";
    return 1;
  }
  io.out << "Agent is healthy.\n";
  return 0;
}

}  // namespace spirecvm::cli::agent
