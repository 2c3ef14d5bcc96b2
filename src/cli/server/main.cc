// spire-server: the command-line entry point, SPIRE's verbs.
#include <iostream>
#include <map>

#include "cli/server/cli_common.h"

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
      {"bundle show", BundleShow},
      {"x509 mint", X509Mint},
      {"jwt mint", JwtMint},
      {"sev verify", SevVerify},
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
  if (args.size() >= 2) {
    auto it = Commands().find(args[0] + " " + args[1]);
    if (it != Commands().end()) return it->second(std::vector<std::string>(args.begin() + 2, args.end()), io);
  }
  auto it = Commands().find(args[0]);
  if (it != Commands().end()) return it->second(std::vector<std::string>(args.begin() + 1, args.end()), io);
  io.err << "spire-server: unknown command \"" << args[0] << (args.size() > 1 ? " " + args[1] : "") << "\"\n";
  Usage(io.err);
  return 1;
}

}  // namespace spirecvm::cli

int main(int argc, char** argv) { return spirecvm::cli::Main(argc, argv); }
