#include "imds_emulator/imds_emulator.h"

#include <httplib.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/random.h"

namespace spirecvm::imds_emulator {
namespace {

constexpr char kTokenHeader[] = "X-aws-ec2-metadata-token";
constexpr char kTtlHeader[] = "X-aws-ec2-metadata-token-ttl-seconds";

std::string Hex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

}  // namespace

ImdsEmulator::ImdsEmulator(Options options)
    : options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {
  if (options_.clock == nullptr) options_.clock = &RealClock::Get();
}

ImdsEmulator::~ImdsEmulator() { Stop(); }

absl::StatusOr<std::unique_ptr<ImdsEmulator>> ImdsEmulator::Start(Options options) {
  std::unique_ptr<ImdsEmulator> e(new ImdsEmulator(std::move(options)));
  e->InstallRoutes();
  const std::string& host = e->options_.host;
  if (e->options_.port == 0) {
    e->port_ = e->server_->bind_to_any_port(host);
  } else {
    e->port_ = e->server_->bind_to_port(host, e->options_.port) ? e->options_.port : -1;
  }
  if (e->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("imds-emulator: cannot listen on ", host, ":", e->options_.port));
  }
  httplib::Server* srv = e->server_.get();
  e->thread_ = std::thread([srv] { srv->listen_after_bind(); });
  // stop() is a no-op until the accept loop runs: wait for it so Stop() can never hang.
  for (int i = 0; i < 5000 && !srv->is_running(); ++i) absl::SleepFor(absl::Milliseconds(1));
  if (!srv->is_running()) {
    return absl::UnavailableError("imds-emulator: the server thread did not start");
  }
  return e;
}

void ImdsEmulator::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

std::string ImdsEmulator::endpoint() const { return absl::StrCat("http://", options_.host, ":", port_); }

int ImdsEmulator::tokens_issued() const {
  std::lock_guard<std::mutex> l(mu_);
  return tokens_issued_;
}

int ImdsEmulator::unauthorized_requests() const {
  std::lock_guard<std::mutex> l(mu_);
  return unauthorized_;
}

bool ImdsEmulator::TokenValid(const std::string& token) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = tokens_.find(token);
  bool ok = it != tokens_.end() && options_.clock->Now() < it->second;
  if (!ok) ++unauthorized_;
  return ok;
}

void ImdsEmulator::InstallRoutes() {
  httplib::Server& s = *server_;
  // A handler with a content reader: httplib then does not insist on a Content-Length, which
  // `curl -X PUT` (as in AWS's documentation) does not send. The body is never read.
  s.Put("/latest/api/token",
        [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader&) {
          if (options_.imdsv1_only) {
            res.status = 405;
            res.set_content("Method Not Allowed", "text/plain");
            return;
          }
          if (req.has_header("X-Forwarded-For")) {
            res.status = 403;
            return;
          }
          int ttl = 0;
          if (!absl::SimpleAtoi(req.get_header_value(kTtlHeader), &ttl) || ttl < 1 || ttl > 21600) {
            res.status = 400;
            res.set_content("Bad Request: X-aws-ec2-metadata-token-ttl-seconds must be 1..21600", "text/plain");
            return;
          }
          std::string token = Hex(SystemRandom::Get().Bytes(24));
          {
            std::lock_guard<std::mutex> l(mu_);
            tokens_[token] = options_.clock->Now() + absl::Seconds(ttl);
            ++tokens_issued_;
          }
          res.set_header(kTtlHeader, std::to_string(ttl));
          res.set_content(token, "text/plain");
        });

  auto serve = [this](const std::string& body) {
    return [this, body](const httplib::Request& req, httplib::Response& res) {
      if (!options_.imdsv1_only && !TokenValid(req.get_header_value(kTokenHeader))) {
        res.status = 401;
        res.set_content("Unauthorized", "text/plain");
        return;
      }
      if (body.empty()) {
        res.status = 404;
        res.set_content("Not Found", "text/plain");
        return;
      }
      res.set_content(body, "text/plain");
    };
  };
  const Content& c = options_.content;
  s.Get("/latest/dynamic/instance-identity/document", serve(c.document));
  s.Get("/latest/dynamic/instance-identity/rsa2048", serve(c.rsa2048));
  s.Get("/latest/dynamic/instance-identity/signature", serve(c.signature));
  s.Get("/latest/dynamic/instance-identity/pkcs7", serve(c.pkcs7));
  std::string listing = "document\n";
  if (!c.rsa2048.empty()) listing += "rsa2048\n";
  if (!c.signature.empty()) listing += "signature\n";
  if (!c.pkcs7.empty()) listing += "pkcs7\n";
  listing.pop_back();
  s.Get("/latest/dynamic/instance-identity/", serve(listing));
  // instance-id, for scripts: pulled out of the document without a JSON dependency.
  std::string instance_id;
  if (size_t k = c.document.find("\"instanceId\""); k != std::string::npos) {
    size_t q1 = c.document.find('"', c.document.find(':', k) + 1);
    size_t q2 = q1 == std::string::npos ? q1 : c.document.find('"', q1 + 1);
    if (q2 != std::string::npos) instance_id = c.document.substr(q1 + 1, q2 - q1 - 1);
  }
  s.Get("/latest/meta-data/instance-id", serve(instance_id));
}

}  // namespace spirecvm::imds_emulator
