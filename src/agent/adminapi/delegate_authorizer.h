// Who may use the DelegatedIdentity API, and for whom, as SPIRE's agent decides it
// (pkg/agent/api/delegatedidentity/v1): the caller of the admin socket is attested by the agent's workload
// attestors over the connection's peer credentials; it is authorized when one of the entries its selectors match
// has a SPIFFE ID listed in `authorized_delegates`. The workload it acts for is named by selectors or by a PID
// (attested the same way as a caller), never both.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "agent/manager/cache.h"
#include "agent/workload/workload_attestor.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "spire/api/types/selector.pb.h"

namespace spirecvm::agent::adminapi {

// Thread-safety: every method may be called concurrently (the cache and the attestor are thread-safe); Attest*
// block (they read /proc), so call them on the worker pool.
class DelegateAuthorizer {
 public:
  DelegateAuthorizer(std::shared_ptr<Cache> cache, WorkloadAttestor* attestor, std::string proc_root,
                     std::vector<std::string> authorized_delegates);

  // Attests the caller (Internal "workload attestation failed" when that fails) and checks it: returns its
  // selectors, to re-check it on each later update with Check().
  absl::StatusOr<Selectors> AuthorizeCaller(const absl::StatusOr<CallerInfo>& caller) const;
  // PermissionDenied "no identity issued" when no entry matches, "caller not configured as an authorized delegate"
  // when none of the matching entries' SPIFFE IDs is authorized.
  absl::Status Check(const Selectors& caller_selectors) const;

  // The selectors of the workload a request is about: exactly one of `selectors` (each with a type and a value)
  // and a non-zero `pid` (attested; Internal "workload attestation with PID failed" when that fails).
  absl::StatusOr<Selectors> RequestSelectors(
      const google::protobuf::RepeatedPtrField<::spire::api::types::Selector>& selectors, int32_t pid) const;

 private:
  std::shared_ptr<Cache> cache_;
  WorkloadAttestor* attestor_;
  const std::string proc_root_;
  const absl::flat_hash_set<std::string> authorized_;
};

}  // namespace spirecvm::agent::adminapi
