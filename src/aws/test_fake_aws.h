// TEST ONLY: a local fake AWS endpoint (cpp-httplib) that records the last request and answers with a handler.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "httplib.h"

namespace spirecvm::aws::testing {

class FakeAws {
 public:
  explicit FakeAws(std::function<void(const httplib::Request&, httplib::Response&)> handler) {
    server_.Post("/", [this, handler](const httplib::Request& req, httplib::Response& res) {
      ++requests_;
      last_auth_ = req.get_header_value("Authorization");
      last_token_ = req.get_header_value("X-Amz-Security-Token");
      last_target_ = req.get_header_value("X-Amz-Target");
      last_body_ = req.body;
      handler(req, res);
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~FakeAws() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::atomic<int> requests_{0};
  std::string last_auth_, last_token_, last_target_, last_body_;

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace spirecvm::aws::testing
