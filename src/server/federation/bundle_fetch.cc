#include "server/federation/bundle_fetch.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/fd.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/url.h"
#include "crypto/ssl_ptr.h"
#include "crypto/x509.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::server::federation {
namespace {

constexpr size_t kMaxResponse = 4 * 1024 * 1024;  // a bundle is a few KiB; this bounds a hostile endpoint

using ssl::SslPtr;

std::string SslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out.empty() ? "TLS failure" : out;
}

// A connected socket (the caller owns it).
absl::StatusOr<int> Connect(const BundleUrl& u, absl::Duration timeout) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(u.host.c_str(), u.port.c_str(), &hints, &res); rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", u.host, ": ", gai_strerror(rc)));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> owned(res, freeaddrinfo);
  timeval tv = absl::ToTimeval(timeout);
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    Fd fd(socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (fd.get() < 0) continue;
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) return fd.release();
  }
  return absl::UnavailableError(absl::StrCat("cannot connect to ", u.host, ":", u.port));
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// https_web: the Web PKI and the URL's host name (or IP address), checked during the handshake.
absl::Status ConfigureWeb(SSL_CTX* ctx, SSL* s, const BundleUrl& u) {
  if (SSL_CTX_set_default_verify_paths(ctx) != 1) return absl::InternalError("cannot load the system roots");
  SSL_set_verify(s, SSL_VERIFY_PEER, nullptr);
  X509_VERIFY_PARAM* param = SSL_get0_param(s);
  if (IsIpLiteral(u.host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(param, u.host.c_str()) != 1) return absl::InternalError("bad IP address");
  } else if (X509_VERIFY_PARAM_set1_host(param, u.host.c_str(), 0) != 1) {
    return absl::InternalError("bad host name");
  }
  return absl::OkStatus();
}

// https_spiffe: the peer's chain verified to the roots we hold and its SPIFFE ID the configured one.
absl::Status CheckSpiffePeer(SSL* s, const FetchRequest& req) {
  STACK_OF(X509)* peer = SSL_get_peer_cert_chain(s);
  if (peer == nullptr || sk_X509_num(peer) == 0) return absl::PermissionDeniedError("endpoint sent no certificate");
  std::vector<const X509*> chain;
  for (int i = 0; i < sk_X509_num(peer); ++i) chain.push_back(sk_X509_value(peer, i));
  std::vector<ssl::X509Ptr> owned;
  std::vector<const X509*> roots;
  for (const auto& der : req.roots_der) {
    auto c = crypto::ParseCertDer(der);
    if (!c.ok()) continue;
    roots.push_back(c->get());
    owned.push_back(*std::move(c));
  }
  auto id = spiffe::VerifyX509Svid(chain, roots, req.now);
  if (!id.ok()) {
    return absl::PermissionDeniedError(absl::StrCat("endpoint certificate not trusted by the bundle of \"",
                                                    req.relationship.trust_domain.name(),
                                                    "\": ", id.status().message()));
  }
  if (id->ToString() != req.relationship.endpoint_spiffe_id) {
    return absl::PermissionDeniedError(absl::StrCat("endpoint presented SPIFFE ID \"", id->ToString(), "\", want \"",
                                                    req.relationship.endpoint_spiffe_id, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Exchange(SSL* s, const BundleUrl& u) {
  std::string get = absl::StrCat("GET ", u.path, " HTTP/1.1\r\nHost: ", u.host, "\r\nAccept: application/json\r\n",
                                 "User-Agent: spire-cvm\r\nConnection: close\r\n\r\n");
  if (SSL_write(s, get.data(), static_cast<int>(get.size())) != static_cast<int>(get.size())) {
    return absl::UnavailableError(absl::StrCat("cannot send the request: ", SslErrors()));
  }
  std::string raw;
  char buf[16384];
  for (;;) {
    int n = SSL_read(s, buf, sizeof buf);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
      if (raw.size() > kMaxResponse) return absl::ResourceExhaustedError("bundle endpoint answer too large");
      continue;
    }
    int err = SSL_get_error(s, n);
    if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)) break;
    return absl::UnavailableError(absl::StrCat("reading the answer: ", SslErrors()));
  }
  return raw;
}

absl::StatusOr<std::string> DecodeChunked(std::string_view body) {
  std::string out;
  for (;;) {
    size_t eol = body.find("\r\n");
    if (eol == std::string_view::npos) return absl::UnavailableError("truncated chunked answer");
    std::string_view size_line = body.substr(0, eol);
    if (size_t semi = size_line.find(';'); semi != std::string_view::npos) size_line = size_line.substr(0, semi);
    uint64_t size = 0;
    if (!absl::SimpleHexAtoi(absl::StripAsciiWhitespace(ToAbsl(size_line)), &size) || size > kMaxResponse) {
      return absl::UnavailableError("malformed chunk size in the answer");
    }
    body.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (body.size() < size + 2) return absl::UnavailableError("truncated chunked answer");
    out.append(body.substr(0, size));
    body.remove_prefix(size + 2);
  }
}

}  // namespace

