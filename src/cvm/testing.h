// Node facts for tests: every field set, shaped as an aws_iid+sev_snp attestation produces them.
#pragma once

#include <string>

#include "cvm/node_facts.h"

namespace spirecvm::cvm {

inline NodeFacts SampleFacts() {
  NodeFacts f;
  f.measurement = std::string(48, '\x5a');
  f.report_version = 3;
  f.product = "Genoa";
  f.signing_key = SigningKeyKind::kVlek;
  f.csp_id = "CN=cc-eu-west-1.amazonaws.com";
  f.reported_tcb = 0xdb18000000000004ULL;
  f.policy_smt = true;
  f.vmpl = 0;
  f.host_data = std::string(32, '\x01');
  f.report_id = std::string(32, '\xc3');
  f.aws_account_id = "123456789012";
  f.aws_region = "eu-west-1";
  f.attested_at = absl::FromUnixSeconds(1790000000);
  return f;
}

}  // namespace spirecvm::cvm
