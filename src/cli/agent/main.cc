// spire-agent: SPIRE-compatible command line.
#include <iostream>
#include <string>
#include <vector>

#include "cli_common.h"

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

}  // namespace

int main(int argc, char** argv) {
  using namespace spirecvm::cli::agent;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto rest = [&](size_t n) { return std::vector<std::string>(args.begin() + static_cast<long>(n), args.end()); };
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help") {
    std::cerr << kUsage;
    return args.empty() ? 127 : 0;
  }
  if (args[0] == "--version" || args[0] == "-version" || args[0] == "version") {
    std::cout << "spire-cvm 0.1.0 (SPIRE-compatible agent)\n";
    return 0;
  }
  const std::string& cmd = args[0];
  if (cmd == "run") return RunCommand(rest(1));
  if (cmd == "validate") return ValidateCommand(rest(1));
  if (cmd == "healthcheck") return HealthcheckCommand(rest(1));
  if (cmd == "api") {
    std::string sub = args.size() > 1 ? args[1] : "";
    std::string what = args.size() > 2 ? args[2] : "";
    if (sub == "fetch") {
      if (what == "jwt") return ApiFetchJwtCommand(rest(3));
      if (what == "x509") return ApiFetchX509Command(rest(3));
      return ApiFetchX509Command(rest(2));  // `api fetch` alone is `api fetch x509`, as in SPIRE
    }
    if (sub == "validate" && what == "jwt") return ApiValidateJwtCommand(rest(3));
    if (sub == "watch") return ApiWatchCommand(rest(2));
  }
  std::cerr << "unknown command: ";
  for (const auto& a : args) std::cerr << a << " ";
  std::cerr << "\n" << kUsage;
  return 1;
}
