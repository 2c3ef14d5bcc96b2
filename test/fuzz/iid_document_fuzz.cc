// libFuzzer target: the instance identity document comes from an unauthenticated agent.
#include <cstddef>
#include <cstdint>

#include "attestation/awsiid/document.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto doc = spirecvm::awsiid::ParseDocument(absl::string_view(reinterpret_cast<const char*>(data), size));
  (void)doc;
  return 0;
}
