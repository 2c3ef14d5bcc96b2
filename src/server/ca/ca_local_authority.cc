// CaManager's forced rotation: SPIRE's LocalAuthority steps (prepare, activate, taint, revoke) applied to the
// X.509 CA and JWT key slots. The validation order and the messages follow SPIRE v1.13's localauthority service,
// so that SPIRE's CLI prints what it prints against SPIRE.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/x509.h"
#include "server/ca/ca_manager.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server {
namespace {

std::string OtherSlotId(const std::string& id) { return id == "A" ? "B" : "A"; }

AuthorityState StateOf(const X509Slot& s) {
  return {s.authority_id, crypto::NotAfter(s.cert.get()), s.upstream_authority_id};
}
AuthorityState StateOf(const JwtSlot& s) { return {s.kid, s.not_after, ""}; }
const std::string& IdOf(const X509Slot& s) { return s.authority_id; }
const std::string& IdOf(const JwtSlot& s) { return s.kid; }

template <typename Slot>
std::shared_ptr<Slot> WithStatus(const std::vector<std::shared_ptr<Slot>>& slots, SlotStatus status) {
  for (auto& s : slots)
    if (s->status == status) return s;
  return nullptr;
}

// The slot that is not active (prepared or old), as SPIRE's "next" slot; nullptr when there is none.
template <typename Slot>
std::shared_ptr<Slot> NextSlot(const std::vector<std::shared_ptr<Slot>>& slots) {
  for (auto& s : slots)
    if (s->status != SlotStatus::kActive) return s;
  return nullptr;
}

template <typename Slot>
absl::StatusOr<std::shared_ptr<Slot>> ActiveOrInitializing(const std::vector<std::shared_ptr<Slot>>& slots) {
  auto active = WithStatus(slots, SlotStatus::kActive);
  if (active == nullptr) return absl::UnavailableError("server is initializing");
  return active;
}

template <typename Slot>
AuthorityStates StatesOf(const Slot& active, const Slot* next) {
  AuthorityStates out;
  out.active = StateOf(active);
  if (next != nullptr) (next->status == SlotStatus::kPrepared ? out.prepared : out.old) = StateOf(*next);
  return out;
}

// Prepares a new next slot beside the active one, replacing a prepared or old slot (as SPIRE's prepare does).
template <typename Slot, typename PrepareFn>
absl::StatusOr<AuthorityState> PrepareNext(std::vector<std::shared_ptr<Slot>>& slots, PrepareFn prepare) {
  ASSIGN_OR_RETURN(auto active, ActiveOrInitializing(slots));
  ASSIGN_OR_RETURN(std::shared_ptr<Slot> next, prepare(OtherSlotId(active->slot_id)));
  std::erase_if(slots, [](auto& s) { return s->status != SlotStatus::kActive; });
  slots.push_back(next);
  return StateOf(*next);
}

// SPIRE's checks before activating `id`: it must be the prepared next slot.
template <typename Slot>
absl::StatusOr<std::shared_ptr<Slot>> PreparedToActivate(const std::vector<std::shared_ptr<Slot>>& slots,
                                                         std::string_view id) {
  auto next = NextSlot(slots);
  if (id.empty()) return absl::InvalidArgumentError("no authority ID provided");
  if (next == nullptr || id != IdOf(*next)) return absl::InvalidArgumentError("unexpected authority ID");
  if (next->status != SlotStatus::kPrepared) {
    return absl::InternalError(
        absl::StrCat("only Prepared authorities can be activated: unsupported local authority "
                     "status: ",
                     ToAbsl(SlotStatusName(next->status))));
  }
  return next;
}

// SPIRE's checks before tainting `id`: it must be the old next slot, never the active one.
template <typename Slot>
absl::StatusOr<std::shared_ptr<Slot>> OldToTaint(const std::vector<std::shared_ptr<Slot>>& slots, std::string_view id) {
  auto active = WithStatus(slots, SlotStatus::kActive);
  auto next = NextSlot(slots);
  if (id.empty()) return absl::InvalidArgumentError("no authority ID provided");
  if (active != nullptr && id == IdOf(*active)) {
    return absl::InvalidArgumentError("unable to taint current local authority");
  }
  if (next == nullptr || id != IdOf(*next)) return absl::InvalidArgumentError("unexpected authority ID");
  if (next->status != SlotStatus::kOld) {
    return absl::InvalidArgumentError(
        absl::StrCat("only Old local authorities can be tainted: unsupported local "
                     "authority status: ",
                     ToAbsl(SlotStatusName(next->status))));
  }
  return next;
}

absl::Status Wrap(absl::StatusCode code, std::string_view what, const absl::Status& cause) {
  return absl::Status(code, absl::StrCat(ToAbsl(what), ": ", cause.message()));
}

}  // namespace

