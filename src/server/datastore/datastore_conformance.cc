#include "server/datastore/datastore_conformance.h"

#include <openssl/x509v3.h>

#include <atomic>
#include <regex>
#include <set>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "crypto/ssl_ptr.h"
#include "gmock/gmock.h"

namespace spirecvm::datastore {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

void DataStoreConformance::SetUp() {
  ds_ = GetParam().factory(clock_);
  ASSERT_NE(ds_, nullptr);
}
void DataStoreConformance::TearDown() { ds_.reset(); }

RaceOutcome RunRace(int threads, const std::function<absl::Status(int)>& attempt) {
  std::vector<absl::Status> results(static_cast<size_t>(threads));
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) {
    pool.emplace_back([&, i] { results[static_cast<size_t>(i)] = attempt(i); });
  }
  for (auto& t : pool) t.join();
  RaceOutcome out;
  for (const absl::Status& st : results) {
    if (st.ok()) {
      ++out.ok;
    } else if (absl::IsNotFound(st)) {
      ++out.not_found;
    } else {
      out.other.push_back(st);
    }
  }
  return out;
}

std::string MakeTestCertDer(const std::string& cn, int64_t not_before, int64_t not_after) {
  ssl::EvpPkeyPtr key(EVP_EC_gen("P-256"));
  ssl::X509Ptr x(X509_new());
  if (!key || !x) return {};
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set_int64(X509_get_serialNumber(x.get()),
                         not_after ^ static_cast<int64_t>(std::hash<std::string>{}(cn)&0xffffff));
  ASN1_TIME_set(X509_getm_notBefore(x.get()), static_cast<time_t>(not_before));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), static_cast<time_t>(not_after));
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  X509_set_pubkey(x.get(), key.get());
  // A subject key identifier, by which the store names authorities (Taint/RevokeX509Authority).
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  X509_EXTENSION* skid = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_key_identifier, "hash");
  if (skid == nullptr) return {};
  X509_add_ext(x.get(), skid, -1);
  X509_EXTENSION_free(skid);
  if (X509_sign(x.get(), key.get(), EVP_sha256()) <= 0) return {};
  unsigned char* out = nullptr;
  int len = i2d_X509(x.get(), &out);
  if (len <= 0) return {};
  ssl::OpensslBytesPtr owned(out);
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(len));
}

