// SPIRE's spire.api.server.svid.v1.SVID, admin methods, on the admin socket: what SPIRE's `spire-server x509 mint`
// and `jwt mint` call. BatchNewX509SVID, NewJWTSVID and NewDownstreamX509CA are agent/downstream calls over TLS:
// refused here as SPIRE refuses them to local callers.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/api/spire/denied.h"
#include "server/api/svid_ttls.h"
#include "server/ca/ca_manager.h"
#include "server/metrics.h"
#include "spiffe/spiffe_id.h"
#include "spire/api/server/svid/v1/svid.grpc.pb.h"

namespace spirecvm::server::spireapi {

namespace svidv1 = ::spire::api::server::svid::v1;

// Every member is thread-safe: gRPC calls the service from its pool concurrently.
struct SvidServiceDeps {
  const spiffe::TrustDomain& trust_domain;
  CaManager& ca;
  Metrics& metrics;
  SvidTtls ttls;  // used when a request's ttl is 0
};

// The dNSName SANs of a DER CSR's extensionRequest (the CSR is verified separately).
absl::StatusOr<std::vector<std::string>> CsrDnsNames(const std::string& der);

class SvidService final : public svidv1::SVID::Service {
 public:
  explicit SvidService(SvidServiceDeps deps) : deps_(deps) {}

  grpc::Status MintX509SVID(grpc::ServerContext*, const svidv1::MintX509SVIDRequest*,
                            svidv1::MintX509SVIDResponse*) override;
  grpc::Status MintJWTSVID(grpc::ServerContext*, const svidv1::MintJWTSVIDRequest*,
                           svidv1::MintJWTSVIDResponse*) override;
  SPIREAPI_DENIED(svidv1::SVID, BatchNewX509SVID, svidv1::BatchNewX509SVIDRequest, svidv1::BatchNewX509SVIDResponse)
  SPIREAPI_DENIED(svidv1::SVID, NewJWTSVID, svidv1::NewJWTSVIDRequest, svidv1::NewJWTSVIDResponse)
  SPIREAPI_DENIED(svidv1::SVID, NewDownstreamX509CA, svidv1::NewDownstreamX509CARequest,
                  svidv1::NewDownstreamX509CAResponse)

 private:
  absl::StatusOr<spiffe::SpiffeId> WorkloadId(const std::string& uri) const;
  SvidServiceDeps deps_;
};

}  // namespace spirecvm::server::spireapi
