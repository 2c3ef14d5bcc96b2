// libFuzzer target: the GHCB certificate-table parser must never crash or read out of bounds, and
// every parsed entry must survive a serialise/parse round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "attestation/sevsnp/abi/cert_table.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace spirecvm::sevsnp::abi;
  auto t = ParseCertTable(absl::Span<const uint8_t>(data, size));
  if (t.ok()) {
    auto again = ParseCertTable(SerializeCertTable(*t));
    if (!again.ok() || again->entries.size() != t->entries.size()) std::abort();
    for (size_t i = 0; i < t->entries.size(); ++i) {
      if (again->entries[i].guid != t->entries[i].guid || again->entries[i].data != t->entries[i].data) {
        std::abort();
      }
    }
    (void)t->Find(VcekGuid());
  }
  return 0;
}
