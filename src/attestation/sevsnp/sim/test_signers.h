// Test helpers: process-wide TestOnlyAmdSigner instances (RSA-2048 for speed), created once.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "attestation/sevsnp/sim/test_only_amd_signer.h"

namespace spirecvm::sevsnp::sim {

// `slot` distinguishes independent hierarchies of the same product (e.g. an impostor ARK).
inline TestOnlyAmdSigner& SharedTestSigner(abi::Product product, int slot = 0) {
  static std::mutex mu;
  static std::map<std::pair<abi::Product, int>, std::unique_ptr<TestOnlyAmdSigner>> signers;
  std::lock_guard<std::mutex> l(mu);
  auto& s = signers[{product, slot}];
  if (s == nullptr) {
    SignerOptions o;
    o.product = product;
    o.rsa_bits = 2048;
    if (product == abi::Product::kTurin) o.tcb.fmc = 2;
    auto created = TestOnlyAmdSigner::Create(o);
    if (!created.ok()) std::abort();
    s = std::move(*created);
  }
  return *s;
}

}  // namespace spirecvm::sevsnp::sim
