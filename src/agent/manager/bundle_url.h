// trust_bundle_url / -trustBundleUrl: the agent's bootstrap bundle downloaded at start, as SPIRE does. The URL must
// be https:// (verified against the system trust store), unless trust_bundle_unix_socket names a Unix socket to
// send the request to: then it must be http:// (the socket's file permissions are the trust; TLS over the socket is
// not supported). The body is parsed as trust_bundle_format says (pem or spiffe). common/http_client.h does the GET.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace spirecvm::agent {

inline constexpr size_t kMaxBundleBytes = 1 << 20;

// The scheme rule above, without fetching: InvalidArgument naming the URL and the reason.
absl::Status CheckBundleUrl(const std::string& url, const std::string& unix_socket);

// GET url (through unix_socket when non-empty). Unavailable on a transport failure or a non-200 answer; the
// message names the URL. A body over kMaxBundleBytes is refused.
absl::StatusOr<std::string> FetchBundleUrl(const std::string& url, const std::string& unix_socket,
                                           absl::Duration timeout = absl::Seconds(30));

}  // namespace spirecvm::agent
