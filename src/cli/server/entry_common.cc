#include "cli/server/entry_common.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::cli {

void PrintEntry(const stypes::Entry& e, std::ostream& out) {
  out << "Entry ID         : " << (e.id().empty() ? "(none)" : e.id()) << "\n";
  out << "SPIFFE ID        : " << (e.has_spiffe_id() ? IdString(e.spiffe_id()) : "") << "\n";
  out << "Parent ID        : " << (e.has_parent_id() ? IdString(e.parent_id()) : "") << "\n";
  out << "Revision         : " << e.revision_number() << "\n";
  if (e.downstream()) out << "Downstream       : true\n";
  auto ttl = [](int32_t t) { return t == 0 ? std::string("default") : std::to_string(t); };
  out << "X509-SVID TTL    : " << ttl(e.x509_svid_ttl()) << "\n";
  out << "JWT-SVID TTL     : " << ttl(e.jwt_svid_ttl()) << "\n";
  if (e.expires_at() != 0) out << "Expiration time  : " << GoTimeUtc(e.expires_at()) << "\n";
  for (const auto& s : e.selectors()) out << "Selector         : " << s.type() << ":" << s.value() << "\n";
  for (const auto& td : e.federates_with()) out << "FederatesWith    : " << td << "\n";
  for (const auto& d : e.dns_names()) out << "DNS name         : " << d << "\n";
  if (e.admin()) out << "Admin            : true\n";
  if (e.store_svid()) out << "StoreSvid        : true\n";
  if (!e.hint().empty()) out << "Hint             : " << e.hint() << "\n";
  out << "\n";
}

namespace {

using Json = nlohmann::json;

// Go's encoding/json into the proto struct: a field of the wrong JSON type is an error, a missing one is zero.
template <typename T>
absl::Status Get(const Json& j, const char* key, T* out, size_t index) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  try {
    *out = it->get<T>();
  } catch (const Json::exception&) {
    return absl::InvalidArgumentError(absl::StrCat("entry ", index, ": field \"", key, "\" has the wrong type"));
  }
  return absl::OkStatus();
}

absl::StatusOr<stypes::SPIFFEID> IdField(const Json& j, const char* key, const char* what, size_t index) {
  std::string s;
  if (auto st = Get(j, key, &s, index); !st.ok()) return st;
  auto id = ParseId(s);
  if (!id.ok()) return absl::InvalidArgumentError(absl::StrCat("invalid ", what, ": ", id.status().message()));
  return id;
}

absl::Status Selectors(const Json& j, stypes::Entry* e, size_t index) {
  auto it = j.find("selectors");
  if (it == j.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_array()) return absl::InvalidArgumentError(absl::StrCat("entry ", index, ": selectors must be a list"));
  for (const auto& s : *it) {
    if (!s.is_object()) return absl::InvalidArgumentError(absl::StrCat("entry ", index, ": a selector is an object"));
    auto* sel = e->add_selectors();
    std::string type, value;
    if (auto st = Get(s, "type", &type, index); !st.ok()) return st;
    if (auto st = Get(s, "value", &value, index); !st.ok()) return st;
    sel->set_type(type);
    sel->set_value(value);
  }
  return absl::OkStatus();
}

absl::Status Scalars(const Json& j, stypes::Entry* e, size_t index) {
  std::string id, hint;
  int32_t x509_ttl = 0, jwt_ttl = 0;
  int64_t expiry = 0, revision = 0, created = 0;
  bool admin = false, downstream = false, store = false;
  std::vector<std::string> federates, dns;
  for (auto st :
       {Get(j, "entry_id", &id, index), Get(j, "hint", &hint, index), Get(j, "x509_svid_ttl", &x509_ttl, index),
        Get(j, "jwt_svid_ttl", &jwt_ttl, index), Get(j, "entryExpiry", &expiry, index),
        Get(j, "revision_number", &revision, index), Get(j, "created_at", &created, index),
        Get(j, "admin", &admin, index), Get(j, "downstream", &downstream, index), Get(j, "store_svid", &store, index),
        Get(j, "federates_with", &federates, index), Get(j, "dns_names", &dns, index)}) {
    if (!st.ok()) return st;
  }
  e->set_id(id);
  e->set_hint(hint);
  e->set_x509_svid_ttl(x509_ttl);
  e->set_jwt_svid_ttl(jwt_ttl);
  e->set_expires_at(expiry);
  e->set_revision_number(revision);
  e->set_created_at(created);
  e->set_admin(admin);
  e->set_downstream(downstream);
  e->set_store_svid(store);
  for (const auto& td : federates) {
    // SPIRE normalises "spiffe://td" and "td" to the trust domain name.
    std::string name = td.rfind("spiffe://", 0) == 0 ? td.substr(9) : td;
    auto parsed = spiffe::TrustDomain::Parse(name);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("invalid federated trust domain: ", parsed.status().message()));
    }
    e->add_federates_with(parsed->name());
  }
  for (const auto& d : dns) e->add_dns_names(d);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<stypes::Entry>> ParseEntryData(std::string_view json) {
  Json doc = Json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("the entry data is not a JSON object");
  }
  std::vector<stypes::Entry> out;
  auto entries = doc.find("entries");
  if (entries == doc.end() || entries->is_null()) return out;
  if (!entries->is_array()) return absl::InvalidArgumentError("\"entries\" must be a list");
  for (size_t i = 0; i < entries->size(); ++i) {
    const Json& j = (*entries)[i];
    if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat("entry ", i, " is not an object"));
    stypes::Entry e;
    auto spiffe_id = IdField(j, "spiffe_id", "SPIFFE ID", i);
    if (!spiffe_id.ok()) return spiffe_id.status();
    auto parent_id = IdField(j, "parent_id", "parent ID", i);
    if (!parent_id.ok()) return parent_id.status();
    *e.mutable_spiffe_id() = *spiffe_id;
    *e.mutable_parent_id() = *parent_id;
    if (auto st = Selectors(j, &e, i); !st.ok()) return st;
    if (auto st = Scalars(j, &e, i); !st.ok()) return st;
    out.push_back(std::move(e));
  }
  return out;
}

