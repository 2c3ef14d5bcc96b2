// The size of the TLS records the server's agent endpoint writes. Two places must agree on it: the gRPC channel
// argument that sets it (server.cc) and the buffer that holds one record between the TLS object and the socket
// (tls_connection_options.cc).
#pragma once

#include <cstddef>

namespace spirecvm::server {

// gRPC's frame protector collects at most this many bytes, less its 100-byte allowance for the record's header and
// tag, before it writes them as one TLS record (GRPC_ARG_TSI_MAX_FRAME_SIZE; gRPC's default is 16,384). An agent's
// sync answer (ten entries) fits in one; larger answers take several records.
inline constexpr int kTlsFrameBytes = 4096;

// The outgoing buffer between the TLS object and the socket (one half of gRPC's BIO pair). It must hold a whole
// record: gRPC 1.51 fails the connection when SSL_write does not fit. The 1 KB above the frame is the margin gRPC's
// default keeps (a 17 KB buffer for 16 KB frames).
inline constexpr std::size_t kTlsOutgoingBufferBytes = kTlsFrameBytes + 1024;

}  // namespace spirecvm::server
