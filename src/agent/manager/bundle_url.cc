#include "agent/manager/bundle_url.h"

#include <curl/curl.h>

#include <memory>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace spirecvm::agent {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};

struct Sink {
  std::string body;
  bool overflow = false;
};

size_t Write(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* sink = static_cast<Sink*>(userdata);
  const size_t n = size * nmemb;
  if (sink->body.size() + n > kMaxBundleBytes) {
    sink->overflow = true;
    return 0;  // aborts the transfer
  }
  sink->body.append(data, n);
  return n;
}

}  // namespace

absl::Status CheckBundleUrl(const std::string& url, const std::string& unix_socket) {
  if (absl::StartsWith(url, "https://") && url.size() > 8) return absl::OkStatus();
  if (!unix_socket.empty() && absl::StartsWith(url, "http://") && url.size() > 7) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("trust bundle URL \"", url, "\" must start with https://",
                   unix_socket.empty() ? "" : " or http:// (with trust_bundle_unix_socket)"));
}

absl::StatusOr<std::string> FetchBundleUrl(const std::string& url, const std::string& unix_socket,
                                           absl::Duration timeout) {
  if (absl::Status st = CheckBundleUrl(url, unix_socket); !st.ok()) return st;
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return absl::InternalError("curl_easy_init failed");
  Sink sink;
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout)));
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  if (!unix_socket.empty()) curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, unix_socket.c_str());
  const CURLcode rc = curl_easy_perform(c);
  if (sink.overflow) {
    return absl::InvalidArgumentError(
        absl::StrCat("trust bundle URL \"", url, "\": answer larger than ", kMaxBundleBytes, " bytes"));
  }
  if (rc != CURLE_OK) {
    return absl::UnavailableError(
        absl::StrCat("trust bundle URL \"", url, "\" could not be fetched: ", curl_easy_strerror(rc)));
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    return absl::UnavailableError(absl::StrCat("trust bundle URL \"", url, "\" answered HTTP ", status));
  }
  return std::move(sink.body);
}

}  // namespace spirecvm::agent
