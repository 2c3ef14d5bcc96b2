#include "server/keymanager/aws_kms_key_manager.h"

#include <openssl/evp.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/files.h"
#include "common/status.h"
#include "common/strings.h"
#include "common/uuid.h"
#include "spdlog/spdlog.h"

namespace spirecvm::server {
namespace {

constexpr char kAliasPrefix[] = "alias/SPIRE_SERVER/";
constexpr char kDescriptionPrefix[] = "SPIRE_SERVER_KEY/";
constexpr absl::Duration kRefreshAliasesEvery = absl::Hours(6);
constexpr absl::Duration kDisposeAliasesEvery = absl::Hours(24);
constexpr absl::Duration kAliasThreshold = absl::Hours(24 * 14);
constexpr absl::Duration kDisposeKeysEvery = absl::Hours(48);
constexpr absl::Duration kKeyThreshold = absl::Hours(48);
constexpr int kPendingWindowDays = 7;

std::string SanitizeTrustDomain(std::string_view td) { return absl::StrReplaceAll(ToAbsl(td), {{".", "_"}}); }
// KMS alias names take neither '.' nor '+': escaped as SPIRE does ("_2e", "_2b").
std::string EncodeKeyId(std::string_view id) { return absl::StrReplaceAll(ToAbsl(id), {{".", "_2e"}, {"+", "_2b"}}); }
std::string DecodeKeyId(std::string_view id) { return absl::StrReplaceAll(ToAbsl(id), {{"_2e", "."}, {"_2b", "+"}}); }

const char* KeySpecFor(crypto::KeyType t) {
  switch (t) {
    case crypto::KeyType::kEcP256:
      return "ECC_NIST_P256";
    case crypto::KeyType::kEcP384:
      return "ECC_NIST_P384";
    case crypto::KeyType::kRsa2048:
      return "RSA_2048";
    case crypto::KeyType::kRsa4096:
      return "RSA_4096";
  }
  return "";
}

absl::StatusOr<crypto::KeyType> KeyTypeForSpec(const std::string& spec) {
  for (crypto::KeyType t :
       {crypto::KeyType::kEcP256, crypto::KeyType::kEcP384, crypto::KeyType::kRsa2048, crypto::KeyType::kRsa4096}) {
    if (spec == KeySpecFor(t)) return t;
  }
  return absl::FailedPreconditionError(absl::StrCat("unsupported KMS key spec \"", spec, "\""));
}

// KMS's SigningAlgorithmSpec for a key type and digest (ECDSA binds the digest to the curve).
absl::StatusOr<std::string> SigningAlgorithm(crypto::KeyType t, const EVP_MD* md) {
  const int nid = md == nullptr ? NID_undef : EVP_MD_get_type(md);
  if (t == crypto::KeyType::kEcP256 && nid == NID_sha256) return std::string("ECDSA_SHA_256");
  if (t == crypto::KeyType::kEcP384 && nid == NID_sha384) return std::string("ECDSA_SHA_384");
  if (t == crypto::KeyType::kRsa2048 || t == crypto::KeyType::kRsa4096) {
    if (nid == NID_sha256) return std::string("RSASSA_PKCS1_V1_5_SHA_256");
    if (nid == NID_sha384) return std::string("RSASSA_PKCS1_V1_5_SHA_384");
    if (nid == NID_sha512) return std::string("RSASSA_PKCS1_V1_5_SHA_512");
  }
  return absl::InvalidArgumentError(absl::StrCat("aws_kms: no KMS signing algorithm for a ",
                                                 ToAbsl(crypto::KeyTypeName(t)), " key with this digest"));
}

// A key in KMS: signs through KMS Sign (MessageType DIGEST) with the key's ARN, so that a signer handed out before a
// rotation keeps signing with its own key (until KMS deletes it).
class KmsSigner final : public crypto::Signer {
 public:
  KmsSigner(std::shared_ptr<aws::Kms> kms, std::string arn, ssl::EvpPkeyPtr pub, crypto::KeyType type)
      : kms_(std::move(kms)), arn_(std::move(arn)), pub_(std::move(pub)), type_(type) {}
  EVP_PKEY* PublicKey() const override { return pub_.get(); }
  crypto::KeyType Type() const override { return type_; }
  absl::StatusOr<std::string> SignDigest(const EVP_MD* md, std::string_view digest) const override {
    ASSIGN_OR_RETURN(std::string alg, SigningAlgorithm(type_, md));
    if (digest.size() != static_cast<size_t>(EVP_MD_get_size(md))) {
      return absl::InvalidArgumentError("aws_kms: the digest does not match the digest algorithm");
    }
    auto sig = kms_->SignDigest(arn_, alg, digest);
    if (!sig.ok()) return Annotate(sig.status(), absl::StrCat("aws_kms: sign with ", arn_));
    return sig;
  }

