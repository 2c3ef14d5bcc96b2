// Go time.Duration strings: SPIRE's config and CLI use them ("1h", "1h30m", "300ms").
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace spirecvm {

// "1h", "1h30m", "300ms", "24h", "1.5h", "0"; units ns us µs ms s m h. Negative and empty are rejected.
absl::StatusOr<absl::Duration> ParseGoDuration(std::string_view s);
// Same format as Go's Duration.String(): "1h0m0s", "1m30s", "300ms", "0s".
std::string FormatGoDuration(absl::Duration d);

}  // namespace spirecvm
