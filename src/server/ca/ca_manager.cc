#include "server/ca/ca_manager.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/x509.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"
#include "spiffe/jwt_svid.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::server {
namespace {

constexpr absl::Duration kPreparationCap = absl::Hours(24 * 30);
constexpr absl::Duration kActivationCap = absl::Hours(24 * 7);
// A CA is back-dated a little so that clocks slightly behind still accept what it signs.
constexpr absl::Duration kBackdate = absl::Seconds(10);

std::string OtherSlot(const std::string& id) { return id == "A" ? "B" : "A"; }

SlotStatus ParseStatus(const std::string& s) {
  if (s == "active") return SlotStatus::kActive;
  if (s == "old") return SlotStatus::kOld;
  return SlotStatus::kPrepared;
}

void SetAuthorityIds(X509Slot& slot, bool upstream) {
  slot.authority_id = crypto::SubjectKeyIdHex(slot.cert.get());
  slot.upstream_authority_id = upstream ? crypto::AuthorityKeyIdHex(slot.cert.get()) : "";
}

absl::StatusOr<ssl::X509Ptr> DecodeJournalCert(const std::string& b64, std::string_view what) {
  auto der = Base64Decode(b64);
  if (!der.ok()) return absl::DataLossError(absl::StrCat("CA journal: bad ", ToAbsl(what), " encoding"));
  auto cert = crypto::ParseCertDer(*der);
  if (!cert.ok()) return absl::DataLossError(absl::StrCat("CA journal: ", cert.status().message()));
  return cert;
}

// The X.509 and JWT halves of rotation differ only in how a slot's lifetime is read and logged.
absl::Time SlotNotBefore(const X509Slot& s) { return crypto::NotBefore(s.cert.get()); }
absl::Time SlotNotAfter(const X509Slot& s) { return crypto::NotAfter(s.cert.get()); }
absl::Time SlotNotBefore(const JwtSlot& s) { return s.issued_at; }
absl::Time SlotNotAfter(const JwtSlot& s) { return s.not_after; }
void LogActivated(const X509Slot& s) {
  spdlog::info("X509 CA activated: slot {} serial {}", s.slot_id, crypto::SerialDecimal(s.cert.get()));
}
void LogActivated(const JwtSlot& s) { spdlog::info("JWT key activated: slot {} kid {}", s.slot_id, s.kid); }

template <typename Slot>
std::shared_ptr<Slot> FindSlot(const std::vector<std::shared_ptr<Slot>>& slots, SlotStatus status) {
  for (auto& s : slots)
    if (s->status == status) return s;
  return nullptr;
}

// One rotation step of one kind of authority (X.509 CA or JWT key): forget expired slots, make sure one
// is active, prepare the next at the preparation threshold, activate it at the activation threshold.
// `prepare(slot_id)` makes a new prepared slot. Returns whether anything changed.
template <typename Slot, typename PrepareFn>
absl::StatusOr<bool> RotateSlots(std::vector<std::shared_ptr<Slot>>& slots, absl::Time now, PrepareFn prepare) {
  bool changed = std::erase_if(slots, [&](auto& s) { return SlotNotAfter(*s) <= now; }) > 0;
  auto active = FindSlot(slots, SlotStatus::kActive);
  if (active == nullptr) {
    auto prepared = FindSlot(slots, SlotStatus::kPrepared);
    if (prepared == nullptr) {
      ASSIGN_OR_RETURN(prepared, prepare(slots.empty() ? "A" : OtherSlot(slots.back()->slot_id)));
      slots.push_back(prepared);
    }
    prepared->status = SlotStatus::kActive;
    active = prepared;
    changed = true;
  }
  absl::Time nb = SlotNotBefore(*active), na = SlotNotAfter(*active);
  auto prepared = FindSlot(slots, SlotStatus::kPrepared);
  if (prepared == nullptr && now >= PreparationThreshold(nb, na)) {
    // The slot being replaced (old) is dropped: only two slots of a kind exist at a time.
    std::erase_if(slots, [](auto& s) { return s->status == SlotStatus::kOld; });
    ASSIGN_OR_RETURN(prepared, prepare(OtherSlot(active->slot_id)));
    slots.push_back(prepared);
    changed = true;
  }
  if (prepared != nullptr && now >= ActivationThreshold(nb, na)) {
    active->status = SlotStatus::kOld;
    prepared->status = SlotStatus::kActive;
    LogActivated(*prepared);
    changed = true;
  }
  return changed;
}

}  // namespace

