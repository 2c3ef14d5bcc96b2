// Two options on every TLS connection of the server process that gRPC 1.51 offers no way to set:
// - SSL_MODE_RELEASE_BUFFERS: the connection frees its record buffers while idle.
// - No TLS 1.3 session tickets (SSL_set_num_tickets(ssl, 0)): no session is ever resumed, so every connection
//   presents and verifies its certificates in a full handshake.
//
// Why release buffers: an attested agent keeps one mTLS connection to the server and uses it for a few milliseconds
// every sync interval. libssl keeps a ~17 KB read and a ~17 KB write buffer per connection for the connection's life
// unless SSL_MODE_RELEASE_BUFFERS is set (heaptrack: ~19 KB per connection of a ~85 KB total; docs/benchmarks.md).
// nginx sets the mode on every connection; gRPC 1.51 creates its SSL objects inside its TSI layer and exposes no
// hook to set it.
//
// Why no tickets: libssl sends two session tickets after every TLS 1.3 handshake by default. No SPIFFE client
// resumes a session (gRPC's clients only with a session cache they are not given, SPIRE's Go agent and go-spiffe
// without a ClientSessionCache), yet each ticket costs the server a copy of the session made by encoding and then
// decoding it, which decodes the client's certificate and its public key again (OpenSSL 3.0's key decoder lookup),
// plus the ticket's encryption and its bytes on the wire; the client parses both. That was 10 % of the server's CPU
// per new agent connection (docs/benchmarks.md). Resumption would also let a client skip presenting its certificate
// on a new connection; without tickets there is none to skip.
//
// How: this file, compiled into the spire-server executable only (not a library), defines SSL_new. The dynamic
// linker resolves libgrpc's call to SSL_new to the executable's definition first (the executable exports the
// symbol because a shared library it links refers to it), which calls libssl's SSL_new (dlvsym, the version
// libgrpc was linked against) and sets the two options on the new object. Nothing else about the object changes
// (the ticket count only matters on the server side of a connection; the process's outbound clients ignore it); a
// failure to find libssl's SSL_new aborts the process at the first TLS connection rather than run without TLS.
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
  if (ssl == nullptr) return nullptr;
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  SSL_set_num_tickets(ssl, 0);  // libssl accepts any count (it always returns 1)
  return ssl;
}
