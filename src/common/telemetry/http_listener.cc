#include "common/telemetry/http_listener.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "common/strings.h"
#include "httplib.h"

namespace spirecvm::telemetry {

struct HttpListener::Impl {
  httplib::Server http;
  std::thread thread;
};

HttpListener::HttpListener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpListener::~HttpListener() { Stop(); }

absl::StatusOr<std::unique_ptr<HttpListener>> HttpListener::Start(std::string_view what, const std::string& host,
                                                                  int port, std::vector<HttpRoute> routes) {
  auto impl = std::make_unique<Impl>();
  for (auto& [path, handler] : routes) {
    impl->http.Get(path, [handler = std::move(handler)](const httplib::Request&, httplib::Response& res) {
      HttpResponse r = handler();
      res.status = r.status;
      res.set_content(r.body, r.content_type);
    });
  }
  if (!impl->http.bind_to_port(host, port)) {
    return absl::UnavailableError(absl::StrCat(ToAbsl(what), ": cannot listen on ", host, ":", port));
  }
  impl->thread = std::thread([h = impl.get()] { h->http.listen_after_bind(); });
  return std::unique_ptr<HttpListener>(new HttpListener(std::move(impl)));
}

void HttpListener::Stop() {
  if (impl_ == nullptr) return;
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::vector<HttpRoute> HealthRoutes(const HealthChecksConfig& cfg, std::function<bool()> live,
                                    std::function<bool()> ready) {
  return {{cfg.live_path,
           [live = std::move(live)] {
             bool ok = live();
             return HttpResponse{ok ? 200 : 503, ok ? "{\"live\":true}" : "{\"live\":false}", "application/json"};
           }},
          {cfg.ready_path, [ready = std::move(ready)] {
             bool ok = ready();
             return HttpResponse{ok ? 200 : 503, ok ? "{\"ready\":true}" : "{\"ready\":false}", "application/json"};
           }}};
}

std::vector<HttpRoute> TelemetryRoutes(std::function<std::string()> render) {
  return {{"/metrics", [render = std::move(render)] {
             return HttpResponse{200, render(), "text/plain; version=0.0.4"};
           }}};
}

}  // namespace spirecvm::telemetry
