// libFuzzer target: CSRs come from agents (and through them from anyone who reaches the server).
// ParseAndVerifyCsr walks EC requests by hand before OpenSSL sees them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/csr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto csr = spirecvm::crypto::ParseAndVerifyCsr(std::string_view(reinterpret_cast<const char*>(data), size));
  (void)csr;
  return 0;
}
