// tls_connection_options.cc is linked into this test binary as into spire-server: every SSL_new, including the ones
// libssl's callers make, returns an object that releases its buffers when idle and sends no session tickets, and
// TLS still works through it.
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

TEST(TlsConnectionOptionsTest, EverySslObjectReleasesItsBuffersAndSendsNoTickets) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_method()));
  ASSERT_TRUE(ctx);
  EXPECT_EQ(SSL_CTX_get_mode(ctx.get()) & SSL_MODE_RELEASE_BUFFERS, 0u) << "the context is untouched";
  EXPECT_EQ(SSL_CTX_get_num_tickets(ctx.get()), 2u) << "the context keeps libssl's default";
  SslPtr ssl(SSL_new(ctx.get()));
  ASSERT_TRUE(ssl);
  EXPECT_NE(SSL_get_mode(ssl.get()) & SSL_MODE_RELEASE_BUFFERS, 0u);
  EXPECT_EQ(SSL_get_num_tickets(ssl.get()), 0u);
}

// A TLS 1.3 client and server connected through memory BIOs: each SSL reads from its *_in and writes to its *_net;
// Pump carries *_net of one side to *_in of the other.
class TlsPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spirecvm::ssl::EvpPkeyPtr key(EVP_EC_gen("P-256"));
    spirecvm::ssl::X509Ptr cert(X509_new());
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key.get());
    ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
    server_ctx_.reset(SSL_CTX_new(TLS_server_method()));
    ASSERT_EQ(SSL_CTX_use_certificate(server_ctx_.get(), cert.get()), 1);
    ASSERT_EQ(SSL_CTX_use_PrivateKey(server_ctx_.get(), key.get()), 1);
    client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
    ASSERT_EQ(SSL_CTX_set_min_proto_version(client_ctx_.get(), TLS1_3_VERSION), 1);
    server_.reset(SSL_new(server_ctx_.get()));
    client_.reset(SSL_new(client_ctx_.get()));
    SSL_set_bio(client_.get(), client_in_, client_net_);
    SSL_set_bio(server_.get(), server_in_, server_net_);
    SSL_set_connect_state(client_.get());
    SSL_set_accept_state(server_.get());
    for (int i = 0; i < 10 && !(SSL_is_init_finished(client_.get()) && SSL_is_init_finished(server_.get())); ++i) {
      SSL_do_handshake(client_.get());
      SSL_do_handshake(server_.get());
      Pump();
    }
    ASSERT_TRUE(SSL_is_init_finished(client_.get()) && SSL_is_init_finished(server_.get()));
  }
  void Pump() {
    Move(client_net_, server_in_);
    Move(server_net_, client_in_);
  }
  // The client asks, the server answers with more than one record, the client reads it all.
  void RoundTrip(const std::string& ask, const std::string& answer) {
    ASSERT_EQ(SSL_write(client_.get(), ask.data(), static_cast<int>(ask.size())), static_cast<int>(ask.size()));
    Pump();
    std::string got(ask.size(), '\0');
    ASSERT_EQ(SSL_read(server_.get(), got.data(), static_cast<int>(got.size())), static_cast<int>(ask.size()));
    EXPECT_EQ(got, ask);
    ASSERT_EQ(SSL_write(server_.get(), answer.data(), static_cast<int>(answer.size())),
              static_cast<int>(answer.size()));
    Pump();
    std::string back;
    char buf[4096];
    int n;
    while (back.size() < answer.size() && (n = SSL_read(client_.get(), buf, sizeof(buf))) > 0) back.append(buf, n);
    EXPECT_EQ(back, answer);
  }

  SslCtxPtr server_ctx_, client_ctx_;
  SslPtr server_, client_;
  BIO* client_net_ = BIO_new(BIO_s_mem());  // owned by client_ once set
  BIO* server_net_ = BIO_new(BIO_s_mem());
  BIO* client_in_ = BIO_new(BIO_s_mem());
  BIO* server_in_ = BIO_new(BIO_s_mem());
};

TEST_F(TlsPairTest, ConnectionsStillCarryDataBothWays) {
  for (int round = 0; round < 3; ++round) {  // idle between rounds: the buffers are released and taken again
    RoundTrip("sync " + std::to_string(round), std::string(20000, static_cast<char>('a' + round)));
  }
}

TEST_F(TlsPairTest, TheServerSendsNoSessionTicket) {
  RoundTrip("first", "answer");  // the client has read everything the server sent after the handshake
  ASSERT_EQ(SSL_version(client_.get()), TLS1_3_VERSION);
  SSL_SESSION* session = SSL_get_session(client_.get());
  ASSERT_NE(session, nullptr);
  EXPECT_EQ(SSL_SESSION_has_ticket(session), 0) << "a ticket would let a later connection resume this session";
  EXPECT_EQ(SSL_SESSION_is_resumable(session), 0);
}

}  // namespace
