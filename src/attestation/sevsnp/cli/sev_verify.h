// `spire-server sev verify`: check an SEV-SNP attestation report by hand with exactly the code the
// server uses (abi -> certs -> verify -> policy).
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace spirecvm::sevsnp::cli {

// args: the arguments after "sev verify". Exit 0 and the report's facts when it verifies and meets
// the policy; exit 1 and every reason otherwise (usage errors included).
int RunSevVerify(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace spirecvm::sevsnp::cli