 private:
  std::shared_ptr<aws::Kms> kms_;
  std::string arn_;
  ssl::EvpPkeyPtr pub_;
  crypto::KeyType type_;
};

bool LooksLikeUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash != (s[i] == '-')) return false;
    if (!dash && !absl::ascii_isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// The server id in `path`, or a new UUID written there (0600) on first start.
absl::StatusOr<std::string> ServerIdFromFile(const std::string& path, Random& rnd) {
  auto text = files::ReadFile(path);
  if (absl::IsNotFound(text.status())) {
    std::string id = NewUuidV4(rnd);
    if (auto st = files::WriteFileAtomic(path, id, 0600); !st.ok()) {
      return Annotate(st, "aws_kms: failed to persist server id on path");
    }
    return id;
  }
  if (!text.ok()) return Annotate(text.status(), "aws_kms: failed to read server id from path");
  std::string id(absl::StripAsciiWhitespace(*text));
  if (!LooksLikeUuid(id)) {
    return absl::FailedPreconditionError(
        absl::StrCat("aws_kms: failed to parse server id from ", path, ": not a UUID"));
  }
  return id;
}

// SPIRE's default key policy when the server runs under an assumed IAM role: the role gets kms:*, the account
// root may read the key (console). Without a role: KMS's default policy (empty).
std::string DefaultPolicy(const std::string& caller_arn, const std::string& account, const std::string& partition) {
  std::vector<std::string> parts = absl::StrSplit(caller_arn, ':');
  if (parts.size() < 6) return "";
  std::vector<std::string> resource = absl::StrSplit(parts[5], '/');
  if (resource.size() < 2 || resource[0] != "assumed-role") return "";
  return absl::StrCat(
      R"({"Version":"2012-10-17","Statement":[)",
      R"({"Sid":"Allow full access to the SPIRE Server role","Effect":"Allow",)", R"("Principal":{"AWS":"arn:)",
      partition, ":iam::", account, ":role/", resource[1], R"("},"Action":"kms:*","Resource":"*"},)",
      R"({"Sid":"Allow KMS console to display the key and policy","Effect":"Allow",)", R"("Principal":{"AWS":"arn:)",
      partition, ":iam::", account, R"(:root"},"Action":["kms:Describe*","kms:List*","kms:Get*"],"Resource":"*"}]})");
}

bool DropFailedDeletion(const absl::Status& st) {
  return absl::IsNotFound(st) || absl::StrContains(st.message(), "KMSInvalidStateException") ||
         absl::StrContains(st.message(), "InvalidArnException");
}

}  // namespace

