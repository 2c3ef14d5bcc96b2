#include "agent/adminapi/delegate_authorizer.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "agent/workload/caller_attestation.h"
#include "common/status.h"
#include "spdlog/spdlog.h"

namespace spirecvm::agent::adminapi {

DelegateAuthorizer::DelegateAuthorizer(std::shared_ptr<Cache> cache, WorkloadAttestor* attestor, std::string proc_root,
                                       std::vector<std::string> authorized_delegates)
    : cache_(std::move(cache)),
      attestor_(attestor),
      proc_root_(std::move(proc_root)),
      authorized_(authorized_delegates.begin(), authorized_delegates.end()) {}

absl::StatusOr<Selectors> DelegateAuthorizer::AuthorizeCaller(const absl::StatusOr<CallerInfo>& caller) const {
  absl::StatusOr<Selectors> selectors =
      caller.ok() ? AttestProcess(*caller, *attestor_, proc_root_) : absl::StatusOr<Selectors>(caller.status());
  if (!selectors.ok()) {
    spdlog::error("delegated identity: workload attestation of the caller failed: {}", selectors.status().ToString());
    return absl::InternalError("workload attestation failed");
  }
  RETURN_IF_ERROR(Check(*selectors));
  return selectors;
}

absl::Status DelegateAuthorizer::Check(const Selectors& caller_selectors) const {
  std::vector<spirecvm::types::Entry> entries = cache_->MatchingEntries(caller_selectors);
  if (entries.empty()) {
    spdlog::error("delegated identity: no identity issued to the caller (selectors {})",
                  absl::StrJoin(caller_selectors, ","));
    return absl::PermissionDeniedError("no identity issued");
  }
  for (const auto& e : entries) {
    if (authorized_.contains(e.spiffe_id())) {
      spdlog::debug("delegated identity: caller authorized as delegate {}", e.spiffe_id());
      return absl::OkStatus();
    }
  }
  spdlog::error("delegated identity: permission denied; caller ({} entries, first {}) is not an authorized delegate",
                entries.size(), entries[0].spiffe_id());
  return absl::PermissionDeniedError("caller not configured as an authorized delegate");
}

absl::StatusOr<Selectors> DelegateAuthorizer::RequestSelectors(
    const google::protobuf::RepeatedPtrField<::spire::api::types::Selector>& selectors, int32_t pid) const {
  if (selectors.empty() == (pid == 0)) {
    return absl::InvalidArgumentError("must provide either selectors or non-zero pid, but not both");
  }
  Selectors out;
  if (!selectors.empty()) {
    for (const auto& s : selectors) {
      if (s.type().empty() || s.value().empty() || s.type().find(':') != std::string::npos) {
        spdlog::error("delegated identity: invalid selector \"{}:{}\"", s.type(), s.value());
        return absl::InvalidArgumentError("could not parse provided selectors");
      }
      out.push_back(absl::StrCat(s.type(), ":", s.value()));
    }
    return out;
  }
  absl::StatusOr<CallerInfo> workload = CallerFromPid(pid, proc_root_);
  absl::StatusOr<Selectors> attested =
      workload.ok() ? AttestProcess(*workload, *attestor_, proc_root_) : absl::StatusOr<Selectors>(workload.status());
  if (!attested.ok()) {
    spdlog::error("delegated identity: workload attestation of pid {} failed: {}", pid, attested.status().ToString());
    return absl::InternalError("workload attestation with PID failed");
  }
  return attested;
}

}  // namespace spirecvm::agent::adminapi
