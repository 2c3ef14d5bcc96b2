#include "aws/credentials.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "attestation/awsiid/imds_client.h"
#include "common/status.h"

namespace spirecvm::aws {
namespace {

class StaticProvider : public CredentialProvider {
 public:
  explicit StaticProvider(Credentials c) : c_(std::move(c)) {}
  absl::StatusOr<Credentials> Get() override { return c_; }

 private:
  Credentials c_;
};

class ImdsRoleProvider : public CachingProvider {
 public:
  ImdsRoleProvider(std::string endpoint, Clock& clock) : CachingProvider(clock), endpoint_(std::move(endpoint)) {}

 protected:
  absl::StatusOr<Credentials> Fetch() override {
    awsiid::ImdsClientOptions o;
    o.endpoint = endpoint_;
    ASSIGN_OR_RETURN(auto client, awsiid::ImdsClient::Create(o));
    auto where = [](const absl::Status& st) {
      return Annotate(st, "AWS credentials: no config keys, no AWS_ACCESS_KEY_ID, and the IMDSv2 instance role");
    };
    auto token = client->FetchToken();
    if (!token.ok()) return where(token.status());
    auto roles = client->Get("/latest/meta-data/iam/security-credentials/", *token);
    if (!roles.ok()) return where(roles.status());
    std::string role =
        std::string(absl::StripAsciiWhitespace(std::vector<std::string>(absl::StrSplit(*roles, '\n'))[0]));
    if (role.empty() || role.find('/') != std::string::npos) {
      return absl::FailedPreconditionError("AWS credentials: the host's IMDS names no instance role");
    }
    auto doc = client->Get("/latest/meta-data/iam/security-credentials/" + role, *token);
    if (!doc.ok()) return where(doc.status());
    ASSIGN_OR_RETURN(Credentials c, ParseImdsRoleCredentials(*doc));
    c.source = "imds role " + role;
    return c;
  }

 private:
  std::string endpoint_;
};

}  // namespace

absl::StatusOr<Credentials> CachingProvider::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  if (cached_ && clock_.Now() + absl::Minutes(5) < cached_->expiration) return *cached_;
  ASSIGN_OR_RETURN(Credentials c, Fetch());
  cached_ = c;
  return c;
}

absl::StatusOr<Credentials> ParseImdsRoleCredentials(const std::string& json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return absl::InvalidArgumentError("IMDS role credentials are not JSON");
  Credentials c;
  for (auto [key, dest] : {std::pair<const char*, std::string*>{"AccessKeyId", &c.access_key_id},
                           {"SecretAccessKey", &c.secret_access_key},
                           {"Token", &c.session_token}}) {
    if (!j.contains(key) || !j[key].is_string() || j[key].get<std::string>().empty()) {
      return absl::InvalidArgumentError(absl::StrCat("IMDS role credentials have no ", key));
    }
    *dest = j[key].get<std::string>();
  }
  if (j.contains("Expiration") && j["Expiration"].is_string()) {
    std::string why;
    if (!absl::ParseTime(absl::RFC3339_full, j["Expiration"].get<std::string>(), &c.expiration, &why)) {
      return absl::InvalidArgumentError(absl::StrCat("IMDS role credentials: bad Expiration: ", why));
    }
  }
  return c;
}

std::shared_ptr<CredentialProvider> NewStaticProvider(Credentials c) { return std::make_shared<StaticProvider>(c); }

std::shared_ptr<CredentialProvider> NewImdsRoleProvider(std::string imds_endpoint, Clock& clock) {
  return std::make_shared<ImdsRoleProvider>(std::move(imds_endpoint), clock);
}

absl::StatusOr<std::shared_ptr<CredentialProvider>> NewDefaultChain(ChainOptions o, Clock& clock) {
  if (!o.env) o.env = ProcessEnv();
  if (o.access_key_id.empty() != o.secret_access_key.empty()) {
    return absl::InvalidArgumentError(o.access_key_id.empty()
                                          ? "configuration has secret_access_key but no access_key_id"
                                          : "configuration has access_key_id but no secret_access_key");
  }
  if (!o.access_key_id.empty()) {
    return NewStaticProvider({o.access_key_id, o.secret_access_key, "", absl::InfiniteFuture(), "config"});
  }
  auto id = o.env("AWS_ACCESS_KEY_ID"), secret = o.env("AWS_SECRET_ACCESS_KEY");
  if (id.has_value() != secret.has_value()) {
    return absl::InvalidArgumentError("the environment sets only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  if (id) {
    return NewStaticProvider(
        {*id, *secret, o.env("AWS_SESSION_TOKEN").value_or(""), absl::InfiniteFuture(), "environment"});
  }
  if (!o.use_imds) return absl::FailedPreconditionError("no AWS credentials in the config or the environment");
  return NewImdsRoleProvider(o.imds_endpoint, clock);
}

}  // namespace spirecvm::aws
