// The server's certificate authority: X.509 CA and JWT signing key slots that rotate
// prepared -> active -> old at SPIRE's thresholds, persisted through a journal in the DataStore
// (keys stay in the KeyManager), and published in the trust bundle before they are used.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/random.h"
#include "crypto/keys.h"
#include "crypto/signer.h"
#include "crypto/ssl_ptr.h"
#include "nlohmann/json_fwd.hpp"
#include "server/ca/upstream_authority.h"
#include "server/datastore/datastore.h"
#include "server/keymanager/key_manager.h"
#include "spiffe/bundle.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server {

struct CaConfig {
  spiffe::TrustDomain trust_domain;
  crypto::KeyType ca_key_type = crypto::KeyType::kEcP256;
  crypto::KeyType jwt_key_type = crypto::KeyType::kEcP256;
  absl::Duration ca_ttl = absl::Hours(24);
  std::string subject_country = "US";
  std::string subject_org = "SPIFFE";
  std::string subject_cn;
  std::string server_id;           // this server's journal key (several servers may share a database)
  std::string jwt_issuer;          // optional `iss` claim
  bool disable_jwt_svids = false;  // SPIRE's disable_jwt_svids: SignJwtSvid refuses
};

enum class SlotStatus { kPrepared, kActive, kOld };
std::string_view SlotStatusName(SlotStatus s);

// When the next authority is prepared and activated, as SPIRE does: prepare at half of the
// lifetime (at most 30 days before expiry), activate at 5/6 (at most 7 days before expiry).
absl::Time PreparationThreshold(absl::Time not_before, absl::Time not_after);
absl::Time ActivationThreshold(absl::Time not_before, absl::Time not_after);

struct X509Slot {
  std::string slot_id;  // "A" | "B"
  SlotStatus status = SlotStatus::kPrepared;
  bool tainted = false;  // set by TaintAuthority (only an old slot)
  std::string key_id;
  std::string authority_id;           // the certificate's subject key id, lowercase hex (SPIRE's authority id)
  std::string upstream_authority_id;  // with an UpstreamAuthority: the signer's key id (authority key id), hex
  ssl::X509Ptr cert;
  std::vector<ssl::X509Ptr> intermediates;  // upstream chain (excluding roots)
  std::shared_ptr<crypto::Signer> signer;   // the CA key, from the KeyManager
};

struct JwtSlot {
  std::string slot_id;
  SlotStatus status = SlotStatus::kPrepared;
  bool tainted = false;
  std::string key_id;
  std::string kid;  // also the authority id
  absl::Time issued_at;
  absl::Time not_after;
  std::shared_ptr<crypto::Signer> signer;  // the JWT key, from the KeyManager
};

struct SignedX509Svid {
  std::vector<std::string> chain_der;  // leaf first, then intermediates
  std::string serial;                  // decimal
  absl::Time not_after;
};

struct SignedJwtSvid {
  std::string token;
  absl::Time issued_at;
  absl::Time expires_at;
};

struct AuthoritySummary {
  std::string kind;  // "x509" | "jwt"
  std::string slot_id;
  SlotStatus status;
  std::string id;  // serial (x509) or kid (jwt)
  absl::Time not_after;
};

// One authority as SPIRE's LocalAuthority API reports it.
struct AuthorityState {
  std::string authority_id;  // X.509: subject key id (lowercase hex); JWT: kid
  absl::Time expires_at;
  std::string upstream_authority_id;  // X.509 signed by an UpstreamAuthority: the signer's subject key id
};
// The active authority of a kind and the other slot, prepared or old (at most one of them).
struct AuthorityStates {
  AuthorityState active;
  std::optional<AuthorityState> prepared;
  std::optional<AuthorityState> old;
};
enum class AuthorityKind { kX509, kJwt };

class CaManager {
 public:
  static absl::StatusOr<std::unique_ptr<CaManager>> Create(CaConfig cfg, KeyManager& km, datastore::DataStore& ds,
                                                           Clock& clock, Random& rnd,
                                                           UpstreamAuthority* upstream /* nullable */);

  // Loads the journal; makes and activates authorities when there is no usable active one.
  absl::Status Initialize();
  // One rotation step: prepare, activate, retire by the thresholds. Call periodically.
  absl::Status Rotate();

  // spki_der: the subject's SubjectPublicKeyInfo, checked and in its one DER encoding (crypto::ParsedCsr::spki_der,
  // crypto::PublicKeyToDer). extra_extensions: non-critical extensions (NID, DER value) added to the leaf (the node
  // facts, src/cvm).
  absl::StatusOr<SignedX509Svid> SignX509Svid(std::string_view spki_der, const spiffe::SpiffeId& id, absl::Duration ttl,
                                              const std::vector<std::string>& dns_names,
                                              const std::vector<std::pair<int, std::string>>& extra_extensions = {});
  // extra_claims_json: empty or a JSON object of claims to add (the node facts' `cvm` claim).
  absl::StatusOr<SignedJwtSvid> SignJwtSvid(const spiffe::SpiffeId& id, const std::vector<std::string>& audience,
                                            absl::Duration ttl, std::string_view extra_claims_json = {});