std::string_view SlotStatusName(SlotStatus s) {
  switch (s) {
    case SlotStatus::kPrepared:
      return "prepared";
    case SlotStatus::kActive:
      return "active";
    case SlotStatus::kOld:
      return "old";
  }
  return "unknown";
}

absl::Time PreparationThreshold(absl::Time not_before, absl::Time not_after) {
  absl::Duration lifetime = not_after - not_before;
  return not_after - std::min(kPreparationCap, lifetime / 2);
}

absl::Time ActivationThreshold(absl::Time not_before, absl::Time not_after) {
  absl::Duration lifetime = not_after - not_before;
  return not_after - std::min(kActivationCap, lifetime / 6);
}

absl::StatusOr<std::unique_ptr<CaManager>> CaManager::Create(CaConfig cfg, KeyManager& km, datastore::DataStore& ds,
                                                             Clock& clock, Random& rnd, UpstreamAuthority* upstream) {
  if (cfg.server_id.empty()) return absl::InvalidArgumentError("CA: server_id is required");
  if (cfg.ca_ttl <= absl::ZeroDuration()) return absl::InvalidArgumentError("CA: ca_ttl must be positive");
  return std::unique_ptr<CaManager>(new CaManager(std::move(cfg), km, ds, clock, rnd, upstream));
}

absl::StatusOr<std::shared_ptr<X509Slot>> CaManager::PrepareX509(const std::string& slot_id) {
  auto slot = std::make_shared<X509Slot>();
  slot->slot_id = slot_id;
  slot->key_id = "x509-CA-" + slot_id;
  ASSIGN_OR_RETURN(slot->signer, km_.GenerateKey(slot->key_id, cfg_.ca_key_type));
  absl::Time now = clock_.Now();
  spiffe::CaParams p{.trust_domain = cfg_.trust_domain,
                     .public_key = slot->signer->PublicKey(),
                     .not_before = now - kBackdate,
                     .not_after = now + cfg_.ca_ttl,
                     .subject_country = cfg_.subject_country,
                     .subject_org = cfg_.subject_org,
                     .subject_cn = cfg_.subject_cn};
  if (upstream_ != nullptr) {
    auto signed_ca = upstream_->MintX509Ca(p, rnd_);
    if (!signed_ca.ok()) return Annotate(signed_ca.status(), "upstream authority");
    slot->cert = std::move(signed_ca->ca);
    slot->intermediates = std::move(signed_ca->intermediates);
    upstream_roots_der_.clear();
    for (auto& r : signed_ca->roots) upstream_roots_der_.push_back(crypto::CertToDer(r.get()));
  } else {
    ASSIGN_OR_RETURN(slot->cert, spiffe::SelfSignCa(*slot->signer, p, rnd_));
  }
  SetAuthorityIds(*slot, upstream_ != nullptr);
  spdlog::info("X509 CA prepared: slot {} serial {} expires {}", slot_id, crypto::SerialDecimal(slot->cert.get()),
               absl::FormatTime(crypto::NotAfter(slot->cert.get())));
  return slot;
}

absl::StatusOr<std::shared_ptr<JwtSlot>> CaManager::PrepareJwt(const std::string& slot_id) {
  auto slot = std::make_shared<JwtSlot>();
  slot->slot_id = slot_id;
  slot->key_id = "JWT-Signer-" + slot_id;
  ASSIGN_OR_RETURN(slot->signer, km_.GenerateKey(slot->key_id, cfg_.jwt_key_type));
  // A random kid: unguessable and unique across servers sharing a bundle.
  slot->kid = Base64UrlEncode(rnd_.Bytes(24));
  slot->issued_at = clock_.Now();
  slot->not_after = slot->issued_at + cfg_.ca_ttl;
  spdlog::info("JWT key prepared: slot {} kid {}", slot_id, slot->kid);
  return slot;
}

