// One HTTP/1.1 exchange for the agent's few outbound requests (the IMDS client, the bootstrap bundle URL), on
// cpp-httplib, which the binaries already link for their health listeners. The agent used libcurl for these two
// GETs; libcurl brings 28 more shared objects (GnuTLS, Kerberos, LDAP, SSH, RTMP, ...) into the agent's address
// space and about 4 MiB into its idle RSS (docs/benchmarks.md). The server's AWS API client keeps libcurl: it signs
// its requests with CURLOPT_AWS_SIGV4.
//
// Rules, the same for every caller: redirects are never followed; no proxy is ever used (not even from the
// environment); https:// verifies the peer's certificate chain against the system trust store and its name against
// the URL's host; the answer's body is bounded; the exchange is bounded in time.
//
// Thread safety: Exchange is reentrant; each call has its own connection.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/url.h"  // Url, ParseUrl: the URL a Request names

namespace spirecvm::http {

struct Request {
  std::string method = "GET";  // GET, or PUT with an empty body
  // http:// or https://, then host[:port], then the path (and query). IPv6 hosts in brackets.
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  // When set, the connection goes to this Unix socket; the URL's host only fills the Host header.
  std::string unix_socket;
  absl::Duration connect_timeout = absl::Seconds(10);
  // The answer's last byte must arrive within this of the call (checked as the body arrives); each socket read and
  // write also times out after it.
  absl::Duration timeout = absl::Seconds(30);
  size_t max_body = 1 << 20;
};

struct Response {
  int status = 0;
  std::string body;
};

// Any HTTP status is a Response (the caller decides). Errors, none naming the URL (callers say what it was for):
//   InvalidArgument   malformed URL or method;
//   OutOfRange        the body exceeds max_body ("answer larger than N bytes");
//   DeadlineExceeded  the exchange took longer than timeout;
//   Unavailable       connect, TLS or I/O failure, the message says which.
absl::StatusOr<Response> Exchange(const Request& request);

}  // namespace spirecvm::http
