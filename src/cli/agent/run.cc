// spire-agent run: start the agent with a config file (flags override config keys, as in SPIRE).
#include <signal.h>

#include "agent/agent.h"
#include "cli_common.h"
#include "common/logging.h"
#include "config_flags.h"
#include "spdlog/spdlog.h"

namespace spirecvm::cli::agent {
namespace {

// Blocks SIGINT and SIGTERM in this thread (and so in every thread started after) so only sigwait sees them.
sigset_t BlockStopSignals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return stop;
}

// Composition steps 2-6 (agent/agent.h), then waits for a stop signal.
int StartAndWait(const spirecvm::agent::AgentConfig& cfg, Io io) {
  const sigset_t stop = BlockStopSignals();  // before any thread starts
  auto agent = spirecvm::agent::Agent::Create(cfg);
  if (!agent.ok()) {
    io.err << agent.status().message() << "\n";
    return 1;
  }
  if (absl::Status st = (*agent)->Start(); !st.ok()) {
    spdlog::error("agent failed to start: {}", st.ToString());
    return 1;
  }
  spdlog::info("agent started (trust domain {}, server {}:{}, sync every {})", cfg.trust_domain.name(),
               cfg.server_address, cfg.server_port, absl::FormatDuration(cfg.sync_interval));
  int sig = 0;
  sigwait(&stop, &sig);
  spdlog::info("received signal {}, stopping", sig);
  (*agent)->Stop();
  return 0;
}

}  // namespace

int RunCommand(const std::vector<std::string>& args, Io io) {
  ConfigFlags flags;
  flags::FlagSet fs("run");
  flags.Register(fs);
  int code = 0;
  if (!ParseFlags(fs, args, io, &code)) return code;
  auto cfg = LoadConfig(flags, fs);  // composition step 1
  if (!cfg.ok()) {
    io.err << cfg.status().message() << "\n";
    return 1;
  }
  logging::Options log{.level = cfg->log_level, .format = cfg->log_format, .file = cfg->log_file};
  if (absl::Status st = logging::Configure(log, "agent"); !st.ok()) {
    io.err << st.message() << "\n";
    return 1;
  }
  return StartAndWait(*cfg, io);
}

}  // namespace spirecvm::cli::agent