absl::StatusOr<AuthorityStates> CaManager::States(AuthorityKind kind) const {
  std::lock_guard<std::mutex> l(mu_);
  if (kind == AuthorityKind::kX509) {
    ASSIGN_OR_RETURN(auto active, ActiveOrInitializing(x509_));
    return StatesOf(*active, NextSlot(x509_).get());
  }
  ASSIGN_OR_RETURN(auto active, ActiveOrInitializing(jwt_));
  return StatesOf(*active, NextSlot(jwt_).get());
}

absl::StatusOr<AuthorityState> CaManager::Prepare(AuthorityKind kind) {
  std::lock_guard<std::mutex> l(mu_);
  absl::StatusOr<AuthorityState> state =
      kind == AuthorityKind::kX509 ? PrepareNext(x509_, [this](const std::string& id) { return PrepareX509(id); })
                                   : PrepareNext(jwt_, [this](const std::string& id) { return PrepareJwt(id); });
  if (!state.ok()) {
    if (absl::IsUnavailable(state.status())) return state;
    return Wrap(absl::StatusCode::kInternal,
                kind == AuthorityKind::kX509 ? "failed to prepare X.509 authority" : "failed to prepare JWT authority",
                state.status());
  }
  RETURN_IF_ERROR(CommitLocked());
  return state;
}

absl::StatusOr<AuthorityState> CaManager::Activate(AuthorityKind kind, std::string_view id) {
  std::lock_guard<std::mutex> l(mu_);
  auto flip = [&](auto& slots) -> absl::StatusOr<AuthorityState> {
    ASSIGN_OR_RETURN(auto next, PreparedToActivate(slots, id));
    for (auto& s : slots)
      if (s->status == SlotStatus::kActive) s->status = SlotStatus::kOld;
    next->status = SlotStatus::kActive;
    spdlog::info("{} authority {} activated by request", kind == AuthorityKind::kX509 ? "X.509" : "JWT", IdOf(*next));
    return StateOf(*next);
  };
  ASSIGN_OR_RETURN(AuthorityState state, kind == AuthorityKind::kX509 ? flip(x509_) : flip(jwt_));
  RETURN_IF_ERROR(CommitLocked());
  return state;
}

absl::StatusOr<AuthorityState> CaManager::Taint(AuthorityKind kind, std::string_view id) {
  std::lock_guard<std::mutex> l(mu_);
  return kind == AuthorityKind::kX509 ? TaintX509Locked(id) : TaintJwtLocked(id);
}

absl::StatusOr<AuthorityState> CaManager::TaintX509Locked(std::string_view id) {
  if (upstream_ != nullptr) {
    return absl::FailedPreconditionError("local authority can't be tainted if there is an upstream authority");
  }
  ASSIGN_OR_RETURN(auto old, OldToTaint(x509_, id));
  if (auto s = ds_.TaintX509Authority(cfg_.trust_domain.name(), old->authority_id); !s.ok()) {
    return Wrap(absl::StatusCode::kInternal, "failed to taint X.509 authority", s);
  }
  old->tainted = true;
  RETURN_IF_ERROR(PersistJournalLocked());
  spdlog::info("X.509 authority {} tainted", old->authority_id);
  return StateOf(*old);
}

absl::StatusOr<AuthorityState> CaManager::TaintJwtLocked(std::string_view id) {
  ASSIGN_OR_RETURN(auto old, OldToTaint(jwt_, id));
  if (auto s = ds_.TaintJwtKey(cfg_.trust_domain.name(), old->kid); !s.ok()) {
    return Wrap(absl::StatusCode::kInternal, "failed to taint JWT authority", s);
  }
  old->tainted = true;
  RETURN_IF_ERROR(PersistJournalLocked());
  spdlog::info("JWT authority {} tainted", old->kid);
  // SPIRE answers a tainted JWT authority with its id only.
  return AuthorityState{old->kid, absl::UnixEpoch(), ""};
}

absl::StatusOr<AuthorityState> CaManager::Revoke(AuthorityKind kind, std::string_view id) {
  std::lock_guard<std::mutex> l(mu_);
  return kind == AuthorityKind::kX509 ? RevokeX509Locked(id) : RevokeJwtLocked(id);
}

absl::StatusOr<AuthorityState> CaManager::RevokeX509Locked(std::string_view id) {
  if (upstream_ != nullptr) {
    return absl::FailedPreconditionError("local authority can't be revoked if there is an upstream authority");
  }
  auto active = WithStatus(x509_, SlotStatus::kActive);
  auto next = NextSlot(x509_);
  std::string why;
  if (id.empty()) {
    why = "no authority ID provided";
  } else if (active != nullptr && id == active->authority_id) {
    why = "unable to use current authority";
  } else if (next == nullptr || id != next->authority_id || next->status != SlotStatus::kOld) {
    why = "only Old local authority can be revoked";
  }
  if (!why.empty()) return absl::InvalidArgumentError(absl::StrCat("invalid authority ID: ", why));
  if (auto s = ds_.RevokeX509Authority(cfg_.trust_domain.name(), next->authority_id); !s.ok()) {
    return Wrap(absl::StatusCode::kInternal, "failed to revoke X.509 authority", s);
  }
  // Gone from the bundle: forget the slot too, so that no later publish puts it back.
  std::erase(x509_, next);
  RETURN_IF_ERROR(PersistJournalLocked());
  spdlog::info("X.509 authority {} revoked", next->authority_id);
  return AuthorityState{std::string(id), absl::UnixEpoch(), ""};
}

