// The configuration `run` and `validate` share: the file (-config), $SPIRECVM_AGENT_SYNC_INTERVAL, and the flags
// that override its keys (as in SPIRE). One loader, so `validate` checks exactly what `run` would start with.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "agent/config/agent_config.h"
#include "common/flags.h"

namespace spirecvm::cli::agent {

struct ConfigFlags {
  std::string config_path = "conf/agent/agent.conf";
  std::string join_token, join_token_file, data_dir, log_file, log_format, log_level, server_address, socket_path,
      trust_bundle, trust_bundle_url, trust_bundle_format, trust_domain;
  int64_t server_port = 0;
  bool insecure_bootstrap = false;
  bool expand_env = false;  // -expandEnv: $VAR / ${VAR} expanded in the file before parsing

  // Registers -config and every override flag on `fs`.
  void Register(flags::FlagSet& fs);
};

// Reads and parses the file, applies the flags set in `fs` and validates the result (all problems at once).
absl::StatusOr<spirecvm::agent::AgentConfig> LoadConfig(const ConfigFlags& flags, const flags::FlagSet& fs);

}  // namespace spirecvm::cli::agent
