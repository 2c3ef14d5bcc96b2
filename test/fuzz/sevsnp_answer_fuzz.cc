// libFuzzer target: the SEV-SNP challenge answer (JSON with base64 report and certificate table) comes from an
// unauthenticated agent during attestation.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "attestation/sevsnp_binding/binding.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto a = spirecvm::sevsnp::SevSnpAnswer::FromJson(in);
  if (a.ok() && !a->is_unavailable()) (void)a->ToJson();
  auto c = spirecvm::sevsnp::SevSnpChallenge::FromJson(in);
  (void)c;
  return 0;
}
