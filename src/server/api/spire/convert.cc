#include "server/api/spire/convert.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/keys.h"
#include "crypto/x509.h"

namespace spirecvm::server::spireapi {

absl::StatusOr<spiffe::SpiffeId> IdFromProto(const sapi::SPIFFEID& id) {
  ASSIGN_OR_RETURN(auto td, spiffe::TrustDomain::Parse(id.trust_domain()));
  return spiffe::SpiffeId::FromPath(td, id.path());
}

absl::StatusOr<spiffe::SpiffeId> MemberIdFromProto(const spiffe::TrustDomain& td, const sapi::SPIFFEID& id) {
  ASSIGN_OR_RETURN(auto parsed, IdFromProto(id));
  if (!parsed.MemberOf(td)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", parsed.ToString(), "\" is not a member of trust domain \"", td.name(), "\""));
  }
  return parsed;
}

absl::StatusOr<spiffe::SpiffeId> AgentIdFromProto(const spiffe::TrustDomain& td, const sapi::SPIFFEID& id) {
  ASSIGN_OR_RETURN(auto parsed, MemberIdFromProto(td, id));
  if (parsed.path().rfind("/spire/agent/", 0) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("\"", parsed.ToString(), "\" is not an agent in trust domain \"",
                                                   td.name(), "\"; path must start with \"/spire/agent/\""));
  }
  return parsed;
}

void IdToProto(std::string_view uri, sapi::SPIFFEID* out) {
  auto id = spiffe::SpiffeId::Parse(uri);
  if (!id.ok()) {
    out->set_path(std::string(uri));
    return;
  }
  out->set_trust_domain(id->trust_domain().name());
  out->set_path(id->path());
}

void StatusToProto(const absl::Status& s, sapi::Status* out) {
  out->set_code(static_cast<int32_t>(s.code()));
  out->set_message(s.ok() ? "OK" : std::string(s.message()));
}

absl::Status AuthorizationDenied(std::string_view service_full_name, std::string_view method) {
  return absl::PermissionDeniedError(
      absl::StrCat("authorization denied for method /", ToAbsl(service_full_name), "/", ToAbsl(method)));
}

std::vector<datastore::Selector> SelectorsFromProto(const google::protobuf::RepeatedPtrField<sapi::Selector>& in) {
  std::vector<datastore::Selector> out;
  out.reserve(in.size());
  for (const auto& s : in) out.push_back({s.type(), s.value()});
  return out;
}

bool SelectorsMatch(const std::vector<datastore::Selector>& have, const std::vector<datastore::Selector>& want,
                    sapi::SelectorMatch::MatchBehavior match) {
  const std::set<datastore::Selector> h(have.begin(), have.end()), w(want.begin(), want.end());
  switch (match) {
    case sapi::SelectorMatch::MATCH_EXACT:
      return h == w;
    case sapi::SelectorMatch::MATCH_SUBSET:
      return std::includes(w.begin(), w.end(), h.begin(), h.end());
    case sapi::SelectorMatch::MATCH_SUPERSET:
      return std::includes(h.begin(), h.end(), w.begin(), w.end());
    case sapi::SelectorMatch::MATCH_ANY:
      return std::any_of(w.begin(), w.end(), [&](const auto& s) { return h.count(s) > 0; });
    default:
      return false;
  }
}

absl::Status ValidateSelectorMatch(const sapi::SelectorMatch& m) {
  if (m.selectors().empty()) return absl::InvalidArgumentError("empty selector set");
  if (!sapi::SelectorMatch::MatchBehavior_IsValid(m.match())) {
    return absl::InvalidArgumentError(absl::StrCat("unknown selector match behavior ", m.match()));
  }
  for (const auto& s : m.selectors()) {
    if (s.type().empty()) return absl::InvalidArgumentError("missing selector type");
    if (s.value().empty()) return absl::InvalidArgumentError("missing selector value");
  }
  return absl::OkStatus();
}

bool FederatesWithMatches(const std::vector<std::string>& have, const std::vector<std::string>& want,
                          sapi::FederatesWithMatch::MatchBehavior match) {
  if (have.empty()) return false;
  const std::set<std::string> h(have.begin(), have.end()), w(want.begin(), want.end());
  switch (match) {
    case sapi::FederatesWithMatch::MATCH_EXACT:
      return h == w;
    case sapi::FederatesWithMatch::MATCH_SUBSET:
      return std::includes(w.begin(), w.end(), h.begin(), h.end());
    case sapi::FederatesWithMatch::MATCH_SUPERSET:
      return std::includes(h.begin(), h.end(), w.begin(), w.end());
    case sapi::FederatesWithMatch::MATCH_ANY:
      return std::any_of(w.begin(), w.end(), [&](const auto& td) { return h.count(td) > 0; });
    default:
      return false;
  }
}

