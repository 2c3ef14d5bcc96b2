#include "aws/client.h"

#include <curl/curl.h>

#include <algorithm>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"

namespace spirecvm::aws {
namespace {

constexpr size_t kMaxResponseBytes = 16 << 20;

struct CurlDeleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};

struct Sink {
  std::string body;
  bool overflow = false;
};

size_t Write(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* s = static_cast<Sink*>(userdata);
  const size_t n = size * nmemb;
  if (s->body.size() + n > kMaxResponseBytes) {
    s->overflow = true;
    return 0;
  }
  s->body.append(data, n);
  return n;
}

std::string FormEncode(const std::map<std::string, std::string>& params) {
  std::unique_ptr<CURL, CurlDeleter> c(curl_easy_init());
  std::vector<std::string> parts;
  for (const auto& [k, v] : params) {
    char* ek = curl_easy_escape(c.get(), k.data(), static_cast<int>(k.size()));
    char* ev = curl_easy_escape(c.get(), v.data(), static_cast<int>(v.size()));
    parts.push_back(absl::StrCat(ek, "=", ev));
    curl_free(ek);
    curl_free(ev);
  }
  return absl::StrJoin(parts, "&");
}

absl::StatusCode CodeFor(const AwsError& e) {
  const std::string& c = e.code;
  if (absl::StrContains(c, "AccessDenied") || c == "UnauthorizedOperation" || c == "AuthFailure" ||
      c == "InvalidClientTokenId" || c == "SignatureDoesNotMatch" || c == "ExpiredToken" ||
      c == "UnrecognizedClientException" || e.http_status == 403) {
    return absl::StatusCode::kPermissionDenied;
  }
  if (absl::StrContains(c, "NotFound") || c == "NoSuchEntity" || e.http_status == 404) {
    return absl::StatusCode::kNotFound;
  }
  if (IsThrottling(e) || e.http_status >= 500) return absl::StatusCode::kUnavailable;
  return absl::StatusCode::kFailedPrecondition;
}

}  // namespace

AwsError ParseAwsError(long http_status, const std::string& body) {
  AwsError e;
  e.http_status = static_cast<int>(http_status);
  if (auto j = nlohmann::json::parse(body, nullptr, false); !j.is_discarded() && j.is_object()) {
    std::string type = j.value("__type", j.value("code", ""));
    if (auto hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
    e.code = type;
    e.message = j.value("message", j.value("Message", ""));
  } else if (auto x = ParseXml(body, 1 << 20); x.ok()) {
    if (const XmlElement* err = x->name == "Error" ? &*x : x->Find("Error")) {
      e.code = err->ChildText("Code");
      e.message = err->ChildText("Message");
    }
  }
  if (e.code.empty() && http_status == 503) e.code = "ServiceUnavailable";
  return e;
}

bool IsThrottling(const AwsError& e) {
  static const char* kCodes[] = {"Throttling",
                                 "ThrottlingException",
                                 "ThrottledException",
                                 "RequestLimitExceeded",
                                 "TooManyRequestsException",
                                 "RequestThrottled",
                                 "SlowDown",
                                 "ServiceUnavailable",
                                 "RequestThrottledException"};
  for (const char* c : kCodes) {
    if (e.code == c) return true;
  }
  return e.http_status == 429 || e.http_status == 503;
}

std::string RoleArn(const std::string& partition, const std::string& account_id, const std::string& role) {
  return absl::StrCat("arn:", partition, ":iam::", account_id, ":role/", role);
}

Client::Client(ClientOptions options, std::shared_ptr<CredentialProvider> credentials)
    : options_(std::move(options)), credentials_(std::move(credentials)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (!options_.env) options_.env = ProcessEnv();
  if (!options_.sleep) options_.sleep = [](absl::Duration d) { absl::SleepFor(d); };
  options_.max_attempts = std::max(1, options_.max_attempts);
}

absl::StatusOr<Client::Response> Client::SendOnce(const Endpoint& ep, const std::string& service, const Credentials& c,
                                                  const std::string& body,
                                                  const std::vector<std::string>& headers) const {
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return absl::InternalError("curl_easy_init failed");
  curl_slist* raw = nullptr;
  for (const auto& h : headers) raw = curl_slist_append(raw, h.c_str());
  if (!c.session_token.empty()) raw = curl_slist_append(raw, ("X-Amz-Security-Token: " + c.session_token).c_str());
  std::unique_ptr<curl_slist, SlistDeleter> hdrs(raw);
  const std::string sigv4 = absl::StrCat("aws:amz:", ep.signing_region, ":", service);
  const std::string url = ep.url + "/";
  Sink sink;
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs.get());
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(h, CURLOPT_USERNAME, c.access_key_id.c_str());
  curl_easy_setopt(h, CURLOPT_PASSWORD, c.secret_access_key.c_str());
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(absl::ToInt64Milliseconds(options_.connect_timeout)));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(absl::ToInt64Milliseconds(options_.request_timeout)));
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  CURLcode rc = curl_easy_perform(h);
  if (sink.overflow) return absl::ResourceExhaustedError(absl::StrCat("AWS ", service, " answered more than 16 MiB"));
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("AWS ", service, " at ", ep.url, ": ", curl_easy_strerror(rc)));
  }
  Response r;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  r.body = std::move(sink.body);
  return r;
}

