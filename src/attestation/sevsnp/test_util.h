// Test helpers shared by the SEV-SNP tests: reading the real-world vectors in ../shared/vectors.
#pragma once

#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#ifndef SPIRECVM_VECTORS_DIR
#define SPIRECVM_VECTORS_DIR "../shared/vectors"
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

// Reads a vector into `var` or skips the test with a clear message.
#define SEVSNP_READ_VECTOR_OR_SKIP(var, rel)                                                               \
  std::string var;                                                                                         \
  {                                                                                                        \
    auto _v = ::spirecvm::sevsnp::testing::ReadVector(rel);                                                \
    if (!_v.has_value()) {                                                                                 \
      GTEST_SKIP() << "vector " << rel << " not found under " << ::spirecvm::sevsnp::testing::VectorsDir() \
                   << " (real-world vectors are optional; see ../shared/vectors/README.md)";               \
    }                                                                                                      \
    var = std::move(*_v);                                                                                  \
  }