absl::Status ValidateFederatesWithMatch(const sapi::FederatesWithMatch& m) {
  if (m.trust_domains().empty()) return absl::InvalidArgumentError("empty trust domain set");
  if (!sapi::FederatesWithMatch::MatchBehavior_IsValid(m.match())) {
    return absl::InvalidArgumentError(absl::StrCat("unknown federates with match behavior ", m.match()));
  }
  for (const auto& s : m.trust_domains()) RETURN_IF_ERROR(spiffe::TrustDomain::Parse(s).status());
  return absl::OkStatus();
}

void EntryToProto(const datastore::RegistrationEntry& e, sapi::Entry* out) { EntryToProto(e, e.parent_id, out); }

void EntryToProto(const datastore::EntryBody& e, std::string_view parent_id, sapi::Entry* out) {
  out->set_id(e.id);
  IdToProto(e.spiffe_id, out->mutable_spiffe_id());
  IdToProto(parent_id, out->mutable_parent_id());
  for (const auto& s : e.selectors) {
    auto* ps = out->add_selectors();
    ps->set_type(s.type);
    ps->set_value(s.value);
  }
  out->set_x509_svid_ttl(e.x509_svid_ttl);
  out->set_jwt_svid_ttl(e.jwt_svid_ttl);
  for (const auto& d : e.dns_names) out->add_dns_names(d);
  out->set_admin(e.admin);
  out->set_downstream(e.downstream);
  out->set_hint(e.hint);
  for (const auto& td : e.federates_with) out->add_federates_with(td);
  out->set_store_svid(e.store_svid);
  out->set_revision_number(e.revision_number);
  out->set_created_at(e.created_at);
  out->set_expires_at(e.expires_at);
}

namespace {

// Trust domain names ("td" or "spiffe://td" on the wire), stored by name.
absl::StatusOr<std::vector<std::string>> FederatesWithFromProto(const sapi::Entry& e) {
  std::vector<std::string> out;
  for (const auto& s : e.federates_with()) {
    auto td = spiffe::TrustDomain::Parse(s);
    if (!td.ok()) return Annotate(td.status(), "invalid federated trust domain");
    out.push_back(td->name());
  }
  return out;
}

absl::StatusOr<std::string> IdField(const sapi::SPIFFEID& id, const char* field) {
  auto parsed = IdFromProto(id);
  if (!parsed.ok()) return Annotate(parsed.status(), absl::StrCat("invalid ", field));
  return parsed->ToString();
}

}  // namespace

absl::StatusOr<datastore::RegistrationEntry> EntryFromProto(const sapi::Entry& e) { return MergeEntry({}, e, nullptr); }

absl::StatusOr<datastore::RegistrationEntry> MergeEntry(const datastore::RegistrationEntry& base, const sapi::Entry& e,
                                                        const sapi::EntryMask* mask) {
  auto want = [mask](bool field) { return mask == nullptr || field; };
  datastore::RegistrationEntry r = base;
  r.id = e.id();
  if (want(mask && mask->spiffe_id())) {
    if (!e.has_spiffe_id()) return absl::InvalidArgumentError("invalid spiffe_id: missing");
    ASSIGN_OR_RETURN(r.spiffe_id, IdField(e.spiffe_id(), "spiffe_id"));
  }
  if (want(mask && mask->parent_id())) {
    if (!e.has_parent_id()) return absl::InvalidArgumentError("invalid parent_id: missing");
    ASSIGN_OR_RETURN(r.parent_id, IdField(e.parent_id(), "parent_id"));
  }
  if (want(mask && mask->selectors())) r.selectors = SelectorsFromProto(e.selectors());
  if (want(mask && mask->x509_svid_ttl())) r.x509_svid_ttl = e.x509_svid_ttl();
  if (want(mask && mask->jwt_svid_ttl())) r.jwt_svid_ttl = e.jwt_svid_ttl();
  if (want(mask && mask->dns_names())) r.dns_names.assign(e.dns_names().begin(), e.dns_names().end());
  if (want(mask && mask->admin())) r.admin = e.admin();
  if (want(mask && mask->downstream())) r.downstream = e.downstream();
  if (want(mask && mask->hint())) r.hint = e.hint();
  if (want(mask && mask->expires_at())) r.expires_at = e.expires_at();
  if (want(mask && mask->federates_with())) {
    ASSIGN_OR_RETURN(r.federates_with, FederatesWithFromProto(e));
  }
  if (want(mask && mask->store_svid())) r.store_svid = e.store_svid();
  return r;
}

