// spire-agent validate: check a config file (and the flags `run` would be given) without starting anything.
#include "agent/agent.h"
#include "cli_common.h"
#include "config_flags.h"

namespace spirecvm::cli::agent {

int ValidateCommand(const std::vector<std::string>& args, Io io) {
  ConfigFlags flags;
  flags::FlagSet fs("validate");
  flags.Register(fs);
  int code = 0;
  if (!ParseFlags(fs, args, io, &code)) return code;
  auto cfg = LoadConfig(flags, fs);
  if (!cfg.ok()) {
    io.err << cfg.status().message() << "\n";
    return 1;
  }
  // Building the plugins catches what only a build can see (e.g. an unusable simulator directory).
  if (auto plugins = spirecvm::agent::BuildPlugins(*cfg); !plugins.ok()) {
    io.err << plugins.status().message() << "\n";
    return 1;
  }
  io.out << "SPIRE agent configuration file is valid.\n";
  return 0;
}

}  // namespace spirecvm::cli::agent
