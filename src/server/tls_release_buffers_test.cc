// tls_release_buffers.cc is linked into this test binary as into spire-server: every SSL_new, including the ones
// libssl's callers make, returns an object with SSL_MODE_RELEASE_BUFFERS, and TLS still works through it.
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>

#include "crypto/ssl_ptr.h"

namespace {

using spirecvm::ssl::SslCtxPtr;
using spirecvm::ssl::SslPtr;

// Moves every byte one side's SSL wrote into the other side's input.
void Move(BIO* from, BIO* to) {
  char buf[4096];
  int n;
  while ((n = BIO_read(from, buf, sizeof(buf))) > 0) BIO_write(to, buf, n);
}

TEST(TlsReleaseBuffersTest, EverySslObjectReleasesItsBuffers) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_method()));
  ASSERT_TRUE(ctx);
  EXPECT_EQ(SSL_CTX_get_mode(ctx.get()) & SSL_MODE_RELEASE_BUFFERS, 0u) << "the context is untouched";
  SslPtr ssl(SSL_new(ctx.get()));
  ASSERT_TRUE(ssl);
  EXPECT_NE(SSL_get_mode(ssl.get()) & SSL_MODE_RELEASE_BUFFERS, 0u);
}

TEST(TlsReleaseBuffersTest, ConnectionsStillCarryDataBothWays) {
  spirecvm::ssl::EvpPkeyPtr key(EVP_EC_gen("P-256"));
  spirecvm::ssl::X509Ptr cert(X509_new());
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key.get());
  ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
  SslCtxPtr server_ctx(SSL_CTX_new(TLS_server_method()));
  ASSERT_EQ(SSL_CTX_use_certificate(server_ctx.get(), cert.get()), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(server_ctx.get(), key.get()), 1);
  SslCtxPtr client_ctx(SSL_CTX_new(TLS_client_method()));
  SslPtr server(SSL_new(server_ctx.get()));
  SslPtr client(SSL_new(client_ctx.get()));
  BIO* client_net = BIO_new(BIO_s_mem());
  BIO* server_net = BIO_new(BIO_s_mem());
  BIO* client_in = BIO_new(BIO_s_mem());
  BIO* server_in = BIO_new(BIO_s_mem());
  // Each SSL reads from its *_in and writes to its *_net; Move carries *_net of one side to *_in of the other.
  SSL_set_bio(client.get(), client_in, client_net);
  SSL_set_bio(server.get(), server_in, server_net);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(server.get());
  for (int i = 0; i < 10 && !(SSL_is_init_finished(client.get()) && SSL_is_init_finished(server.get())); ++i) {
    SSL_do_handshake(client.get());
    SSL_do_handshake(server.get());
    Move(client_net, server_in);
    Move(server_net, client_in);
  }
  ASSERT_TRUE(SSL_is_init_finished(client.get()) && SSL_is_init_finished(server.get()));
  for (int round = 0; round < 3; ++round) {  // idle between rounds: the buffers are released and taken again
    const std::string ask = "sync " + std::to_string(round);
    const std::string answer(20000, static_cast<char>('a' + round));  // more than one record
    ASSERT_EQ(SSL_write(client.get(), ask.data(), static_cast<int>(ask.size())), static_cast<int>(ask.size()));
    Move(client_net, server_in);
    std::string got(ask.size(), '\0');
    ASSERT_EQ(SSL_read(server.get(), got.data(), static_cast<int>(got.size())), static_cast<int>(ask.size()));
    EXPECT_EQ(got, ask);
    ASSERT_EQ(SSL_write(server.get(), answer.data(), static_cast<int>(answer.size())), static_cast<int>(answer.size()));
    Move(server_net, client_in);
    std::string back;
    char buf[4096];
    int n;
    while (back.size() < answer.size() && (n = SSL_read(client.get(), buf, sizeof(buf))) > 0) back.append(buf, n);
    EXPECT_EQ(back, answer);
  }
}

}  // namespace
