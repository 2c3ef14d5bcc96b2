// Where intermediates, roots, VCEKs and CRLs come from when the report's certificate table does not
// carry them: a local directory (read-only, operator-provided), and AMD KDS over HTTPS with an on-disk
// cache. Network access goes through KdsFetcher so that tests never touch the network. Nothing here
// is trusted: everything returned is verified by chain.h up to a pinned ARK.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "attestation/sevsnp/abi/report.h"
#include "crypto/ssl_ptr.h"

namespace spirecvm::sevsnp::certs {

// HTTP GET of a KDS URL; returns the body on HTTP 200.
class KdsFetcher {
 public:
  virtual ~KdsFetcher() = default;
  virtual absl::StatusOr<std::string> Get(const std::string& url) = 0;
};

// libcurl-backed fetcher (HTTPS only, TLS verification on, bounded response size).
std::unique_ptr<KdsFetcher> NewCurlKdsFetcher(absl::Duration timeout = absl::Seconds(10));

inline constexpr char kKdsBaseUrl[] = "https://kdsintf.amd.com";

struct ChainSourceConfig {
  // Read-only directory of AMD certificates. Accepted layouts (first match wins):
  //   <dir>/<vcek|vlek>/v1/<Product>/cert_chain          PEM, intermediate then ARK (KDS mirror)
  //   <dir>/ask_ark_<product>_<vcek|vlek>.pem            PEM, as in test/data/amd
  //   <dir>/<vcek|vlek>/v1/<Product>/crl                 DER or PEM CRL (KDS mirror)
  //   <dir>/crl_<product>_<vcek|vlek>.(der|pem)
  //   <dir>/vcek/v1/<Product>/<hwid hex>_<tcb>.der       VCEKs (see VcekCacheName)
  // <Product> is Milan|Genoa|Turin, <product> its lower-case form.
  std::string amd_certs_dir;
  // Network access to AMD KDS; null disables fetching (fully offline).
  std::shared_ptr<KdsFetcher> kds_fetcher;
  std::string kds_base_url = kKdsBaseUrl;
  // Where KDS responses are stored (same layout as amd_certs_dir); "" keeps them in memory only.
  std::string kds_cache_dir;
  // A CRL fetched from KDS is used for at most this long, and never past its nextUpdate, before it is fetched again
  // (the verifier sets it to its chain cache TTL).
  absl::Duration crl_refresh = absl::Hours(24);
  // A failed KDS request is remembered for this long: the same URL is not requested again before (AMD answers bursts
  // with HTTP 429, and unverified reports must not make the server hammer it).
  absl::Duration kds_failure_ttl = absl::Minutes(1);
  // At most this many KDS requests per minute in all (each unknown CHIP_ID/TCB costs one); beyond, Unavailable.
  int kds_requests_per_minute = 30;
};

// The file name a VCEK is stored under: "<hwid hex>_bl<B>_tee<T>_snp<S>_ucode<U>[_fmc<F>].der".
std::string VcekCacheName(abi::Product product, absl::string_view hw_id, const abi::Tcb& tcb);
// The KDS URL of a VCEK ("/vcek/v1/<Product>/<hwid hex>?blSPL=..."; Turin: 8-byte hwID, fmcSPL).
std::string VcekKdsPath(abi::Product product, absl::string_view chip_id, const abi::Tcb& tcb);

// Thread-safe.
class ChainSources {
 public:
  explicit ChainSources(ChainSourceConfig config) : config_(std::move(config)) {}

  // Intermediate (ASK or ASVK) and ARK for a product, parsed, intermediate first.
  // `now` (the verification time) drives the KDS failure cache, the request budget and CRL freshness.
  absl::StatusOr<std::vector<ssl::X509Ptr>> IntermediateAndRoot(abi::Product product, abi::SigningKey kind,
                                                                absl::Time now);
  // A VCEK (DER) for this chip and TCB. chip_id: the report's 64-byte CHIP_ID.
  absl::StatusOr<std::string> Vcek(abi::Product product, absl::string_view chip_id, const abi::Tcb& tcb,
                                   absl::Time now);
  // The ARK-signed CRL for a product and chain kind (DER or PEM bytes): amd_certs_dir's (re-read every time), else
  // KDS's, re-fetched after crl_refresh or once its nextUpdate has passed (when the fetch fails, the last copy, which
  // the chain check then refuses if it is stale), else kds_cache_dir's when fetching is off.
  absl::StatusOr<std::string> Crl(abi::Product product, abi::SigningKey kind, absl::Time now);

  const ChainSourceConfig& config() const { return config_; }

 private:
  // Looks up `rel_paths` under the local dir then the cache dir, then KDS `kds_path` (storing the
  // body under rel_paths[0] in the cache dir).
  absl::StatusOr<std::string> Find(const std::vector<std::string>& rel_paths, const std::string& kds_path,
                                   absl::string_view what, absl::Time now);
  // The first of rel_paths found under `dir` ("" finds nothing).
  static absl::StatusOr<std::string> ReadFirst(const std::string& dir, const std::vector<std::string>& rel_paths);
  // KDS GET through the failure cache and the request budget.
  absl::StatusOr<std::string> FetchKds(const std::string& url, absl::Time now);
  // Stores a KDS response in memory and, unverified, in the cache dir (every use re-verifies it).
  void Remember(const std::string& url, const std::vector<std::string>& rel_paths, const std::string& body,
                absl::Time now);

  struct Fetched {
    std::string body;
    absl::Time at;
  };
  struct Failure {
    absl::Status status;
    absl::Time until;
  };
  ChainSourceConfig config_;
  std::mutex mu_;
  std::map<std::string, Fetched> memory_;    // KDS responses fetched in this process
  std::map<std::string, Failure> failures_;  // negative cache, by URL
  absl::Time budget_start_ = absl::InfinitePast();
  int budget_used_ = 0;
};

}  // namespace spirecvm::sevsnp::certs