absl::Status CaManager::PersistJournalLocked() {
  nlohmann::json j;
  j["version"] = 1;
  j["x509"] = nlohmann::json::array();
  for (auto& s : x509_) {
    nlohmann::json e;
    e["slot"] = s->slot_id;
    e["status"] = std::string(SlotStatusName(s->status));
    e["tainted"] = s->tainted;
    e["key_id"] = s->key_id;
    e["cert"] = Base64Encode(crypto::CertToDer(s->cert.get()));
    e["intermediates"] = nlohmann::json::array();
    for (auto& c : s->intermediates) e["intermediates"].push_back(Base64Encode(crypto::CertToDer(c.get())));
    j["x509"].push_back(e);
  }
  j["jwt"] = nlohmann::json::array();
  for (auto& s : jwt_) {
    nlohmann::json e;
    e["slot"] = s->slot_id;
    e["status"] = std::string(SlotStatusName(s->status));
    e["tainted"] = s->tainted;
    e["key_id"] = s->key_id;
    e["kid"] = s->kid;
    e["issued_at"] = absl::ToUnixSeconds(s->issued_at);
    e["not_after"] = absl::ToUnixSeconds(s->not_after);
    j["jwt"].push_back(e);
  }
  j["upstream_roots"] = nlohmann::json::array();
  for (auto& r : upstream_roots_der_) j["upstream_roots"].push_back(Base64Encode(r));
  return ds_.SetCaJournal(cfg_.server_id, j.dump());
}

absl::StatusOr<std::shared_ptr<X509Slot>> CaManager::LoadX509Slot(const nlohmann::json& e, absl::Time now) {
  auto slot = std::make_shared<X509Slot>();
  slot->slot_id = e.at("slot").get<std::string>();
  slot->status = ParseStatus(e.at("status").get<std::string>());
  slot->tainted = e.value("tainted", false);
  slot->key_id = e.at("key_id").get<std::string>();
  ASSIGN_OR_RETURN(slot->cert, DecodeJournalCert(e.at("cert").get<std::string>(), "certificate"));
  for (auto& i : e.value("intermediates", nlohmann::json::array())) {
    ASSIGN_OR_RETURN(slot->intermediates.emplace_back(), DecodeJournalCert(i.get<std::string>(), "intermediate"));
  }
  if (crypto::NotAfter(slot->cert.get()) <= now) return nullptr;  // expired: nothing left to do with it
  SetAuthorityIds(*slot, upstream_ != nullptr);
  auto key = km_.GetKey(slot->key_id);
  if (!key.ok()) {
    spdlog::warn("CA journal: X509 slot {} key {} is not in KeyManager \"{}\" ({}); dropping the slot", slot->slot_id,
                 slot->key_id, std::string(km_.Name()), key.status().ToString());
    return nullptr;
  }
  // The key must be the one the certificate was made for (a KeyManager that regenerated it is no use).
  if (EVP_PKEY_eq(X509_get0_pubkey(slot->cert.get()), (*key)->PublicKey()) != 1) {
    ssl::DrainErrors();
    spdlog::warn("CA journal: X509 slot {}: key {} does not match the certificate; dropping the slot", slot->slot_id,
                 slot->key_id);
    return nullptr;
  }
  slot->signer = std::move(*key);
  return slot;
}

std::shared_ptr<JwtSlot> CaManager::LoadJwtSlot(const nlohmann::json& e, absl::Time now) {
  auto slot = std::make_shared<JwtSlot>();
  slot->slot_id = e.at("slot").get<std::string>();
  slot->status = ParseStatus(e.at("status").get<std::string>());
  slot->tainted = e.value("tainted", false);
  slot->key_id = e.at("key_id").get<std::string>();
  slot->kid = e.at("kid").get<std::string>();
  slot->issued_at = absl::FromUnixSeconds(e.at("issued_at").get<int64_t>());
  slot->not_after = absl::FromUnixSeconds(e.at("not_after").get<int64_t>());
  if (slot->not_after <= now) return nullptr;
  auto key = km_.GetKey(slot->key_id);
  if (!key.ok()) {
    spdlog::warn("CA journal: JWT slot {} key {} missing ({}); dropping the slot", slot->slot_id, slot->key_id,
                 key.status().ToString());
    return nullptr;
  }
  slot->signer = std::move(*key);
  return slot;
}

