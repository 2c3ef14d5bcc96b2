// One parser for every http(s) URL the binaries connect to: the agent's IMDS endpoint and bootstrap bundle URL
// (common/http_client.h), the server's federation bundle endpoints (server/federation/bundle_fetch.h, and their
// check when the server's configuration is read).
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace spirecvm::http {

// The URL split into what a connection needs.
struct Url {
  bool https = false;
  std::string host;  // without brackets
  int port = 0;      // the scheme's when the URL names none
  std::string path;  // "/" at least; the query kept, the fragment dropped (it is never sent)
};

// http:// or https://, then host[:port] (an IPv6 host in brackets), then the path. Refused, InvalidArgument naming
// the URL and the reason: another scheme, no host, a port outside 1-65535 or not a number, user info ("u:p@") or a
// space in the authority, an unclosed IPv6 bracket.
absl::StatusOr<Url> ParseUrl(const std::string& url);

// 443 for https, 80 for http.
int DefaultPort(bool https);

}  // namespace spirecvm::http
