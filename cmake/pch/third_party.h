// Precompiled header of every C++ target (cmake/pch.cmake): the standard, abseil, spdlog, nlohmann-json, gRPC,
// protobuf and OpenSSL headers most files include. Parsing these took about a third of the compile time of a
// file, more than the file itself; precompiled once per build they are loaded in about a second.
// Only third-party headers belong here (no project header, no generated code), so that editing the project never
// rebuilds it. Files still include what they use: the libFuzzer build (test/fuzz/fuzz.mk) compiles without it.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "openssl/evp.h"
#include "openssl/ssl.h"
#include "openssl/x509.h"
#include "spdlog/spdlog.h"
