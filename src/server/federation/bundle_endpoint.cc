#include "server/federation/bundle_endpoint.h"

#include <openssl/ssl.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "httplib.h"
#include "server/federation/bundle_record.h"
#include "server/federation/tls_material.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server::federation {
namespace {

struct ServingFiles {
  std::string cert_path;
  std::string key_path;
};

// OpenSSL certificate callback: the current files, read for this handshake.
int InstallServingCert(SSL* ssl, void* arg) {
  const auto* files = static_cast<const ServingFiles*>(arg);
  auto m = LoadTlsMaterial(files->cert_path, files->key_path);
  if (!m.ok()) {
    spdlog::warn("bundle endpoint: cannot load the serving certificate: {}", m.status().ToString());
    return 0;
  }
  auto st = UseTlsMaterial(ssl, *m);
  if (!st.ok()) spdlog::warn("bundle endpoint: {}", st.ToString());
  return st.ok() ? 1 : 0;
}

}  // namespace

absl::StatusOr<std::string> RenderBundleDocument(datastore::DataStore& ds, const spiffe::TrustDomain& td,
                                                 absl::Duration refresh_hint) {
  ASSIGN_OR_RETURN(datastore::BundleRecord rec, ds.FetchBundle(td.name()));
  ASSIGN_OR_RETURN(spiffe::Bundle b, SpiffeBundleFromRecord(rec));
  b.refresh_hint_seconds = absl::ToInt64Seconds(refresh_hint);
  return spiffe::BundleToJwks(b);
}

struct BundleEndpoint::Impl {
  BundleEndpointDeps deps;
  ServingFiles files{};
  std::unique_ptr<httplib::SSLServer> http{};
  std::thread thread{};
  int port = 0;
};

BundleEndpoint::BundleEndpoint(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BundleEndpoint::~BundleEndpoint() { Stop(); }
int BundleEndpoint::port() const { return impl_->port; }

absl::StatusOr<std::unique_ptr<BundleEndpoint>> BundleEndpoint::Start(BundleEndpointDeps deps) {
  auto impl = std::make_unique<Impl>(Impl{.deps = std::move(deps)});
  const BundleEndpointConfig& cfg = impl->deps.cfg;
  if (cfg.profile == BundleEndpointProfile::kHttpsWeb) {
    impl->files = {cfg.web_cert_file, cfg.web_key_file};
    RETURN_IF_ERROR(Annotate(LoadTlsMaterial(cfg.web_cert_file, cfg.web_key_file).status(),
                             "federation.bundle_endpoint https_web serving_cert_file"));
  } else {
    impl->files = {impl->deps.svid_cert_path, impl->deps.svid_key_path};
  }
  ServingFiles* files = &impl->files;
  impl->http = std::make_unique<httplib::SSLServer>([files](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    SSL_CTX_set_cert_cb(&ctx, InstallServingCert, files);
    return true;
  });
  if (!impl->http->is_valid()) return absl::InternalError("bundle endpoint: cannot create the TLS context");
  Impl* raw = impl.get();
  impl->http->Get(".*", [raw](const httplib::Request&, httplib::Response& res) {
    auto doc = RenderBundleDocument(raw->deps.ds, raw->deps.trust_domain, raw->deps.cfg.refresh_hint);
    if (!doc.ok()) {
      spdlog::warn("bundle endpoint: {}", doc.status().ToString());
      res.status = 500;
      res.set_content("{\"error\":\"bundle unavailable\"}", "application/json");
      return;
    }
    res.set_content(*doc, "application/json");
  });
  if (cfg.port == 0) {
    impl->port = impl->http->bind_to_any_port(cfg.address);
  } else if (impl->http->bind_to_port(cfg.address, cfg.port)) {
    impl->port = cfg.port;
  }
  if (impl->port <= 0) {
    return absl::UnavailableError(
        absl::StrCat("federation.bundle_endpoint: cannot listen on ", cfg.address, ":", cfg.port));
  }
  impl->thread = std::thread([raw] { raw->http->listen_after_bind(); });
  return std::unique_ptr<BundleEndpoint>(new BundleEndpoint(std::move(impl)));
}

void BundleEndpoint::Stop() {
  if (impl_ == nullptr || impl_->http == nullptr) return;
  impl_->http->stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

}  // namespace spirecvm::server::federation
