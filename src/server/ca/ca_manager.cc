#include "server/ca/ca_manager.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
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
  auto key = km_.GenerateKey(slot->key_id, cfg_.ca_key_type);
  if (!key.ok()) return key.status();
  slot->key = std::move(*key);
  absl::Time now = clock_.Now();
  spiffe::CaParams p{.trust_domain = cfg_.trust_domain,
                     .public_key = slot->key.get(),
                     .not_before = now - kBackdate,
                     .not_after = now + cfg_.ca_ttl,
                     .subject_country = cfg_.subject_country,
                     .subject_org = cfg_.subject_org,
                     .subject_cn = cfg_.subject_cn};
  if (upstream_ != nullptr) {
    auto signed_ca = upstream_->MintX509Ca(p, rnd_);
    if (!signed_ca.ok())
      return absl::Status(signed_ca.status().code(),
                          absl::StrCat("upstream authority: ", signed_ca.status().message()));
    slot->cert = std::move(signed_ca->ca);
    slot->intermediates = std::move(signed_ca->intermediates);
    upstream_roots_der_.clear();
    for (auto& r : signed_ca->roots) upstream_roots_der_.push_back(crypto::CertToDer(r.get()));
  } else {
    auto ca = spiffe::SelfSignCa(slot->key.get(), p, rnd_);
    if (!ca.ok()) return ca.status();
    slot->cert = std::move(*ca);
  }
  spdlog::info("X509 CA prepared: slot {} serial {} expires {}", slot_id, crypto::SerialDecimal(slot->cert.get()),
               absl::FormatTime(crypto::NotAfter(slot->cert.get())));
  return slot;
}

