// libFuzzer target: the SEV-SNP report parser must never crash, and a parsed report must
// serialise back to the same bytes (no field is silently dropped or altered).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "attestation/sevsnp/abi/report.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spirecvm::sevsnp::abi;
  auto r = ParseReport(absl::Span<const uint8_t>(data, size));
  if (r.ok()) {
    std::string back = SerializeReport(*r);
    if (back.size() != size || back.compare(0, size, reinterpret_cast<const char*>(data), size) != 0) {
      std::abort();
    }
    (void)DecodeTcb(r->reported_tcb, r->product());
    (void)TcbString(DecodeTcb(r->current_tcb, Product::kTurin), Product::kTurin);
  }
  return 0;
}