absl::Status CaManager::LoadJournalLocked() {
  auto blob = ds_.FetchCaJournal(cfg_.server_id);
  if (absl::IsNotFound(blob.status())) return absl::OkStatus();
  if (!blob.ok()) return blob.status();
  nlohmann::json j = nlohmann::json::parse(*blob, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::DataLossError("CA journal is not valid JSON");
  absl::Time now = clock_.Now();
  try {
    for (auto& e : j.value("x509", nlohmann::json::array())) {
      ASSIGN_OR_RETURN(std::shared_ptr<X509Slot> slot, LoadX509Slot(e, now));
      if (slot != nullptr) x509_.push_back(std::move(slot));
    }
    for (auto& e : j.value("jwt", nlohmann::json::array())) {
      if (auto slot = LoadJwtSlot(e, now)) jwt_.push_back(std::move(slot));
    }
    for (auto& r : j.value("upstream_roots", nlohmann::json::array())) {
      auto der = Base64Decode(r.get<std::string>());
      if (der.ok()) upstream_roots_der_.push_back(*der);
    }
  } catch (const nlohmann::json::exception& ex) {
    return absl::DataLossError(absl::StrCat("CA journal is malformed: ", ex.what()));
  }
  return absl::OkStatus();
}

// Appends every current authority to the trust bundle (prepared ones too, so that agents learn
// them before anything they sign is in use).
absl::Status CaManager::PublishLocked() {
  datastore::BundleRecord rec;
  rec.trust_domain = cfg_.trust_domain.name();
  if (upstream_ != nullptr) {
    rec.x509_authorities_der = upstream_roots_der_;
  } else {
    for (auto& s : x509_) rec.x509_authorities_der.push_back(crypto::CertToDer(s->cert.get()));
  }
  for (auto& s : jwt_) {
    ASSIGN_OR_RETURN(std::string pub, crypto::PublicKeyToDer(s->signer->PublicKey()));
    rec.jwt_keys.push_back(datastore::JwtKeyRecord{s->kid, pub, absl::ToUnixSeconds(s->not_after), false});
  }
  return ds_.AppendBundle(rec).status();
}

absl::Status CaManager::Initialize() {
  std::lock_guard<std::mutex> l(mu_);
  RETURN_IF_ERROR(LoadJournalLocked());
  return RotateLocked();
}

absl::Status CaManager::Rotate() {
  std::lock_guard<std::mutex> l(mu_);
  return RotateLocked();
}

absl::Status CaManager::RotateLocked() {
  absl::Time now = clock_.Now();
  ASSIGN_OR_RETURN(bool x509_changed,
                   RotateSlots(x509_, now, [this](const std::string& id) { return PrepareX509(id); }));
  ASSIGN_OR_RETURN(bool jwt_changed, RotateSlots(jwt_, now, [this](const std::string& id) { return PrepareJwt(id); }));
  if (!x509_changed && !jwt_changed) return absl::OkStatus();
  return CommitLocked();
}

absl::Status CaManager::CommitLocked() {
  // Publish before persisting: a prepared authority must be in the bundle before it can be active.
  RETURN_IF_ERROR(PublishLocked());
  return PersistJournalLocked();
}

absl::StatusOr<SignedX509Svid> CaManager::SignX509Svid(
    std::string_view spki_der, const spiffe::SpiffeId& id, absl::Duration ttl,
    const std::vector<std::string>& dns_names, const std::vector<std::pair<int, std::string>>& extra_extensions) {
  std::shared_ptr<X509Slot> active;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& s : x509_)
      if (s->status == SlotStatus::kActive) active = s;
  }
  if (active == nullptr) return absl::UnavailableError("no active X509 CA");
  if (!id.MemberOf(cfg_.trust_domain)) {
    return absl::InvalidArgumentError(
        absl::StrCat("SPIFFE ID ", id.ToString(), " is not in trust domain ", cfg_.trust_domain.name()));
  }
  if (spki_der.empty()) return absl::InvalidArgumentError("X509-SVID: the subject's public key is empty");
  absl::Time now = clock_.Now();
  spiffe::X509SvidParams p{.id = id,
                           .spki_der = spki_der,
                           .not_before = now - kBackdate,
                           .not_after = now + ttl,
                           .dns_names = dns_names,
                           .extra_extensions = extra_extensions};
  ASSIGN_OR_RETURN(
      spiffe::MintedX509Svid leaf,
      spiffe::MintX509Svid(spiffe::CaSigner{.cert = active->cert.get(), .signer = active->signer.get()}, p, rnd_));
  SignedX509Svid out;
  out.chain_der.push_back(std::move(leaf.der));
  if (upstream_ != nullptr) {
    out.chain_der.push_back(crypto::CertToDer(active->cert.get()));
    for (auto& c : active->intermediates) out.chain_der.push_back(crypto::CertToDer(c.get()));
  }
  out.serial = std::move(leaf.serial_decimal);
  out.not_after = leaf.not_after;
  return out;
}