namespace {

Selector S(std::string t, std::string v) { return Selector{std::move(t), std::move(v)}; }

RegistrationEntry MakeEntry(std::string spiffe, std::string parent, std::vector<Selector> sels) {
  RegistrationEntry e;
  e.spiffe_id = std::move(spiffe);
  e.parent_id = std::move(parent);
  e.selectors = std::move(sels);
  return e;
}

std::vector<std::string> Ids(const std::vector<RegistrationEntry>& v) {
  std::vector<std::string> out;
  for (const auto& e : v) out.push_back(e.id);
  return out;
}

// Builds filters without designated initializers (-Wmissing-field-initializers).
struct F {
  ListEntriesFilter f;
  F& spiffe(std::string v) {
    f.by_spiffe_id = std::move(v);
    return *this;
  }
  F& parent(std::string v) {
    f.by_parent_id = std::move(v);
    return *this;
  }
  F& exact(std::vector<Selector> v) {
    f.by_selectors_exact = std::move(v);
    return *this;
  }
  F& superset(std::vector<Selector> v) {
    f.by_selectors_superset = std::move(v);
    return *this;
  }
  operator ListEntriesFilter() const { return f; }  // NOLINT
};

AttestedNode MakeNode(std::string id, std::vector<Selector> sels = {}) {
  AttestedNode n;
  n.spiffe_id = std::move(id);
  n.attestation_type = "join_token";
  n.cert_serial = "01";
  n.cert_not_after = kConformanceT0 + 3600;
  n.selectors = std::move(sels);
  return n;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------
// Registration entries

TEST_P(DataStoreConformance, CreateAndFetchEntryRoundTrips) {
  RegistrationEntry in =
      MakeEntry("spiffe://td/w", "spiffe://td/agent", {S("unix", "uid:1"), S("a", "b"), S("unix", "uid:1")});
  in.x509_svid_ttl = 3600;
  in.jwt_svid_ttl = 300;
  in.dns_names = {"z.example", "a.example"};
  in.admin = true;
  in.downstream = true;
  in.hint = "external";
  in.expires_at = kT0 + 100;
  in.revision_number = 42;  // ignored
  auto out = ds_->CreateEntry(in);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_TRUE(
      std::regex_match(out->id, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")))
      << out->id;
  EXPECT_EQ(out->revision_number, 0);
  EXPECT_EQ(out->created_at, kT0);
  EXPECT_THAT(out->selectors, ElementsAre(S("a", "b"), S("unix", "uid:1")));

  auto got = ds_->FetchEntry(out->id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->spiffe_id, "spiffe://td/w");
  EXPECT_EQ(got->parent_id, "spiffe://td/agent");
  EXPECT_THAT(got->selectors, ElementsAre(S("a", "b"), S("unix", "uid:1")));
  EXPECT_EQ(got->x509_svid_ttl, 3600);
  EXPECT_EQ(got->jwt_svid_ttl, 300);
  EXPECT_THAT(got->dns_names, ElementsAre("z.example", "a.example"));
  EXPECT_TRUE(got->admin);
  EXPECT_TRUE(got->downstream);
  EXPECT_EQ(got->hint, "external");
  EXPECT_EQ(got->revision_number, 0);
  EXPECT_EQ(got->created_at, kT0);
  EXPECT_EQ(got->expires_at, kT0 + 100);
  EXPECT_EQ(*ds_->CountEntries(), 1);
}

TEST_P(DataStoreConformance, CreateEntryKeepsGivenIdAndRejectsTakenId) {
  auto a = ds_->CreateEntry([] {
    auto e = MakeEntry("spiffe://td/a", "spiffe://td/p", {S("t", "1")});
    e.id = "my-id";
    return e;
  }());
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->id, "my-id");
  auto b = MakeEntry("spiffe://td/b", "spiffe://td/p", {S("t", "2")});
  b.id = "my-id";
  auto r = ds_->CreateEntry(b);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(r.status().message(), HasSubstr("my-id"));
}

TEST_P(DataStoreConformance, CreateEntryRejectsDuplicateIdentity) {
  ASSERT_TRUE(ds_->CreateEntry(MakeEntry("spiffe://td/w", "spiffe://td/p", {S("a", "1"), S("b", "2")})).ok());
  // Same set, other order and with a repeat: duplicate.
  auto dup = ds_->CreateEntry(MakeEntry("spiffe://td/w", "spiffe://td/p", {S("b", "2"), S("a", "1"), S("a", "1")}));
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists) << dup.status();
  // Any difference is a different entry.
  EXPECT_TRUE(ds_->CreateEntry(MakeEntry("spiffe://td/w", "spiffe://td/p", {S("a", "1")})).ok());
  EXPECT_TRUE(ds_->CreateEntry(MakeEntry("spiffe://td/w", "spiffe://td/q", {S("a", "1"), S("b", "2")})).ok());
  EXPECT_TRUE(ds_->CreateEntry(MakeEntry("spiffe://td/x", "spiffe://td/p", {S("a", "1"), S("b", "2")})).ok());
  // Selectors whose type/value concatenate equally are still different sets.
  EXPECT_TRUE(ds_->CreateEntry(MakeEntry("spiffe://td/y", "spiffe://td/p", {S("ab", "c")})).ok());
  EXPECT_TRUE(ds_->CreateEntry(MakeEntry("spiffe://td/y", "spiffe://td/p", {S("a", "bc")})).ok());
  EXPECT_EQ(*ds_->CountEntries(), 6);
}

TEST_P(DataStoreConformance, CreateEntryValidatesInput) {
  EXPECT_EQ(ds_->CreateEntry(MakeEntry("spiffe://td/w", "spiffe://td/p", {})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ds_->CreateEntry(MakeEntry("", "spiffe://td/p", {S("a", "1")})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ds_->CreateEntry(MakeEntry("spiffe://td/w", "", {S("a", "1")})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ds_->CreateEntry(MakeEntry("spiffe://td/w", "spiffe://td/p", {S("", "1")})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ds_->CreateEntry(MakeEntry("spiffe://td/w", "spiffe://td/p", {S("a", "")})).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto neg = MakeEntry("spiffe://td/w", "spiffe://td/p", {S("a", "1")});
  neg.x509_svid_ttl = -1;
  EXPECT_EQ(ds_->CreateEntry(neg).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ds_->CountEntries(), 0);
  EXPECT_EQ(*ds_->LatestEntryEventId(), 0);
}

TEST_P(DataStoreConformance, UpdateEntryBumpsRevisionAndReplacesFields) {
  auto e = ds_->CreateEntry(MakeEntry("spiffe://td/w", "spiffe://td/p", {S("a", "1"), S("b", "2")}));
  ASSERT_TRUE(e.ok());
  clock_.Advance(absl::Seconds(10));
  RegistrationEntry u = *e;
  u.selectors = {S("c", "3")};
  u.dns_names = {"x.example"};
  u.x509_svid_ttl = 60;
  u.created_at = 1;        // ignored
  u.revision_number = 99;  // ignored
  auto u1 = ds_->UpdateEntry(u);
  ASSERT_TRUE(u1.ok()) << u1.status();
  EXPECT_EQ(u1->revision_number, 1);
  EXPECT_EQ(u1->created_at, kT0);
  auto u2 = ds_->UpdateEntry(u);
  ASSERT_TRUE(u2.ok());
  EXPECT_EQ(u2->revision_number, 2);
  auto got = ds_->FetchEntry(e->id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->revision_number, 2);
  EXPECT_EQ(got->created_at, kT0);
  EXPECT_THAT(got->selectors, ElementsAre(S("c", "3")));
  EXPECT_THAT(got->dns_names, ElementsAre("x.example"));
  EXPECT_EQ(got->x509_svid_ttl, 60);
  // Old selectors no longer match; new ones do.
  EXPECT_THAT(*ds_->ListEntriesMatchingSelectorSubset({S("a", "1"), S("b", "2")}), IsEmpty());
  EXPECT_THAT(Ids(*ds_->ListEntriesMatchingSelectorSubset({S("c", "3")})), ElementsAre(e->id));
}

TEST_P(DataStoreConformance, UpdateEntryErrors) {
  auto missing = MakeEntry("spiffe://td/w", "spiffe://td/p", {S("a", "1")});
  missing.id = "nope";
  EXPECT_EQ(ds_->UpdateEntry(missing).status().code(), absl::StatusCode::kNotFound);
  missing.id = "";
  EXPECT_EQ(ds_->UpdateEntry(missing).status().code(), absl::StatusCode::kInvalidArgument);

  auto a = ds_->CreateEntry(MakeEntry("spiffe://td/w", "spiffe://td/p", {S("a", "1")}));
  auto b = ds_->CreateEntry(MakeEntry("spiffe://td/w", "spiffe://td/p", {S("a", "2")}));
  ASSERT_TRUE(a.ok() && b.ok());
  RegistrationEntry clash = *b;
  clash.selectors = {S("a", "1")};
  EXPECT_EQ(ds_->UpdateEntry(clash).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ds_->FetchEntry(b->id)->revision_number, 0);  // rolled back
  // Updating an entry to its own identity is fine.
  EXPECT_TRUE(ds_->UpdateEntry(*a).ok());
  RegistrationEntry bad = *a;
  bad.selectors.clear();
  EXPECT_EQ(ds_->UpdateEntry(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(DataStoreConformance, DeleteEntry) {
  auto e = ds_->CreateEntry(MakeEntry("spiffe://td/w", "spiffe://td/p", {S("a", "1")}));
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(ds_->DeleteEntry(e->id).ok());
  EXPECT_EQ(ds_->FetchEntry(e->id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ds_->DeleteEntry(e->id).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*ds_->CountEntries(), 0);
  EXPECT_THAT(*ds_->ListEntriesMatchingSelectorSubset({S("a", "1")}), IsEmpty());
  // The identity is free again.
  EXPECT_TRUE(ds_->CreateEntry(MakeEntry("spiffe://td/w", "spiffe://td/p", {S("a", "1")})).ok());
}

TEST_P(DataStoreConformance, FetchEntryNotFound) {
  auto r = ds_->FetchEntry("missing");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("missing"));
}

TEST_P(DataStoreConformance, FetchEntriesSkipsMissing) {
  auto a = ds_->CreateEntry(MakeEntry("spiffe://td/a", "spiffe://td/p", {S("a", "1")}));
  auto b = ds_->CreateEntry(MakeEntry("spiffe://td/b", "spiffe://td/p", {S("a", "2")}));
  ASSERT_TRUE(a.ok() && b.ok());
  auto got = ds_->FetchEntries({b->id, "missing", a->id, a->id});
  ASSERT_TRUE(got.ok());
  std::vector<std::string> want = {a->id, b->id};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Ids(*got), want);
}

TEST_P(DataStoreConformance, ListEntriesFilters) {
  auto e1 = *ds_->CreateEntry(MakeEntry("spiffe://td/w1", "spiffe://td/p1", {S("a", "1")}));
  auto e2 = *ds_->CreateEntry(MakeEntry("spiffe://td/w1", "spiffe://td/p2", {S("a", "1"), S("b", "2")}));
  auto e3 = *ds_->CreateEntry(MakeEntry("spiffe://td/w2", "spiffe://td/p1", {S("a", "1"), S("b", "2"), S("c", "3")}));
  auto e4 = *ds_->CreateEntry(MakeEntry("spiffe://td/w3", "spiffe://td/p2", {S("d", "4")}));
  auto ids = [&](const ListEntriesFilter& f) {
    auto r = ds_->ListEntries(f);
    EXPECT_TRUE(r.ok()) << r.status();
    auto v = Ids(*r);
    return std::set<std::string>(v.begin(), v.end());
  };
  using Set = std::set<std::string>;
  EXPECT_EQ(ids({}), (Set{e1.id, e2.id, e3.id, e4.id}));
  EXPECT_EQ(ids(F().spiffe("spiffe://td/w1")), (Set{e1.id, e2.id}));
  EXPECT_EQ(ids(F().parent("spiffe://td/p1")), (Set{e1.id, e3.id}));
  EXPECT_EQ(ids(F().spiffe("spiffe://td/w1").parent("spiffe://td/p2")), (Set{e2.id}));
  EXPECT_EQ(ids(F().spiffe("spiffe://td/none")), Set{});
  EXPECT_EQ(ids(F().exact({S("b", "2"), S("a", "1")})), (Set{e2.id}));
  EXPECT_EQ(ids(F().exact({S("a", "1")})), (Set{e1.id}));
  EXPECT_EQ(ids(F().exact({S("a", "1"), S("a", "1")})), (Set{e1.id}));
  EXPECT_EQ(ids(F().exact({S("z", "9")})), Set{});
  EXPECT_EQ(ids(F().superset({S("a", "1")})), (Set{e1.id, e2.id, e3.id}));
  EXPECT_EQ(ids(F().superset({S("b", "2"), S("a", "1")})), (Set{e2.id, e3.id}));
  EXPECT_EQ(ids(F().superset({S("a", "1"), S("d", "4")})), Set{});
  EXPECT_EQ(ids(F().superset({})), (Set{e1.id, e2.id, e3.id, e4.id}));
  EXPECT_EQ(ids(F().parent("spiffe://td/p1").superset({S("b", "2")})), (Set{e3.id}));
  EXPECT_EQ(ids(F().spiffe("spiffe://td/w1").exact({S("a", "1")})), (Set{e1.id}));
  EXPECT_EQ(ids(F().exact({S("a", "1"), S("b", "2")}).superset({S("b", "2")})), (Set{e2.id}));
  // Results come sorted by id with sorted selectors.
  auto all = *ds_->ListEntries({});
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.id < b.id; }));
  for (const auto& e : all) EXPECT_TRUE(std::is_sorted(e.selectors.begin(), e.selectors.end()));
}

TEST_P(DataStoreConformance, SelectorSubsetMatching) {
  const Selector a = S("aws_iid", "region:us-east-1"), b = S("aws_iid", "account_id:123"), c = S("unix", "uid:0"),
                 d = S("aws_iid", "tag:env:prod"), x = S("other", "x");
  auto A = *ds_->CreateEntry(MakeEntry("spiffe://td/A", "spiffe://td/spire/server", {a}));
  auto AB = *ds_->CreateEntry(MakeEntry("spiffe://td/AB", "spiffe://td/spire/server", {a, b}));
  auto ABC = *ds_->CreateEntry(MakeEntry("spiffe://td/ABC", "spiffe://td/spire/server", {a, b, c}));
  auto D = *ds_->CreateEntry(MakeEntry("spiffe://td/D", "spiffe://td/spire/server", {d}));
  auto AX = *ds_->CreateEntry(MakeEntry("spiffe://td/AX", "spiffe://td/spire/server", {a, x}));
  auto match = [&](std::vector<Selector> have) {
    auto r = ds_->ListEntriesMatchingSelectorSubset(have);
    EXPECT_TRUE(r.ok()) << r.status();
    auto v = Ids(*r);
    return std::set<std::string>(v.begin(), v.end());
  };
  using Set = std::set<std::string>;
  EXPECT_EQ(match({a}), (Set{A.id}));
  EXPECT_EQ(match({a, b}), (Set{A.id, AB.id}));
  EXPECT_EQ(match({b, a, b}), (Set{A.id, AB.id}));  // duplicates in the query do not over-count
  EXPECT_EQ(match({a, b, c, d}), (Set{A.id, AB.id, ABC.id, D.id}));
  EXPECT_EQ(match({b, c}), Set{});  // every entry with b also needs a
  EXPECT_EQ(match({x}), Set{});
  EXPECT_EQ(match({}), Set{});
  EXPECT_EQ(match({S("aws_iid", "region:us-east-2")}), Set{});
  EXPECT_EQ(match({a, x, d}), (Set{A.id, AX.id, D.id}));
  // Type and value both matter.
  EXPECT_EQ(match({S("unix", "region:us-east-1")}), Set{});
  // Full entries come back.
  auto full = *ds_->ListEntriesMatchingSelectorSubset({a, b});
  ASSERT_EQ(full.size(), 2u);
  for (const auto& e : full) {
    if (e.id == AB.id) {
      EXPECT_EQ(e.spiffe_id, "spiffe://td/AB");
      EXPECT_THAT(e.selectors, ElementsAre(b, a));  // sorted: account_id < region
    }
  }
}

TEST_P(DataStoreConformance, ListEntriesByParentIds) {
  auto e1 = *ds_->CreateEntry(MakeEntry("spiffe://td/w1", "spiffe://td/p1", {S("a", "1")}));
  auto e2 = *ds_->CreateEntry(MakeEntry("spiffe://td/w2", "spiffe://td/p2", {S("a", "1")}));
  auto e3 = *ds_->CreateEntry(MakeEntry("spiffe://td/w3", "spiffe://td/p1", {S("a", "2"), S("b", "2")}));
  (void)*ds_->CreateEntry(MakeEntry("spiffe://td/w4", "spiffe://td/p3", {S("a", "1")}));
  auto r = ds_->ListEntriesByParentIds({"spiffe://td/p1", "spiffe://td/p2", "spiffe://td/none", "spiffe://td/p1"});
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<std::string> want = {e1.id, e2.id, e3.id};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Ids(*r), want);
  for (const auto& e : *r) {
    if (e.id == e3.id) {
      EXPECT_THAT(e.selectors, ElementsAre(S("a", "2"), S("b", "2")));
    }
  }
  EXPECT_THAT(*ds_->ListEntriesByParentIds({}), IsEmpty());
}

TEST_P(DataStoreConformance, PruneEntries) {
  auto keep = MakeEntry("spiffe://td/keep", "spiffe://td/p", {S("a", "1")});
  auto never = MakeEntry("spiffe://td/never", "spiffe://td/p", {S("a", "2")});
  auto old = MakeEntry("spiffe://td/old", "spiffe://td/p", {S("a", "3")});
  keep.expires_at = kT0 + 100;
  old.expires_at = kT0 - 1;
  auto k = *ds_->CreateEntry(keep);
  auto n = *ds_->CreateEntry(never);
  auto o = *ds_->CreateEntry(old);
  const int64_t before = *ds_->LatestEntryEventId();
  auto pruned = ds_->PruneEntries(kT0);
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1);
  EXPECT_EQ(ds_->FetchEntry(o.id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(ds_->FetchEntry(k.id).ok());
  EXPECT_TRUE(ds_->FetchEntry(n.id).ok());
  auto ev = *ds_->ListEntryEventsSince(before);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].entry_id, o.id);
}

// ---------------------------------------------------------------------------------------------------------------
// Events

TEST_P(DataStoreConformance, EntryEventsAreOrderedAndIncremental) {
  EXPECT_EQ(*ds_->LatestEntryEventId(), 0);
  EXPECT_THAT(*ds_->ListEntryEventsSince(0), IsEmpty());
  auto a = *ds_->CreateEntry(MakeEntry("spiffe://td/a", "spiffe://td/p", {S("a", "1")}));
  auto b = *ds_->CreateEntry(MakeEntry("spiffe://td/b", "spiffe://td/p", {S("a", "2")}));
  ASSERT_TRUE(ds_->UpdateEntry(a).ok());
  ASSERT_TRUE(ds_->DeleteEntry(b.id).ok());
  // A failed write leaves no event.
  EXPECT_FALSE(ds_->DeleteEntry("missing").ok());
  EXPECT_FALSE(ds_->CreateEntry(MakeEntry("spiffe://td/a", "spiffe://td/p", {S("a", "1")})).ok());

  auto ev = ds_->ListEntryEventsSince(0);
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->size(), 4u);
  EXPECT_EQ((*ev)[0].entry_id, a.id);
  EXPECT_EQ((*ev)[1].entry_id, b.id);
  EXPECT_EQ((*ev)[2].entry_id, a.id);
  EXPECT_EQ((*ev)[3].entry_id, b.id);
  for (size_t i = 1; i < ev->size(); ++i) EXPECT_GT((*ev)[i].event_id, (*ev)[i - 1].event_id);
  EXPECT_EQ(*ds_->LatestEntryEventId(), ev->back().event_id);
  auto tail = *ds_->ListEntryEventsSince((*ev)[1].event_id);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0].event_id, (*ev)[2].event_id);
  EXPECT_THAT(*ds_->ListEntryEventsSince(ev->back().event_id), IsEmpty());
}

TEST_P(DataStoreConformance, PruneEventsKeepsNewestAndNeverReusesIds) {
  ASSERT_TRUE(ds_->CreateEntry(MakeEntry("spiffe://td/a", "spiffe://td/p", {S("a", "1")})).ok());
  ASSERT_TRUE(ds_->CreateAttestedNode(MakeNode("spiffe://td/n1")).ok());
  clock_.Advance(absl::Seconds(100));
  auto b = *ds_->CreateEntry(MakeEntry("spiffe://td/b", "spiffe://td/p", {S("a", "2")}));
  ASSERT_TRUE(ds_->CreateAttestedNode(MakeNode("spiffe://td/n2")).ok());
  auto c = *ds_->CreateEntry(MakeEntry("spiffe://td/c", "spiffe://td/p", {S("a", "3")}));
  const int64_t latest = *ds_->LatestEntryEventId();
  const int64_t latest_node = *ds_->LatestNodeEventId();

  ASSERT_TRUE(ds_->PruneEvents(kT0 + 50).ok());
  auto ev = *ds_->ListEntryEventsSince(0);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].entry_id, b.id);
  EXPECT_EQ(ev[1].entry_id, c.id);
  ASSERT_EQ(ds_->ListNodeEventsSince(0)->size(), 1u);

  // Pruning everything still keeps the newest of each kind, so Latest*EventId does not go backwards.
  ASSERT_TRUE(ds_->PruneEvents(kT0 + 1000).ok());
  EXPECT_EQ(*ds_->LatestEntryEventId(), latest);
  EXPECT_EQ(*ds_->LatestNodeEventId(), latest_node);
  ASSERT_TRUE(ds_->DeleteEntry(c.id).ok());
  EXPECT_GT(*ds_->LatestEntryEventId(), latest);
}

