#include "attestation/sevsnp/certs/sources.h"

#include <curl/curl.h>

#include <filesystem>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attestation/sevsnp/certs/chain.h"
#include "attestation/sevsnp/certs/endorsement.h"
#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"
#include "spdlog/spdlog.h"

namespace spirecvm::sevsnp::certs {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxKdsResponse = 1 << 20;  // chains and CRLs are a few KiB

// True when the CRL in `bytes` cannot be parsed or its nextUpdate is before `now` (time to fetch again).
bool PastNextUpdate(const std::string& bytes, absl::Time now) {
  auto crl = LoadCrl(bytes);
  if (!crl.ok()) return true;
  auto next = CrlNextUpdate(crl->get());
  return !next.ok() || now > *next;
}

std::string KindDir(abi::SigningKey kind) { return kind == abi::SigningKey::kVlek ? "vlek" : "vcek"; }

// Caches a KDS response under the cache folder (creating its sub-folders), atomically.
absl::Status CacheKdsResponse(const fs::path& path, absl::string_view data) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", path.parent_path().string(), ": ", ec.message()));
  return files::WriteFileAtomic(path.string(), ToStd(data), 0644);
}

size_t CurlWrite(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* out = static_cast<std::string*>(userdata);
  const size_t n = size * nmemb;
  if (out->size() + n > kMaxKdsResponse) return 0;  // aborts the transfer
  out->append(ptr, n);
  return n;
}

class CurlKdsFetcher final : public KdsFetcher {
 public:
  explicit CurlKdsFetcher(absl::Duration timeout) : timeout_(timeout) {
    static const bool init = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
    (void)init;
  }
  absl::StatusOr<std::string> Get(const std::string& url) override {
    if (!absl::StartsWith(url, "https://")) {
      return absl::InvalidArgumentError(absl::StrCat("KDS URL must be https: ", url));
    }
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
    if (curl == nullptr) return absl::InternalError("curl_easy_init failed");
    std::string body;
    curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, &CurlWrite);
    curl_easy_setopt(curl.get(), CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(timeout_)));
    curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(curl.get());
    if (rc != CURLE_OK) {
      return absl::UnavailableError(absl::StrCat("KDS GET ", url, ": ", curl_easy_strerror(rc)));
    }
    long code = 0;
    curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &code);
    if (code != 200) {
      return absl::UnavailableError(
          absl::StrCat("KDS GET ", url, ": HTTP ", code, code == 429 ? " (rate limited)" : ""));
    }
    return body;
  }

 private:
  absl::Duration timeout_;
};

}  // namespace

std::unique_ptr<KdsFetcher> NewCurlKdsFetcher(absl::Duration timeout) {
  return std::make_unique<CurlKdsFetcher>(timeout);
}

std::string VcekCacheName(abi::Product product, absl::string_view hw_id, const abi::Tcb& tcb) {
  std::string s =
      absl::StrCat(absl::BytesToHexString(hw_id), "_bl", tcb.bl, "_tee", tcb.tee, "_snp", tcb.snp, "_ucode", tcb.ucode);
  if (product == abi::Product::kTurin) absl::StrAppend(&s, "_fmc", tcb.fmc);
  return absl::StrCat(s, ".der");
}

std::string VcekKdsPath(abi::Product product, absl::string_view chip_id, const abi::Tcb& tcb) {
  const bool turin = product == abi::Product::kTurin;
  absl::string_view id = turin ? chip_id.substr(0, 8) : chip_id;
  std::string path = absl::StrCat("/vcek/v1/", abi::ProductName(product), "/", absl::BytesToHexString(id), "?");
  if (turin) absl::StrAppend(&path, "fmcSPL=", tcb.fmc, "&");
  absl::StrAppend(&path, "blSPL=", tcb.bl, "&teeSPL=", tcb.tee, "&snpSPL=", tcb.snp, "&ucodeSPL=", tcb.ucode);
  return path;
}

absl::StatusOr<std::string> ChainSources::ReadFirst(const std::string& dir, const std::vector<std::string>& rel_paths) {
  if (!dir.empty()) {
    for (const auto& rel : rel_paths) {
      auto data = files::ReadFile((fs::path(dir) / rel).string());  // absent: try the next place
      if (data.ok()) return data;
    }
  }
  return absl::NotFoundError("not found");
}

absl::StatusOr<std::string> ChainSources::FetchKds(const std::string& url, absl::Time now) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = failures_.find(url); it != failures_.end()) {
      if (now < it->second.until) {
        return absl::Status(it->second.status.code(),
                            absl::StrCat(it->second.status.message(), " (cached failure; not retried before ",
                                         absl::FormatTime(it->second.until), ")"));
      }
      failures_.erase(it);
    }
    if (now < budget_start_ || now - budget_start_ >= absl::Minutes(1)) {
      budget_start_ = now;
      budget_used_ = 0;
    }
    if (budget_used_ >= config_.kds_requests_per_minute) {
      return absl::UnavailableError(absl::StrCat("AMD KDS request budget (", config_.kds_requests_per_minute,
                                                 " per minute) is spent; not fetching ", url));
    }
    ++budget_used_;
  }
  auto body = config_.kds_fetcher->Get(url);
  std::lock_guard<std::mutex> l(mu_);
  if (!body.ok()) {
    if (failures_.size() >= 4096) failures_.clear();  // bounded; forgetting only costs a request
    failures_[url] = Failure{body.status(), now + config_.kds_failure_ttl};
  }
  return body;
}

