// Three settings on every TLS connection of the server process that gRPC 1.51 offers no way to make:
// - SSL_MODE_RELEASE_BUFFERS: the connection frees its record buffers while idle.
// - No TLS 1.3 session tickets (SSL_set_num_tickets(ssl, 0)): no session is ever resumed, so every connection
//   presents and verifies its certificates in a full handshake.
// - An outgoing BIO buffer sized for one of the server's 4 KB TLS records (tls_frame.h), not libcrypto's 17 KB.
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
// Why the smaller buffer: gRPC's TSI puts a BIO pair between each SSL object and the socket and asks for
// libcrypto's default, 17 KB on each side, allocated for the connection's life. The server writes records of at
// most kTlsFrameBytes (server.cc sets GRPC_ARG_TSI_MAX_FRAME_SIZE, which also shrinks gRPC's 16 KB frame buffer), so
// the outgoing side needs only kTlsOutgoingBufferBytes: 12 KB less per connection, 25 KB with the frame buffer (at
// 10,000 agents, the memory the allocator keeps after the connections have turned over; docs/benchmarks.md). The
// incoming side keeps its default: gRPC 1.51 drops handshake bytes that do not fit in it (fixed in gRPC 1.57), and
// it must take a whole TCP read. This relies on two facts about gRPC 1.51, both pinned by
// tls_connection_options_test.cc: it calls BIO_new_bio_pair(&network_io, 0, &ssl_io, 0), so the second buffer is the
// one the SSL object writes into; and every TLS connection in this process is one the server accepted (the
// process's only gRPC client channels are the CLI's, over a unix socket without TLS), so every record written into
// that buffer is at most one frame. The handshake may write more than the buffer holds: gRPC drains it as libssl
// asks (SSL_ERROR_WANT_WRITE, handled since gRPC 1.46).
//
// How: this file, compiled into the spire-server executable only (not a library), defines SSL_new and
// BIO_new_bio_pair. The dynamic linker resolves libgrpc's calls to them to the executable's definitions first (the
// executable exports the symbols because a shared library it links refers to them), which call libssl's and
// libcrypto's own (dlvsym, the version libgrpc was linked against) and adjust the result. Nothing else about the
// objects changes (the ticket count only matters on the server side of a connection); a failure to find the library
// function aborts the process at the first TLS connection rather than run without TLS.
//
// Thread safety: each lookup is done once (a function-local static); both functions are then reentrant as the
// library's are.
#include <dlfcn.h>
#include <openssl/ssl.h>

#include <cstdio>
#include <cstdlib>

#include "server/tls_frame.h"

namespace {

using SslNewFn = SSL* (*)(SSL_CTX*);
using BioPairFn = int (*)(BIO**, size_t, BIO**, size_t);

// The library's own definition of `name`, which this file's definition hides.
template <typename Fn>
Fn LibraryFunction(const char* name) {
  void* sym = dlvsym(RTLD_NEXT, name, "OPENSSL_3.0.0");
  if (sym == nullptr) sym = dlsym(RTLD_NEXT, name);
  if (sym == nullptr) {
    std::fprintf(stderr, "spire-server: OpenSSL's %s not found: %s\n", name, dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(sym);
}

}  // namespace

extern "C" SSL* SSL_new(SSL_CTX* ctx) {
  static const SslNewFn libssl_new = LibraryFunction<SslNewFn>("SSL_new");
  SSL* ssl = libssl_new(ctx);
  if (ssl == nullptr) return nullptr;
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
  SSL_set_num_tickets(ssl, 0);  // libssl accepts any count (it always returns 1)
  return ssl;
}

// gRPC 1.51 passes 0 (libcrypto's default) for both sizes; a caller that names a size gets it.
extern "C" int BIO_new_bio_pair(BIO** network_side, size_t network_side_bytes, BIO** ssl_side, size_t ssl_side_bytes) {
  static const BioPairFn libcrypto_pair = LibraryFunction<BioPairFn>("BIO_new_bio_pair");
  if (ssl_side_bytes == 0) ssl_side_bytes = spirecvm::server::kTlsOutgoingBufferBytes;
  return libcrypto_pair(network_side, network_side_bytes, ssl_side, ssl_side_bytes);
}
