// libFuzzer target: the node facts an SVID carries (src/cvm), which a relying party decodes from a peer's
// certificate. Checks the decoders never crash or read out of bounds, and that what they accept re-encodes to the
// same bytes (one DER encoding per value).
#include <cstddef>
#include <cstdint>
#include <string>

#include "cvm/facts_extension.h"
#include "cvm/node_facts.h"
#include "fuzz_util.h"

namespace cvm = spirecvm::cvm;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cvm::NodeFacts f;
  f.measurement = std::string(48, '\x11');
  f.report_version = 3;
  f.product = "Genoa";
  f.csp_id = "CN=cc-us-east-1.amazonaws.com";
  f.reported_tcb = 0xdb18000000000004ULL;
  f.policy_smt = true;
  f.host_data = std::string(32, '\0');
  f.report_id = std::string(32, '\x22');
  f.aws_account_id = "123456789012";
  f.aws_region = "us-east-1";
  f.attested_at = absl::FromUnixSeconds(1790000000);
  if (auto der = cvm::EncodeNodeFacts(f); der.ok()) {
    spirecvm::fuzz::WriteSeed("facts", *der);
    spirecvm::fuzz::WriteSeed("extension", cvm::FactsExtensionValue(*der));
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s = spirecvm::fuzz::AsView(data, size);
  if (auto f = cvm::DecodeNodeFacts(s); f.ok()) {
    auto again = cvm::EncodeNodeFacts(*f);
    if (!again.ok()) spirecvm::fuzz::Fail("the encoder refuses facts the decoder accepted");
    if (*again != s) spirecvm::fuzz::Fail("accepted facts do not re-encode to the same bytes (not DER)");
    (void)cvm::NodeFactsToJson(*f);
  }
  if (auto f = cvm::FactsFromExtensionValue(s); f.ok()) (void)cvm::NodeFactsToJson(*f, 2);
  return 0;
}
