#include "common/http_client.h"

#include <sys/socket.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "httplib.h"

namespace spirecvm::http {
namespace {

std::string Describe(httplib::Error e) {
  switch (e) {
    case httplib::Error::Connection:
      return "could not connect";
    case httplib::Error::ConnectionTimeout:
      return "connection timed out";
    case httplib::Error::Read:
      return "reading the answer failed or timed out";
    case httplib::Error::Write:
      return "sending the request failed or timed out";
    case httplib::Error::SSLConnection:
      return "TLS handshake failed";
    case httplib::Error::SSLLoadingCerts:
      return "the system trust store could not be loaded";
    case httplib::Error::SSLServerVerification:
      return "the server's certificate is not trusted for this host (system trust store)";
    default:
      return httplib::to_string(e);
  }
}

struct Receiver {
  Receiver(size_t max, absl::Time by) : max_body(max), deadline(by) {}
  size_t max_body;
  absl::Time deadline;
  std::string body;
  bool overflow = false;
  bool late = false;

  bool Take(const char* data, size_t n) {
    if (body.size() + n > max_body) {
      overflow = true;
      return false;
    }
    if (absl::Now() > deadline) {
      late = true;
      return false;
    }
    body.append(data, n);
    return true;
  }
};

// The URL's authority as RFC 9110 writes it (an IPv6 host in brackets, the port only when not the scheme's); also
// what goes through a Unix socket, where the connection itself names no host.
std::string HostHeader(const Url& u) {
  std::string host = u.host.find(':') != std::string::npos ? absl::StrCat("[", u.host, "]") : u.host;
  if (u.port != DefaultPort(u.https)) absl::StrAppend(&host, ":", u.port);
  return host;
}

// A CR, LF or NUL in the path or a header would end the line early and let the rest be read as another header or
// request (e.g. a token from IMDS carrying "\r\n").
absl::Status CheckNoLineBreaks(const Request& r, absl::string_view path) {
  const auto bad = [](absl::string_view v) { return v.find_first_of(absl::string_view("\r\n\0", 3)) != v.npos; };
  if (bad(path)) return absl::InvalidArgumentError("URL path has a CR, LF or NUL");
  for (const auto& [k, v] : r.headers) {
    if (bad(k) || bad(v) || k.empty() || k.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("HTTP header \"", absl::CHexEscape(k), "\" is malformed"));
    }
  }
  return absl::OkStatus();
}

std::unique_ptr<httplib::ClientImpl> Connect(const Request& r, const Url& u) {
  std::unique_ptr<httplib::ClientImpl> c;
  if (u.https) {
    c = std::make_unique<httplib::SSLClient>(u.host, u.port);
  } else if (!r.unix_socket.empty()) {
    c = std::make_unique<httplib::ClientImpl>(r.unix_socket, u.port);
    c->set_address_family(AF_UNIX);
  } else {
    c = std::make_unique<httplib::ClientImpl>(u.host, u.port);
  }
  const auto secs = [](absl::Duration d) { return absl::ToInt64Microseconds(d) / 1000000; };
  const auto usecs = [](absl::Duration d) { return absl::ToInt64Microseconds(d) % 1000000; };
  c->set_connection_timeout(secs(r.connect_timeout), usecs(r.connect_timeout));
  c->set_read_timeout(secs(r.timeout), usecs(r.timeout));
  c->set_write_timeout(secs(r.timeout), usecs(r.timeout));
  c->set_follow_location(false);
  c->set_keep_alive(false);
  c->enable_server_certificate_verification(true);
  return c;
}

}  // namespace

absl::StatusOr<Response> Exchange(const Request& request) {
  absl::StatusOr<Url> u = ParseUrl(request.url);
  if (!u.ok()) return u.status();
  if (request.method != "GET" && request.method != "PUT") {
    return absl::InvalidArgumentError(absl::StrCat("HTTP method \"", request.method, "\" is not GET or PUT"));
  }
  if (absl::Status st = CheckNoLineBreaks(request, u->path); !st.ok()) return st;
  if (u->https && !request.unix_socket.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "URL \"", request.url, "\" is https:// but a Unix socket was given (only http:// goes through a Unix socket)"));
  }
  std::unique_ptr<httplib::ClientImpl> client = Connect(request, *u);
  Receiver rx(request.max_body, absl::Now() + request.timeout);
  httplib::Request req;
  req.method = request.method;
  req.path = u->path;
  for (const auto& [k, v] : request.headers) req.headers.emplace(k, v);
  req.headers.emplace("Host", HostHeader(*u));
  req.content_receiver = [&rx](const char* data, size_t n, uint64_t, uint64_t) { return rx.Take(data, n); };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool ok = client->send(req, res, err);
  if (rx.overflow) return absl::OutOfRangeError(absl::StrCat("answer larger than ", request.max_body, " bytes"));
  if (rx.late || (ok && absl::Now() > rx.deadline)) {
    return absl::DeadlineExceededError(
        absl::StrCat("no complete answer within ", absl::FormatDuration(request.timeout)));
  }
  if (!ok) return absl::UnavailableError(Describe(err));
  return Response{res.status, std::move(rx.body)};
}

}  // namespace spirecvm::http
