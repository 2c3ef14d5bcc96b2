// spire-server localauthority x509|jwt * and upstreamauthority taint|revoke against a fake LocalAuthority service.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/server/cli_common.h"
#include "cli/server/fake_spire_for_test.h"

namespace spirecvm::cli {
namespace {

using ::testing::ElementsAre;
using testing::FakeSpireServer;
using testing::RunOn;
namespace lav1 = testing::lav1;

lav1::AuthorityState State(const std::string& id, int64_t expires_at, const std::string& skid) {
  lav1::AuthorityState s;
  s.set_authority_id(id);
  s.set_expires_at(expires_at);
  s.set_upstream_authority_subject_key_id(skid);
  return s;
}

class AuthorityCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    srv_.authority.active = State("active-id", 1001, "some-subject-key-id");
    srv_.authority.old = State("old-id", 1003, "");
    srv_.authority.has_old = true;
    srv_.authority.changed = State("changed-id", 1002, "some-subject-key-id");
  }
  FakeSpireServer srv_;
};

TEST_F(AuthorityCliTest, ShowPrintsTheThreeSlotsAsSpire) {
  auto r = RunOn(srv_, LocalAuthorityX509Show, {});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "Active X.509 authority:\n  Authority ID: active-id\n  Expires at: 1970-01-01 00:16:41 +0000 UTC\n"
            "  Upstream authority Subject Key ID: some-subject-key-id\n\n"
            "Prepared X.509 authority:\n  No prepared X.509 authority found\n\n"
            "Old X.509 authority:\n  Authority ID: old-id\n  Expires at: 1970-01-01 00:16:43 +0000 UTC\n"
            "  Upstream authority ID: No upstream authority\n");
  r = RunOn(srv_, LocalAuthorityJwtShow, {});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "Active JWT authority:\n  Authority ID: active-id\n  Expires at: 1970-01-01 00:16:41 +0000 UTC\n\n"
            "Prepared JWT authority:\n  No prepared JWT authority found\n\n"
            "Old JWT authority:\n  Authority ID: old-id\n  Expires at: 1970-01-01 00:16:43 +0000 UTC\n");
  r = RunOn(srv_, LocalAuthorityX509Show, {"-output", "json"});
  EXPECT_EQ(r.out, R"({"active":{"authority_id":"active-id","expires_at":"1001","upstream_authority_subject_key_id":)"
                   R"("some-subject-key-id"},"old":{"authority_id":"old-id","expires_at":"1003",)"
                   R"("upstream_authority_subject_key_id":""}})"
                   "\n");
}

TEST_F(AuthorityCliTest, StateVerbsSendTheIdAndPrintTheAuthority) {
  auto r = RunOn(srv_, LocalAuthorityX509Prepare, {});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out,
            "Prepared X.509 authority:\n  Authority ID: changed-id\n  Expires at: 1970-01-01 00:16:42 +0000 UTC\n"
            "  Upstream authority Subject Key ID: some-subject-key-id\n");
  r = RunOn(srv_, LocalAuthorityX509Activate, {"-authorityID", "a1"});
  EXPECT_THAT(r.out, ::testing::StartsWith("Activated X.509 authority:\n  Authority ID: changed-id\n"));
  r = RunOn(srv_, LocalAuthorityX509Taint, {"-authorityID", "a2"});
  EXPECT_THAT(r.out, ::testing::StartsWith("Tainted X.509 authority:\n"));
  r = RunOn(srv_, LocalAuthorityX509Revoke, {"-authorityID", "a3", "-output", "json"});
  EXPECT_EQ(r.out, R"({"revoked_authority":{"authority_id":"changed-id","expires_at":"1002",)"
                   R"("upstream_authority_subject_key_id":"some-subject-key-id"}})"
                   "\n");
  r = RunOn(srv_, LocalAuthorityJwtPrepare, {});
  EXPECT_EQ(r.out,
            "Prepared JWT authority:\n  Authority ID: changed-id\n  Expires at: 1970-01-01 00:16:42 +0000 UTC\n");
  RunOn(srv_, LocalAuthorityJwtActivate, {"-authorityID", "j1"});
  RunOn(srv_, LocalAuthorityJwtTaint, {"-authorityID", "j2"});
  r = RunOn(srv_, LocalAuthorityJwtRevoke, {"-authorityID", "j3"});
  EXPECT_THAT(r.out, ::testing::StartsWith("Revoked JWT authority:\n"));
  EXPECT_THAT(srv_.authority.ids,
              ElementsAre("PrepareX509Authority:", "ActivateX509Authority:a1", "TaintX509Authority:a2",
                          "RevokeX509Authority:a3", "PrepareJWTAuthority:", "ActivateJWTAuthority:j1",
                          "TaintJWTAuthority:j2", "RevokeJWTAuthority:j3"));
}

TEST_F(AuthorityCliTest, ErrorsAreSpires) {
  for (const CommandFn& fn :
       {CommandFn(LocalAuthorityX509Activate), CommandFn(LocalAuthorityX509Taint), CommandFn(LocalAuthorityX509Revoke),
        CommandFn(LocalAuthorityJwtActivate), CommandFn(LocalAuthorityJwtTaint), CommandFn(LocalAuthorityJwtRevoke)}) {
    auto r = RunOn(srv_, fn, {});
    EXPECT_EQ(r.rc, 1);
    EXPECT_EQ(r.err, "Error: an authority ID is required\n");
  }
  EXPECT_TRUE(srv_.authority.ids.empty());
  srv_.authority.fail_with = grpc::Status(grpc::StatusCode::INTERNAL, "internal server error");
  EXPECT_EQ(RunOn(srv_, LocalAuthorityX509Show, {}).err,
            "Error: could not get X.509 authorities: rpc error: code = Internal desc = internal server error\n");
  EXPECT_EQ(RunOn(srv_, LocalAuthorityJwtShow, {}).err,
            "Error: rpc error: code = Internal desc = internal server error\n");
  EXPECT_EQ(RunOn(srv_, LocalAuthorityX509Taint, {"-authorityID", "x"}).err,
            "Error: could not taint X.509 authority: rpc error: code = Internal desc = internal server error\n");
  EXPECT_EQ(RunOn(srv_, LocalAuthorityJwtPrepare, {}).err,
            "Error: could not prepare JWT authority: rpc error: code = Internal desc = internal server error\n");
}

TEST_F(AuthorityCliTest, UpstreamAuthorityTaintAndRevokeBySubjectKeyId) {
  auto r = RunOn(srv_, UpstreamAuthorityTaint, {"-subjectKeyID", "abcd"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "Tainted X.509 upstream authority:\n  Subject Key ID: abcd\n");
  r = RunOn(srv_, UpstreamAuthorityRevoke, {"-subjectKeyID", "ef01", "-output", "json"});
  EXPECT_EQ(r.out, "{\"upstream_authority_subject_key_id\":\"ef01\"}\n");
  EXPECT_THAT(srv_.authority.ids, ElementsAre("TaintX509UpstreamAuthority:abcd", "RevokeX509UpstreamAuthority:ef01"));
  EXPECT_EQ(RunOn(srv_, UpstreamAuthorityRevoke, {}).err,
            "Error: the Subject Key ID of the X.509 upstream authority is required\n");
  srv_.authority.fail_with = grpc::Status(grpc::StatusCode::NOT_FOUND, "no such authority");
  EXPECT_EQ(RunOn(srv_, UpstreamAuthorityTaint, {"-subjectKeyID", "x"}).err,
            "Error: could not taint X.509 upstream authority: rpc error: code = NotFound desc = no such authority\n");
}

}  // namespace
}  // namespace spirecvm::cli
