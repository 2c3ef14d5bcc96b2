#include "server/api/entry_validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spirecvm::server {
namespace {

using ::testing::HasSubstr;

datastore::RegistrationEntry Entry(std::string spiffe_id) {
  datastore::RegistrationEntry e;
  e.spiffe_id = std::move(spiffe_id);
  e.parent_id = "spiffe://example.org/spire/agent/x";
  e.selectors = {{"unix", "uid:1000"}};
  return e;
}

TEST(ValidateEntryTest, AcceptsAWellFormedEntry) {
  const auto td = *spiffe::TrustDomain::Parse("example.org");
  auto e = Entry("spiffe://example.org/w");
  e.dns_names = {"a.example.org", "*.b.example.org"};
  EXPECT_TRUE(ValidateEntry(td, e).ok());
}

TEST(ValidateEntryTest, EveryReasonNamesTheField) {
  const auto td = *spiffe::TrustDomain::Parse("example.org");
  auto check = [&](const datastore::RegistrationEntry& e, const std::string& want) {
    absl::Status st = ValidateEntry(td, e);
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << want;
    EXPECT_THAT(std::string(st.message()), HasSubstr(want));
  };
  check(Entry("spiffe://elsewhere.org/w"), "not in trust domain example.org");
  check(Entry("spiffe://example.org/spire/w"), "reserved /spire namespace");
  check(Entry("spiffe://example.org"), "must have a path");
  auto e = Entry("spiffe://example.org/w");
  e.parent_id = "not an id";
  check(e, "invalid parentID");
  e = Entry("spiffe://example.org/w");
  e.selectors.clear();
  check(e, "at least one selector");
  e.selectors = {{"unix", ""}};
  check(e, "both parts non-empty");
  e = Entry("spiffe://example.org/w");
  e.dns_names = {"not a host"};
  check(e, "dns name \"not a host\"");
  e = Entry("spiffe://example.org/w");
  e.x509_svid_ttl = -1;
  check(e, "x509SVIDTTL");
  e.x509_svid_ttl = 0;
  e.hint = std::string(1025, 'h');
  check(e, "hint");
}

}  // namespace
}  // namespace spirecvm::server
