#include "agent/manager/bundle_url.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/http_client.h"

namespace spirecvm::agent {

absl::Status CheckBundleUrl(const std::string& url, const std::string& unix_socket) {
  if (unix_socket.empty()) {
    if (absl::StartsWith(url, "https://") && url.size() > 8) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat("trust bundle URL \"", url, "\" must start with https://"));
  }
  if (absl::StartsWith(url, "http://") && url.size() > 7) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("trust bundle URL \"", url,
                                                 "\" must start with http:// when trust_bundle_unix_socket is set "
                                                 "(the socket's file permissions are the trust; no TLS over it)"));
}

absl::StatusOr<std::string> FetchBundleUrl(const std::string& url, const std::string& unix_socket,
                                           absl::Duration timeout) {
  if (absl::Status st = CheckBundleUrl(url, unix_socket); !st.ok()) return st;
  http::Request req;
  req.url = url;
  req.unix_socket = unix_socket;
  req.timeout = timeout;
  req.max_body = kMaxBundleBytes;
  absl::StatusOr<http::Response> answer = http::Exchange(req);
  if (answer.status().code() == absl::StatusCode::kOutOfRange) {
    return absl::InvalidArgumentError(
        absl::StrCat("trust bundle URL \"", url, "\": answer larger than ", kMaxBundleBytes, " bytes"));
  }
  if (!answer.ok()) {
    return absl::UnavailableError(
        absl::StrCat("trust bundle URL \"", url, "\" could not be fetched: ", answer.status().message()));
  }
  if (answer->status != 200) {
    return absl::UnavailableError(absl::StrCat("trust bundle URL \"", url, "\" answered HTTP ", answer->status));
  }
  return std::move(answer->body);
}

}  // namespace spirecvm::agent
