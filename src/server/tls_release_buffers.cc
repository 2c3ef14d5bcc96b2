// Every TLS connection of the server process frees its record buffers while idle (SSL_MODE_RELEASE_BUFFERS).
//
// Why: an attested agent keeps one mTLS connection to the server and uses it for a few milliseconds every sync
// interval. libssl keeps a ~17 KB read and a ~17 KB write buffer per connection for the connection's life unless
// SSL_MODE_RELEASE_BUFFERS is set (heaptrack: ~19 KB per connection of a ~85 KB total; docs/benchmarks.md).
// nginx sets the mode on every connection; gRPC 1.51 creates its SSL objects inside its TSI layer and exposes no
// hook to set it.
//
// How: this file, compiled into the spire-server executable only (not a library), defines SSL_new. The dynamic
// linker resolves libgrpc's call to SSL_new to the executable's definition first (the executable exports the
// symbol because a shared library it links refers to it), which calls libssl's SSL_new (dlvsym, the version
// libgrpc was linked against) and sets the mode on the new object. Nothing else about the object changes; a failure
// to find libssl's SSL_new aborts the process at the first TLS connection rather than run without TLS.
//
// Thread safety: the lookup is done once (a function-local static); SSL_new is then reentrant as libssl's is.
#include <dlfcn.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <cstdlib>

namespace {

using SslNewFn = SSL* (*)(SSL_CTX*);

SslNewFn LibsslSslNew() {
  void* sym = dlvsym(RTLD_NEXT, "SSL_new", "OPENSSL_3.0.0");
  if (sym == nullptr) sym = dlsym(RTLD_NEXT, "SSL_new");
  if (sym == nullptr) {
    std::fprintf(stderr, "spire-server: libssl's SSL_new not found: %s\n", dlerror());
    std::abort();
  }
  return reinterpret_cast<SslNewFn>(sym);
}

}  // namespace

extern "C" SSL* SSL_new(SSL_CTX* ctx) {
  static const SslNewFn libssl_new = LibsslSslNew();
  SSL* ssl = libssl_new(ctx);
  if (ssl != nullptr) SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  return ssl;
}
