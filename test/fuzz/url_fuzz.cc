// libFuzzer target: http(s) URLs, which arrive in the server's configuration and TrustDomain API (federation bundle
// endpoints) and the agent's configuration (trust_bundle_url, the IMDS endpoint). Checks the parser never crashes,
// that what it accepts is a host, a port and a path a connection can use, and that the parts, written back as a
// URL, parse to the same parts.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/url.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spirecvm::fuzz::WriteSeed("bundle", "https://spire.other.org:8443/bundle?x=1#f");
  spirecvm::fuzz::WriteSeed("v6", "http://[fd00:ec2::254]/latest/api/token");
  spirecvm::fuzz::WriteSeed("userinfo", "https://user:secret@h:8443/");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string s(spirecvm::fuzz::AsView(data, size));
  auto u = spirecvm::http::ParseUrl(s);
  if (!u.ok()) return 0;
  if (u->host.empty()) spirecvm::fuzz::Fail("accepted an empty host");
  if (u->host.find_first_of("@ /?#") != std::string::npos) spirecvm::fuzz::Fail("the host holds a delimiter");
  if (u->port < 1 || u->port > 65535) spirecvm::fuzz::Fail("a port outside 1-65535");
  if (u->path.empty() || u->path[0] != '/') spirecvm::fuzz::Fail("the path does not start with /");
  if (u->path.find('#') != std::string::npos) spirecvm::fuzz::Fail("the fragment was kept");
  if (u->host.find_first_of("[]") != std::string::npos) return 0;  // a bracket in a name: not written back
  const std::string host = u->host.find(':') != std::string::npos ? "[" + u->host + "]" : u->host;
  const std::string again =
      std::string(u->https ? "https://" : "http://") + host + ":" + std::to_string(u->port) + u->path;
  auto v = spirecvm::http::ParseUrl(again);
  if (!v.ok() || v->https != u->https || v->host != u->host || v->port != u->port || v->path != u->path) {
    spirecvm::fuzz::Fail("the parts, written back as a URL, parse differently");
  }
  return 0;
}
