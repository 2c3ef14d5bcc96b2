// File helpers with the durability and error-message guarantees the server's on-disk state needs.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace spirecvm::files {

// Error names path and errno text; NotFound when the file does not exist.
absl::StatusOr<std::string> ReadFile(const std::string& path);
// Write temp file in the same dir, fsync, chmod mode, rename over path, fsync dir: never a half-written file.
absl::Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode);
// mkdir -p, then chmod the leaf to mode.
absl::Status EnsureDir(const std::string& path, mode_t mode);

}  // namespace spirecvm::files