TEST_P(DataStoreConformance, NodeEventsForEveryNodeWrite) {
  const std::string id = "spiffe://td/spire/agent/x";
  ASSERT_TRUE(ds_->CreateAttestedNode(MakeNode(id)).ok());
  ASSERT_TRUE(ds_->UpdateAttestedNodeSerials(id, {"01", 0, "", 0}, {"02", 1, "03", 2}).ok());
  ASSERT_TRUE(ds_->SetNodeSelectors(id, {S("a", "1")}).ok());
  ASSERT_TRUE(ds_->BanAttestedNode(id).ok());
  ASSERT_TRUE(ds_->UpsertAttestedNode(MakeNode(id)).ok());
  ASSERT_TRUE(ds_->DeleteAttestedNode(id).ok());
  EXPECT_FALSE(ds_->DeleteAttestedNode(id).ok());
  auto ev = *ds_->ListNodeEventsSince(0);
  ASSERT_EQ(ev.size(), 6u);
  for (size_t i = 0; i < ev.size(); ++i) {
    EXPECT_EQ(ev[i].spiffe_id, id);
    if (i > 0) {
      EXPECT_GT(ev[i].event_id, ev[i - 1].event_id);
    }
  }
  EXPECT_EQ(*ds_->LatestNodeEventId(), ev.back().event_id);
  EXPECT_EQ(ds_->ListNodeEventsSince(ev[3].event_id)->size(), 2u);
  EXPECT_THAT(*ds_->ListEntryEventsSince(0), IsEmpty());
}

// ---------------------------------------------------------------------------------------------------------------
// Attested nodes

