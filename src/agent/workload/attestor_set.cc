#include "agent/workload/attestor_set.h"

#include "absl/strings/str_join.h"
#include "common/status.h"

namespace spirecvm::agent {

std::string AttestorSet::name() const {
  std::vector<std::string> names;
  for (const auto& a : attestors_) names.push_back(a->name());
  return absl::StrJoin(names, ",");
}

absl::StatusOr<std::vector<std::string>> AttestorSet::Attest(const CallerInfo& caller) {
  std::vector<std::string> out;
  for (const auto& a : attestors_) {
    ASSIGN_OR_RETURN(std::vector<std::string> selectors, a->Attest(caller));
    out.insert(out.end(), selectors.begin(), selectors.end());
  }
  return out;
}

}  // namespace spirecvm::agent
