// Helpers shared by the aws_iid tests (TEST ONLY).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <string>

#include "absl/strings/string_view.h"

// Debian's Abseil has its own string_view class; let GoogleTest print it as text in failures.
namespace absl {
inline void PrintTo(absl::string_view s, std::ostream* os) { *os << '"' << s << '"'; }
}  // namespace absl

namespace spirecvm::awsiid::testing {

// test/data/aws (or $SPIRECVM_VECTORS_DIR/aws), or empty when the folder is absent.
inline std::string AwsVectorsDir() {
  const char* env = std::getenv("SPIRECVM_VECTORS_DIR");
#ifdef SPIRECVM_VECTORS_DIR
  std::string base = env != nullptr ? env : SPIRECVM_VECTORS_DIR;
#else
  std::string base = env != nullptr ? env : "";
#endif
  std::string dir = base + "/aws";
  std::error_code ec;
  if (base.empty() || !std::filesystem::is_directory(dir + "/iid/us-west-2-2018", ec) ||
      !std::filesystem::is_directory(dir + "/certs", ec)) {
    return "";
  }
  return dir;
}

inline std::string ReadFileOrDie(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    std::abort();
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void WriteFileOrDie(const std::filesystem::path& path, const std::string& data) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  if (!out) std::abort();
}

// A fresh directory under TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "awsiid-test-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace spirecvm::awsiid::testing

// The real AWS vectors (committed under test/data/aws); their absence fails the test.
#define REQUIRE_AWS_VECTORS(dir)                                  \
  std::string dir = ::spirecvm::awsiid::testing::AwsVectorsDir(); \
  ASSERT_FALSE(dir.empty()) << "AWS vectors missing under test/data/aws"