absl::StatusOr<Client::Response> Client::Send(const std::string& service, const std::string& action,
                                              const std::string& body, const std::vector<std::string>& headers) const {
  ASSIGN_OR_RETURN(Endpoint ep, ResolveEndpoint(options_.partition, service, options_.region, options_.env));
  const std::string what = absl::StrCat("AWS ", service, " ", action);
  absl::Duration backoff = options_.initial_backoff;
  absl::Status last;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    if (attempt > 1) {
      options_.sleep(backoff);
      backoff = std::min(backoff * 2, options_.max_backoff);
    }
    auto creds = credentials_->Get();
    if (!creds.ok()) return Annotate(creds, what);
    auto r = SendOnce(ep, service, *creds, body, headers);
    if (!r.ok()) {
      last = Annotate(r, what);
      if (absl::IsUnavailable(r.status())) continue;
      return last;
    }
    if (r->status >= 200 && r->status < 300) return r;
    AwsError e = ParseAwsError(r->status, r->body);
    last = absl::Status(CodeFor(e), absl::StrCat(what, ": ", e.code.empty() ? "error" : e.code,
                                                 e.message.empty() ? "" : ": " + e.message, " (HTTP ", r->status, ")"));
    if (!IsThrottling(e)) return last;
  }
  return Annotate(last, absl::StrCat("after ", options_.max_attempts, " attempts"));
}

absl::StatusOr<XmlElement> Client::Query(const std::string& service, const std::string& action,
                                         const std::string& version,
                                         const std::map<std::string, std::string>& params) const {
  std::map<std::string, std::string> all = params;
  all["Action"] = action;
  all["Version"] = version;
  ASSIGN_OR_RETURN(Response r, Send(service, action, FormEncode(all),
                                    {"Content-Type: application/x-www-form-urlencoded; charset=utf-8", "Accept:"}));
  auto x = ParseXml(r.body);
  if (!x.ok()) return Annotate(x, absl::StrCat("AWS ", service, " ", action, " answer"));
  return x;
}

absl::StatusOr<nlohmann::json> Client::Json(const std::string& service, const std::string& target_prefix,
                                            const std::string& action, const nlohmann::json& body) const {
  ASSIGN_OR_RETURN(Response r, Send(service, action, body.dump(),
                                    {"Content-Type: application/x-amz-json-1.1",
                                     absl::StrCat("X-Amz-Target: ", target_prefix, ".", action), "Accept:"}));
  auto j = nlohmann::json::parse(r.body.empty() ? "{}" : r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("AWS ", service, " ", action, " answer is not a JSON object"));
  }
  return j;
}

namespace {

class AssumeRoleProvider : public CachingProvider {
 public:
  AssumeRoleProvider(std::shared_ptr<Client> sts, std::string arn, std::string session, Clock& clock)
      : CachingProvider(clock), sts_(std::move(sts)), arn_(std::move(arn)), session_(std::move(session)) {}

 protected:
  absl::StatusOr<Credentials> Fetch() override {
    ASSIGN_OR_RETURN(XmlElement x, sts_->Query("sts", "AssumeRole", "2011-06-15",
                                               {{"RoleArn", arn_}, {"RoleSessionName", session_}}));
    const XmlElement* c = x.Find("Credentials");
    if (c == nullptr) return absl::InvalidArgumentError("AWS sts AssumeRole answer has no Credentials");
    Credentials out{c->ChildText("AccessKeyId"), c->ChildText("SecretAccessKey"), c->ChildText("SessionToken"),
                    absl::InfiniteFuture(), "assume_role " + arn_};
    if (out.access_key_id.empty() || out.secret_access_key.empty()) {
      return absl::InvalidArgumentError("AWS sts AssumeRole answer has empty credentials");
    }
    std::string why;
    if (!absl::ParseTime(absl::RFC3339_full, c->ChildText("Expiration"), &out.expiration, &why)) {
      out.expiration = absl::InfiniteFuture();
      return absl::InvalidArgumentError(absl::StrCat("AWS sts AssumeRole answer has a bad Expiration: ", why));
    }
    return out;
  }

 private:
  std::shared_ptr<Client> sts_;
  std::string arn_, session_;
};

}  // namespace

std::shared_ptr<CredentialProvider> NewAssumeRoleProvider(std::shared_ptr<Client> sts, std::string role_arn,
                                                          std::string session_name, Clock& clock) {
  return std::make_shared<AssumeRoleProvider>(std::move(sts), std::move(role_arn), std::move(session_name), clock);
}

}  // namespace spirecvm::aws
