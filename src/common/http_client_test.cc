#include "common/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "crypto/ssl_ptr.h"
#include "httplib.h"

namespace spirecvm::http {
namespace {

using ::testing::HasSubstr;

// A local server on its own thread: 127.0.0.1 on a free port, or a Unix socket.
class LocalServer {
 public:
  explicit LocalServer(std::unique_ptr<httplib::Server> server) : server_(std::move(server)) {}
  ~LocalServer() {
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  httplib::Server& server() { return *server_; }
  void ListenTcp() {
    port_ = server_->bind_to_any_port("127.0.0.1");
    Run();
  }
  void ListenUnix(const std::string& path) {
    server_->set_address_family(AF_UNIX);
    ASSERT_TRUE(server_->bind_to_port(path, 80));
    Run();
  }
  int port() const { return port_; }

 private:
  void Run() {
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

void Routes(httplib::Server& s) {
  s.Get("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.method + " " + req.get_header_value("X-Test") + " host=" + req.get_header_value("Host"),
                    "text/plain");
  });
  s.Put("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.method + " body=" + std::to_string(req.body.size()), "text/plain");
  });
  s.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content("nothing here", "text/plain");
  });
  s.Get("/redirect", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/echo"); });
  s.Get("/big",
        [](const httplib::Request&, httplib::Response& res) { res.set_content(std::string(4096, 'x'), "text/plain"); });
  s.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](size_t offset, httplib::DataSink& sink) {
      if (offset >= 20) {
        sink.done();
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      sink.write("x", 1);
      return true;
    });
  });
}

std::unique_ptr<LocalServer> StartTcp() {
  auto s = std::make_unique<LocalServer>(std::make_unique<httplib::Server>());
  Routes(s->server());
  s->ListenTcp();
  return s;
}

std::string Base(const LocalServer& s) { return "http://127.0.0.1:" + std::to_string(s.port()); }

TEST(HttpClientTest, GetSendsHeadersAndReturnsTheAnswer) {
  auto s = StartTcp();
  Request r;
  r.url = Base(*s) + "/echo";
  r.headers = {{"X-Test", "yes"}};
  auto a = Exchange(r);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->body, "GET yes host=127.0.0.1:" + std::to_string(s->port()));
}

TEST(HttpClientTest, PutSendsAnEmptyBody) {
  auto s = StartTcp();
  Request r;
  r.method = "PUT";
  r.url = Base(*s) + "/echo";
  auto a = Exchange(r);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->body, "PUT body=0");
}

TEST(HttpClientTest, AnyStatusIsAnAnswerAndRedirectsAreNotFollowed) {
  auto s = StartTcp();
  Request r;
  r.url = Base(*s) + "/missing";
  auto a = Exchange(r);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->status, 404);
  EXPECT_EQ(a->body, "nothing here");
  r.url = Base(*s) + "/redirect";
  a = Exchange(r);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->status, 302);
}

TEST(HttpClientTest, ABodyOverTheBoundIsRefused) {
  auto s = StartTcp();
  Request r;
  r.url = Base(*s) + "/big";
  r.max_body = 4096;
  ASSERT_TRUE(Exchange(r).ok());
  r.max_body = 4095;
  auto a = Exchange(r);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(a.status().message(), HasSubstr("answer larger than 4095 bytes"));
}

TEST(HttpClientTest, AnAnswerPastTheTimeoutIsRefused) {
  auto s = StartTcp();
  Request r;
  r.url = Base(*s) + "/slow";  // 20 bytes, one per 100 ms
  r.timeout = absl::Milliseconds(300);
  auto a = Exchange(r);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kDeadlineExceeded) << a.status();
  EXPECT_THAT(a.status().message(), HasSubstr("no complete answer within 300ms"));
}

TEST(HttpClientTest, UnixSocketCarriesTheUrlHostAsHost) {
  char dir[] = "/tmp/cvm-http-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  const std::string sock = std::string(dir) + "/s.sock";
  {
    auto s = std::make_unique<LocalServer>(std::make_unique<httplib::Server>());
    Routes(s->server());
    s->ListenUnix(sock);
    Request r;
    r.url = "http://bundle.example.org/echo";
    r.unix_socket = sock;
    auto a = Exchange(r);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->body, "GET  host=bundle.example.org");
    r.url = "https://bundle.example.org/echo";
    EXPECT_EQ(Exchange(r).status().code(), absl::StatusCode::kInvalidArgument);
  }
  ::unlink(sock.c_str());
  ::rmdir(dir);
}

TEST(HttpClientTest, NoProxyFromTheEnvironment) {
  auto s = StartTcp();
  ::setenv("http_proxy", "http://127.0.0.1:1", 1);
  ::setenv("HTTP_PROXY", "http://127.0.0.1:1", 1);
  Request r;
  r.url = Base(*s) + "/echo";
  auto a = Exchange(r);
  ::unsetenv("http_proxy");
  ::unsetenv("HTTP_PROXY");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->status, 200);
}

TEST(HttpClientTest, NobodyListeningIsUnavailable) {
  std::string url;
  {
    auto s = StartTcp();
    url = Base(*s) + "/echo";
  }
  Request r;
  r.url = url;
  auto a = Exchange(r);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(a.status().message(), HasSubstr("could not connect"));
}

// A TLS server whose certificate (self-signed, for "localhost") is in no system trust store.
TEST(HttpClientTest, HttpsRefusesACertificateOutsideTheSystemTrustStore) {
  ssl::EvpPkeyPtr key(EVP_EC_gen("P-256"));
  ASSERT_TRUE(key);
  ssl::X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key.get());
  ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
  LocalServer s(std::make_unique<httplib::SSLServer>(cert.get(), key.get()));
  Routes(s.server());
  s.ListenTcp();
  Request r;
  r.url = "https://localhost:" + std::to_string(s.port()) + "/echo";
  auto a = Exchange(r);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kUnavailable) << a.status();
  EXPECT_THAT(a.status().message(), HasSubstr("not trusted"));
}

TEST(HttpClientTest, LineBreaksInHeadersOrPathAreRefused) {
  auto s = StartTcp();
  Request r;
  r.url = Base(*s) + "/echo";
  r.headers = {{"X-aws-ec2-metadata-token", "t\r\nX-Injected: 1"}};
  auto a = Exchange(r);
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(a.status().message(), HasSubstr("HTTP header \"X-aws-ec2-metadata-token\" is malformed"));
  r.headers = {{"Bad:Name", "v"}};
  EXPECT_EQ(Exchange(r).status().code(), absl::StatusCode::kInvalidArgument);
  r.headers = {};
  r.url = Base(*s) + "/echo\r\nX: y";
  EXPECT_EQ(Exchange(r).status().code(), absl::StatusCode::kInvalidArgument);
  r.url = Base(*s) + "/echo";
  EXPECT_TRUE(Exchange(r).ok());
}

TEST(HttpClientTest, OnlyGetAndPut) {
  Request r;
  r.method = "DELETE";
  r.url = "http://127.0.0.1:1/";
  EXPECT_EQ(Exchange(r).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace spirecvm::http
