// Test helpers shared by the SEV-SNP tests: reading the real-world vectors committed under test/data.
#pragma once

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#ifndef SPIRECVM_VECTORS_DIR
#define SPIRECVM_VECTORS_DIR "test/data"
#endif

namespace spirecvm::sevsnp::testing {

inline std::string VectorsDir() {
  if (const char* env = std::getenv("SPIRECVM_VECTORS_DIR"); env != nullptr && *env) return env;
  return SPIRECVM_VECTORS_DIR;
}

inline std::optional<std::string> ReadVector(const std::string& rel) {
  std::ifstream in(VectorsDir() + "/" + rel, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace spirecvm::sevsnp::testing

// Reads a vector into `var`; a missing vector fails the test (they are committed under test/data).
#define SEVSNP_READ_VECTOR(var, rel)                                                                                  \
  std::string var;                                                                                                    \
  {                                                                                                                   \
    auto _v = ::spirecvm::sevsnp::testing::ReadVector(rel);                                                           \
    ASSERT_TRUE(_v.has_value()) << "vector " << rel << " missing under " << ::spirecvm::sevsnp::testing::VectorsDir() \
                                << " (see test/data/README.md)";                                                      \
    var = std::move(*_v);                                                                                             \
  }
