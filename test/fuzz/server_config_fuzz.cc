// libFuzzer target: the server's configuration reader (ParseServerConfig: HCL, then every server, telemetry,
// health check and plugin declaration key). Seeded with conf/server/server.conf.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "server/config/server_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)spirecvm::server::ParseServerConfig(spirecvm::fuzz::AsView(data, size), "server.conf");
  return 0;
}
