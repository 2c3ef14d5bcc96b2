// The DataStore conformance suite: every backend must pass it. A backend's test instantiates it with
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, DataStoreConformance,
//       ::testing::Values(DataStoreBackend{"sqlite", [](Clock& c) { return OpenSqlite({":memory:"}, c).value(); }}),
//       DataStoreBackendName);
//
// The factory is called once per test and must return an EMPTY store using the given clock (the suite passes a
// FakeClock so timestamps are predictable). Link cvm_datastore_conformance.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "gtest/gtest.h"
#include "server/datastore/datastore.h"

namespace spirecvm::datastore {

inline constexpr int64_t kConformanceT0 = 1700000000;  // the FakeClock's start

struct DataStoreBackend {
  std::string name;
  std::function<std::unique_ptr<DataStore>(Clock&)> factory;
};

inline std::string DataStoreBackendName(const ::testing::TestParamInfo<DataStoreBackend>& info) {
  return info.param.name;
}

class DataStoreConformance : public ::testing::TestWithParam<DataStoreBackend> {
 protected:
  static constexpr int64_t kT0 = kConformanceT0;
  void SetUp() override;
  void TearDown() override;

  FakeClock clock_{absl::FromUnixSeconds(kT0)};
  std::unique_ptr<DataStore> ds_;
};

// How `threads` concurrent attempts at one single-use value ended (the race tests); attempt(i) runs on thread i.
struct RaceOutcome {
  int ok = 0;
  int not_found = 0;
  std::vector<absl::Status> other;  // every other result, to be printed by the test
};
RaceOutcome RunRace(int threads, const std::function<absl::Status(int)>& attempt);

// A self-signed DER certificate (P-256) valid from not_before to not_after; distinct per (cn, not_after).
std::string MakeTestCertDer(const std::string& cn, int64_t not_before, int64_t not_after);

}  // namespace spirecvm::datastore
