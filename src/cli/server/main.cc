// spire-server: the command-line entry point, SPIRE's verbs.
#include <algorithm>
#include <iostream>
#include <map>

#include "cli/server/cli_common.h"
#include "common/process.h"

namespace spirecvm::cli {

namespace {
const std::map<std::string, CommandFn>& Commands() {
  static const std::map<std::string, CommandFn> c = {
      {"run", Run},
      {"validate", Validate},
      {"healthcheck", Healthcheck},
      {"token generate", TokenGenerate},
      {"entry create", EntryCreate},
      {"entry update", EntryUpdate},
      {"entry show", EntryShow},
      {"entry delete", EntryDelete},
      {"entry count", EntryCount},
      {"agent list", AgentList},
      {"agent show", AgentShow},
      {"agent count", AgentCount},
      {"agent evict", AgentEvict},
      {"agent ban", AgentBan},
      {"agent purge", AgentPurge},
      {"bundle show", BundleShow},
      {"bundle list", BundleList},
      {"bundle count", BundleCount},
      {"bundle set", BundleSet},
      {"bundle delete", BundleDelete},
      {"federation create", FederationCreate},
      {"federation update", FederationUpdate},
      {"federation delete", FederationDelete},
      {"federation list", FederationList},
      {"federation show", FederationShow},
      {"federation refresh", FederationRefresh},
      {"x509 mint", X509Mint},
      {"jwt mint", JwtMint},
      {"localauthority x509 show", LocalAuthorityX509Show},
      {"localauthority x509 prepare", LocalAuthorityX509Prepare},
      {"localauthority x509 activate", LocalAuthorityX509Activate},
      {"localauthority x509 taint", LocalAuthorityX509Taint},
      {"localauthority x509 revoke", LocalAuthorityX509Revoke},
      {"localauthority jwt show", LocalAuthorityJwtShow},
      {"localauthority jwt prepare", LocalAuthorityJwtPrepare},
      {"localauthority jwt activate", LocalAuthorityJwtActivate},
      {"localauthority jwt taint", LocalAuthorityJwtTaint},
      {"localauthority jwt revoke", LocalAuthorityJwtRevoke},
      {"upstreamauthority taint", UpstreamAuthorityTaint},
      {"upstreamauthority revoke", UpstreamAuthorityRevoke},
      {"logger get", LoggerGet},
      {"logger set", LoggerSet},
      {"logger reset", LoggerReset},
      {"sev verify", SevVerify},
      {"sev measure", SevMeasure},
  };
  return c;
}

void Usage(std::ostream& err) {
  err << "Usage: spire-server [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n";
  for (auto& [name, fn] : Commands()) err << "    " << name << "\n";
}
}  // namespace

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  Io io{std::cout, std::cerr};
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    Usage(io.err);
    return args.empty() ? 1 : 0;
  }
  if (args[0] == "--version" || args[0] == "-version" || args[0] == "version") {
    io.out << "spire-cvm 0.1.0 (SPIRE-compatible CLI)\n";
    return 0;
  }
  // The longest command name that the arguments start with ("localauthority x509 show" has three words).
  for (size_t words = std::min<size_t>(3, args.size()); words >= 1; --words) {
    std::string name = args[0];
    for (size_t i = 1; i < words; ++i) name += " " + args[i];
    auto it = Commands().find(name);
    if (it != Commands().end()) return it->second(std::vector<std::string>(args.begin() + words, args.end()), io);
  }
  io.err << "spire-server: unknown command \"" << args[0] << (args.size() > 1 ? " " + args[1] : "") << "\"\n";
  Usage(io.err);
  return 1;
}

}  // namespace spirecvm::cli

int main(int argc, char** argv) {
  spirecvm::ConfigureProcessRuntime();
  return spirecvm::cli::Main(argc, argv);
}
