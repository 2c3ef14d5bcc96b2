// spire-server run / validate
#include <signal.h>

#include "cli/server/cli_common.h"
#include "common/expand_env.h"
#include "common/files.h"
#include "common/logging.h"
#include "common/process.h"
#include "common/status.h"
#include "server/catalog.h"
#include "server/server.h"
#include "spdlog/spdlog.h"

namespace spirecvm::cli {
namespace {

// The flags `run` and `validate` share, as SPIRE's parseFlags: -config, -expandEnv and the overrides.
struct RunFlags {
  std::string config = "conf/server/server.conf";
  bool expand_env = false;
  server::ServerFlagOverrides overrides;

  void Register(flags::FlagSet& fs) {
    fs.String("config", &config, "Path to a SPIRE config file (HCL, or JSON: a .json name or a leading '{')");
    fs.Bool("expandEnv", &expand_env, "Expand environment variables ($VAR, ${VAR}) in the config file");
    fs.String("bindAddress", &overrides.bind_address, "IP address or DNS name of the SPIRE server");
    fs.Int("serverPort", &overrides.bind_port, "Port number of the SPIRE server");
    fs.String("trustDomain", &overrides.trust_domain, "The trust domain that this server belongs to");
    fs.String("dataDir", &overrides.data_dir, "Directory to store runtime data to");
    fs.String("socketPath", &overrides.socket_path, "Path to bind the SPIRE Server API socket to");
    fs.String("logFile", &overrides.log_file, "File to write logs to");
    fs.String("logFormat", &overrides.log_format, "'text' or 'json'");
    fs.String("logLevel", &overrides.log_level, "'debug', 'info', 'warn', or 'error'");
  }
};

absl::StatusOr<server::ServerConfig> LoadConfig(const RunFlags& f) {
  ASSIGN_OR_RETURN(std::string text, config::ReadConfigFile(f.config, f.expand_env));
  return server::ParseServerConfig(text, f.config, f.overrides);
}

// The whole configuration, plugin_data included, without opening anything.
absl::Status ValidateConfig(const RunFlags& f) {
  ASSIGN_OR_RETURN(server::ServerConfig cfg, LoadConfig(f));
  return server::PlanPlugins(cfg).status();
}

}  // namespace

int Validate(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("validate");
  RunFlags f;
  f.Register(fs);
  if (!ParseFlags(fs, args, io)) return 1;
  if (absl::Status st = ValidateConfig(f); !st.ok()) {
    io.err << "SPIRE server configuration file is invalid: " << st.message() << "\n";
    return 1;
  }
  io.out << "SPIRE server configuration file is valid.\n";
  return 0;
}

int Run(const std::vector<std::string>& args, Io io) {
  flags::FlagSet fs("run");
  RunFlags f;
  f.Register(fs);
  if (!ParseFlags(fs, args, io)) return 1;
  auto cfg = LoadConfig(f);
  if (!cfg.ok()) {
    io.err << "Error: invalid configuration: " << cfg.status().message() << "\n";
    return 1;
  }
  logging::Options log{.level = cfg->log_level, .format = cfg->log_format, .file = cfg->log_file};
  if (auto st = logging::Configure(log, "server"); !st.ok()) {
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
  ReleaseFreeHeapMemory();  // what loading the entry cache allocated and freed
  int sig = 0;
  sigwait(&set, &sig);
  spdlog::info("received signal {}, stopping", sig);
  (*srv)->Shutdown();
  spdlog::info("spire-server stopped");
  return 0;
}

}  // namespace spirecvm::cli