void ChainSources::Remember(const std::string& url, const std::vector<std::string>& rel_paths, const std::string& body,
                            absl::Time now) {
  {
    std::lock_guard<std::mutex> l(mu_);
    memory_[url] = Fetched{body, now};
  }
  if (!config_.kds_cache_dir.empty() && !rel_paths.empty()) {
    // Unverified bytes may be cached: every use re-verifies them up to the pinned ARK.
    (void)CacheKdsResponse(fs::path(config_.kds_cache_dir) / rel_paths.front(), body);
  }
}

absl::StatusOr<std::string> ChainSources::Find(const std::vector<std::string>& rel_paths, const std::string& kds_path,
                                               absl::string_view what, absl::Time now) {
  for (const std::string& dir : {config_.amd_certs_dir, config_.kds_cache_dir}) {
    auto data = ReadFirst(dir, rel_paths);
    if (data.ok()) return data;
  }
  if (config_.kds_fetcher == nullptr || kds_path.empty()) {
    return absl::NotFoundError(absl::StrCat(
        what, " not found", config_.amd_certs_dir.empty() ? "" : " in amd_certs_dir " + config_.amd_certs_dir,
        " and AMD KDS fetching is disabled"));
  }
  const std::string url = config_.kds_base_url + kds_path;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = memory_.find(url); it != memory_.end()) return it->second.body;
  }
  ASSIGN_OR_RETURN(auto body, FetchKds(url, now));
  Remember(url, rel_paths, body, now);
  return body;
}

absl::StatusOr<std::vector<ssl::X509Ptr>> ChainSources::IntermediateAndRoot(abi::Product product, abi::SigningKey kind,
                                                                            absl::Time now) {
  if (product == abi::Product::kUnknown) {
    return absl::InvalidArgumentError("cannot look up the AMD chain: product unknown");
  }
  const std::string p(abi::ProductName(product));
  const std::string k = KindDir(kind);
  ASSIGN_OR_RETURN(auto pem, Find({absl::StrCat(k, "/v1/", p, "/cert_chain"),
                                   absl::StrCat("ask_ark_", absl::AsciiStrToLower(p), "_", k, ".pem")},
                                  absl::StrCat("/", k, "/v1/", p, "/cert_chain"),
                                  absl::StrCat(p, " ", k == "vlek" ? "ASVK" : "ASK", "/ARK chain"), now));
  ASSIGN_OR_RETURN(auto certs, LoadCertificates(pem));
  if (certs.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("AMD chain for ", p, " has ", certs.size(), " certificates, want 2 (intermediate, ARK)"));
  }
  return certs;
}

absl::StatusOr<std::string> ChainSources::Vcek(abi::Product product, absl::string_view chip_id, const abi::Tcb& tcb,
                                               absl::Time now) {
  if (product == abi::Product::kUnknown) {
    return absl::InvalidArgumentError("cannot look up the VCEK: product unknown");
  }
  const bool turin = product == abi::Product::kTurin;
  absl::string_view hw = turin ? chip_id.substr(0, 8) : chip_id;
  return Find({absl::StrCat("vcek/v1/", abi::ProductName(product), "/", VcekCacheName(product, hw, tcb))},
              VcekKdsPath(product, chip_id, tcb), "VCEK", now);
}

absl::StatusOr<std::string> ChainSources::Crl(abi::Product product, abi::SigningKey kind, absl::Time now) {
  const std::string p(abi::ProductName(product));
  const std::string k = KindDir(kind);
  const std::string lower = absl::AsciiStrToLower(p);
  const std::vector<std::string> rel = {absl::StrCat(k, "/v1/", p, "/crl"), absl::StrCat("crl_", lower, "_", k, ".der"),
                                        absl::StrCat("crl_", lower, "_", k, ".pem")};
  const std::string what = absl::StrCat(p, " ", k, " CRL");
  if (auto local = ReadFirst(config_.amd_certs_dir, rel); local.ok()) return local;
  if (config_.kds_fetcher == nullptr) {
    if (auto cached = ReadFirst(config_.kds_cache_dir, rel); cached.ok()) return cached;
    return absl::NotFoundError(absl::StrCat(
        what, " not found", config_.amd_certs_dir.empty() ? "" : " in amd_certs_dir " + config_.amd_certs_dir,
        " and AMD KDS fetching is disabled"));
  }
  const std::string url = absl::StrCat(config_.kds_base_url, "/", k, "/v1/", p, "/crl");
  std::optional<std::string> last;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = memory_.find(url); it != memory_.end()) {
      if (now >= it->second.at && now - it->second.at < config_.crl_refresh && !PastNextUpdate(it->second.body, now)) {
        return it->second.body;
      }
      last = it->second.body;
    }
  }
  auto body = FetchKds(url, now);
  if (body.ok()) {
    Remember(url, rel, *body, now);
    return body;
  }
  if (!last.has_value()) {
    if (auto cached = ReadFirst(config_.kds_cache_dir, rel); cached.ok()) last = *cached;
  }
  if (!last.has_value()) return Annotate(body.status(), absl::StrCat("fetching the ", what));
  spdlog::warn("{}: refresh from AMD KDS failed ({}); using the last copy", what, body.status().ToString());
  return *last;  // the chain check refuses it if its nextUpdate has passed
}

}  // namespace spirecvm::sevsnp::certs