AwsKmsKeyManagerConfig ParseAwsKmsKeyManagerConfig(config::Section& data) {
  AwsKmsKeyManagerConfig c;
  for (auto [key, dest] : {std::pair<const char*, std::string*>{"access_key_id", &c.access_key_id},
                           {"secret_access_key", &c.secret_access_key},
                           {"region", &c.region},
                           {"key_identifier_file", &c.key_identifier_file},
                           {"key_identifier_value", &c.key_identifier_value},
                           {"key_metadata_file", &c.key_metadata_file},
                           {"key_policy_file", &c.key_policy_file}}) {
    if (auto v = data.String(key)) *dest = *v;
  }
  if (c.region.empty()) data.AddError(data.pos(), "KeyManager \"aws_kms\": configuration is missing a region");
  const std::string& value = c.key_identifier_value;
  if (!value.empty()) {
    bool ok = std::all_of(value.begin(), value.end(), [](char ch) {
      return absl::ascii_isalnum(static_cast<unsigned char>(ch)) || ch == '/' || ch == '_' || ch == '-';
    });
    if (!ok) {
      data.AddKeyError("key_identifier_value",
                       "Key identifier must contain only alphanumeric characters, forward slashes (/), underscores "
                       "(_), and dashes (-)");
    }
    if (absl::StartsWith(value, "alias/aws/")) {
      data.AddKeyError("key_identifier_value", "Key identifier must not start with alias/aws/");
    }
    if (value.size() > 256)
      data.AddKeyError("key_identifier_value", "Key identifier must not be longer than 256 characters");
  }
  const bool file = !c.key_identifier_file.empty() || !c.key_metadata_file.empty();
  if (!file && value.empty()) {
    data.AddError(data.pos(), "KeyManager \"aws_kms\": configuration requires server id or server id file path");
  }
  if (file && !value.empty()) {
    data.AddError(data.pos(),
                  "KeyManager \"aws_kms\": configuration must not contain both server id and server id file path");
  }
  if (!c.key_identifier_file.empty() && !c.key_metadata_file.empty()) {
    data.AddError(data.pos(),
                  "KeyManager \"aws_kms\": configuration must not contain both 'key_identifier_file' and deprecated "
                  "'key_metadata_file'");
  }
  return c;
}

AwsKmsKeyManager::AwsKmsKeyManager(std::shared_ptr<aws::Kms> kms, std::string td, std::string server_id,
                                   std::string policy, Clock& clock)
    : kms_(std::move(kms)),
      td_(std::move(td)),
      server_id_(std::move(server_id)),
      policy_(std::move(policy)),
      clock_(clock) {
  const absl::Time now = clock_.Now();
  next_refresh_ = now + kRefreshAliasesEvery;
  next_dispose_aliases_ = now + kDisposeAliasesEvery;
  next_dispose_keys_ = now + kDisposeKeysEvery;
}

