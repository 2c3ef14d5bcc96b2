// Placeholder while the SEV-SNP verifier CLI is being integrated.
#include "cli/server/cli_common.h"
namespace spirecvm::cli {
int SevVerify(const std::vector<std::string>&, Io io) {
  io.err << "sev verify is not built into this binary\n";
  return 1;
}
}  // namespace spirecvm::cli
