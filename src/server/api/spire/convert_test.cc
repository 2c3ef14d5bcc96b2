#include "server/api/spire/convert.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace spirecvm::server::spireapi {
namespace {

using ::testing::HasSubstr;

sapi::SPIFFEID Id(const std::string& td, const std::string& path) {
  sapi::SPIFFEID id;
  id.set_trust_domain(td);
  id.set_path(path);
  return id;
}

const spiffe::TrustDomain kTd = *spiffe::TrustDomain::Parse("example.org");

TEST(SpireConvertTest, SpiffeIdsBothWays) {
  EXPECT_EQ(IdFromProto(Id("example.org", "/a/b"))->ToString(), "spiffe://example.org/a/b");
  EXPECT_FALSE(IdFromProto(Id("Bad TD", "/a")).ok());
  EXPECT_FALSE(IdFromProto(Id("example.org", "no-slash")).ok());
  auto other = MemberIdFromProto(kTd, Id("other.org", "/a"));
  EXPECT_THAT(other.status().message(), HasSubstr("is not a member of trust domain \"example.org\""));
  EXPECT_TRUE(AgentIdFromProto(kTd, Id("example.org", "/spire/agent/join_token/t")).ok());
  EXPECT_THAT(AgentIdFromProto(kTd, Id("example.org", "/workload")).status().message(), HasSubstr("/spire/agent/"));
  sapi::SPIFFEID out;
  IdToProto("spiffe://example.org/x/y", &out);
  EXPECT_EQ(out.trust_domain(), "example.org");
  EXPECT_EQ(out.path(), "/x/y");
}

TEST(SpireConvertTest, EntryRoundTripKeepsEveryStoredField) {
  datastore::RegistrationEntry e;
  e.id = "id1";
  e.spiffe_id = "spiffe://example.org/w";
  e.parent_id = "spiffe://example.org/spire/agent/x";
  e.selectors = {{"unix", "uid:1"}, {"k8s", "ns:a"}};
  e.x509_svid_ttl = 60;
  e.jwt_svid_ttl = 30;
  e.dns_names = {"a.example", "b.example"};
  e.admin = true;
  e.downstream = true;
  e.hint = "h";
  e.federates_with = {"other.org"};
  e.store_svid = true;
  e.revision_number = 3;
  e.created_at = 1700;
  e.expires_at = 1900;
  sapi::Entry wire;
  EntryToProto(e, &wire);
  EXPECT_EQ(wire.spiffe_id().path(), "/w");
  EXPECT_EQ(wire.parent_id().path(), "/spire/agent/x");
  EXPECT_EQ(wire.created_at(), 1700);
  ASSERT_EQ(wire.federates_with_size(), 1);
  EXPECT_EQ(wire.federates_with(0), "other.org");
  EXPECT_TRUE(wire.store_svid());
  EXPECT_EQ(wire.revision_number(), 3);
  auto back = EntryFromProto(wire);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->spiffe_id, e.spiffe_id);
  EXPECT_EQ(back->parent_id, e.parent_id);
  EXPECT_EQ(back->selectors, e.selectors);
  EXPECT_EQ(back->x509_svid_ttl, 60);
  EXPECT_EQ(back->jwt_svid_ttl, 30);
  EXPECT_EQ(back->dns_names, e.dns_names);
  EXPECT_TRUE(back->admin);
  EXPECT_TRUE(back->downstream);
  EXPECT_EQ(back->hint, "h");
  EXPECT_EQ(back->expires_at, 1900);
}

TEST(SpireConvertTest, FederatesWithAndStoreSvidAreKept) {
  sapi::Entry wire;
  *wire.mutable_spiffe_id() = Id("example.org", "/w");
  *wire.mutable_parent_id() = Id("example.org", "/p");
  wire.add_federates_with("other.org");
  wire.add_federates_with("spiffe://third.org");  // both forms, as SPIRE
  wire.set_store_svid(true);
  auto e = EntryFromProto(wire);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->federates_with, (std::vector<std::string>{"other.org", "third.org"}));
  EXPECT_TRUE(e->store_svid);
  sapi::Entry back;
  EntryToProto(*e, &back);
  ASSERT_EQ(back.federates_with_size(), 2);
  EXPECT_EQ(back.federates_with(1), "third.org");
  EXPECT_TRUE(back.store_svid());
  wire.add_federates_with("spiffe://bad/path");
  EXPECT_THAT(EntryFromProto(wire).status().message(), HasSubstr("invalid federated trust domain"));
  wire.clear_federates_with();
  wire.clear_parent_id();
  EXPECT_THAT(EntryFromProto(wire).status().message(), HasSubstr("parent_id"));
}

