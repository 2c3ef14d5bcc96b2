#include "server/api/convert.h"

namespace spirecvm::server {

void ToProto(const datastore::RegistrationEntry& e, types::Entry* out) {
  out->set_id(e.id);
  out->set_spiffe_id(e.spiffe_id);
  out->set_parent_id(e.parent_id);
  for (auto& s : e.selectors) {
    auto* ps = out->add_selectors();
    ps->set_type(s.type);
    ps->set_value(s.value);
  }
  out->set_x509_svid_ttl(e.x509_svid_ttl);
  out->set_jwt_svid_ttl(e.jwt_svid_ttl);
  for (auto& d : e.dns_names) out->add_dns_names(d);
  out->set_admin(e.admin);
  out->set_downstream(e.downstream);
  out->set_hint(e.hint);
  out->set_revision_number(e.revision_number);
  out->set_created_at(e.created_at);
  out->set_expires_at(e.expires_at);
}

datastore::RegistrationEntry FromProto(const types::Entry& e) {
  datastore::RegistrationEntry r;
  r.id = e.id();
  r.spiffe_id = e.spiffe_id();
  r.parent_id = e.parent_id();
  for (auto& s : e.selectors()) r.selectors.push_back({s.type(), s.value()});
  r.x509_svid_ttl = e.x509_svid_ttl();
  r.jwt_svid_ttl = e.jwt_svid_ttl();
  r.dns_names.assign(e.dns_names().begin(), e.dns_names().end());
  r.admin = e.admin();
  r.downstream = e.downstream();
  r.hint = e.hint();
  r.revision_number = e.revision_number();
  r.created_at = e.created_at();
  r.expires_at = e.expires_at();
  return r;
}

void ToProto(const datastore::AttestedNode& n, types::AttestedNode* out) {
  out->set_spiffe_id(n.spiffe_id);
  out->set_attestation_type(n.attestation_type);
  out->set_cert_serial(n.cert_serial);
  out->set_cert_expires_at(n.cert_not_after);
  out->set_new_cert_serial(n.new_cert_serial);
  out->set_new_cert_expires_at(n.new_cert_not_after);
  out->set_banned(n.banned);
  out->set_can_reattest(n.can_reattest);
  out->set_created_at(n.created_at);
  for (auto& s : n.selectors) {
    auto* ps = out->add_selectors();
    ps->set_type(s.type);
    ps->set_value(s.value);
  }
}

void ToProto(const datastore::BundleRecord& b, types::Bundle* out) {
  out->set_trust_domain(b.trust_domain);
  for (auto& c : b.x509_authorities_der) out->add_x509_authorities(c);
  for (auto& k : b.jwt_keys) {
    auto* pk = out->add_jwt_authorities();
    pk->set_key_id(k.kid);
    pk->set_public_key(k.public_key_der);
    pk->set_expires_at(k.expires_at);
  }
  out->set_refresh_hint(b.refresh_hint_seconds);
  out->set_sequence_number(b.sequence_number);
}

void SetSvid(const std::string& spiffe_id, const SignedX509Svid& svid, types::X509SVID* out) {
  out->set_spiffe_id(spiffe_id);
  for (auto& c : svid.chain_der) out->add_cert_chain(c);
  out->set_expires_at(absl::ToUnixSeconds(svid.not_after));
}

}  // namespace spirecvm::server
