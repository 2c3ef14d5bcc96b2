#include "attestation/sevsnp/certs/sources.h"

#include <curl/curl.h>

#include <filesystem>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "attestation/sevsnp/certs/endorsement.h"
#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"

namespace spirecvm::sevsnp::certs {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxKdsResponse = 1 << 20;  // chains and CRLs are a few KiB

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

absl::StatusOr<std::string> ChainSources::Find(const std::vector<std::string>& rel_paths, const std::string& kds_path,
                                               absl::string_view what) {
  for (const std::string& dir : {config_.amd_certs_dir, config_.kds_cache_dir}) {
    if (dir.empty()) continue;
    for (const auto& rel : rel_paths) {
      auto data = files::ReadFile((fs::path(dir) / rel).string());  // absent: try the next place
      if (data.ok()) return data;
    }
  }
  if (config_.kds_fetcher == nullptr || kds_path.empty()) {
    return absl::NotFoundError(absl::StrCat(
        what, " not found", config_.amd_certs_dir.empty() ? "" : " in amd_certs_dir " + config_.amd_certs_dir,
        " and AMD KDS fetching is disabled"));
  }
  const std::string url = config_.kds_base_url + kds_path;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = memory_.find(url); it != memory_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(auto body, config_.kds_fetcher->Get(url));
  {
    std::lock_guard<std::mutex> l(mu_);
    memory_[url] = body;
  }
  if (!config_.kds_cache_dir.empty() && !rel_paths.empty()) {
    // Unverified bytes may be cached: every use re-verifies them up to the pinned ARK.
    (void)CacheKdsResponse(fs::path(config_.kds_cache_dir) / rel_paths.front(), body);
  }
  return body;
}

absl::StatusOr<std::vector<ssl::X509Ptr>> ChainSources::IntermediateAndRoot(abi::Product product,
                                                                            abi::SigningKey kind) {
  if (product == abi::Product::kUnknown) {
    return absl::InvalidArgumentError("cannot look up the AMD chain: product unknown");
  }
  const std::string p(abi::ProductName(product));
  const std::string k = KindDir(kind);
  ASSIGN_OR_RETURN(auto pem, Find({absl::StrCat(k, "/v1/", p, "/cert_chain"),
                                   absl::StrCat("ask_ark_", absl::AsciiStrToLower(p), "_", k, ".pem")},
                                  absl::StrCat("/", k, "/v1/", p, "/cert_chain"),
                                  absl::StrCat(p, " ", k == "vlek" ? "ASVK" : "ASK", "/ARK chain")));
  ASSIGN_OR_RETURN(auto certs, LoadCertificates(pem));
  if (certs.size() != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("AMD chain for ", p, " has ", certs.size(), " certificates, want 2 (intermediate, ARK)"));
  }
  return certs;
}

absl::StatusOr<std::string> ChainSources::Vcek(abi::Product product, absl::string_view chip_id, const abi::Tcb& tcb) {
  if (product == abi::Product::kUnknown) {
    return absl::InvalidArgumentError("cannot look up the VCEK: product unknown");
  }
  const bool turin = product == abi::Product::kTurin;
  absl::string_view hw = turin ? chip_id.substr(0, 8) : chip_id;
  return Find({absl::StrCat("vcek/v1/", abi::ProductName(product), "/", VcekCacheName(product, hw, tcb))},
              VcekKdsPath(product, chip_id, tcb), "VCEK");
}

absl::StatusOr<std::string> ChainSources::Crl(abi::Product product, abi::SigningKey kind) {
  const std::string p(abi::ProductName(product));
  const std::string k = KindDir(kind);
  const std::string lower = absl::AsciiStrToLower(p);
  return Find({absl::StrCat(k, "/v1/", p, "/crl"), absl::StrCat("crl_", lower, "_", k, ".der"),
               absl::StrCat("crl_", lower, "_", k, ".pem")},
              absl::StrCat("/", k, "/v1/", p, "/crl"), absl::StrCat(p, " ", k, " CRL"));
}

}  // namespace spirecvm::sevsnp::certs
