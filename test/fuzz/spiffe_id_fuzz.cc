// libFuzzer target: SPIFFE IDs and trust domains, which arrive in CSRs, SVIDs, JWT subjects, bundles, registration
// entries and configuration. Checks the parsers never crash and that what they accept round-trips exactly.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_util.h"
#include "spiffe/spiffe_id.h"

namespace spiffe = spirecvm::spiffe;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spirecvm::fuzz::WriteSeed("id", "spiffe://example.org/spire/agent/aws_iid/123456789012/us-east-1/i-0123");
  spirecvm::fuzz::WriteSeed("td", "spiffe://td-1.example_org");
  spirecvm::fuzz::WriteSeed("path", "/a/b.c/d-e_f");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view s = spirecvm::fuzz::AsView(data, size);
  if (auto id = spiffe::SpiffeId::Parse(s); id.ok()) {
    if (id->ToString() != s) spirecvm::fuzz::Fail("SpiffeId::Parse(s).ToString() != s");
    if (id->ToString().size() > spiffe::kMaxSpiffeIdLength) spirecvm::fuzz::Fail("accepted an over-long ID");
    auto again = spiffe::SpiffeId::FromPath(id->trust_domain(), id->path());
    if (!again.ok() || !(*again == *id)) spirecvm::fuzz::Fail("FromPath refuses what Parse accepted");
  }
  if (auto td = spiffe::TrustDomain::Parse(s); td.ok()) {
    if (!spiffe::ValidateTrustDomainName(td->name()).ok()) spirecvm::fuzz::Fail("TrustDomain name does not validate");
    auto id = spiffe::SpiffeId::Parse(td->IdString());
    if (!id.ok() || !id->path().empty()) spirecvm::fuzz::Fail("a trust domain's ID does not parse");
    (void)spiffe::SpiffeId::FromPath(*td, s);
  }
  (void)spiffe::ValidatePath(s);
  return 0;
}
