// spire-agent validate: check a config file without starting anything.
#include <cstdlib>
#include <iostream>

#include "agent/agent.h"
#include "agent/config/agent_config.h"
#include "cli_common.h"

namespace spirecvm::cli::agent {

int ValidateCommand(const std::vector<std::string>& args) {
  std::string config_path = "conf/agent/agent.conf";
  flags::FlagSet fs("validate");
  std::string join_token;
  fs.String("config", &config_path, "Path to a SPIRE config file");
  fs.String("joinToken", &join_token, "The join token `run` will be given (checked as if set in the config)");
  int code = 0;
  if (!ParseFlags(fs, args, &code)) return code;
  const char* env_sync = std::getenv(spirecvm::agent::kSyncIntervalEnv);
  auto cfg = spirecvm::agent::LoadAgentConfig(config_path, env_sync != nullptr ? env_sync : "");
  if (!cfg.ok()) {
    std::cerr << cfg.status().message() << "\n";
    return 1;
  }
  if (!join_token.empty()) cfg->join_token = join_token;
  if (absl::Status st = spirecvm::agent::ValidateAgentConfig(*cfg); !st.ok()) {
    std::cerr << st.message() << "\n";
    return 1;
  }
  if (auto a = spirecvm::agent::MakeNodeAttestor(*cfg); !a.ok()) {
    std::cerr << a.status().message() << "\n";
    return 1;
  }
  std::cout << "SPIRE agent configuration file is valid.\n";
  return 0;
}

}  // namespace spirecvm::cli::agent
