// TEST ONLY: an emulator of the EC2 instance metadata service (IMDSv2) for tests and the demo.
// It serves the instance identity document and its signatures behind the IMDSv2 token flow:
//
//   PUT /latest/api/token (X-aws-ec2-metadata-token-ttl-seconds: 1..21600) -> token
//       400 without/with a bad TTL header, 403 with X-Forwarded-For (as real IMDS does)
//   GET /latest/dynamic/instance-identity/{document,rsa2048,signature,pkcs7}
//       401 without a valid, unexpired X-aws-ec2-metadata-token; 404 for a blob not configured
//   GET /latest/meta-data/instance-id
//
// With imdsv1_only, the token PUT answers 405 (as an IMDS without token support) and GETs need
// no token: used to test the agent's error for IMDSv1-only hosts.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace httplib {
class Server;
}

namespace spirecvm::imds_emulator {

struct Content {
  std::string document;   // exact bytes to serve
  std::string rsa2048;    // base64, as IMDS serves it; empty -> 404
  std::string signature;  // base64; empty -> 404
  std::string pkcs7;      // base64; empty -> 404
};

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;  // 0: pick a free port
  bool imdsv1_only = false;
  Content content;
  const Clock* clock = nullptr;  // null: the real clock (token expiry)
};

class ImdsEmulator {
 public:
  // Binds and starts serving on a background thread.
  static absl::StatusOr<std::unique_ptr<ImdsEmulator>> Start(Options options);
  ~ImdsEmulator();
  ImdsEmulator(const ImdsEmulator&) = delete;
  ImdsEmulator& operator=(const ImdsEmulator&) = delete;

  int port() const { return port_; }
  std::string endpoint() const;  // http://host:port
  void Stop();

  // Counters for tests.
  int tokens_issued() const;
  int unauthorized_requests() const;

 private:
  explicit ImdsEmulator(Options options);
  void InstallRoutes();
  bool TokenValid(const std::string& token);

  Options options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::map<std::string, absl::Time> tokens_;  // token -> expiry
  int tokens_issued_ = 0;
  int unauthorized_ = 0;
};

}  // namespace spirecvm::imds_emulator
