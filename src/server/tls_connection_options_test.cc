// tls_connection_options.cc is linked into this test binary as into spire-server: every SSL_new, including the ones
// libssl's callers make, returns an object that releases its buffers when idle and sends no session tickets; every
// BIO pair gRPC makes has an outgoing buffer for one of the server's records; and TLS, gRPC's included, still works
// through them.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "crypto/keys.h"
#include "crypto/ssl_ptr.h"
#include "crypto/x509.h"
#include "server/tls_frame.h"

namespace {

using spirecvm::server::kTlsFrameBytes;
using spirecvm::server::kTlsOutgoingBufferBytes;
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

// A certificate for `key`, valid from a minute ago for an hour, not yet signed (the caller adds extensions first).
spirecvm::ssl::X509Ptr UnsignedCert(EVP_PKEY* key) {
  spirecvm::ssl::X509Ptr cert(X509_new());
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
  X509_set_pubkey(cert.get(), key);
  return cert;
}

// A TLS 1.3 client and server connected through memory BIOs: each SSL reads from its *_in and writes to its *_net;
// Pump carries *_net of one side to *_in of the other.
class TlsPairTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spirecvm::ssl::EvpPkeyPtr key(EVP_EC_gen("P-256"));
    spirecvm::ssl::X509Ptr cert = UnsignedCert(key.get());
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

TEST(TlsConnectionOptionsTest, BioPairsHoldOneServerRecordOnTheSslSideAndKeepTheDefaultOnTheNetworkSide) {
  BIO* network = nullptr;
  BIO* ssl = nullptr;
  ASSERT_EQ(BIO_new_bio_pair(&network, 0, &ssl, 0), 1);  // as gRPC 1.51's TSI calls it
  EXPECT_EQ(BIO_get_write_buf_size(network, 0), 17u * 1024) << "what the peer sends: libcrypto's default";
  EXPECT_EQ(BIO_get_write_buf_size(ssl, 0), kTlsOutgoingBufferBytes) << "what the server's SSL writes";
  BIO_free(network);
  BIO_free(ssl);
  ASSERT_EQ(BIO_new_bio_pair(&network, 3000, &ssl, 7000), 1);  // sizes a caller names are kept
  EXPECT_EQ(BIO_get_write_buf_size(network, 0), 3000u);
  EXPECT_EQ(BIO_get_write_buf_size(ssl, 0), 7000u);
  BIO_free(network);
  BIO_free(ssl);
}

// A gRPC server over TLS in this process, answering every call on any method with the request's bytes: the
// buffers above under gRPC 1.51's own TSI code.
class Echo final : public grpc::ServerGenericBidiReactor {
 public:
  Echo() { StartRead(&message_); }
  void OnReadDone(bool ok) override {
    if (ok) {
      StartWriteAndFinish(&message_, grpc::WriteOptions(), grpc::Status::OK);
    } else {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request"));
    }
  }
  void OnDone() override { delete this; }

 private:
  grpc::ByteBuffer message_;
};

class EchoService final : public grpc::CallbackGenericService {
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext*) override { return new Echo; }
};

class GrpcTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spirecvm::ssl::EvpPkeyPtr key = *spirecvm::crypto::GenerateKey(spirecvm::crypto::KeyType::kEcP256);
    spirecvm::ssl::X509Ptr cert = UnsignedCert(key.get());
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
    spirecvm::ssl::X509ExtensionPtr san(X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "DNS:cvm.test"));
    ASSERT_TRUE(san);
    ASSERT_EQ(X509_add_ext(cert.get(), san.get(), -1), 1);
    ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
    cert_pem_ = spirecvm::crypto::CertToPem(cert.get());
    key_pem_ = *spirecvm::crypto::PrivateKeyToPem(key.get());
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  // frame_bytes 0: gRPC's default frame size (16 KB).
  void StartServer(int frame_bytes) {
    grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    options.pem_key_cert_pairs.push_back({key_pem_, cert_pem_});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &port_);
    builder.RegisterCallbackGenericService(&service_);
    builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
    if (frame_bytes != 0) builder.AddChannelArgument(GRPC_ARG_TSI_MAX_FRAME_SIZE, frame_bytes);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  // One call on a new channel; the client's records are the server's size too (this process's BIO pairs hold no
  // more), so what is tested is the server's side.
  grpc::Status Call(const std::string& request, std::string* answer) {
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = cert_pem_;
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride("cvm.test");
    args.SetInt(GRPC_ARG_TSI_MAX_FRAME_SIZE, kTlsFrameBytes);
    args.SetMaxReceiveMessageSize(4 * 1024 * 1024);
    grpc::GenericStub stub(
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port_), grpc::SslCredentials(options), args));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    grpc::Slice slice(request);
    grpc::ByteBuffer request_buffer(&slice, 1);
    grpc::CompletionQueue cq;
    auto call = stub.PrepareUnaryCall(&context, "/cvm.test.Echo/Echo", request_buffer, &cq);
    call->StartCall();
    grpc::ByteBuffer response;
    grpc::Status status;
    call->Finish(&response, &status, reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    EXPECT_TRUE(cq.Next(&tag, &ok));
    std::vector<grpc::Slice> slices;
    answer->clear();
    if (status.ok() && response.Dump(&slices).ok()) {
      for (const grpc::Slice& s : slices) answer->append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    cq.Shutdown();
    while (cq.Next(&tag, &ok)) {
    }
    return status;
  }
  // A request of `bytes` bytes that no two offsets of a record's length repeat.
  static std::string Pattern(size_t bytes) {
    std::string s(bytes, '\0');
    for (size_t i = 0; i < bytes; ++i) s[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
    return s;
  }

  std::string cert_pem_, key_pem_;
  EchoService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(GrpcTlsTest, AnswersOfEverySizeArriveWholeInTheServersRecords) {
  StartServer(kTlsFrameBytes);
  // Around one record's payload (the frame less gRPC's 100-byte allowance, less gRPC's 5-byte message prefix),
  // several records, and many.
  for (size_t bytes : {size_t{0}, size_t{1}, size_t{3890}, size_t{3891}, size_t{3892}, size_t{4096}, size_t{5121},
                       size_t{16384}, size_t{17409}, size_t{256 * 1024}, size_t{3 * 1024 * 1024}}) {
    std::string request = Pattern(bytes), answer;
    grpc::Status status = Call(request, &answer);
    ASSERT_TRUE(status.ok()) << bytes << " bytes: " << status.error_message();
    EXPECT_EQ(answer.size(), bytes);
    EXPECT_TRUE(answer == request) << bytes << " bytes came back changed";
  }
}

// The two settings only work together: with gRPC's default 16 KB records the server cannot write a record into its
// outgoing buffer, and the call fails once an answer needs a full record. Small answers still pass. (If gRPC named
// the two halves of its BIO pair the other way round, the override would shrink the incoming side instead and this
// call would succeed.)
TEST_F(GrpcTlsTest, WithGrpcsDefaultRecordsTheServerCannotWriteAFullRecord) {
  StartServer(0);
  std::string answer;
  ASSERT_TRUE(Call("small", &answer).ok());
  EXPECT_EQ(answer, "small");
  EXPECT_FALSE(Call(Pattern(64 * 1024), &answer).ok());
}

}  // namespace