  // A CA certificate for a downstream SPIRE server (SPIRE's NewDownstreamX509CA): URI SAN the trust domain, signed
  // by the active X.509 CA, lifetime `ttl` capped at the signer's. chain_der: the new CA, then (with an
  // UpstreamAuthority) the active CA and its upstream intermediates, as SPIRE chains it.
  absl::StatusOr<SignedX509Svid> SignDownstreamCa(const EVP_PKEY* public_key, absl::Duration ttl);

  // This server's active and recent CA certificates (to verify agent SVIDs it and its peers issued).
  std::vector<ssl::X509Ptr> X509Authorities() const;
  std::vector<AuthoritySummary> Summary() const;
  const CaConfig& config() const { return cfg_; }
  bool HasUpstreamAuthority() const { return upstream_ != nullptr; }

  // ---- Forced rotation (SPIRE's LocalAuthority API; ca_local_authority.cc) ----
  // Errors carry the gRPC codes and messages SPIRE answers: Unavailable before the first activation,
  // InvalidArgument for an authority id that is not the one the step applies to, FailedPrecondition for a local
  // step with an UpstreamAuthority (or an upstream step without one), Internal when the bundle refuses the change.
  absl::StatusOr<AuthorityStates> States(AuthorityKind kind) const;
  // Prepares the next authority now (replacing a prepared or old one) and publishes it in the bundle.
  absl::StatusOr<AuthorityState> Prepare(AuthorityKind kind);
  // Activates the prepared authority `id`; the active one becomes old.
  absl::StatusOr<AuthorityState> Activate(AuthorityKind kind, std::string_view id);
  // Marks the old authority `id` tainted in the bundle (and the journal).
  absl::StatusOr<AuthorityState> Taint(AuthorityKind kind, std::string_view id);
  // Removes a tainted authority from the bundle (X.509: the old one; JWT: any bundle key but the active/prepared).
  absl::StatusOr<AuthorityState> Revoke(AuthorityKind kind, std::string_view id);
  // The same for the upstream authority (subject key id, any case) that signed the old X.509 authority.
  absl::StatusOr<std::string> TaintUpstream(std::string_view subject_key_id);
  absl::StatusOr<std::string> RevokeUpstream(std::string_view subject_key_id);

 private:
  CaManager(CaConfig cfg, KeyManager& km, datastore::DataStore& ds, Clock& clock, Random& rnd, UpstreamAuthority* up)
      : cfg_(std::move(cfg)), km_(km), ds_(ds), clock_(clock), rnd_(rnd), upstream_(up) {}

  absl::StatusOr<std::shared_ptr<X509Slot>> PrepareX509(const std::string& slot_id);
  absl::StatusOr<std::shared_ptr<JwtSlot>> PrepareJwt(const std::string& slot_id);
  absl::Status PersistJournalLocked();
  absl::Status LoadJournalLocked();
  // A journal slot, or nullptr when it is expired or its key is gone (dropped with a warning).
  absl::StatusOr<std::shared_ptr<X509Slot>> LoadX509Slot(const nlohmann::json& e, absl::Time now);
  std::shared_ptr<JwtSlot> LoadJwtSlot(const nlohmann::json& e, absl::Time now);
  absl::Status PublishLocked();
  absl::Status RotateLocked();
  // Publishes, then persists the journal: after any change to the slots.
  absl::Status CommitLocked();
  absl::StatusOr<AuthorityState> TaintX509Locked(std::string_view id);
  absl::StatusOr<AuthorityState> TaintJwtLocked(std::string_view id);
  absl::StatusOr<AuthorityState> RevokeX509Locked(std::string_view id);
  absl::StatusOr<AuthorityState> RevokeJwtLocked(std::string_view id);
  // SPIRE's checks that `skid` names the upstream authority of the old (not the active) X.509 authority.
  absl::Status CheckUpstreamOfOldLocked(const std::string& skid) const;

  CaConfig cfg_;
  KeyManager& km_;
  datastore::DataStore& ds_;
  Clock& clock_;
  Random& rnd_;
  UpstreamAuthority* upstream_;

  mutable std::mutex mu_;
  // Slots are immutable once made, except their status; signers take a shared_ptr snapshot.
  std::vector<std::shared_ptr<X509Slot>> x509_;
  std::vector<std::shared_ptr<JwtSlot>> jwt_;
  std::vector<std::string> upstream_roots_der_;
};

}  // namespace spirecvm::server
