// Several WorkloadAttestors as one: every attestor runs and the selectors are concatenated in configuration order
// (SPIRE's behaviour with several WorkloadAttestor blocks). An error from any attestor fails the call.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent/workload/workload_attestor.h"

namespace spirecvm::agent {

// Thread-safety: as safe as its members (WorkloadAttestor's contract); the set itself is immutable.
class AttestorSet final : public WorkloadAttestor {
 public:
  explicit AttestorSet(std::vector<std::unique_ptr<WorkloadAttestor>> attestors) : attestors_(std::move(attestors)) {}
  std::string name() const override;  // the members' names joined by ","
  absl::StatusOr<std::vector<std::string>> Attest(const CallerInfo& caller) override;

 private:
  const std::vector<std::unique_ptr<WorkloadAttestor>> attestors_;
};

}  // namespace spirecvm::agent
