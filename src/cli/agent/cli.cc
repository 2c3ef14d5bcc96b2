// spire-agent's command table: SPIRE's verbs, dispatched with injected output streams.
#include <string>
#include <vector>

#include "cli_common.h"

namespace spirecvm::cli::agent {
namespace {

constexpr char kUsage[] =
    "Usage: spire-agent [--version] [--help] <command> [<args>]\n\n"
    "Available commands are:\n"
    "    api fetch x509     Fetches X509-SVIDs from the Workload API\n"
    "    api fetch jwt      Fetches a JWT-SVID from the Workload API\n"
    "    api validate jwt   Validates a JWT-SVID\n"
    "    api watch          Watches X509-SVID updates\n"
    "    healthcheck        Determines agent health status\n"
    "    run                Runs the agent\n"
    "    validate           Validates an agent configuration file\n";

std::vector<std::string> From(const std::vector<std::string>& args, size_t n) {
  return std::vector<std::string>(args.begin() + static_cast<long>(std::min(n, args.size())), args.end());
}

// `api <sub> <what> ...`; -1 when it names no command.
int ApiCommand(const std::vector<std::string>& args, Io io) {
  const std::string sub = args.size() > 1 ? args[1] : "";
  const std::string what = args.size() > 2 ? args[2] : "";
  if (sub == "fetch") {
    if (what == "jwt") return ApiFetchJwtCommand(From(args, 3), io);
    if (what == "x509") return ApiFetchX509Command(From(args, 3), io);
    return ApiFetchX509Command(From(args, 2), io);  // `api fetch` alone is `api fetch x509`, as in SPIRE
  }
  if (sub == "validate" && what == "jwt") return ApiValidateJwtCommand(From(args, 3), io);
  if (sub == "watch") return ApiWatchCommand(From(args, 2), io);
  return -1;
}

}  // namespace

int Main(const std::vector<std::string>& args, Io io) {
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help") {
    io.err << kUsage;
    return args.empty() ? 127 : 0;
  }
  if (args[0] == "--version" || args[0] == "-version" || args[0] == "version") {
    io.out << "spire-cvm 0.1.0 (SPIRE-compatible agent)\n";
    return 0;
  }
  const std::string& cmd = args[0];
  if (cmd == "run") return RunCommand(From(args, 1), io);
  if (cmd == "validate") return ValidateCommand(From(args, 1), io);
  if (cmd == "healthcheck") return HealthcheckCommand(From(args, 1), io);
  if (cmd == "api") {
    if (int code = ApiCommand(args, io); code >= 0) return code;
  }
  io.err << "unknown command: ";
  for (const auto& a : args) io.err << a << " ";
  io.err << "\n" << kUsage;
  return 1;
}

}  // namespace spirecvm::cli::agent
