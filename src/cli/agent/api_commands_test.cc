// `api fetch x509`, `api fetch jwt`, `api validate jwt` against a fake Workload API: requests, output shapes
// (pretty and -output json) and errors.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "agent/testing/test_ca.h"
#include "cli_common.h"
#include "crypto/keys.h"
#include "workload.grpc.pb.h"

namespace spirecvm::cli::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class FakeWorkloadApi final : public SpiffeWorkloadAPI::Service {
 public:
  grpc::Status FetchX509SVID(grpc::ServerContext*, const X509SVIDRequest*,
                             grpc::ServerWriter<X509SVIDResponse>* w) override {
    if (!x509_.has_value()) return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "no identity issued");
    w->Write(*x509_);
    return grpc::Status::OK;
  }
  grpc::Status FetchJWTSVID(grpc::ServerContext*, const JWTSVIDRequest* req, JWTSVIDResponse* resp) override {
    std::lock_guard<std::mutex> l(mu_);
    last_jwt_request_ = *req;
    JWTSVID* s = resp->add_svids();
    s->set_spiffe_id("spiffe://example.org/w");
    s->set_svid("header.payload.sig");
    s->set_hint("internal");
    return grpc::Status::OK;
  }
  grpc::Status FetchJWTBundles(grpc::ServerContext*, const JWTBundlesRequest*,
                               grpc::ServerWriter<JWTBundlesResponse>* w) override {
    JWTBundlesResponse b;
    (*b.mutable_bundles())["spiffe://example.org"] = "{\"keys\":[]}";
    w->Write(b);
    return grpc::Status::OK;
  }
  grpc::Status ValidateJWTSVID(grpc::ServerContext*, const ValidateJWTSVIDRequest* req,
                               ValidateJWTSVIDResponse* resp) override {
    if (req->svid() != "good") return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "token has expired");
    resp->set_spiffe_id("spiffe://example.org/w");
    (*resp->mutable_claims()->mutable_fields())["aud"].set_string_value(req->audience());
    return grpc::Status::OK;
  }

  std::optional<X509SVIDResponse> x509_;
  std::mutex mu_;
  JWTSVIDRequest last_jwt_request_;
};

struct Result {
  int code;
  std::string out, err;
};

class ApiCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / absl::StrCat("agent-api-", getpid(), "-", n_++);
    std::filesystem::create_directories(dir_);
    socket_ = (dir_ / "api.sock").string();
    grpc::ServerBuilder b;
    b.AddListeningPort("unix:" + socket_, grpc::InsecureServerCredentials());
    b.RegisterService(&fake_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    server_->Shutdown();
    std::filesystem::remove_all(dir_);
  }

  Result Cli(std::vector<std::string> args) {
    args.insert(args.end(), {"-socketPath", socket_});
    std::ostringstream out, err;
    int code = Main(args, Io{out, err});
    return {code, out.str(), err.str()};
  }

  // An X509SVIDResponse with a real chain and key, so the pretty printer has dates to print.
  void ServeX509() {
    spirecvm::agent::testing::TestCa ca = spirecvm::agent::testing::TestCa::Make(absl::Now());
    auto key = crypto::GenerateKey(crypto::KeyType::kEcP256);
    ASSERT_TRUE(key.ok());
    X509SVIDResponse r;
    X509SVID* s = r.add_svids();
    s->set_spiffe_id("spiffe://example.org/w");
    s->set_x509_svid(ca.Sign("spiffe://example.org/w", key->get(), absl::Now(), absl::Now() + absl::Hours(1)));
    s->set_x509_svid_key(*crypto::PrivateKeyToPkcs8Der(key->get()));
    s->set_bundle(crypto::CertToDer(ca.cert.get()));
    fake_.x509_ = r;
  }

  static inline int n_ = 0;
  std::filesystem::path dir_;
  std::string socket_;
  FakeWorkloadApi fake_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(ApiCommandsTest, FetchJwtSplitsAudiencesAndPrintsTokensAndBundles) {
  Result r = Cli({"api", "fetch", "jwt", "-audience", "a,b", "-audience", "c", "-spiffeID", "spiffe://example.org/w"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "token(spiffe://example.org/w):\n\theader.payload.sig\n"
            "hint(spiffe://example.org/w):\n\tinternal\n"
            "bundle(spiffe://example.org):\n\t{\"keys\":[]}\n");
  std::lock_guard<std::mutex> l(fake_.mu_);
  EXPECT_THAT(fake_.last_jwt_request_.audience(), ElementsAre("a", "b", "c"));
  EXPECT_EQ(fake_.last_jwt_request_.spiffe_id(), "spiffe://example.org/w");
}

TEST_F(ApiCommandsTest, FetchJwtJsonIsTheTwoResponses) {
  Result r = Cli({"api", "fetch", "jwt", "-audience", "a", "-output", "json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("[{\"svids\":[{\"spiffe_id\":\"spiffe://example.org/w\""));
  EXPECT_THAT(r.out, HasSubstr("},{\"bundles\":{\"spiffe://example.org\":"));
}

TEST_F(ApiCommandsTest, FetchJwtNeedsAnAudience) {
  Result r = Cli({"api", "fetch", "jwt", "-audience", ","});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "audience must be specified\n");
}

TEST_F(ApiCommandsTest, ValidateJwtPrettyJsonAndRefusal) {
  Result ok = Cli({"api", "validate", "jwt", "-audience", "a", "-svid", "good"});
  ASSERT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(ok.out, "SVID is valid.\nSPIFFE ID : spiffe://example.org/w\nClaims    : {\"aud\":\"a\"}\n");

  Result json = Cli({"api", "validate", "jwt", "-audience", "a", "-svid", "good", "-output", "json"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_EQ(json.out, "{\"spiffe_id\":\"spiffe://example.org/w\",\"claims\":{\"aud\":\"a\"}}\n");

  Result bad = Cli({"api", "validate", "jwt", "-audience", "a", "-svid", "old"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err, "SVID is not valid: rpc error: code = InvalidArgument desc = token has expired\n");

  Result missing = Cli({"api", "validate", "jwt", "-audience", "a"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "svid must be specified\n");
}

TEST_F(ApiCommandsTest, FetchX509PrettyAndJson) {
  ServeX509();
  Result pretty = Cli({"api", "fetch", "x509"});
  ASSERT_EQ(pretty.code, 0) << pretty.err;
  EXPECT_THAT(pretty.out, StartsWith("Received 1 svid after "));
  EXPECT_THAT(pretty.out, HasSubstr("SPIFFE ID:\t\tspiffe://example.org/w\n"));
  EXPECT_THAT(pretty.out, HasSubstr("SVID Valid After:\t"));
  EXPECT_THAT(pretty.out, HasSubstr("CA #1 Valid Until:\t"));

  Result json = Cli({"api", "fetch", "-output", "json"});  // `api fetch` is `api fetch x509`
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_THAT(json.out, StartsWith("{\"svids\":[{\"spiffe_id\":\"spiffe://example.org/w\""));

  Result silent = Cli({"api", "fetch", "x509", "-silent", "-write", (dir_ / "out").string()});
  ASSERT_EQ(silent.code, 0) << silent.err;
  EXPECT_EQ(silent.out, "");
  EXPECT_TRUE(std::filesystem::exists(dir_ / "out/svid.0.pem"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "out/svid.0.key"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "out/bundle.0.pem"));
}

TEST_F(ApiCommandsTest, FetchX509ErrorsAndBadOutput) {
  Result denied = Cli({"api", "fetch", "x509"});
  EXPECT_EQ(denied.code, 1);
  EXPECT_EQ(denied.err, "rpc error: code = PermissionDenied desc = no identity issued\n");

  Result bad = Cli({"api", "fetch", "x509", "-output", "yaml"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_EQ(bad.err, "invalid output format \"yaml\"\n");
}

}  // namespace
}  // namespace spirecvm::cli::agent
