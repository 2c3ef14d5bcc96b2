// Helpers shared by the libFuzzer targets (test code, not linked into the product).
//   - Read test data by path relative to the source tree (SPIRECVM_SOURCE_DIR, set by run.sh).
//   - Write seed inputs that need keys or signatures at run time: run.sh sets FUZZ_SEED_DIR to the target's corpus
//     directory and LLVMFuzzerInitialize writes there before libFuzzer reads it.
//   - Abort on a broken invariant, so libFuzzer reports it as a crash.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace spirecvm::fuzz {

inline std::string_view AsView(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

inline absl::string_view AsAbslView(const uint8_t* data, size_t size) {
  return absl::string_view(reinterpret_cast<const char*>(data), size);
}

// The bytes of <source dir>/<rel>, or "" when the file is missing.
inline std::string ReadSourceFile(const std::string& rel) {
  const char* root = std::getenv("SPIRECVM_SOURCE_DIR");
  std::ifstream in(std::string(root ? root : ".") + "/" + rel, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes one seed into $FUZZ_SEED_DIR (no-op when unset).
inline void WriteSeed(const std::string& name, std::string_view bytes) {
  const char* dir = std::getenv("FUZZ_SEED_DIR");
  if (dir == nullptr || *dir == '\0') return;
  std::ofstream out(std::string(dir) + "/seed-" + name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A broken invariant: print it and abort (libFuzzer saves the input as a crash).
[[noreturn]] inline void Fail(const std::string& what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what.c_str());
  std::abort();
}

}  // namespace spirecvm::fuzz