AwsKmsKeyManager::~AwsKmsKeyManager() {
  {
    std::lock_guard<std::mutex> l(thread_mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::string AwsKmsKeyManager::AliasFor(std::string_view key_id) const {
  return absl::StrCat(kAliasPrefix, td_, "/", server_id_, "/", EncodeKeyId(key_id));
}

absl::StatusOr<std::unique_ptr<AwsKmsKeyManager>> AwsKmsKeyManager::Create(const AwsKmsKeyManagerConfig& cfg,
                                                                           const spiffe::TrustDomain& td, Clock& clock,
                                                                           Random& rnd, AwsKmsOptions options) {
  if (cfg.region.empty()) return absl::InvalidArgumentError("configuration is missing a region");
  std::string server_id = cfg.key_identifier_value;
  if (server_id.empty() && !cfg.key_metadata_file.empty()) {
    spdlog::warn("aws_kms: 'key_metadata_file' is deprecated in favor of 'key_identifier_file'");
    ASSIGN_OR_RETURN(server_id, ServerIdFromFile(cfg.key_metadata_file, rnd));
  }
  if (server_id.empty() && !cfg.key_identifier_file.empty()) {
    ASSIGN_OR_RETURN(server_id, ServerIdFromFile(cfg.key_identifier_file, rnd));
  }
  if (server_id.empty()) return absl::InvalidArgumentError("configuration requires server id or server id file path");
  if (!options.env) options.env = aws::ProcessEnv();
  aws::ChainOptions chain{cfg.access_key_id, cfg.secret_access_key, options.env};
  chain.use_imds = options.use_imds_credentials;
  ASSIGN_OR_RETURN(std::shared_ptr<aws::CredentialProvider> creds, aws::NewDefaultChain(chain, clock));
  aws::ClientOptions co;
  co.region = cfg.region;
  co.env = options.env;
  if (options.sleep) co.sleep = options.sleep;
  auto kms = std::make_shared<aws::Kms>(std::make_shared<aws::Client>(co, std::move(creds)));
  std::string policy;
  if (!cfg.key_policy_file.empty()) {
    auto text = files::ReadFile(cfg.key_policy_file);
    if (!text.ok()) return Annotate(text.status(), "failed to read file configured in 'key_policy_file'");
    policy = *std::move(text);
  } else {
    auto who = kms->CallerIdentity();
    if (!who.ok()) return Annotate(who.status(), "unable to create policy: cannot get caller identity");
    policy = DefaultPolicy(who->first, who->second, co.partition);
    if (policy.empty()) spdlog::warn("aws_kms: the server has no assumed IAM role: KMS's default key policy applies");
  }
  std::unique_ptr<AwsKmsKeyManager> km(
      new AwsKmsKeyManager(std::move(kms), SanitizeTrustDomain(td.name()), server_id, std::move(policy), clock));
  spdlog::debug("aws_kms: server id {}", server_id);
  RETURN_IF_ERROR(km->Load());
  if (options.run_maintenance) km->thread_ = std::thread([p = km.get()] { p->RunMaintenance(); });
  return km;
}

absl::StatusOr<AwsKmsKeyManager::Entry> AwsKmsKeyManager::EntryFor(const aws::KmsAlias& alias,
                                                                   const std::string& key_id) {
  if (alias.target_key_id.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("found SPIRE alias without key: name=\"", alias.name, "\""));
  }
  ASSIGN_OR_RETURN(aws::KmsKeyMetadata meta, kms_->DescribeKey(alias.target_key_id));
  if (!meta.enabled) {
    return absl::FailedPreconditionError(
        absl::StrCat("found disabled SPIRE key: \"", meta.arn, "\", alias: \"", alias.name, "\""));
  }
  ASSIGN_OR_RETURN(crypto::KeyType type, KeyTypeForSpec(meta.key_spec));
  ASSIGN_OR_RETURN(std::string spki, kms_->GetPublicKey(meta.arn));
  ASSIGN_OR_RETURN(ssl::EvpPkeyPtr pub, crypto::PublicKeyFromDer(spki));
  auto pub_type = crypto::KeyTypeOf(pub.get());
  if (!pub_type.ok() || *pub_type != type) {
    return absl::FailedPreconditionError(absl::StrCat("KMS key ", meta.arn, ": public key does not match its spec"));
  }
  spdlog::debug("aws_kms: key {} loaded: {} (alias {})", key_id, meta.arn, alias.name);
  return Entry{meta.arn, alias.name, std::make_shared<KmsSigner>(kms_, meta.arn, std::move(pub), type)};
}

absl::Status AwsKmsKeyManager::Load() {
  auto aliases = kms_->ListAliases();
  if (!aliases.ok()) return Annotate(aliases.status(), "failed to fetch aliases");
  const std::string prefix = absl::StrCat(kAliasPrefix, td_, "/", server_id_, "/");
  std::map<std::string, Entry> loaded;
  for (const aws::KmsAlias& a : *aliases) {
    if (!absl::StartsWith(a.name, prefix)) continue;
    const std::string key_id = DecodeKeyId(std::string_view(a.name).substr(prefix.size()));
    auto e = EntryFor(a, key_id);
    if (!e.ok()) return Annotate(e.status(), "failed to fetch aliases");
    loaded[key_id] = *std::move(e);
  }
  std::lock_guard<std::mutex> l(mu_);
  entries_ = std::move(loaded);
  spdlog::info("aws_kms: {} key(s) of server {} found in KMS", entries_.size(), server_id_);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<crypto::Signer>> AwsKmsKeyManager::GenerateKey(std::string_view id,
                                                                              crypto::KeyType type) {
  if (id.empty()) return absl::InvalidArgumentError("key id is required");
  std::lock_guard<std::mutex> l(mu_);
  const std::string key_id(id);
  auto meta = kms_->CreateKey(KeySpecFor(type), absl::StrCat(kDescriptionPrefix, td_, "/", key_id), policy_);
  if (!meta.ok()) return Annotate(meta.status(), "failed to create key");
  spdlog::debug("aws_kms: key created: {}", meta->arn);
  auto entry = [&]() -> absl::StatusOr<Entry> {
    ASSIGN_OR_RETURN(std::string spki, kms_->GetPublicKey(meta->arn));
    ASSIGN_OR_RETURN(ssl::EvpPkeyPtr pub, crypto::PublicKeyFromDer(spki));
    return Entry{meta->arn, AliasFor(key_id), std::make_shared<KmsSigner>(kms_, meta->arn, std::move(pub), type)};
  }();
  auto old = entries_.find(key_id);
  absl::Status assigned = entry.ok() ? AssignAlias(*entry, old != entries_.end()) : entry.status();
  if (!assigned.ok()) {
    // The new key is of no use without its alias: dispose of it now rather than leaving it to DisposeKeys.
    if (!TryScheduleDeletion(meta->arn)) pending_deletions_.push_back(meta->arn);
    return assigned;
  }
  if (old != entries_.end() && !TryScheduleDeletion(old->second.arn)) pending_deletions_.push_back(old->second.arn);
  entries_[key_id] = *entry;
  return entry->signer;
}

absl::StatusOr<std::shared_ptr<crypto::Signer>> AwsKmsKeyManager::GetKey(std::string_view id) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(std::string(id));
  if (it == entries_.end()) {
    return absl::NotFoundError(absl::StrCat("key \"", ToAbsl(id), "\" not found in KMS (alias ", AliasFor(id), ")"));
  }
  return it->second.signer;
}

absl::Status AwsKmsKeyManager::AssignAlias(const Entry& e, bool replacing) {
  absl::Status st = replacing ? kms_->UpdateAlias(e.alias, e.arn) : kms_->CreateAlias(e.alias, e.arn);
  // An alias left by an earlier run that this one did not load (e.g. a crash before it was recorded) is re-pointed.
  if (!replacing && !st.ok() && absl::StrContains(st.message(), "AlreadyExists"))
    st = kms_->UpdateAlias(e.alias, e.arn);
  if (!st.ok()) return Annotate(st, replacing ? "failed to update alias" : "failed to create alias");
  spdlog::debug("aws_kms: alias {} -> {}", e.alias, e.arn);
  return absl::OkStatus();
}

bool AwsKmsKeyManager::TryScheduleDeletion(const std::string& arn) {
  absl::Status st = kms_->ScheduleKeyDeletion(arn, kPendingWindowDays);
  if (st.ok()) {
    spdlog::info("aws_kms: key {} scheduled for deletion in {} days", arn, kPendingWindowDays);
    return true;
  }
  if (DropFailedDeletion(st)) {
    spdlog::error("aws_kms: failed to schedule key deletion of {}: {}", arn, st.ToString());
    return true;
  }
  spdlog::warn("aws_kms: key {} not yet scheduled for deletion ({}); will retry", arn, st.ToString());
  return false;
}

absl::Status AwsKmsKeyManager::RefreshAliases() {
  std::vector<Entry> entries;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [id, e] : entries_) entries.push_back(e);
  }
  absl::Status first;
  for (const Entry& e : entries) {
    absl::Status st = kms_->UpdateAlias(e.alias, e.arn);  // same target: only LastUpdatedDate moves
    if (!st.ok()) spdlog::error("aws_kms: failed to refresh alias {}: {}", e.alias, st.ToString());
    first.Update(st);
  }
  return first;
}