absl::StatusOr<AuthorityState> CaManager::RevokeJwtLocked(std::string_view id) {
  auto active = WithStatus(jwt_, SlotStatus::kActive);
  auto next = NextSlot(jwt_);
  std::string why;
  if (id.empty()) {
    why = "no authority ID provided";
  } else if (next != nullptr && id == next->kid) {
    if (next->status == SlotStatus::kPrepared) why = "unable to use a prepared key";
  } else if (active != nullptr && id == active->kid) {
    why = "unable to use current authority";
  } else {
    ASSIGN_OR_RETURN(datastore::BundleRecord b, ds_.FetchBundle(cfg_.trust_domain.name()));
    if (std::none_of(b.jwt_keys.begin(), b.jwt_keys.end(), [&](const auto& k) { return k.kid == id; })) {
      why = "no JWT authority found with provided authority ID";
    }
  }
  if (!why.empty()) return absl::InvalidArgumentError(absl::StrCat("invalid authority ID: ", why));
  if (auto s = ds_.RevokeJwtKey(cfg_.trust_domain.name(), id); !s.ok()) {
    return Wrap(absl::StatusCode::kInternal, "failed to revoke JWT authority", s);
  }
  if (next != nullptr && id == next->kid) {
    std::erase(jwt_, next);
    RETURN_IF_ERROR(PersistJournalLocked());
  }
  spdlog::info("JWT authority {} revoked", std::string(id));
  return AuthorityState{std::string(id), absl::UnixEpoch(), ""};
}

absl::Status CaManager::CheckUpstreamOfOldLocked(const std::string& skid) const {
  if (skid.empty()) return absl::InvalidArgumentError("no subject key ID provided");
  auto active = WithStatus(x509_, SlotStatus::kActive);
  if (active != nullptr && skid == active->upstream_authority_id) {
    return absl::InvalidArgumentError("unable to use upstream authority signing current authority");
  }
  auto next = NextSlot(x509_);
  if (next == nullptr || skid != next->upstream_authority_id) {
    return absl::InvalidArgumentError("upstream authority didn't sign the old local authority");
  }
  if (next->status == SlotStatus::kPrepared) {
    return absl::InvalidArgumentError("only upstream authorities signing an old authority can be used");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CaManager::TaintUpstream(std::string_view subject_key_id) {
  std::lock_guard<std::mutex> l(mu_);
  if (upstream_ == nullptr) return absl::FailedPreconditionError("upstream authority is not configured");
  const std::string skid = absl::AsciiStrToLower(ToAbsl(subject_key_id));
  if (auto s = CheckUpstreamOfOldLocked(skid); !s.ok()) {
    return Wrap(absl::StatusCode::kInvalidArgument, "provided subject key id is not valid", s);
  }
  if (auto s = ds_.TaintX509Authority(cfg_.trust_domain.name(), skid); !s.ok()) {
    return Wrap(absl::StatusCode::kInternal, "failed to taint upstream authority", s);
  }
  spdlog::info("X.509 upstream authority {} tainted", skid);
  return skid;
}

absl::StatusOr<std::string> CaManager::RevokeUpstream(std::string_view subject_key_id) {
  std::lock_guard<std::mutex> l(mu_);
  if (upstream_ == nullptr) return absl::FailedPreconditionError("upstream authority is not configured");
  const std::string skid = absl::AsciiStrToLower(ToAbsl(subject_key_id));
  if (auto s = CheckUpstreamOfOldLocked(skid); !s.ok()) {
    return Wrap(absl::StatusCode::kInvalidArgument, "invalid subject key ID", s);
  }
  if (auto s = ds_.RevokeX509Authority(cfg_.trust_domain.name(), skid); !s.ok()) {
    return Wrap(absl::StatusCode::kInternal, "failed to revoke X.509 upstream authority", s);
  }
  // Never publish the revoked root again.
  const size_t before = upstream_roots_der_.size();
  std::erase_if(upstream_roots_der_, [&](const std::string& der) {
    auto cert = crypto::ParseCertDer(der);
    return cert.ok() && crypto::SubjectKeyIdHex(cert->get()) == skid;
  });
  if (upstream_roots_der_.size() != before) RETURN_IF_ERROR(PersistJournalLocked());
  spdlog::info("X.509 upstream authority {} revoked", skid);
  return skid;
}

}  // namespace spirecvm::server
