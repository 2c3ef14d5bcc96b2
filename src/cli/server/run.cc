// spire-server run / validate
#include <signal.h>

#include "cli/server/cli_common.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/status.h"
#include "server/catalog.h"
#include "server/server.h"
#include "spdlog/spdlog.h"

namespace spirecvm::cli {
namespace {

absl::StatusOr<server::ServerConfig> LoadConfig(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, files::ReadFile(path));
  return server::ParseServerConfig(text, path);
}

// The whole configuration, plugin_data included, without opening anything.
absl::Status ValidateConfig(const std::string& path) {
  ASSIGN_OR_RETURN(server::ServerConfig cfg, LoadConfig(path));
  return server::PlanPlugins(cfg).status();
}

}  // namespace

int Validate(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("validate");
  std::string config = "conf/server/server.conf";
  fs.String("config", &config, "Path to a SPIRE config file");
  if (!ParseFlags(fs, args, io)) return 1;
  if (absl::Status st = ValidateConfig(config); !st.ok()) {
    io.err << "SPIRE server configuration file is invalid: " << st.message() << "\n";
    return 1;
  }
  io.out << "SPIRE server configuration file is valid.\n";
  return 0;
}

int Run(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("run");
  std::string config = "conf/server/server.conf", log_level;
  fs.String("config", &config, "Path to a SPIRE config file");
  fs.String("logLevel", &log_level, "DEBUG, INFO, WARN or ERROR (overrides the config)");
  if (!ParseFlags(fs, args, io)) return 1;
  auto cfg = LoadConfig(config);
  if (!cfg.ok()) {
    io.err << "Error: invalid configuration: " << cfg.status().message() << "\n";
    return 1;
  }
  if (auto st = logging::Configure(log_level.empty() ? cfg->log_level : log_level, "server"); !st.ok()) {
    io.err << "Error: " << st.message() << "\n";
    return 1;
  }
  // Signals are taken synchronously by this thread; every other thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto srv = server::Server::Create(std::move(*cfg), RealClock::Get(), SystemRandom::Get());
  if (!srv.ok()) {
    io.err << "Error: invalid configuration: " << srv.status().message() << "\n";
    return 1;
  }
  if (auto st = (*srv)->Start(); !st.ok()) {
    io.err << "Error: " << st.message() << "\n";
    return 1;
  }
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("received signal {}, stopping", sig);
  (*srv)->Shutdown();
  spdlog::info("spire-server stopped");
  return 0;
}

}  // namespace spirecvm::cli
