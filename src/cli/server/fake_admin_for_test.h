// TEST ONLY: an in-process Admin API on a Unix socket for the spire-server CLI tests. It records the requests it
// gets and answers from canned state; `fail_with` makes every call fail with that status.
#pragma once

#include <grpcpp/grpcpp.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "admin.grpc.pb.h"
#include "cli/server/cli_common.h"

namespace spirecvm::cli::testing {

class FakeAdmin final : public admin::v1::Admin::Service {
 public:
  std::mutex mu;
  grpc::Status fail_with = grpc::Status::OK;
  std::vector<types::Entry> entries;  // the store: created entries get ids "id-<n>"
  std::vector<admin::v1::CreateEntryRequest> creates;
  std::vector<admin::v1::UpdateEntryRequest> updates;
  std::vector<admin::v1::ListEntriesRequest> lists;
  std::vector<std::string> deleted;
  std::vector<admin::v1::CreateJoinTokenRequest> tokens;
  std::vector<admin::v1::MintJWTSVIDRequest> jwt_mints;

  grpc::Status CreateEntry(grpc::ServerContext*, const admin::v1::CreateEntryRequest* req,
                           admin::v1::EntryResult* resp) override {
    std::lock_guard<std::mutex> l(mu);
    if (!fail_with.ok()) return fail_with;
    creates.push_back(*req);
    types::Entry e = req->entry();
    if (e.id().empty()) e.set_id("id-" + std::to_string(entries.size() + 1));
    entries.push_back(e);
    *resp->mutable_entry() = e;
    return grpc::Status::OK;
  }
  grpc::Status UpdateEntry(grpc::ServerContext*, const admin::v1::UpdateEntryRequest* req,
                           admin::v1::EntryResult* resp) override {
    std::lock_guard<std::mutex> l(mu);
    if (!fail_with.ok()) return fail_with;
    updates.push_back(*req);
    *resp->mutable_entry() = req->entry();
    resp->mutable_entry()->set_revision_number(1);
    return grpc::Status::OK;
  }
  grpc::Status GetEntry(grpc::ServerContext*, const admin::v1::GetEntryRequest* req, types::Entry* resp) override {
    std::lock_guard<std::mutex> l(mu);
    if (!fail_with.ok()) return fail_with;
    for (const auto& e : entries) {
      if (e.id() == req->id()) {
        *resp = e;
        return grpc::Status::OK;
      }
    }
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "registration entry " + req->id() + " not found");
  }
  grpc::Status ListEntries(grpc::ServerContext*, const admin::v1::ListEntriesRequest* req,
                           admin::v1::ListEntriesResponse* resp) override {
    std::lock_guard<std::mutex> l(mu);
    if (!fail_with.ok()) return fail_with;
    lists.push_back(*req);
    for (const auto& e : entries) *resp->add_entries() = e;
    return grpc::Status::OK;
  }
  grpc::Status DeleteEntry(grpc::ServerContext*, const admin::v1::DeleteEntryRequest* req,
                           admin::v1::DeleteEntryResponse*) override {
    std::lock_guard<std::mutex> l(mu);
    if (!fail_with.ok()) return fail_with;
    deleted.push_back(req->id());
    return grpc::Status::OK;
  }
  grpc::Status CountEntries(grpc::ServerContext*, const admin::v1::CountEntriesRequest*,
                            admin::v1::CountResponse* resp) override {
    std::lock_guard<std::mutex> l(mu);
    if (!fail_with.ok()) return fail_with;
    resp->set_count(static_cast<int64_t>(entries.size()));
    return grpc::Status::OK;
  }
  grpc::Status CreateJoinToken(grpc::ServerContext*, const admin::v1::CreateJoinTokenRequest* req,
                               admin::v1::CreateJoinTokenResponse* resp) override {
    std::lock_guard<std::mutex> l(mu);
    if (!fail_with.ok()) return fail_with;
    tokens.push_back(*req);
    resp->set_token("11111111-2222-4333-8444-555555555555");
    resp->set_expires_at(1700000000 + req->ttl());
    return grpc::Status::OK;
  }
  grpc::Status MintJWTSVID(grpc::ServerContext*, const admin::v1::MintJWTSVIDRequest* req,
                           admin::v1::MintJWTSVIDResponse* resp) override {
    std::lock_guard<std::mutex> l(mu);
    if (!fail_with.ok()) return fail_with;
    jwt_mints.push_back(*req);
    resp->mutable_svid()->set_token("header.payload.signature");
    return grpc::Status::OK;
  }
};

// The fake served on a Unix socket in a fresh temporary directory.
class FakeAdminServer {
 public:
  FakeAdminServer() {
    char tmpl[] = "/tmp/cvm-cli-test.XXXXXX";
    dir_ = mkdtemp(tmpl);
    socket_ = dir_ + "/api.sock";
    grpc::ServerBuilder b;
    b.AddListeningPort("unix:" + socket_, grpc::InsecureServerCredentials());
    b.RegisterService(&admin_);
    server_ = b.BuildAndStart();
  }
  ~FakeAdminServer() {
    server_->Shutdown();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  FakeAdmin& admin() { return admin_; }
  const std::string& socket() const { return socket_; }
  std::string dir() const { return dir_; }

 private:
  FakeAdmin admin_;
  std::string dir_, socket_;
  std::unique_ptr<grpc::Server> server_;
};

struct CliResult {
  int rc;
  std::string out, err;
};

// Runs one CLI verb with captured output.
inline CliResult RunVerb(const CommandFn& fn, const std::vector<std::string>& args) {
  std::ostringstream out, err;
  int rc = fn(args, Io{out, err});
  return {rc, out.str(), err.str()};
}

}  // namespace spirecvm::cli::testing