absl::Status AwsKmsKeyManager::DisposeAliases() {
  ASSIGN_OR_RETURN(std::vector<aws::KmsAlias> aliases, kms_->ListAliases());
  const std::string td_prefix = absl::StrCat(kAliasPrefix, td_, "/");
  const std::string own_prefix = absl::StrCat(td_prefix, server_id_, "/");
  const absl::Time now = clock_.Now();
  absl::Status first;
  for (const aws::KmsAlias& a : aliases) {
    if (!absl::StartsWith(a.name, td_prefix) || absl::StartsWith(a.name, own_prefix)) continue;
    if (!a.last_updated || now - *a.last_updated < kAliasThreshold || a.target_key_id.empty()) continue;
    auto meta = kms_->DescribeKey(a.target_key_id);
    if (!meta.ok()) {
      first.Update(meta.status());
      continue;
    }
    if (!meta->enabled) continue;
    if (absl::Status st = kms_->DeleteAlias(a.name); !st.ok()) {
      first.Update(st);
      continue;
    }
    spdlog::info("aws_kms: stale alias {} of another server deleted", a.name);
    if (!TryScheduleDeletion(meta->arn)) {
      std::lock_guard<std::mutex> l(mu_);
      pending_deletions_.push_back(meta->arn);
    }
  }
  return first;
}

