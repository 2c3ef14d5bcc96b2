// The trust bundle as the agent API uses it: read from the DataStore once per refresh (by the server's
// background loop), with the X.509 authorities parsed only when the bundle's sequence number changes, so
// authenticating an agent call costs no database read and no certificate parsing.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/ssl_ptr.h"
#include "server/datastore/datastore.h"
#include "server/verified_svid_cache.h"

namespace spirecvm::server {

struct BundleSnapshot {
  datastore::BundleRecord record;
  std::vector<ssl::X509Ptr> roots;  // parsed record.x509_authorities_der
  // Agent SVID chains verified against these roots (agent_auth.cc); a new bundle starts empty.
  std::shared_ptr<VerifiedSvidCache> verified = std::make_shared<VerifiedSvidCache>();
};

class BundleCache {
 public:
  BundleCache(datastore::DataStore& ds, std::string trust_domain) : ds_(ds), td_(std::move(trust_domain)) {}

  // Re-reads the bundle; keeps the previous snapshot when the read fails.
  absl::Status Refresh();
  // The current snapshot, loading it on first use.
  absl::StatusOr<std::shared_ptr<const BundleSnapshot>> Get();

 private:
  datastore::DataStore& ds_;
  std::string td_;
  std::mutex mu_;
  std::shared_ptr<const BundleSnapshot> snap_;
};

}  // namespace spirecvm::server
