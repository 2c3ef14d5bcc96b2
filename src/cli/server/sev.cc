// spire-server sev verify / sev measure: the SEV-SNP verifier's command-line face (the same code the server runs).
#include "attestation/sevsnp/cli/sev_measure.h"
#include "attestation/sevsnp/cli/sev_verify.h"
#include "cli/server/cli_common.h"

namespace spirecvm::cli {

int SevVerify(const std::vector<std::string>& args, Io io) { return sevsnp::cli::RunSevVerify(args, io.out, io.err); }
int SevMeasure(const std::vector<std::string>& args, Io io) { return sevsnp::cli::RunSevMeasure(args, io.out, io.err); }

}  // namespace spirecvm::cli
