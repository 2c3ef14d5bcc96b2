// Test-only: what SPIRE's admin services are built from (an in-memory SQLite DataStore, a CA with a memory
// KeyManager, an entry cache) and helpers to make SPIRE wire objects. Used by the *_test.cc files beside it.
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/random.h"
#include "gtest/gtest.h"
#include "server/api/spire/convert.h"
#include "server/ca/ca_manager.h"
#include "server/datastore/sqlite_datastore.h"
#include "server/entries/entry_cache.h"
#include "server/keymanager/key_manager.h"
#include "server/metrics.h"
#include "server/testing/server_parts_test_base.h"

namespace spirecvm::server::spireapi {

class SpireApiTest : public server::testing::ServerPartsTest {
 protected:
  void SetUp() override {
    ServerPartsTest::SetUp();
    if (HasFatalFailure()) return;
  }

  static sapi::SPIFFEID Id(const std::string& td, const std::string& path) {
    sapi::SPIFFEID id;
    id.set_trust_domain(td);
    id.set_path(path);
    return id;
  }
  // An entry as SPIRE's CLI sends it: IDs as {trust_domain, path}, selectors "type:value".
  static sapi::Entry WireEntry(const std::string& path, const std::string& parent_path,
                               std::initializer_list<std::pair<std::string, std::string>> selectors) {
    sapi::Entry e;
    *e.mutable_spiffe_id() = Id("example.org", path);
    *e.mutable_parent_id() = Id("example.org", parent_path);
    for (const auto& [t, v] : selectors) {
      auto* s = e.add_selectors();
      s->set_type(t);
      s->set_value(v);
    }
    return e;
  }
  void AddNode(const std::string& id, const std::string& type, std::vector<datastore::Selector> sel,
               int64_t not_after = 1'800'003'600, bool can_reattest = false) {
    datastore::AttestedNode n;
    n.spiffe_id = id;
    n.attestation_type = type;
    n.cert_serial = "42";
    n.cert_not_after = not_after;
    n.selectors = std::move(sel);
    n.can_reattest = can_reattest;
    ASSERT_TRUE(ds_->UpsertAttestedNode(n).ok());
  }
};

}  // namespace spirecvm::server::spireapi
