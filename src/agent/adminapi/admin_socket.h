// The admin socket's file, made as SPIRE's agent has it (owner and group may connect: 0770) without changing
// anything by path after bind(): the socket is created under umask 0007, in a directory created 0750 when missing
// (group members may reach the socket but not replace it). An existing directory must not be writable by others.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace spirecvm::agent::adminapi {

// A listening Unix socket at `path` (a stale socket there is removed; any other file is refused). The caller owns
// the returned fd. The process umask is changed only around bind(); call it while no other thread creates files
// (the agent's start, before its background threads run).
absl::StatusOr<int> ListenAdminSocket(const std::string& path);

// SPIRE's rule: the admin socket may not be in the Workload API socket's directory or below it (workloads that
// can reach the Workload API socket's directory must not reach the admin API). Both paths are made absolute
// against the working directory first.
absl::Status CheckAdminSocketPlacement(const std::string& admin_socket_path, const std::string& workload_socket_path);

}  // namespace spirecvm::agent::adminapi