absl::StatusOr<SignedX509Svid> CaManager::SignDownstreamCa(const EVP_PKEY* public_key, absl::Duration ttl) {
  std::shared_ptr<X509Slot> active;
  {
    std::lock_guard<std::mutex> l(mu_);
    active = FindSlot(x509_, SlotStatus::kActive);
  }
  if (active == nullptr) return absl::UnavailableError("no active X509 CA");
  if (ttl <= absl::ZeroDuration()) return absl::InvalidArgumentError("downstream CA TTL must be positive");
  absl::Time now = clock_.Now();
  spiffe::CaParams p{.trust_domain = cfg_.trust_domain,
                     .public_key = public_key,
                     .not_before = now - kBackdate,
                     .not_after = now + ttl,
                     .subject_country = cfg_.subject_country,
                     .subject_org = cfg_.subject_org};
  ASSIGN_OR_RETURN(ssl::X509Ptr ca,
                   spiffe::SignIntermediateCa(
                       spiffe::CaSigner{.cert = active->cert.get(), .signer = active->signer.get()}, p, rnd_));
  SignedX509Svid out;
  out.chain_der.push_back(crypto::CertToDer(ca.get()));
  if (upstream_ != nullptr) {
    out.chain_der.push_back(crypto::CertToDer(active->cert.get()));
    for (auto& c : active->intermediates) out.chain_der.push_back(crypto::CertToDer(c.get()));
  }
  out.serial = crypto::SerialDecimal(ca.get());
  out.not_after = crypto::NotAfter(ca.get());
  spdlog::info("downstream X509 CA signed: serial {} expires {}", out.serial, absl::FormatTime(out.not_after));
  return out;
}

absl::StatusOr<SignedJwtSvid> CaManager::SignJwtSvid(const spiffe::SpiffeId& id,
                                                     const std::vector<std::string>& audience, absl::Duration ttl,
                                                     std::string_view extra_claims_json) {
  if (cfg_.disable_jwt_svids) {
    return absl::FailedPreconditionError("JWT functionality is disabled (server.disable_jwt_svids = true)");
  }
  std::shared_ptr<JwtSlot> active;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& s : jwt_)
      if (s->status == SlotStatus::kActive) active = s;
  }
  if (active == nullptr) return absl::UnavailableError("no active JWT signing key");
  if (audience.empty()) return absl::InvalidArgumentError("JWT-SVID needs at least one audience");
  if (!id.MemberOf(cfg_.trust_domain)) {
    return absl::InvalidArgumentError(
        absl::StrCat("SPIFFE ID ", id.ToString(), " is not in trust domain ", cfg_.trust_domain.name()));
  }
  absl::Time now = clock_.Now();
  absl::Time exp = std::min(now + ttl, active->not_after);
  ASSIGN_OR_RETURN(std::string token,
                   spiffe::SignJwtSvid(
                       spiffe::JwtSigner{.kid = active->kid, .issuer = cfg_.jwt_issuer, .signer = active->signer.get()},
                       id, audience, now, exp, extra_claims_json));
  return SignedJwtSvid{std::move(token), now, exp};
}

std::vector<ssl::X509Ptr> CaManager::X509Authorities() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<ssl::X509Ptr> out;
  for (auto& s : x509_) out.push_back(ssl::X509Ptr(X509_dup(s->cert.get())));
  return out;
}

std::vector<AuthoritySummary> CaManager::Summary() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<AuthoritySummary> out;
  for (auto& s : x509_)
    out.push_back(
        {"x509", s->slot_id, s->status, crypto::SerialDecimal(s->cert.get()), crypto::NotAfter(s->cert.get())});
  for (auto& s : jwt_) out.push_back({"jwt", s->slot_id, s->status, s->kid, s->not_after});
  return out;
}

}  // namespace spirecvm::server
