// What the agent-facing APIs (SPIRE's agent, svid, entry and bundle services in api/spire_agent) are built from.
#pragma once

#include "common/worker_pool.h"
#include "server/api/agent_auth.h"
#include "server/api/node_attestation.h"
#include "server/api/rate_limiter.h"
#include "server/api/svid_ttls.h"
#include "server/bundle_cache.h"
#include "server/ca/ca_manager.h"
#include "server/datastore/datastore.h"
#include "server/entries/entry_cache.h"
#include "server/metrics.h"

namespace spirecvm::server {

// Every member is thread-safe: gRPC calls the services from its threads concurrently.
struct AgentApiDeps {
  const spiffe::TrustDomain& trust_domain;
  datastore::DataStore& ds;
  CaManager& ca;
  EntryCache& entries;
  BundleCache& bundle;
  const NodeAttestors& attestors;
  Clock& clock;
  Metrics& metrics;
  SvidTtls ttls;
  // Rate limits, step deadline and concurrency of the agent API (null: defaults, no rate limits).
  const AgentApiLimits* limits = nullptr;
  // Where the callback-API methods run their blocking work (api/spire_agent/unary_call.h); null: on gRPC's callback
  // thread (unit tests).
  WorkerPool* blocking = nullptr;
  // Attested-node records agent authentication may use without the datastore (node_cache.h); null: none.
  NodeCache* nodes = nullptr;

  AgentAuthDeps Auth() const { return {trust_domain, ds, bundle, clock, nodes}; }
  AttestationDeps Attestation() const { return {attestors, ds, ca, ttls.agent, clock}; }
};

}  // namespace spirecvm::server