TEST_P(DataStoreConformance, AttestedNodeLifecycle) {
  const std::string id = "spiffe://td/spire/agent/aws_iid/1/us-east-1/i-1";
  AttestedNode n =
      MakeNode(id, {S("aws_iid", "region:us-east-1"), S("aws_iid", "account_id:1"), S("aws_iid", "region:us-east-1")});
  n.attestation_type = "aws_iid";
  n.can_reattest = true;
  ASSERT_TRUE(ds_->CreateAttestedNode(n).ok());
  EXPECT_EQ(ds_->CreateAttestedNode(n).code(), absl::StatusCode::kAlreadyExists);

  auto got = ds_->FetchAttestedNode(id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->attestation_type, "aws_iid");
  EXPECT_EQ(got->cert_serial, "01");
  EXPECT_EQ(got->cert_not_after, kT0 + 3600);
  EXPECT_EQ(got->created_at, kT0);
  EXPECT_TRUE(got->can_reattest);
  EXPECT_FALSE(got->banned);
  EXPECT_THAT(got->selectors, ElementsAre(S("aws_iid", "account_id:1"), S("aws_iid", "region:us-east-1")));

  ASSERT_TRUE(ds_->UpdateAttestedNodeSerials(id, {"01", 0, "", 0}, {"02", kT0 + 7200, "03", kT0 + 9000}).ok());
  got = ds_->FetchAttestedNode(id);
  EXPECT_EQ(got->cert_serial, "02");
  EXPECT_EQ(got->cert_not_after, kT0 + 7200);
  EXPECT_EQ(got->new_cert_serial, "03");
  EXPECT_EQ(got->new_cert_not_after, kT0 + 9000);
  EXPECT_EQ(got->selectors.size(), 2u);

  ASSERT_TRUE(ds_->SetNodeSelectors(id, {S("x", "1")}).ok());
  EXPECT_THAT(ds_->FetchAttestedNode(id)->selectors, ElementsAre(S("x", "1")));
  ASSERT_TRUE(ds_->SetNodeSelectors(id, {}).ok());
  EXPECT_THAT(ds_->FetchAttestedNode(id)->selectors, IsEmpty());

  ASSERT_TRUE(ds_->BanAttestedNode(id).ok());
  got = ds_->FetchAttestedNode(id);
  EXPECT_TRUE(got->banned);
  EXPECT_EQ(got->cert_serial, "");
  EXPECT_EQ(got->new_cert_serial, "");

  ASSERT_TRUE(ds_->DeleteAttestedNode(id).ok());
  EXPECT_EQ(ds_->FetchAttestedNode(id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(*ds_->CountAttestedNodes(), 0);
  // Evicted: it may attest again, starting with no selectors of its old life.
  ASSERT_TRUE(ds_->CreateAttestedNode(MakeNode(id)).ok());
  EXPECT_THAT(ds_->FetchAttestedNode(id)->selectors, IsEmpty());
}

TEST_P(DataStoreConformance, AttestedNodeNotFoundErrors) {
  const std::string id = "spiffe://td/spire/agent/ghost";
  auto f = ds_->FetchAttestedNode(id);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(f.status().message(), HasSubstr(id));
  EXPECT_EQ(ds_->UpdateAttestedNodeSerials(id, {}, {"1", 1, "", 0}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ds_->SetNodeSelectors(id, {S("a", "1")}).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ds_->BanAttestedNode(id).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ds_->DeleteAttestedNode(id).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ds_->CreateAttestedNode(MakeNode("")).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*ds_->LatestNodeEventId(), 0);
}

// Finding 3 (docs/security.md): serial writes are compare-and-swap, so a renewal computed from a stale read (a
// copied agent key racing the agent that just re-attested) cannot overwrite the current serial.
TEST_P(DataStoreConformance, UpdateAttestedNodeSerialsIsCompareAndSwap) {
  const std::string id = "spiffe://td/spire/agent/cas";
  ASSERT_TRUE(ds_->CreateAttestedNode(MakeNode(id)).ok());  // cert_serial "01"
  // Read "01": renew to "02" succeeds once; the same stale expectation then fails and writes nothing.
  ASSERT_TRUE(ds_->UpdateAttestedNodeSerials(id, {"01", 0, "", 0}, {"01", 5, "02", 6}).ok());
  auto st = ds_->UpdateAttestedNodeSerials(id, {"01", 0, "", 0}, {"01", 5, "99", 6});
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_THAT(st.message(), HasSubstr("changed since they were read"));
  EXPECT_EQ(ds_->FetchAttestedNode(id)->new_cert_serial, "02");
  // A banned node's serials are never written, whatever is expected.
  ASSERT_TRUE(ds_->BanAttestedNode(id).ok());
  st = ds_->UpdateAttestedNodeSerials(id, {"", 0, "", 0}, {"07", 5, "", 0});
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_THAT(st.message(), HasSubstr("banned"));
  EXPECT_EQ(ds_->FetchAttestedNode(id)->cert_serial, "");
}

TEST_P(DataStoreConformance, UpdateAttestedNodeSerialsRaceHasOneWinner) {
  const std::string id = "spiffe://td/spire/agent/race";
  ASSERT_TRUE(ds_->CreateAttestedNode(MakeNode(id)).ok());
  std::atomic<int> won{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      if (ds_->UpdateAttestedNodeSerials(id, {"01", 0, "", 0}, {"01", 1, absl::StrCat("n", t), 2}).ok()) ++won;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(won.load(), 1);
}

// Finding 2: admission is one conditional write. A node absent is inserted (not banned); a re-attestation
// replaces it only from the same launch of a re-attestable node that is not banned.
static AttestedNode Launch(const std::string& id, const std::string& launch, const std::string& serial) {
  AttestedNode n = MakeNode(id, {S("aws_iid", "sev_snp:report_id:" + launch)});
  n.attestation_type = "aws_iid";
  n.can_reattest = true;
  n.launch_id = launch;
  n.cert_serial = serial;
  return n;
}

// Issue 16: the node facts are stored with the admission and replaced by the next one, never kept from an older one;
// a refused admission leaves them as they were.
TEST_P(DataStoreConformance, AdmissionStoresAndReplacesTheNodeFacts) {
  const std::string id = "spiffe://td/spire/agent/aws_iid/1/r/i-2";
  AttestedNode first = Launch(id, "aa", "10");
  first.facts = std::string("\x30\x03\x02\x01\x01\x00\xff", 7);  // bytes, including NUL and 0xff
  ASSERT_TRUE(ds_->AdmitAttestedNode(first).ok());
  EXPECT_EQ(ds_->FetchAttestedNode(id)->facts, first.facts);
  AttestedNode again = Launch(id, "aa", "11");
  again.facts = "second";
  ASSERT_TRUE(ds_->AdmitAttestedNode(again).ok());
  EXPECT_EQ(ds_->FetchAttestedNode(id)->facts, "second");
  AttestedNode other = Launch(id, "bb", "12");
  other.facts = "third";
  EXPECT_FALSE(ds_->AdmitAttestedNode(other).ok());
  EXPECT_EQ(ds_->FetchAttestedNode(id)->facts, "second");
  AttestedNode none = Launch(id, "aa", "13");
  ASSERT_TRUE(ds_->AdmitAttestedNode(none).ok());
  EXPECT_EQ(ds_->FetchAttestedNode(id)->facts, "");
  auto listed = ds_->ListAttestedNodes();
  ASSERT_TRUE(listed.ok());
}

TEST_P(DataStoreConformance, AdmitInsertsThenOnlyTheSameLaunchReattests) {
  const std::string id = "spiffe://td/spire/agent/aws_iid/1/r/i-1";
  ASSERT_TRUE(ds_->AdmitAttestedNode(Launch(id, "aa", "10")).ok());
  auto got = ds_->FetchAttestedNode(id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->launch_id, "aa");
  EXPECT_EQ(got->evidence_at, kT0);
  EXPECT_EQ(got->created_at, kT0);
  EXPECT_FALSE(got->banned);
  clock_.Advance(absl::Seconds(30));
  ASSERT_TRUE(ds_->UpdateAttestedNodeSerials(id, {"10", 0, "", 0}, {"10", 1, "11", 2}).ok());
  ASSERT_TRUE(ds_->AdmitAttestedNode(Launch(id, "aa", "12")).ok());
  got = ds_->FetchAttestedNode(id);
  EXPECT_EQ(got->cert_serial, "12");
  EXPECT_EQ(got->new_cert_serial, "");
  EXPECT_EQ(got->evidence_at, kT0 + 30);
  EXPECT_EQ(got->created_at, kT0);
  const int64_t events = *ds_->LatestNodeEventId();
  // Another launch of the same instance: refused, nothing written.
  auto st = ds_->AdmitAttestedNode(Launch(id, "bb", "13"));
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_THAT(st.message(), HasSubstr("another launch"));
  got = ds_->FetchAttestedNode(id);
  EXPECT_EQ(got->cert_serial, "12");
  EXPECT_EQ(got->launch_id, "aa");
  EXPECT_THAT(got->selectors, ElementsAre(S("aws_iid", "sev_snp:report_id:aa")));
  EXPECT_EQ(*ds_->LatestNodeEventId(), events);
  // Not re-attestable now: refused.
  AttestedNode plain = Launch(id, "aa", "14");
  plain.can_reattest = false;
  st = ds_->AdmitAttestedNode(plain);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_THAT(st.message(), HasSubstr("already attested"));
  const std::string jt = "spiffe://td/spire/agent/join_token/t";
  AttestedNode once = MakeNode(jt);
  ASSERT_TRUE(ds_->AdmitAttestedNode(once).ok());
  st = ds_->AdmitAttestedNode(once);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
  EXPECT_THAT(st.message(), HasSubstr("already attested"));
}

TEST_P(DataStoreConformance, AdmitNeverUndoesABan) {
  const std::string id = "spiffe://td/spire/agent/aws_iid/1/r/i-2";
  ASSERT_TRUE(ds_->AdmitAttestedNode(Launch(id, "aa", "10")).ok());
  ASSERT_TRUE(ds_->BanAttestedNode(id).ok());
  // The same launch looping re-attestation (even asking for banned = false) stays banned.
  AttestedNode again = Launch(id, "aa", "11");
  again.banned = false;
  for (int i = 0; i < 3; ++i) {
    auto st = ds_->AdmitAttestedNode(again);
    EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
    EXPECT_THAT(st.message(), HasSubstr("banned"));
  }
  auto got = ds_->FetchAttestedNode(id);
  EXPECT_TRUE(got->banned);
  EXPECT_EQ(got->cert_serial, "");
}

// Concurrent first attestations of one instance from several launches: exactly one is admitted, and the stored
// launch is the winner's. (postgres_datastore_test.cc races two stores, i.e. two servers, on one database.)
TEST_P(DataStoreConformance, ConcurrentFirstAdmissionsFromTwoLaunchesAdmitOne) {
  for (int round = 0; round < 5; ++round) {
    const std::string id = absl::StrCat("spiffe://td/spire/agent/aws_iid/1/r/race", round);
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (const char* launch : {"aa", "bb", "cc", "dd"}) {
      threads.emplace_back([&, launch] {
        auto st = ds_->AdmitAttestedNode(Launch(id, launch, launch));
        if (st.ok()) {
          ++ok;
        } else if (!absl::IsFailedPrecondition(st)) {
          ADD_FAILURE() << st;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), 1);
    auto got = ds_->FetchAttestedNode(id);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->cert_serial, got->launch_id);
    EXPECT_THAT(got->selectors, ElementsAre(S("aws_iid", "sev_snp:report_id:" + got->launch_id)));
  }
}

TEST_P(DataStoreConformance, ListAndCountAttestedNodes) {
  EXPECT_THAT(*ds_->ListAttestedNodes(), IsEmpty());
  ASSERT_TRUE(ds_->CreateAttestedNode(MakeNode("spiffe://td/b", {S("t", "b1"), S("t", "b0")})).ok());
  ASSERT_TRUE(ds_->CreateAttestedNode(MakeNode("spiffe://td/a", {S("t", "a")})).ok());
  ASSERT_TRUE(ds_->CreateAttestedNode(MakeNode("spiffe://td/c")).ok());
  EXPECT_EQ(*ds_->CountAttestedNodes(), 3);
  auto l = ds_->ListAttestedNodes();
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 3u);
  EXPECT_EQ((*l)[0].spiffe_id, "spiffe://td/a");
  EXPECT_THAT((*l)[0].selectors, ElementsAre(S("t", "a")));
  EXPECT_EQ((*l)[1].spiffe_id, "spiffe://td/b");
  EXPECT_THAT((*l)[1].selectors, ElementsAre(S("t", "b0"), S("t", "b1")));
  EXPECT_EQ((*l)[2].spiffe_id, "spiffe://td/c");
  EXPECT_THAT((*l)[2].selectors, IsEmpty());
}

TEST_P(DataStoreConformance, UpsertAttestedNodeCreatesThenReplaces) {
  const std::string id = "spiffe://td/spire/agent/u";
  AttestedNode n = MakeNode(id, {S("a", "1"), S("b", "2")});
  ASSERT_TRUE(ds_->UpsertAttestedNode(n).ok());
  EXPECT_EQ(ds_->FetchAttestedNode(id)->selectors.size(), 2u);
  ASSERT_TRUE(ds_->BanAttestedNode(id).ok());

  clock_.Advance(absl::Seconds(30));
  AttestedNode re = MakeNode(id, {S("c", "3")});
  re.attestation_type = "aws_iid";
  re.cert_serial = "ff";
  ASSERT_TRUE(ds_->UpsertAttestedNode(re).ok());
  auto got = ds_->FetchAttestedNode(id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->attestation_type, "aws_iid");
  EXPECT_EQ(got->cert_serial, "ff");
  EXPECT_FALSE(got->banned);  // every field replaced
  EXPECT_EQ(got->created_at, kT0 + 30);
  EXPECT_THAT(got->selectors, ElementsAre(S("c", "3")));
  EXPECT_EQ(*ds_->CountAttestedNodes(), 1);
}

// ---------------------------------------------------------------------------------------------------------------
// Join tokens and nonces

TEST_P(DataStoreConformance, JoinTokensAreSingleUse) {
  ASSERT_TRUE(ds_->CreateJoinToken({"tok", kT0 + 60}).ok());
  EXPECT_EQ(ds_->CreateJoinToken({"tok", kT0 + 60}).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ds_->CreateJoinToken({"", kT0 + 60}).code(), absl::StatusCode::kInvalidArgument);
  auto t = ds_->ConsumeJoinToken("tok", kT0);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->token, "tok");
  EXPECT_EQ(t->expires_at, kT0 + 60);
  EXPECT_EQ(ds_->ConsumeJoinToken("tok", kT0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ds_->ConsumeJoinToken("never", kT0).status().code(), absl::StatusCode::kNotFound);
}

TEST_P(DataStoreConformance, ExpiredJoinTokenIsDeletedAndRejected) {
  ASSERT_TRUE(ds_->CreateJoinToken({"old", kT0 + 10}).ok());
  auto t = ds_->ConsumeJoinToken("old", kT0 + 10);  // expiry instant is already expired
  EXPECT_EQ(t.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(t.status().message(), HasSubstr("join token expired"));
  EXPECT_EQ(ds_->ConsumeJoinToken("old", kT0).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(ds_->CreateJoinToken({"edge", kT0 + 10}).ok());
  EXPECT_TRUE(ds_->ConsumeJoinToken("edge", kT0 + 9).ok());
}

TEST_P(DataStoreConformance, PruneJoinTokens) {
  ASSERT_TRUE(ds_->CreateJoinToken({"a", kT0 - 1}).ok());
  ASSERT_TRUE(ds_->CreateJoinToken({"b", kT0}).ok());
  ASSERT_TRUE(ds_->CreateJoinToken({"c", kT0 + 1}).ok());
  ASSERT_TRUE(ds_->PruneJoinTokens(kT0).ok());
  EXPECT_EQ(ds_->ConsumeJoinToken("a", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ds_->ConsumeJoinToken("b", 0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(ds_->ConsumeJoinToken("c", 0).ok());
}

TEST_P(DataStoreConformance, ConcurrentJoinTokenConsumeHasExactlyOneWinner) {
  for (int round = 0; round < 5; ++round) {
    const std::string tok = absl::StrCat("race-", round);
    ASSERT_TRUE(ds_->CreateJoinToken({tok, kT0 + 60}).ok());
    RaceOutcome r = RunRace(8, [&](int) { return ds_->ConsumeJoinToken(tok, kT0).status(); });
    EXPECT_EQ(r.ok, 1);
    EXPECT_EQ(r.not_found, 7);
    EXPECT_EQ(r.other.size(), 0u);
  }
}

// Join-token attestation's admission: the token is spent only with the node it admits, in one transaction.
TEST_P(DataStoreConformance, AdmitWithJoinTokenSpendsTheTokenOnlyWithTheNode) {
  auto node = [](const std::string& tok) {
    AttestedNode n;
    n.spiffe_id = "spiffe://example.org/spire/agent/join_token/" + tok;
    n.attestation_type = "join_token";
    n.cert_serial = "1";
    n.cert_not_after = kT0 + 3600;
    return n;
  };
  ASSERT_TRUE(ds_->CreateJoinToken({"t1", kT0 + 60}).ok());
  ASSERT_TRUE(ds_->AdmitAttestedNodeWithJoinToken(node("t1"), "t1", kT0).ok());
  EXPECT_TRUE(ds_->FetchAttestedNode(node("t1").spiffe_id).ok());
  EXPECT_EQ(ds_->ConsumeJoinToken("t1", kT0).status().code(), absl::StatusCode::kNotFound);  // spent
  // Unknown or spent: NotFound, nothing written.
  EXPECT_EQ(ds_->AdmitAttestedNodeWithJoinToken(node("t2"), "t2", kT0).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ds_->AdmitAttestedNodeWithJoinToken(node("t1"), "t1", kT0).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(ds_->FetchAttestedNode(node("t2").spiffe_id).ok());
  // Expired (the expiry instant included): nothing written, the token left for pruning.
  ASSERT_TRUE(ds_->CreateJoinToken({"t3", kT0 + 10}).ok());
  auto st = ds_->AdmitAttestedNodeWithJoinToken(node("t3"), "t3", kT0 + 10);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("join token expired"));
  EXPECT_FALSE(ds_->FetchAttestedNode(node("t3").spiffe_id).ok());
  EXPECT_EQ(ds_->ConsumeJoinToken("t3", kT0 + 10).status().code(), absl::StatusCode::kFailedPrecondition);
  // Admission refused (the node is banned): the token stays unspent.
  AttestedNode banned = node("t4");
  banned.banned = true;
  ASSERT_TRUE(ds_->UpsertAttestedNode(banned).ok());
  ASSERT_TRUE(ds_->CreateJoinToken({"t4", kT0 + 60}).ok());
  EXPECT_EQ(ds_->AdmitAttestedNodeWithJoinToken(node("t4"), "t4", kT0).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(ds_->ConsumeJoinToken("t4", kT0).ok());
}

TEST_P(DataStoreConformance, ConcurrentAdmitWithOneJoinTokenHasExactlyOneWinner) {
  for (int round = 0; round < 3; ++round) {
    const std::string tok = absl::StrCat("race-admit-", round);
    ASSERT_TRUE(ds_->CreateJoinToken({tok, kT0 + 60}).ok());
    RaceOutcome r = RunRace(6, [&](int i) {
      AttestedNode n;  // a different agent each: only the token decides
      n.spiffe_id = absl::StrCat("spiffe://example.org/agent/", round, "-", i);
      n.attestation_type = "join_token";
      return ds_->AdmitAttestedNodeWithJoinToken(n, tok, kT0);
    });
    EXPECT_EQ(r.ok, 1);
    EXPECT_EQ(r.not_found, 5);
    EXPECT_EQ(r.other.size(), 0u);
  }
}

TEST_P(DataStoreConformance, NoncesAreSingleUse) {
  const std::string bin("\x00\x01\xff nonce\x00", 10);
  ASSERT_TRUE(ds_->InsertNonce(bin, kT0 + 30).ok());
  EXPECT_EQ(ds_->InsertNonce(bin, kT0 + 30).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ds_->InsertNonce("", kT0 + 30).code(), absl::StatusCode::kInvalidArgument);
  // A prefix is a different nonce.
  EXPECT_EQ(ds_->ConsumeNonce(std::string_view(bin).substr(0, 2), kT0).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(ds_->ConsumeNonce(bin, kT0).ok());
  EXPECT_EQ(ds_->ConsumeNonce(bin, kT0).code(), absl::StatusCode::kNotFound);
  // Consumed nonces may not be re-inserted by accident only if still stored: after consume it is gone.
  ASSERT_TRUE(ds_->InsertNonce("exp", kT0 + 5).ok());
  EXPECT_EQ(ds_->ConsumeNonce("exp", kT0 + 5).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ds_->ConsumeNonce("exp", kT0).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(ds_->InsertNonce("p1", kT0).ok());
  ASSERT_TRUE(ds_->InsertNonce("p2", kT0 + 100).ok());
  ASSERT_TRUE(ds_->PruneNonces(kT0).ok());
  EXPECT_EQ(ds_->ConsumeNonce("p1", 0).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(ds_->ConsumeNonce("p2", 0).ok());
}

TEST_P(DataStoreConformance, ConcurrentNonceConsumeHasExactlyOneWinner) {
  for (int round = 0; round < 5; ++round) {
    const std::string nonce = absl::StrCat("n-", round);
    ASSERT_TRUE(ds_->InsertNonce(nonce, kT0 + 60).ok());
    RaceOutcome r = RunRace(8, [&](int) { return ds_->ConsumeNonce(nonce, kT0); });
    EXPECT_EQ(r.ok, 1);
    EXPECT_EQ(r.not_found, 7);
  }
}

TEST_P(DataStoreConformance, ConcurrentWritersAllLand) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        auto r = ds_->CreateEntry(
            MakeEntry(absl::StrCat("spiffe://td/w", t, "-", i), "spiffe://td/p", {S("k", absl::StrCat(t, ":", i))}));
        if (!r.ok()) ++failures;
        if (!ds_->ListEntriesMatchingSelectorSubset({S("k", absl::StrCat(t, ":", i))}).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*ds_->CountEntries(), 160);
  EXPECT_EQ(ds_->ListEntryEventsSince(0)->size(), 160u);
}

// ---------------------------------------------------------------------------------------------------------------
// Bundles

TEST_P(DataStoreConformance, AppendBundleCreatesDedupesAndSequences) {
  const std::string td = "spiffe://example.org";
  EXPECT_EQ(ds_->FetchBundle(td).status().code(), absl::StatusCode::kNotFound);
  const std::string ca1 = MakeTestCertDer("ca1", kT0 - 10, kT0 + 1000);
  const std::string ca2 = MakeTestCertDer("ca2", kT0 - 10, kT0 + 2000);
  ASSERT_FALSE(ca1.empty());
  BundleRecord b;
  b.trust_domain = td;
  b.x509_authorities_der = {ca1, ca1};
  b.jwt_keys = {{"k1", "pk1", kT0 + 500}};
  b.refresh_hint_seconds = 300;
  auto r = ds_->AppendBundle(b);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->sequence_number, 1u);
  EXPECT_THAT(r->x509_authorities_der, ElementsAre(ca1));
  ASSERT_EQ(r->jwt_keys.size(), 1u);
  EXPECT_EQ(r->refresh_hint_seconds, 300);

  // Appending what is already there changes nothing.
  r = ds_->AppendBundle(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->sequence_number, 1u);
  EXPECT_EQ(r->x509_authorities_der.size(), 1u);

  // A new authority and a new key: one bump, order of first appearance kept.
  BundleRecord more;
  more.trust_domain = td;
  more.x509_authorities_der = {ca2, ca1};
  more.jwt_keys = {{"k2", "pk2", 0}, {"k1", "pk1", kT0 + 500}};
  r = ds_->AppendBundle(more);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->sequence_number, 2u);
  EXPECT_THAT(r->x509_authorities_der, ElementsAre(ca1, ca2));
  ASSERT_EQ(r->jwt_keys.size(), 2u);
  EXPECT_EQ(r->jwt_keys[0].kid, "k1");
  EXPECT_EQ(r->jwt_keys[0].public_key_der, "pk1");
  EXPECT_EQ(r->jwt_keys[0].expires_at, kT0 + 500);
  EXPECT_EQ(r->jwt_keys[1].kid, "k2");

  auto f = ds_->FetchBundle(td);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->sequence_number, 2u);
  EXPECT_EQ(f->x509_authorities_der, r->x509_authorities_der);
  EXPECT_EQ(f->refresh_hint_seconds, 300);

  // A new refresh hint alone is a change.
  BundleRecord hint;
  hint.trust_domain = td;
  hint.refresh_hint_seconds = 60;
  EXPECT_EQ(ds_->AppendBundle(hint)->sequence_number, 3u);
  EXPECT_EQ(ds_->FetchBundle(td)->refresh_hint_seconds, 60);
  // Another trust domain is independent.
  EXPECT_EQ(ds_->FetchBundle("spiffe://other.org").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(DataStoreConformance, AppendBundleErrors) {
  const std::string td = "spiffe://example.org";
  BundleRecord bad;
  bad.trust_domain = td;
  bad.x509_authorities_der = {"not a certificate"};
  auto r = ds_->AppendBundle(bad);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("#0"));
  EXPECT_EQ(ds_->FetchBundle(td).status().code(), absl::StatusCode::kNotFound);  // nothing written
  // Trailing garbage after a certificate is refused too.
  bad.x509_authorities_der = {MakeTestCertDer("ca", kT0, kT0 + 10) + "x"};
  EXPECT_EQ(ds_->AppendBundle(bad).status().code(), absl::StatusCode::kInvalidArgument);

  BundleRecord empty_td;
  EXPECT_EQ(ds_->AppendBundle(empty_td).status().code(), absl::StatusCode::kInvalidArgument);

  BundleRecord ok;
  ok.trust_domain = td;
  ok.jwt_keys = {{"k1", "pk1", 0}};
  ASSERT_TRUE(ds_->AppendBundle(ok).ok());
  BundleRecord clash;
  clash.trust_domain = td;
  clash.jwt_keys = {{"k1", "other key", 0}};
  EXPECT_EQ(ds_->AppendBundle(clash).status().code(), absl::StatusCode::kAlreadyExists);
  BundleRecord nokid;
  nokid.trust_domain = td;
  nokid.jwt_keys = {{"", "pk", 0}};
  EXPECT_EQ(ds_->AppendBundle(nokid).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ds_->FetchBundle(td)->sequence_number, 1u);
}

TEST_P(DataStoreConformance, PruneBundle) {
  const std::string td = "spiffe://example.org";
  EXPECT_EQ(ds_->PruneBundle(td, kT0).status().code(), absl::StatusCode::kNotFound);
  const std::string old_ca = MakeTestCertDer("old", kT0 - 1000, kT0 - 1);
  const std::string new_ca = MakeTestCertDer("new", kT0 - 10, kT0 + 1000);
  BundleRecord b;
  b.trust_domain = td;
  b.x509_authorities_der = {old_ca, new_ca};
  b.jwt_keys = {{"old", "pk-old", kT0 - 1}, {"new", "pk-new", kT0 + 1000}, {"forever", "pk-f", 0}};
  ASSERT_TRUE(ds_->AppendBundle(b).ok());

  // Nothing older than the cutoff: no change, no bump.
  auto r = ds_->PruneBundle(td, kT0 - 2000);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->sequence_number, 1u);
  EXPECT_EQ(r->x509_authorities_der.size(), 2u);

  r = ds_->PruneBundle(td, kT0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->sequence_number, 2u);
  EXPECT_THAT(r->x509_authorities_der, ElementsAre(new_ca));
  ASSERT_EQ(r->jwt_keys.size(), 2u);
  EXPECT_EQ(r->jwt_keys[0].kid, "new");
  EXPECT_EQ(r->jwt_keys[1].kid, "forever");

  // Pruning would leave no X.509 authority: refused, nothing changed.
  auto all = ds_->PruneBundle(td, kT0 + 5000);
  EXPECT_EQ(all.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(all.status().message(), HasSubstr(td));
  auto f = ds_->FetchBundle(td);
  EXPECT_EQ(f->sequence_number, 2u);
  EXPECT_EQ(f->jwt_keys.size(), 2u);
}

namespace {

std::string SkidOf(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ssl::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  const ASN1_OCTET_STRING* id = cert ? X509_get0_subject_key_id(cert.get()) : nullptr;
  if (id == nullptr) return "";
  std::string hex;
  for (int i = 0; i < ASN1_STRING_length(id); ++i)
    absl::StrAppend(&hex, absl::Hex(ASN1_STRING_get0_data(id)[i], absl::kZeroPad2));
  return hex;
}

}  // namespace

TEST_P(DataStoreConformance, TaintAndRevokeX509Authority) {
  const std::string td = "spiffe://example.org";
  const std::string old_ca = MakeTestCertDer("old", kT0 - 10, kT0 + 1000);
  const std::string new_ca = MakeTestCertDer("new", kT0 - 10, kT0 + 2000);
  const std::string old_id = SkidOf(old_ca);
  ASSERT_EQ(old_id.size(), 40u);
  EXPECT_EQ(ds_->TaintX509Authority(td, old_id).code(), absl::StatusCode::kNotFound);  // no bundle
  BundleRecord b;
  b.trust_domain = td;
  b.x509_authorities_der = {old_ca, new_ca};
  ASSERT_TRUE(ds_->AppendBundle(b).ok());

  EXPECT_EQ(ds_->TaintX509Authority(td, "00ff").code(), absl::StatusCode::kNotFound);
  auto untainted = ds_->RevokeX509Authority(td, old_id);
  EXPECT_EQ(untainted.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(untainted.message(), HasSubstr("not tainted"));
  EXPECT_EQ(ds_->FetchBundle(td)->sequence_number, 1u);

  ASSERT_TRUE(ds_->TaintX509Authority(td, old_id).ok());
  auto f = ds_->FetchBundle(td);
  EXPECT_EQ(f->sequence_number, 2u);
  EXPECT_THAT(f->tainted_x509_der, ElementsAre(old_ca));
  EXPECT_EQ(ds_->TaintX509Authority(td, old_id).code(), absl::StatusCode::kInvalidArgument);  // already tainted
  // Appending the tainted authority again neither duplicates nor untaints it.
  ASSERT_TRUE(ds_->AppendBundle(b).ok());
  EXPECT_THAT(ds_->FetchBundle(td)->tainted_x509_der, ElementsAre(old_ca));

  ASSERT_TRUE(ds_->RevokeX509Authority(td, old_id).ok());
  f = ds_->FetchBundle(td);
  EXPECT_EQ(f->sequence_number, 3u);
  EXPECT_THAT(f->x509_authorities_der, ElementsAre(new_ca));
  EXPECT_TRUE(f->tainted_x509_der.empty());
  EXPECT_EQ(ds_->RevokeX509Authority(td, old_id).code(), absl::StatusCode::kNotFound);
}

TEST_P(DataStoreConformance, TaintAndRevokeJwtKey) {
  const std::string td = "spiffe://example.org";
  EXPECT_EQ(ds_->TaintJwtKey(td, "k1").code(), absl::StatusCode::kNotFound);  // no bundle
  BundleRecord b;
  b.trust_domain = td;
  b.jwt_keys = {{"k1", "pk1", kT0 + 500}, {"k2", "pk2", 0}};
  ASSERT_TRUE(ds_->AppendBundle(b).ok());
  EXPECT_EQ(ds_->TaintJwtKey(td, "nope").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ds_->RevokeJwtKey(td, "k1").code(), absl::StatusCode::kInvalidArgument);  // untainted

  ASSERT_TRUE(ds_->TaintJwtKey(td, "k1").ok());
  auto f = ds_->FetchBundle(td);
  EXPECT_EQ(f->sequence_number, 2u);
  ASSERT_EQ(f->jwt_keys.size(), 2u);
  EXPECT_TRUE(f->jwt_keys[0].tainted);
  EXPECT_FALSE(f->jwt_keys[1].tainted);
  EXPECT_EQ(ds_->TaintJwtKey(td, "k1").code(), absl::StatusCode::kInvalidArgument);  // already tainted

  ASSERT_TRUE(ds_->RevokeJwtKey(td, "k1").ok());
  f = ds_->FetchBundle(td);
  EXPECT_EQ(f->sequence_number, 3u);
  ASSERT_EQ(f->jwt_keys.size(), 1u);
  EXPECT_EQ(f->jwt_keys[0].kid, "k2");
  EXPECT_EQ(ds_->RevokeJwtKey(td, "k1").code(), absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------------------------------------------
// Federated bundles and entries that federate with them

namespace {
BundleRecord FedBundle(std::string td, std::vector<std::string> cas, std::vector<JwtKeyRecord> keys = {}) {
  BundleRecord b;
  b.trust_domain = std::move(td);
  b.x509_authorities_der = std::move(cas);
  b.jwt_keys = std::move(keys);
  return b;
}
}  // namespace

TEST_P(DataStoreConformance, CreateListCountBundles) {
  const std::string ca1 = MakeTestCertDer("fed1", kT0 - 10, kT0 + 1000);
  EXPECT_EQ(*ds_->CountBundles(), 0);
  EXPECT_THAT(*ds_->ListBundles(), IsEmpty());
  BundleRecord b = FedBundle("other.org", {ca1}, {{"k", "pk", kT0 + 10}});
  b.sequence_number = 7;
  b.refresh_hint_seconds = 30;
  auto r = ds_->CreateBundle(b);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->sequence_number, 7u);  // stored as given
  EXPECT_EQ(r->refresh_hint_seconds, 30);
  EXPECT_THAT(r->x509_authorities_der, ElementsAre(ca1));
  EXPECT_EQ(ds_->CreateBundle(b).status().code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(ds_->CreateBundle(FedBundle("a.org", {})).ok());
  EXPECT_EQ(*ds_->CountBundles(), 2);
  auto all = ds_->ListBundles();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].trust_domain, "a.org");
  EXPECT_EQ((*all)[1].trust_domain, "other.org");
  EXPECT_EQ((*all)[1].jwt_keys.size(), 1u);
  // Bad input writes nothing.
  EXPECT_EQ(ds_->CreateBundle(FedBundle("bad.org", {"junk"})).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ds_->FetchBundle("bad.org").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(DataStoreConformance, UpdateAndSetBundleReplaceSelectedFields) {
  const std::string ca1 = MakeTestCertDer("u1", kT0 - 10, kT0 + 1000);
  const std::string ca2 = MakeTestCertDer("u2", kT0 - 10, kT0 + 2000);
  EXPECT_EQ(ds_->UpdateBundle(FedBundle("x.org", {ca1}), BundleMask{}).status().code(), absl::StatusCode::kNotFound);
  BundleRecord b = FedBundle("x.org", {ca1}, {{"k1", "pk1", 0}});
  b.refresh_hint_seconds = 10;
  b.sequence_number = 3;
  ASSERT_TRUE(ds_->CreateBundle(b).ok());

  BundleRecord upd = FedBundle("x.org", {ca2}, {{"k2", "pk2", 0}});
  upd.refresh_hint_seconds = 99;
  upd.sequence_number = 4;
  BundleMask only_x509;
  only_x509.jwt_keys = only_x509.refresh_hint = only_x509.sequence_number = false;
  auto r = ds_->UpdateBundle(upd, only_x509);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(r->x509_authorities_der, ElementsAre(ca2));
  ASSERT_EQ(r->jwt_keys.size(), 1u);
  EXPECT_EQ(r->jwt_keys[0].kid, "k1");
  EXPECT_EQ(r->refresh_hint_seconds, 10);
  EXPECT_EQ(r->sequence_number, 3u);

  r = ds_->UpdateBundle(upd, BundleMask{});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->jwt_keys[0].kid, "k2");
  EXPECT_EQ(r->refresh_hint_seconds, 99);
  EXPECT_EQ(r->sequence_number, 4u);

  // Set: creates, then replaces everything.
  auto s = ds_->SetBundle(FedBundle("y.org", {ca1}));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_THAT(s->x509_authorities_der, ElementsAre(ca1));
  s = ds_->SetBundle(FedBundle("y.org", {ca2, ca1}, {{"k", "pk", 0}}));
  ASSERT_TRUE(s.ok());
  EXPECT_THAT(s->x509_authorities_der, ElementsAre(ca2, ca1));
  EXPECT_EQ(s->jwt_keys.size(), 1u);
  EXPECT_EQ(*ds_->CountBundles(), 2);
}

TEST_P(DataStoreConformance, EntryFederatesWithNeedsABundleAndRoundTrips) {
  RegistrationEntry e = MakeEntry("spiffe://td/w", "spiffe://td/agent", {S("a", "1")});
  e.federates_with = {"b.org", "a.org", "b.org"};
  e.store_svid = true;
  auto missing = ds_->CreateEntry(e);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(missing.status().message(), HasSubstr("unable to find federated bundle \"spiffe://a.org\""));
  EXPECT_EQ(*ds_->CountEntries(), 0);  // nothing half-written
  ASSERT_TRUE(ds_->CreateBundle(FedBundle("a.org", {})).ok());
  ASSERT_TRUE(ds_->CreateBundle(FedBundle("b.org", {})).ok());
  ASSERT_TRUE(ds_->CreateBundle(FedBundle("c.org", {})).ok());
  auto created = ds_->CreateEntry(e);
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_THAT(created->federates_with, ElementsAre("a.org", "b.org"));
  auto got = ds_->FetchEntry(created->id);
  ASSERT_TRUE(got.ok());
  EXPECT_THAT(got->federates_with, ElementsAre("a.org", "b.org"));
  EXPECT_TRUE(got->store_svid);

  // Many entries (the bulk path) read federates_with too.
  for (int i = 0; i < 40; ++i) {
    RegistrationEntry more = MakeEntry(absl::StrCat("spiffe://td/m", i), "spiffe://td/agent", {S("a", "1")});
    if (i % 2 == 0) more.federates_with = {"c.org"};
    ASSERT_TRUE(ds_->CreateEntry(more).ok());
  }
  auto listed = ds_->ListEntries({});
  ASSERT_TRUE(listed.ok());
  int with_c = 0;
  for (const auto& le : *listed) {
    if (le.id == created->id) {
      EXPECT_THAT(le.federates_with, ElementsAre("a.org", "b.org"));
    }
    if (le.federates_with == std::vector<std::string>{"c.org"}) ++with_c;
  }
  EXPECT_EQ(with_c, 20);

  RegistrationEntry upd = *got;
  upd.federates_with = {"c.org"};
  upd.store_svid = false;
  auto u = ds_->UpdateEntry(upd);
  ASSERT_TRUE(u.ok()) << u.status();
  got = ds_->FetchEntry(created->id);
  EXPECT_THAT(got->federates_with, ElementsAre("c.org"));
  EXPECT_FALSE(got->store_svid);
  upd.federates_with = {"nope.org"};
  EXPECT_EQ(ds_->UpdateEntry(upd).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(ds_->FetchEntry(created->id)->federates_with, ElementsAre("c.org"));  // unchanged
  ASSERT_TRUE(ds_->DeleteEntry(created->id).ok());
}

TEST_P(DataStoreConformance, DeleteBundleModes) {
  EXPECT_EQ(ds_->DeleteBundle("none.org", DeleteBundleMode::kRestrict).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(ds_->CreateBundle(FedBundle("f.org", {MakeTestCertDer("f", kT0 - 10, kT0 + 100)})).ok());
  ASSERT_TRUE(ds_->CreateBundle(FedBundle("g.org", {})).ok());
  RegistrationEntry e1 = MakeEntry("spiffe://td/1", "spiffe://td/agent", {S("a", "1")});
  e1.federates_with = {"f.org", "g.org"};
  RegistrationEntry e2 = MakeEntry("spiffe://td/2", "spiffe://td/agent", {S("a", "2")});
  e2.federates_with = {"f.org"};
  auto c1 = ds_->CreateEntry(e1);
  auto c2 = ds_->CreateEntry(e2);
  ASSERT_TRUE(c1.ok() && c2.ok());

  auto restrict = ds_->DeleteBundle("f.org", DeleteBundleMode::kRestrict);
  EXPECT_EQ(restrict.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(restrict.message(), HasSubstr("cannot delete bundle; federated with 2 registration entries"));
  EXPECT_TRUE(ds_->FetchBundle("f.org").ok());

  const int64_t events = *ds_->LatestEntryEventId();
  ASSERT_TRUE(ds_->DeleteBundle("f.org", DeleteBundleMode::kDissociate).ok());
  EXPECT_EQ(ds_->FetchBundle("f.org").status().code(), absl::StatusCode::kNotFound);
  auto f1 = ds_->FetchEntry(c1->id);
  EXPECT_THAT(f1->federates_with, ElementsAre("g.org"));
  EXPECT_EQ(f1->revision_number, 1);
  EXPECT_THAT(ds_->FetchEntry(c2->id)->federates_with, IsEmpty());
  EXPECT_EQ(ds_->ListEntryEventsSince(events)->size(), 2u);

  ASSERT_TRUE(ds_->DeleteBundle("g.org", DeleteBundleMode::kDelete).ok());
  EXPECT_EQ(ds_->FetchEntry(c1->id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(ds_->FetchEntry(c2->id).ok());  // did not federate with g.org
  EXPECT_EQ(*ds_->CountBundles(), 0);
  // The trust domain can be stored again afterwards.
  EXPECT_TRUE(ds_->CreateBundle(FedBundle("g.org", {})).ok());
}

// ---------------------------------------------------------------------------------------------------------------
// CA journal

TEST_P(DataStoreConformance, CaJournal) {
  EXPECT_EQ(ds_->FetchCaJournal("server-a").status().code(), absl::StatusCode::kNotFound);
  const std::string blob("\x00\x01journal\xff", 10);
  ASSERT_TRUE(ds_->SetCaJournal("server-a", blob).ok());
  ASSERT_TRUE(ds_->SetCaJournal("server-b", "b").ok());
  EXPECT_EQ(*ds_->FetchCaJournal("server-a"), blob);
  ASSERT_TRUE(ds_->SetCaJournal("server-a", "v2").ok());
  EXPECT_EQ(*ds_->FetchCaJournal("server-a"), "v2");
  EXPECT_EQ(*ds_->FetchCaJournal("server-b"), "b");
  ASSERT_TRUE(ds_->SetCaJournal("server-a", "").ok());
  EXPECT_EQ(*ds_->FetchCaJournal("server-a"), "");
  EXPECT_EQ(ds_->SetCaJournal("", "x").code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace spirecvm::datastore

namespace spirecvm::datastore {

TEST_P(DataStoreConformance, FederationRelationshipLifecycle) {
  FederationRelationshipRecord a{.trust_domain = "a.org",
                                 .bundle_endpoint_url = "https://a.org:8443",
                                 .profile = "https_spiffe",
                                 .endpoint_spiffe_id = "spiffe://a.org/spire/server"};
  FederationRelationshipRecord b{
      .trust_domain = "b.org", .bundle_endpoint_url = "https://b.org", .profile = "https_web"};
  EXPECT_TRUE(absl::IsNotFound(ds_->FetchFederationRelationship("a.org").status()));
  ASSERT_TRUE(ds_->CreateFederationRelationship(b).ok());
  ASSERT_TRUE(ds_->CreateFederationRelationship(a).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(ds_->CreateFederationRelationship(a)));
  EXPECT_TRUE(absl::IsInvalidArgument(ds_->CreateFederationRelationship({})));
  EXPECT_EQ(*ds_->FetchFederationRelationship("a.org"), a);
  auto all = ds_->ListFederationRelationships();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<FederationRelationshipRecord>{a, b}));

  FederationRelationshipRecord change{
      .trust_domain = "a.org", .bundle_endpoint_url = "https://new", .profile = "https_web"};
  auto url_only = ds_->UpdateFederationRelationship(change, /*url=*/true, /*profile=*/false);
  ASSERT_TRUE(url_only.ok());
  EXPECT_EQ(url_only->bundle_endpoint_url, "https://new");
  EXPECT_EQ(url_only->profile, "https_spiffe");
  auto both = ds_->UpdateFederationRelationship(change, true, true);
  ASSERT_TRUE(both.ok());
  EXPECT_EQ(*ds_->FetchFederationRelationship("a.org"), change);
  EXPECT_TRUE(absl::IsNotFound(ds_->UpdateFederationRelationship({.trust_domain = "c.org"}, true, true).status()));

  ASSERT_TRUE(ds_->DeleteFederationRelationship("a.org").ok());
  EXPECT_TRUE(absl::IsNotFound(ds_->DeleteFederationRelationship("a.org")));
  EXPECT_EQ(ds_->ListFederationRelationships()->size(), 1u);
}

}  // namespace spirecvm::datastore