TEST(SpireConvertTest, MergeTakesOnlyMaskedFields) {
  datastore::RegistrationEntry base;
  base.id = "id1";
  base.spiffe_id = "spiffe://example.org/w";
  base.parent_id = "spiffe://example.org/p";
  base.selectors = {{"unix", "uid:1"}};
  base.x509_svid_ttl = 60;
  sapi::Entry in;
  in.set_id("id1");
  in.set_x509_svid_ttl(120);
  in.set_hint("new");
  in.add_federates_with("ignored.org");  // not in the mask: not applied
  sapi::EntryMask mask;
  mask.set_x509_svid_ttl(true);
  auto merged = MergeEntry(base, in, &mask);
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->x509_svid_ttl, 120);
  EXPECT_EQ(merged->hint, "");
  EXPECT_EQ(merged->spiffe_id, base.spiffe_id);
  EXPECT_EQ(merged->selectors, base.selectors);
  EXPECT_TRUE(merged->federates_with.empty());
  mask.set_federates_with(true);
  merged = MergeEntry(base, in, &mask);
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(merged->federates_with, std::vector<std::string>{"ignored.org"});
}

TEST(SpireConvertTest, FederatesWithMatchBehaviours) {
  using M = sapi::FederatesWithMatch;
  const std::vector<std::string> have = {"a.org", "b.org"};
  EXPECT_TRUE(FederatesWithMatches(have, {"b.org", "a.org"}, M::MATCH_EXACT));
  EXPECT_FALSE(FederatesWithMatches(have, {"a.org"}, M::MATCH_EXACT));
  EXPECT_TRUE(FederatesWithMatches(have, {"a.org", "b.org", "c.org"}, M::MATCH_SUBSET));
  EXPECT_FALSE(FederatesWithMatches(have, {"a.org"}, M::MATCH_SUBSET));
  EXPECT_TRUE(FederatesWithMatches(have, {"a.org"}, M::MATCH_SUPERSET));
  EXPECT_FALSE(FederatesWithMatches(have, {"c.org"}, M::MATCH_SUPERSET));
  EXPECT_TRUE(FederatesWithMatches(have, {"c.org", "b.org"}, M::MATCH_ANY));
  EXPECT_FALSE(FederatesWithMatches(have, {"c.org"}, M::MATCH_ANY));
  EXPECT_FALSE(FederatesWithMatches({}, {"a.org"}, M::MATCH_SUBSET));  // federating with nothing never matches
  M bad;
  EXPECT_THAT(ValidateFederatesWithMatch(bad).message(), HasSubstr("empty trust domain set"));
  bad.add_trust_domains("Not A Domain");
  EXPECT_FALSE(ValidateFederatesWithMatch(bad).ok());
}

TEST(SpireConvertTest, BundleFromProtoChecksAuthorities) {
  sapi::Bundle b;
  b.set_trust_domain("spiffe://other.org");
  b.add_x509_authorities()->set_asn1("junk");
  EXPECT_THAT(BundleFromProto(b).status().message(), HasSubstr("unable to parse X.509 authority"));
  b.clear_x509_authorities();
  b.add_jwt_authorities()->set_public_key("junk");
  EXPECT_THAT(BundleFromProto(b).status().message(), HasSubstr("missing key ID"));
  b.mutable_jwt_authorities(0)->set_key_id("k");
  EXPECT_THAT(BundleFromProto(b).status().message(), HasSubstr("unable to parse JWT authority"));
  b.clear_jwt_authorities();
  b.set_refresh_hint(5);
  auto r = BundleFromProto(b);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->trust_domain, "other.org");
  EXPECT_EQ(r->refresh_hint_seconds, 5);
  b.set_trust_domain("");
  EXPECT_THAT(BundleFromProto(b).status().message(), HasSubstr("invalid trust domain"));
}