absl::StatusOr<std::shared_ptr<JwtSlot>> CaManager::PrepareJwt(const std::string& slot_id) {
  auto slot = std::make_shared<JwtSlot>();
  slot->slot_id = slot_id;
  slot->key_id = "JWT-Signer-" + slot_id;
  auto key = km_.GenerateKey(slot->key_id, cfg_.jwt_key_type);
  if (!key.ok()) return key.status();
  slot->key = std::move(*key);
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

absl::Status CaManager::LoadJournalLocked() {
  auto blob = ds_.FetchCaJournal(cfg_.server_id);
  if (!blob.ok()) {
    if (absl::IsNotFound(blob.status())) return absl::OkStatus();
    return blob.status();
  }
  nlohmann::json j = nlohmann::json::parse(*blob, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::DataLossError("CA journal is not valid JSON");
  absl::Time now = clock_.Now();
  try {
    for (auto& e : j.value("x509", nlohmann::json::array())) {
      auto slot = std::make_shared<X509Slot>();
      slot->slot_id = e.at("slot").get<std::string>();
      slot->status = ParseStatus(e.at("status").get<std::string>());
      slot->key_id = e.at("key_id").get<std::string>();
      auto der = Base64Decode(e.at("cert").get<std::string>());
      if (!der.ok()) return absl::DataLossError("CA journal: bad certificate encoding");
      auto cert = crypto::ParseCertDer(*der);
      if (!cert.ok()) return absl::DataLossError(absl::StrCat("CA journal: ", cert.status().message()));
      slot->cert = std::move(*cert);
      for (auto& i : e.value("intermediates", nlohmann::json::array())) {
        auto ider = Base64Decode(i.get<std::string>());
        if (!ider.ok()) return absl::DataLossError("CA journal: bad intermediate encoding");
        auto ic = crypto::ParseCertDer(*ider);
        if (!ic.ok()) return absl::DataLossError(absl::StrCat("CA journal: ", ic.status().message()));
        slot->intermediates.push_back(std::move(*ic));
      }
      if (crypto::NotAfter(slot->cert.get()) <= now) continue;  // expired: nothing left to do with it
      auto key = km_.GetKey(slot->key_id);
      if (!key.ok()) {
        spdlog::warn("CA journal: X509 slot {} key {} is not in KeyManager \"{}\" ({}); dropping the slot",
                     slot->slot_id, slot->key_id, std::string(km_.Name()), key.status().ToString());
        continue;
      }
      // The key must be the one the certificate was made for (a KeyManager that regenerated it is no use).
      if (X509_check_private_key(slot->cert.get(), key->get()) != 1) {
        ssl::DrainErrors();
        spdlog::warn("CA journal: X509 slot {}: key {} does not match the certificate; dropping the slot",
                     slot->slot_id, slot->key_id);
        continue;
      }
      slot->key = std::move(*key);
      x509_.push_back(std::move(slot));
    }
    for (auto& e : j.value("jwt", nlohmann::json::array())) {
      auto slot = std::make_shared<JwtSlot>();
      slot->slot_id = e.at("slot").get<std::string>();
      slot->status = ParseStatus(e.at("status").get<std::string>());
      slot->key_id = e.at("key_id").get<std::string>();
      slot->kid = e.at("kid").get<std::string>();
      slot->issued_at = absl::FromUnixSeconds(e.at("issued_at").get<int64_t>());
      slot->not_after = absl::FromUnixSeconds(e.at("not_after").get<int64_t>());
      if (slot->not_after <= now) continue;
      auto key = km_.GetKey(slot->key_id);
      if (!key.ok()) {
        spdlog::warn("CA journal: JWT slot {} key {} missing ({}); dropping the slot", slot->slot_id, slot->key_id,
                     key.status().ToString());
        continue;
      }
      slot->key = std::move(*key);
      jwt_.push_back(std::move(slot));
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
    auto pub = crypto::PublicKeyToDer(s->key.get());
    if (!pub.ok()) return pub.status();
    rec.jwt_keys.push_back(datastore::JwtKeyRecord{s->kid, *pub, absl::ToUnixSeconds(s->not_after)});
  }
  auto out = ds_.AppendBundle(rec);
  return out.status();
}

absl::Status CaManager::Initialize() {
  std::lock_guard<std::mutex> l(mu_);
  if (auto st = LoadJournalLocked(); !st.ok()) return st;
  if (auto st = RotateLocked(); !st.ok()) return st;
  return absl::OkStatus();
}

absl::Status CaManager::Rotate() {
  std::lock_guard<std::mutex> l(mu_);
  return RotateLocked();
}

absl::Status CaManager::RotateLocked() {
  absl::Time now = clock_.Now();
  bool changed = false;

  // Forget what has expired.
  auto x_end =
      std::remove_if(x509_.begin(), x509_.end(), [&](auto& s) { return crypto::NotAfter(s->cert.get()) <= now; });
  if (x_end != x509_.end()) changed = true;
  x509_.erase(x_end, x509_.end());
  auto j_end = std::remove_if(jwt_.begin(), jwt_.end(), [&](auto& s) { return s->not_after <= now; });
  if (j_end != jwt_.end()) changed = true;
  jwt_.erase(j_end, jwt_.end());

  auto find_x = [&](SlotStatus st) -> std::shared_ptr<X509Slot> {
    for (auto& s : x509_)
      if (s->status == st) return s;
    return nullptr;
  };
  auto find_j = [&](SlotStatus st) -> std::shared_ptr<JwtSlot> {
    for (auto& s : jwt_)
      if (s->status == st) return s;
    return nullptr;
  };

  // X.509 CA.
  auto active = find_x(SlotStatus::kActive);
  if (active == nullptr) {
    auto prepared = find_x(SlotStatus::kPrepared);
    if (prepared == nullptr) {
      auto slot = PrepareX509(x509_.empty() ? "A" : OtherSlot(x509_.back()->slot_id));
      if (!slot.ok()) return slot.status();
      prepared = *slot;
      x509_.push_back(prepared);
    }
    prepared->status = SlotStatus::kActive;
    active = prepared;
    changed = true;
  }
  absl::Time nb = crypto::NotBefore(active->cert.get()), na = crypto::NotAfter(active->cert.get());
  auto prepared = find_x(SlotStatus::kPrepared);
  if (prepared == nullptr && now >= PreparationThreshold(nb, na)) {
    // The slot being replaced (old) is dropped: only two X.509 slots exist at a time.
    x509_.erase(std::remove_if(x509_.begin(), x509_.end(), [](auto& s) { return s->status == SlotStatus::kOld; }),
                x509_.end());
    auto slot = PrepareX509(OtherSlot(active->slot_id));
    if (!slot.ok()) return slot.status();
    prepared = *slot;
    x509_.push_back(prepared);
    changed = true;
  }
  if (prepared != nullptr && now >= ActivationThreshold(nb, na)) {
    active->status = SlotStatus::kOld;
    prepared->status = SlotStatus::kActive;
    spdlog::info("X509 CA activated: slot {} serial {}", prepared->slot_id,
                 crypto::SerialDecimal(prepared->cert.get()));
    changed = true;
  }

  // JWT key.
  auto jactive = find_j(SlotStatus::kActive);
  if (jactive == nullptr) {
    auto jprep = find_j(SlotStatus::kPrepared);
    if (jprep == nullptr) {
      auto slot = PrepareJwt(jwt_.empty() ? "A" : OtherSlot(jwt_.back()->slot_id));
      if (!slot.ok()) return slot.status();
      jprep = *slot;
      jwt_.push_back(jprep);
    }
    jprep->status = SlotStatus::kActive;
    jactive = jprep;
    changed = true;
  }
  auto jprep = find_j(SlotStatus::kPrepared);
  if (jprep == nullptr && now >= PreparationThreshold(jactive->issued_at, jactive->not_after)) {
    jwt_.erase(std::remove_if(jwt_.begin(), jwt_.end(), [](auto& s) { return s->status == SlotStatus::kOld; }),
               jwt_.end());
    auto slot = PrepareJwt(OtherSlot(jactive->slot_id));
    if (!slot.ok()) return slot.status();
    jprep = *slot;
    jwt_.push_back(jprep);
    changed = true;
  }
  if (jprep != nullptr && now >= ActivationThreshold(jactive->issued_at, jactive->not_after)) {
    jactive->status = SlotStatus::kOld;
    jprep->status = SlotStatus::kActive;
    spdlog::info("JWT key activated: slot {} kid {}", jprep->slot_id, jprep->kid);
    changed = true;
  }

  if (changed) {
    // Publish before persisting: a prepared authority must be in the bundle before it can be active.
    if (auto st = PublishLocked(); !st.ok()) return st;
    if (auto st = PersistJournalLocked(); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::StatusOr<SignedX509Svid> CaManager::SignX509Svid(const EVP_PKEY* public_key, const spiffe::SpiffeId& id,
                                                       absl::Duration ttl, const std::vector<std::string>& dns_names) {
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
  absl::Time now = clock_.Now();
  spiffe::X509SvidParams p{.id = id,
                           .public_key = public_key,
                           .not_before = now - kBackdate,
                           .not_after = now + ttl,
                           .dns_names = dns_names,
                           .der_only = true};
  auto leaf = spiffe::SignX509Svid(spiffe::CaSigner{active->cert.get(), active->key.get()}, p, rnd_);
  if (!leaf.ok()) return leaf.status();
  SignedX509Svid out;
  out.chain_der.push_back(crypto::CertToDer(leaf->get()));
  if (upstream_ != nullptr) {
    out.chain_der.push_back(crypto::CertToDer(active->cert.get()));
    for (auto& c : active->intermediates) out.chain_der.push_back(crypto::CertToDer(c.get()));
  }
  out.serial = crypto::SerialDecimal(leaf->get());
  out.not_after = crypto::NotAfter(leaf->get());
  return out;
}

absl::StatusOr<SignedJwtSvid> CaManager::SignJwtSvid(const spiffe::SpiffeId& id,
                                                     const std::vector<std::string>& audience, absl::Duration ttl) {
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
  auto token =
      spiffe::SignJwtSvid(spiffe::JwtSigner{active->key.get(), active->kid, cfg_.jwt_issuer}, id, audience, now, exp);
  if (!token.ok()) return token.status();
  return SignedJwtSvid{*token, now, exp};
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