absl::StatusOr<BundleUrl> ParseBundleUrl(std::string_view url) {
  ASSIGN_OR_RETURN(http::Url u, http::ParseUrl(std::string(url)));
  if (!u.https) {
    return absl::InvalidArgumentError(absl::StrCat("bundle endpoint URL \"", ToAbsl(url), "\" must use https"));
  }
  return BundleUrl{.host = std::move(u.host), .port = std::to_string(u.port), .path = std::move(u.path)};
}

absl::StatusOr<std::string> ParseHttpResponse(std::string_view raw) {
  size_t end = raw.find("\r\n\r\n");
  if (end == std::string_view::npos) return absl::UnavailableError("malformed HTTP answer (no header end)");
  std::vector<absl::string_view> lines = absl::StrSplit(ToAbsl(raw.substr(0, end)), "\r\n");
  std::vector<absl::string_view> status = absl::StrSplit(lines[0], absl::MaxSplits(' ', 2));
  if (status.size() < 2 || !absl::StartsWith(status[0], "HTTP/1.")) {
    return absl::UnavailableError("malformed HTTP status line");
  }
  if (status[1] != "200") return absl::UnavailableError(absl::StrCat("bundle endpoint answered HTTP ", status[1]));
  bool chunked = false;
  std::optional<uint64_t> length;
  for (size_t i = 1; i < lines.size(); ++i) {
    size_t colon = lines[i].find(':');
    if (colon == std::string_view::npos) continue;
    std::string name = absl::AsciiStrToLower(lines[i].substr(0, colon));
    absl::string_view value = absl::StripAsciiWhitespace(lines[i].substr(colon + 1));
    if (name == "transfer-encoding" && absl::StrContains(absl::AsciiStrToLower(value), "chunked")) chunked = true;
    uint64_t n = 0;
    if (name == "content-length" && absl::SimpleAtoi(value, &n)) length = n;
  }
  std::string_view body = raw.substr(end + 4);
  if (chunked) return DecodeChunked(body);
  if (length) {
    if (body.size() < *length) return absl::UnavailableError("truncated answer (shorter than Content-Length)");
    body = body.substr(0, *length);
  }
  return std::string(body);
}

absl::StatusOr<spiffe::Bundle> FetchFederatedBundle(const FetchRequest& req) {
  const FederationRelationship& rel = req.relationship;
  ASSIGN_OR_RETURN(BundleUrl u, ParseBundleUrl(rel.bundle_endpoint_url));
  ssl::SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (ctx == nullptr) return absl::InternalError("cannot create a TLS context");
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SslPtr s(SSL_new(ctx.get()));
  if (s == nullptr) return absl::InternalError("cannot create a TLS connection");
  if (rel.profile == BundleEndpointProfile::kHttpsWeb) {
    RETURN_IF_ERROR(ConfigureWeb(ctx.get(), s.get(), u));
  } else {
    SSL_set_verify(s.get(), SSL_VERIFY_NONE, nullptr);  // verified below against the held bundle, before any byte
  }
  if (!IsIpLiteral(u.host)) SSL_set_tlsext_host_name(s.get(), u.host.c_str());
  ASSIGN_OR_RETURN(int raw_fd, Connect(u, req.timeout));
  Fd fd(raw_fd);
  SSL_set_fd(s.get(), fd.get());
  ERR_clear_error();
  if (SSL_connect(s.get()) != 1) {
    long verify = SSL_get_verify_result(s.get());
    if (verify != X509_V_OK) {
      return absl::PermissionDeniedError(
          absl::StrCat("bundle endpoint ", rel.bundle_endpoint_url,
                       " certificate not trusted: ", X509_verify_cert_error_string(verify)));
    }
    return absl::UnavailableError(absl::StrCat("TLS handshake with ", rel.bundle_endpoint_url, ": ", SslErrors()));
  }
  if (rel.profile == BundleEndpointProfile::kHttpsSpiffe) RETURN_IF_ERROR(CheckSpiffePeer(s.get(), req));
  ASSIGN_OR_RETURN(std::string raw, Exchange(s.get(), u));
  SSL_shutdown(s.get());
  ASSIGN_OR_RETURN(std::string body, ParseHttpResponse(raw));
  auto b = spiffe::BundleFromJwks(rel.trust_domain, body);
  if (!b.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bundle from ", rel.bundle_endpoint_url, ": ", b.status().message()));
  }
  return b;
}

}  // namespace spirecvm::server::federation