TEST(SpireConvertTest, OutputMasksClearUnselectedFields) {
  datastore::RegistrationEntry stored;
  stored.id = "i";
  stored.spiffe_id = "spiffe://example.org/w";
  stored.selectors = {{"a", "b"}};
  stored.hint = "h";
  sapi::Entry e;
  EntryToProto(stored, &e);
  sapi::EntryMask m;
  m.set_hint(true);
  ApplyEntryMask(&m, &e);
  EXPECT_EQ(e.id(), "i");
  EXPECT_EQ(e.hint(), "h");
  EXPECT_FALSE(e.has_spiffe_id());
  EXPECT_EQ(e.selectors_size(), 0);
  ApplyEntryMask(nullptr, &e);  // null: unchanged
  EXPECT_EQ(e.hint(), "h");

  datastore::AttestedNode node;
  node.spiffe_id = "spiffe://example.org/spire/agent/x";
  node.attestation_type = "join_token";
  node.cert_serial = "9";
  node.cert_not_after = 77;
  node.banned = true;
  sapi::Agent a;
  AgentToProto(node, &a);
  EXPECT_EQ(a.x509svid_serial_number(), "9");
  EXPECT_EQ(a.x509svid_expires_at(), 77);
  sapi::AgentMask am;
  am.set_banned(true);
  ApplyAgentMask(&am, &a);
  EXPECT_TRUE(a.banned());
  EXPECT_EQ(a.attestation_type(), "");
  EXPECT_EQ(a.id().path(), "/spire/agent/x");

  datastore::BundleRecord rec;
  rec.trust_domain = "example.org";
  rec.x509_authorities_der = {"DER", "OLD"};
  rec.tainted_x509_der = {"OLD"};
  rec.jwt_keys.push_back({"k", "PK", 5, false});
  rec.jwt_keys.push_back({"t", "PK2", 5, true});
  rec.sequence_number = 4;
  rec.refresh_hint_seconds = 300;
  sapi::Bundle b;
  BundleToProto(rec, &b);
  EXPECT_EQ(b.x509_authorities(0).asn1(), "DER");
  EXPECT_FALSE(b.x509_authorities(0).tainted());
  EXPECT_TRUE(b.x509_authorities(1).tainted());
  EXPECT_EQ(b.jwt_authorities(0).key_id(), "k");
  EXPECT_FALSE(b.jwt_authorities(0).tainted());
  EXPECT_TRUE(b.jwt_authorities(1).tainted());
  EXPECT_EQ(b.refresh_hint(), 300);
  EXPECT_EQ(b.sequence_number(), 4u);
  sapi::BundleMask bm;
  bm.set_sequence_number(true);
  ApplyBundleMask(&bm, &b);
  EXPECT_EQ(b.x509_authorities_size(), 0);
  EXPECT_EQ(b.sequence_number(), 4u);
}

TEST(SpireConvertTest, SelectorMatchBehaviours) {
  using M = sapi::SelectorMatch;
  std::vector<datastore::Selector> have = {{"a", "1"}, {"b", "2"}};
  EXPECT_TRUE(SelectorsMatch(have, {{"b", "2"}, {"a", "1"}}, M::MATCH_EXACT));
  EXPECT_FALSE(SelectorsMatch(have, {{"a", "1"}}, M::MATCH_EXACT));
  EXPECT_TRUE(SelectorsMatch(have, {{"a", "1"}, {"b", "2"}, {"c", "3"}}, M::MATCH_SUBSET));
  EXPECT_FALSE(SelectorsMatch(have, {{"a", "1"}}, M::MATCH_SUBSET));
  EXPECT_TRUE(SelectorsMatch(have, {{"a", "1"}}, M::MATCH_SUPERSET));
  EXPECT_FALSE(SelectorsMatch(have, {{"a", "1"}, {"c", "3"}}, M::MATCH_SUPERSET));
  EXPECT_TRUE(SelectorsMatch(have, {{"c", "3"}, {"b", "2"}}, M::MATCH_ANY));
  EXPECT_FALSE(SelectorsMatch(have, {{"c", "3"}}, M::MATCH_ANY));
  sapi::SelectorMatch m;
  EXPECT_THAT(ValidateSelectorMatch(m).message(), HasSubstr("empty selector set"));
  auto* s = m.add_selectors();
  s->set_type("unix");
  EXPECT_THAT(ValidateSelectorMatch(m).message(), HasSubstr("missing selector value"));
}

TEST(SpireConvertTest, StatusCodesAndMessages) {
  sapi::Status s;
  StatusToProto(absl::OkStatus(), &s);
  EXPECT_EQ(s.code(), 0);
  EXPECT_EQ(s.message(), "OK");
  StatusToProto(absl::NotFoundError("entry not found"), &s);
  EXPECT_EQ(s.code(), 5);
  EXPECT_EQ(s.message(), "entry not found");
}

}  // namespace
}  // namespace spirecvm::server::spireapi