absl::Status AwsKmsKeyManager::DisposeKeys() {
  ASSIGN_OR_RETURN(std::vector<std::string> arns, kms_->ListKeys());
  const std::string description_prefix = absl::StrCat(kDescriptionPrefix, td_, "/");
  const absl::Time now = clock_.Now();
  absl::Status first;
  for (const std::string& arn : arns) {
    auto meta = kms_->DescribeKey(arn);
    if (!meta.ok()) {
      first.Update(meta.status());
      continue;
    }
    if (!meta->enabled || !absl::StartsWith(meta->description, description_prefix)) continue;
    if (now - meta->creation_date < kKeyThreshold) continue;
    auto aliases = kms_->ListAliases(arn);
    if (!aliases.ok()) {
      first.Update(aliases.status());
      continue;
    }
    if (!aliases->empty()) continue;
    spdlog::info("aws_kms: key {} of the trust domain has had no alias for 48h", arn);
    if (!TryScheduleDeletion(arn)) {
      std::lock_guard<std::mutex> l(mu_);
      pending_deletions_.push_back(arn);
    }
  }
  return first;
}

absl::Status AwsKmsKeyManager::Maintain() {
  std::vector<std::string> pending;
  bool refresh = false, dispose_aliases = false, dispose_keys = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    pending.swap(pending_deletions_);
    const absl::Time now = clock_.Now();
    if (now >= next_refresh_) refresh = true, next_refresh_ = now + kRefreshAliasesEvery;
    if (now >= next_dispose_aliases_) dispose_aliases = true, next_dispose_aliases_ = now + kDisposeAliasesEvery;
    if (now >= next_dispose_keys_) dispose_keys = true, next_dispose_keys_ = now + kDisposeKeysEvery;
  }
  for (const std::string& arn : pending) {
    if (!TryScheduleDeletion(arn)) {
      std::lock_guard<std::mutex> l(mu_);
      pending_deletions_.push_back(arn);
    }
  }
  absl::Status first;
  if (refresh) first.Update(Annotate(RefreshAliases(), "refresh aliases"));
  if (dispose_aliases) first.Update(Annotate(DisposeAliases(), "dispose aliases"));
  if (dispose_keys) first.Update(Annotate(DisposeKeys(), "dispose keys"));
  return first;
}

void AwsKmsKeyManager::RunMaintenance() {
  std::unique_lock<std::mutex> l(thread_mu_);
  while (!cv_.wait_for(l, std::chrono::minutes(1), [this] { return stopping_; })) {
    l.unlock();
    if (absl::Status st = Maintain(); !st.ok()) spdlog::error("aws_kms: maintenance: {}", st.ToString());
    l.lock();
  }
}

}  // namespace spirecvm::server
