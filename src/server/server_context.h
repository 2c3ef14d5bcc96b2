// What the API services share: configuration, the DataStore, the CA, the entry cache, the node
// attestors, and the injected clock and randomness.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/random.h"
#include "server/bundle_cache.h"
#include "server/ca/ca_manager.h"
#include "server/config/server_config.h"
#include "server/datastore/datastore.h"
#include "server/entries/entry_cache.h"
#include "server/metrics.h"
#include "server/nodeattest/node_attestor.h"
#include "spiffe/spiffe_id.h"

namespace spirecvm::server {

struct ServerContext {
  const ServerConfig* cfg = nullptr;
  spiffe::TrustDomain trust_domain;
  std::string server_spiffe_id;  // spiffe://<td>/spire/server
  datastore::DataStore* ds = nullptr;
  CaManager* ca = nullptr;
  EntryCache* entries = nullptr;
  std::map<std::string, std::unique_ptr<NodeAttestor>, std::less<>> attestors;
  Clock* clock = nullptr;
  Random* rnd = nullptr;
  Metrics* metrics = nullptr;
  BundleCache* bundle = nullptr;  // never null in a running server  // never null in a running server

  absl::Duration AgentTtl() const {
    return cfg->agent_ttl > absl::ZeroDuration() ? cfg->agent_ttl : cfg->default_x509_svid_ttl;
  }
};

// Limits on what an unauthenticated peer may send during attestation.
inline constexpr size_t kMaxAttestationPayload = 64 * 1024;
inline constexpr size_t kMaxChallengeResponse = 64 * 1024;
inline constexpr size_t kMaxCsr = 16 * 1024;
inline constexpr int kMaxBatchCsrs = 500;

}  // namespace spirecvm::server