namespace {

int CompareSelector(const stypes::Selector& a, const stypes::Selector& b) {
  if (int c = a.type().compare(b.type()); c != 0) return c;
  return a.value().compare(b.value());
}

int CompareEntries(const stypes::Entry& a, const stypes::Entry& b) {
  for (int c : {a.spiffe_id().trust_domain().compare(b.spiffe_id().trust_domain()),
                a.spiffe_id().path().compare(b.spiffe_id().path()),
                a.parent_id().trust_domain().compare(b.parent_id().trust_domain()),
                a.parent_id().path().compare(b.parent_id().path())}) {
    if (c != 0) return c;
  }
  if (a.x509_svid_ttl() != b.x509_svid_ttl()) return a.x509_svid_ttl() < b.x509_svid_ttl() ? -1 : 1;
  if (a.jwt_svid_ttl() != b.jwt_svid_ttl()) return a.jwt_svid_ttl() < b.jwt_svid_ttl() ? -1 : 1;
  if (a.selectors_size() != b.selectors_size()) return a.selectors_size() < b.selectors_size() ? -1 : 1;
  for (int i = 0; i < a.selectors_size(); ++i) {
    if (int c = CompareSelector(a.selectors(i), b.selectors(i)); c != 0) return c;
  }
  return 0;
}

}  // namespace

void SortEntries(google::protobuf::RepeatedPtrField<stypes::Entry>* entries) {
  for (auto& e : *entries) {
    std::stable_sort(e.mutable_selectors()->begin(), e.mutable_selectors()->end(),
                     [](const auto& a, const auto& b) { return CompareSelector(a, b) < 0; });
  }
  std::stable_sort(entries->begin(), entries->end(),
                   [](const auto& a, const auto& b) { return CompareEntries(a, b) < 0; });
}

void EntryFilterFlags::Register(flags::FlagSet& fs, const char* verb) {
  fs.String("parentID", &parent_id, absl::StrCat("The Parent ID of the records to ", verb));
  fs.String("spiffeID", &spiffe_id, absl::StrCat("The SPIFFE ID of the records to ", verb));
  fs.Bool("downstream", &downstream,
          "A boolean value that, when set, indicates that the entry describes a downstream SPIRE server");
  fs.StringList("selector", &selectors, "A colon-delimited type:value selector. Can be used more than once");
  fs.StringList("federatesWith", &federates_with,
                "SPIFFE ID of a trust domain an entry is federate with. Can be used more than once");
  fs.String("matchFederatesWithOn", &match_federates,
            "The match mode used when filtering by federates with. Options: exact, any, superset and subset");
  fs.String("matchSelectorsOn", &match_selectors,
            "The match mode used when filtering by selectors. Options: exact, any, superset and subset");
  fs.String("hint", &hint, absl::StrCat("The Hint of the records to ", verb, " (optional)"));
}

template <typename Filter>
absl::Status EntryFilterFlags::Fill(Filter* f) const {
  if (!parent_id.empty()) {
    auto id = ParseId(parent_id);
    if (!id.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("error parsing parent ID \"", parent_id, "\": ", id.status().message()));
    *f->mutable_by_parent_id() = *id;
  }
  if (!spiffe_id.empty()) {
    auto id = ParseId(spiffe_id);
    if (!id.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("error parsing SPIFFE ID \"", spiffe_id, "\": ", id.status().message()));
    *f->mutable_by_spiffe_id() = *id;
  }
  if (!selectors.empty()) {
    auto match = ParseMatch(match_selectors);
    if (!match.ok()) return match.status();
    auto* by = f->mutable_by_selectors();
    by->set_match(static_cast<stypes::SelectorMatch::MatchBehavior>(*match));
    for (const auto& s : selectors) {
      auto sel = ParseSelector(s);
      if (!sel.ok())
        return absl::InvalidArgumentError(absl::StrCat("error parsing selectors: ", sel.status().message()));
      *by->add_selectors() = *std::move(sel);
    }
  }
  if (!federates_with.empty()) {
    auto match = ParseMatch(match_federates);
    if (!match.ok()) return match.status();
    auto* by = f->mutable_by_federates_with();
    by->set_match(static_cast<stypes::FederatesWithMatch::MatchBehavior>(*match));
    for (const auto& td : federates_with) by->add_trust_domains(td);
  }
  if (!hint.empty()) f->mutable_by_hint()->set_value(hint);
  f->mutable_by_downstream()->set_value(downstream);
  return absl::OkStatus();
}

template absl::Status EntryFilterFlags::Fill(entryv1::ListEntriesRequest::Filter*) const;
template absl::Status EntryFilterFlags::Fill(entryv1::CountEntriesRequest::Filter*) const;

}  // namespace spirecvm::cli
