#include "common/url.h"

#include <charconv>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace spirecvm::http {
namespace {

absl::Status BadUrl(const std::string& url, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("URL \"", url, "\" ", why));
}

// host[:port] or [v6][:port]; the port defaults to the scheme's.
absl::Status SplitAuthority(const std::string& url, absl::string_view authority, Url& out) {
  absl::string_view port;
  if (absl::StartsWith(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) return BadUrl(url, "has an unclosed '[' in its host");
    out.host = std::string(authority.substr(1, close - 1));
    absl::string_view rest = authority.substr(close + 1);
    if (!rest.empty() && !absl::ConsumePrefix(&rest, ":")) return BadUrl(url, "has text after its IPv6 host");
    port = rest;
  } else {
    const size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) port = authority.substr(colon + 1);
  }
  if (out.host.empty()) return BadUrl(url, "has no host");
  out.port = DefaultPort(out.https);
  if (port.empty()) return absl::OkStatus();
  int p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
    return BadUrl(url, absl::StrCat("has an invalid port \"", port, "\""));
  }
  out.port = p;
  return absl::OkStatus();
}

}  // namespace

int DefaultPort(bool https) { return https ? 443 : 80; }

absl::StatusOr<Url> ParseUrl(const std::string& url) {
  Url u;
  absl::string_view rest = url;
  if (absl::ConsumePrefix(&rest, "https://")) {
    u.https = true;
  } else if (!absl::ConsumePrefix(&rest, "http://")) {
    return BadUrl(url, "must start with http:// or https://");
  }
  const size_t slash = rest.find_first_of("/?#");
  absl::string_view authority = rest.substr(0, slash);
  if (authority.find_first_of("@ ") != absl::string_view::npos) return BadUrl(url, "has user info or a space");
  if (absl::Status st = SplitAuthority(url, authority, u); !st.ok()) return st;
  absl::string_view path = slash == absl::string_view::npos ? "/" : rest.substr(slash);
  path = path.substr(0, path.find('#'));  // a fragment is never sent
  u.path = absl::StartsWith(path, "/") ? std::string(path) : absl::StrCat("/", path);
  return u;
}

}  // namespace spirecvm::http