void ApplyEntryMask(const sapi::EntryMask* mask, sapi::Entry* e) {
  if (mask == nullptr) return;
  if (!mask->spiffe_id()) e->clear_spiffe_id();
  if (!mask->parent_id()) e->clear_parent_id();
  if (!mask->selectors()) e->clear_selectors();
  if (!mask->x509_svid_ttl()) e->clear_x509_svid_ttl();
  if (!mask->federates_with()) e->clear_federates_with();
  if (!mask->admin()) e->clear_admin();
  if (!mask->downstream()) e->clear_downstream();
  if (!mask->expires_at()) e->clear_expires_at();
  if (!mask->dns_names()) e->clear_dns_names();
  if (!mask->revision_number()) e->clear_revision_number();
  if (!mask->store_svid()) e->clear_store_svid();
  if (!mask->jwt_svid_ttl()) e->clear_jwt_svid_ttl();
  if (!mask->hint()) e->clear_hint();
  if (!mask->created_at()) e->clear_created_at();
}

void AgentToProto(const datastore::AttestedNode& n, sapi::Agent* out) {
  IdToProto(n.spiffe_id, out->mutable_id());
  out->set_attestation_type(n.attestation_type);
  out->set_x509svid_serial_number(n.cert_serial);
  out->set_x509svid_expires_at(n.cert_not_after);
  for (const auto& s : n.selectors) {
    auto* ps = out->add_selectors();
    ps->set_type(s.type);
    ps->set_value(s.value);
  }
  out->set_banned(n.banned);
  out->set_can_reattest(n.can_reattest);
}

void ApplyAgentMask(const sapi::AgentMask* mask, sapi::Agent* a) {
  if (mask == nullptr) return;
  if (!mask->attestation_type()) a->clear_attestation_type();
  if (!mask->x509svid_serial_number()) a->clear_x509svid_serial_number();
  if (!mask->x509svid_expires_at()) a->clear_x509svid_expires_at();
  if (!mask->selectors()) a->clear_selectors();
  if (!mask->banned()) a->clear_banned();
  if (!mask->can_reattest()) a->clear_can_reattest();
}

void BundleToProto(const datastore::BundleRecord& b, sapi::Bundle* out) {
  out->set_trust_domain(b.trust_domain);
  for (const auto& der : b.x509_authorities_der) {
    auto* a = out->add_x509_authorities();
    a->set_asn1(der);
    a->set_tainted(std::find(b.tainted_x509_der.begin(), b.tainted_x509_der.end(), der) != b.tainted_x509_der.end());
  }
  for (const auto& k : b.jwt_keys) {
    auto* pk = out->add_jwt_authorities();
    pk->set_public_key(k.public_key_der);
    pk->set_key_id(k.kid);
    pk->set_expires_at(k.expires_at);
    pk->set_tainted(k.tainted);
  }
  out->set_refresh_hint(b.refresh_hint_seconds);
  out->set_sequence_number(b.sequence_number);
}

absl::StatusOr<datastore::BundleRecord> BundleFromProto(const sapi::Bundle& b) {
  auto td = spiffe::TrustDomain::Parse(b.trust_domain());
  if (!td.ok()) return Annotate(td.status(), "invalid trust domain");
  datastore::BundleRecord out;
  out.trust_domain = td->name();
  for (const auto& a : b.x509_authorities()) {
    auto cert = crypto::ParseCertDer(a.asn1());
    if (!cert.ok()) return Annotate(cert.status(), "unable to parse X.509 authority");
    out.x509_authorities_der.push_back(a.asn1());
  }
  for (const auto& k : b.jwt_authorities()) {
    if (k.key_id().empty()) return absl::InvalidArgumentError("unable to parse JWT authority: missing key ID");
    auto key = crypto::PublicKeyFromDer(k.public_key());
    if (!key.ok()) return Annotate(key.status(), "unable to parse JWT authority");
    out.jwt_keys.push_back({k.key_id(), k.public_key(), k.expires_at()});
  }
  out.refresh_hint_seconds = b.refresh_hint();
  out.sequence_number = b.sequence_number();
  return out;
}

datastore::BundleMask BundleMaskFromProto(const sapi::BundleMask* mask) {
  datastore::BundleMask m;
  if (mask == nullptr) return m;
  m.x509_authorities = mask->x509_authorities();
  m.jwt_keys = mask->jwt_authorities();
  m.refresh_hint = mask->refresh_hint();
  m.sequence_number = mask->sequence_number();
  return m;
}

void ApplyBundleMask(const sapi::BundleMask* mask, sapi::Bundle* b) {
  if (mask == nullptr) return;
  if (!mask->x509_authorities()) b->clear_x509_authorities();
  if (!mask->jwt_authorities()) b->clear_jwt_authorities();
  if (!mask->refresh_hint()) b->clear_refresh_hint();
  if (!mask->sequence_number()) b->clear_sequence_number();
}

}  // namespace spirecvm::server::spireapi
