// `spire-server sev measure`: the SEV-SNP launch measurement an instance will report, from the firmware image and
// launch parameters, printed with the ready-to-use aws_iid selector. Flags are named as sev-snp-measure names them.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace spirecvm::sevsnp::cli {

// args: the arguments after "sev measure". Exit 0 and the measurement; exit 1 and every reason otherwise.
int RunSevMeasure(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace spirecvm::sevsnp::cli
