// KeyManager "aws_kms" against an in-process fake KMS (cpp-httplib) that holds real keys, signs digests and keeps
// aliases, so that signatures are verified and restarts are real. The moto-backed end-to-end test is
// test/e2e/kms_moto_e2e_test.sh.
#include "server/keymanager/aws_kms_key_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <mutex>

#include "aws/test_fake_aws.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/hcl.h"
#include "crypto/keys.h"
#include "nlohmann/json.hpp"

namespace spirecvm::server {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

// The KMS calls the KeyManager makes, over real OpenSSL keys. `fail` makes an action answer an AWS error.
class FakeKms {
 public:
  FakeKms()
      : http_([this](const httplib::Request& req, httplib::Response& res) {
          std::lock_guard<std::mutex> l(mu_);
          Handle(req, res);
        }) {}
  std::string url() const { return http_.url(); }

  struct Key {
    ssl::EvpPkeyPtr pkey;
    std::string spec, description, state = "Enabled";
    bool enabled = true;
    double created = 1'800'000'000;
  };
  std::mutex mu_;
  std::map<std::string, Key> keys_;                                // arn -> key
  std::map<std::string, std::pair<std::string, double>> aliases_;  // alias -> (arn, last updated)
  std::map<std::string, int> calls_;
  std::map<std::string, std::string> fail_;  // action -> AWS error code
  int next_ = 0;

 private:
  void Handle(const httplib::Request& req, httplib::Response& res) {
    std::string action = req.get_header_value("X-Amz-Target");
    action = action.substr(action.find('.') + 1);
    if (action.empty() && req.body.find("GetCallerIdentity") != std::string::npos) {
      res.set_content(
          "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/test</Arn>"
          "<Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>",
          "text/xml");
      return;
    }
    ++calls_[action];
    json in = json::parse(req.body, nullptr, false);
    if (auto f = fail_.find(action); f != fail_.end()) return Error(res, 400, f->second, "injected");
    json out = json::object();
    if (!Dispatch(action, in, out, res)) return;
    res.set_content(out.dump(), "application/x-amz-json-1.1");
  }

  static void Error(httplib::Response& res, int status, const std::string& code, const std::string& msg) {
    res.status = status;
    res.set_content(json{{"__type", code}, {"message", msg}}.dump(), "application/x-amz-json-1.1");
  }

  std::string Resolve(const std::string& id) {
    if (keys_.count(id)) return id;
    if (auto a = aliases_.find(id); a != aliases_.end()) return a->second.first;
    for (auto& [arn, k] : keys_)
      if (arn.ends_with("/" + id)) return arn;
    return "";
  }

  json Metadata(const std::string& arn) {
    const Key& k = keys_[arn];
    return {{"KeyId", arn.substr(arn.rfind('/') + 1)},
            {"Arn", arn},
            {"KeySpec", k.spec},
            {"Enabled", k.enabled},
            {"KeyState", k.state},
            {"Description", k.description},
            {"CreationDate", k.created}};
  }

  bool Dispatch(const std::string& action, const json& in, json& out, httplib::Response& res) {
    if (action == "CreateKey") {
      std::string spec = in.value("KeySpec", "");
      crypto::KeyType t = spec == "ECC_NIST_P384" ? crypto::KeyType::kEcP384
                          : spec == "RSA_2048"    ? crypto::KeyType::kRsa2048
                                                  : crypto::KeyType::kEcP256;
      std::string arn = "arn:aws:kms:us-east-1:123456789012:key/k" + std::to_string(++next_);
      keys_[arn] = Key{*crypto::GenerateKey(t), spec, in.value("Description", "")};
      out["KeyMetadata"] = Metadata(arn);
      return true;
    }
    if (action == "ListAliases") {
      out["Aliases"] = json::array();
      for (auto& [name, v] : aliases_) {
        if (in.contains("KeyId") && v.first != in["KeyId"]) continue;
        out["Aliases"].push_back({{"AliasName", name},
                                  {"AliasArn", "arn:aws:kms:us-east-1:123456789012:" + name},
                                  {"TargetKeyId", v.first.substr(v.first.rfind('/') + 1)},
                                  {"LastUpdatedDate", v.second}});
      }
      return true;
    }
    if (action == "ListKeys") {
      out["Keys"] = json::array();
      for (auto& [arn, k] : keys_) out["Keys"].push_back({{"KeyArn", arn}, {"KeyId", arn}});
      return true;
    }
    if (action == "CreateAlias" || action == "UpdateAlias") {
      std::string name = in.value("AliasName", "");
      if (action == "CreateAlias" && aliases_.count(name)) {
        Error(res, 400, "AlreadyExistsException", "exists");
        return false;
      }
      aliases_[name] = {Resolve(in.value("TargetKeyId", "")), now_};
      return true;
    }
    if (action == "DeleteAlias") {
      aliases_.erase(in.value("AliasName", ""));
      return true;
    }
    std::string arn = Resolve(in.value("KeyId", ""));
    if (arn.empty()) {
      Error(res, 400, "NotFoundException", "no such key");
      return false;
    }
    Key& k = keys_[arn];
    if (action == "DescribeKey") {
      out["KeyMetadata"] = Metadata(arn);
    } else if (action == "GetPublicKey") {
      out["PublicKey"] = Base64Encode(*crypto::PublicKeyToDer(k.pkey.get()));
    } else if (action == "ScheduleKeyDeletion") {
      k.enabled = false;
      k.state = "PendingDeletion";
    } else if (action == "Sign") {
      if (!k.enabled || in.value("MessageType", "") != "DIGEST") {
        Error(res, 400, "KMSInvalidStateException", "not signable");
        return false;
      }
      auto signer = crypto::NewLocalSigner(crypto::ShareKey(k.pkey.get()));
      std::string alg = in.value("SigningAlgorithm", "");
      const EVP_MD* md = alg.ends_with("384") ? EVP_sha384() : EVP_sha256();
      out["Signature"] = Base64Encode(*(*signer)->SignDigest(md, *Base64Decode(in.value("Message", ""))));
    }
    return true;
  }

 public:
  double now_ = 1'800'000'000;

 private:
  aws::testing::FakeAws http_;
};

class AwsKmsKeyManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / "cvm-kms-XXXXXX";
    ASSERT_NE(mkdtemp(dir_.data()), nullptr);
    cfg_.region = "us-east-1";
    cfg_.access_key_id = "AKIDTEST";
    cfg_.secret_access_key = "secret";
    cfg_.key_identifier_file = dir_ + "/server_id";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  absl::StatusOr<std::unique_ptr<AwsKmsKeyManager>> Make() {
    AwsKmsOptions o;
    std::string url = kms_.url();
    o.env = [url](const std::string& k) -> std::optional<std::string> {
      if (k == "AWS_ENDPOINT_URL") return url;
      return std::nullopt;
    };
    o.sleep = [](absl::Duration) {};
    o.use_imds_credentials = false;
    o.run_maintenance = false;
    return AwsKmsKeyManager::Create(cfg_, td_, clock_, rnd_, o);
  }

  std::string dir_;
  AwsKmsKeyManagerConfig cfg_;
  spiffe::TrustDomain td_ = *spiffe::TrustDomain::Parse("example.org");
  FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
  TestOnlyDeterministicRandom rnd_{3};
  FakeKms kms_;
};

TEST_F(AwsKmsKeyManagerTest, KeysLiveInKmsUnderTheirAliasAndARestartFindsThem) {
  std::string pub_der;
  std::string server_id;
  {
    auto km = Make();
    ASSERT_TRUE(km.ok()) << km.status();
    server_id = (*km)->server_id();
    auto signer = (*km)->GenerateKey("x509-CA-A", crypto::KeyType::kEcP256);
    ASSERT_TRUE(signer.ok()) << signer.status();
    pub_der = *crypto::PublicKeyToDer((*signer)->PublicKey());
    auto sig = crypto::SignData(**signer, EVP_sha256(), "to be signed");
    ASSERT_TRUE(sig.ok()) << sig.status();
    EXPECT_TRUE(crypto::VerifySignature((*signer)->PublicKey(), EVP_sha256(), "to be signed", *sig).ok());
  }
  EXPECT_EQ(kms_.aliases_.count("alias/SPIRE_SERVER/example_org/" + server_id + "/x509-CA-A"), 1u);
  EXPECT_EQ(kms_.keys_.begin()->second.description, "SPIRE_SERVER_KEY/example_org/x509-CA-A");
  // The server id file: the UUID, 0600; nothing else written.
  struct stat st {};
  ASSERT_EQ(stat(cfg_.key_identifier_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(*files::ReadFile(cfg_.key_identifier_file), server_id);

  auto again = Make();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->server_id(), server_id);
  auto signer = (*again)->GetKey("x509-CA-A");
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(*crypto::PublicKeyToDer((*signer)->PublicKey()), pub_der);
  EXPECT_EQ(kms_.calls_["CreateKey"], 1);
  EXPECT_TRUE(absl::IsNotFound((*again)->GetKey("JWT-Signer-A").status()));
}

TEST_F(AwsKmsKeyManagerTest, RotationRepointsTheAliasAndSchedulesTheOldKeyForDeletion) {
  auto km = Make();
  ASSERT_TRUE(km.ok()) << km.status();
  auto first = (*km)->GenerateKey("JWT-Signer-A", crypto::KeyType::kEcP384);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = (*km)->GenerateKey("JWT-Signer-A", crypto::KeyType::kEcP384);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(EVP_PKEY_eq((*first)->PublicKey(), (*second)->PublicKey()), 1);
  EXPECT_EQ(kms_.calls_["UpdateAlias"], 1);
  EXPECT_EQ(kms_.calls_["ScheduleKeyDeletion"], 1);
  const std::string alias = (*km)->AliasFor("JWT-Signer-A");
  const std::string target = kms_.aliases_[alias].first;
  EXPECT_TRUE(kms_.keys_[target].enabled);
  auto sig = crypto::SignData(**second, EVP_sha384(), "data");
  ASSERT_TRUE(sig.ok()) << sig.status();
  EXPECT_TRUE(crypto::VerifySignature((*second)->PublicKey(), EVP_sha384(), "data", *sig).ok());
  // The replaced key is pending deletion: KMS refuses to sign with it, and the error says so.
  auto old_sig = crypto::SignData(**first, EVP_sha384(), "data");
  ASSERT_FALSE(old_sig.ok());
  EXPECT_THAT(std::string(old_sig.status().message()), HasSubstr("KMSInvalidStateException"));
}

TEST_F(AwsKmsKeyManagerTest, AFailedAliasDisposesOfTheNewKeyAndNamesTheError) {
  auto km = Make();
  ASSERT_TRUE(km.ok()) << km.status();
  kms_.fail_["CreateAlias"] = "AccessDeniedException";
  auto signer = (*km)->GenerateKey("x509-CA-A", crypto::KeyType::kEcP256);
  ASSERT_FALSE(signer.ok());
  EXPECT_THAT(std::string(signer.status().message()), HasSubstr("failed to create alias"));
  EXPECT_THAT(std::string(signer.status().message()), HasSubstr("AccessDeniedException"));
  EXPECT_EQ(kms_.calls_["ScheduleKeyDeletion"], 1);
  EXPECT_TRUE(absl::IsNotFound((*km)->GetKey("x509-CA-A").status()));
}

TEST_F(AwsKmsKeyManagerTest, ADisabledKeyBehindAnAliasIsAnErrorNamingIt) {
  {
    auto km = Make();
    ASSERT_TRUE(km.ok()) << km.status();
    ASSERT_TRUE((*km)->GenerateKey("x509-CA-A", crypto::KeyType::kEcP256).ok());
  }
  kms_.keys_.begin()->second.enabled = false;
  auto km = Make();
  ASSERT_FALSE(km.ok());
  EXPECT_EQ(km.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(km.status().message()), HasSubstr("found disabled SPIRE key"));
}

TEST_F(AwsKmsKeyManagerTest, MaintenanceDisposesOfStaleAliasesOfOtherServersOnly) {
  auto km = Make();
  ASSERT_TRUE(km.ok()) << km.status();
  ASSERT_TRUE((*km)->GenerateKey("x509-CA-A", crypto::KeyType::kEcP256).ok());
  const std::string own_alias = (*km)->AliasFor("x509-CA-A");
  // Another server of the trust domain, gone for 15 days; and a server of another trust domain.
  for (auto [alias, arn] :
       {std::pair<std::string, std::string>{"alias/SPIRE_SERVER/example_org/gone/x509-CA-A",
                                            "arn:aws:kms:us-east-1:123456789012:key/gone"},
        {"alias/SPIRE_SERVER/other_org/gone/x509-CA-A", "arn:aws:kms:us-east-1:123456789012:key/other"}}) {
    kms_.keys_[arn] = FakeKms::Key{*crypto::GenerateKey(crypto::KeyType::kEcP256), "ECC_NIST_P256", "d"};
    kms_.aliases_[alias] = {arn, 1'800'000'000 - 15 * 86400.0};
  }
  kms_.aliases_[own_alias].second = 1'800'000'000 - 15 * 86400.0;
  EXPECT_TRUE((*km)->Maintain().ok());  // nothing is due yet
  EXPECT_EQ(kms_.calls_["DeleteAlias"], 0);
  clock_.Advance(absl::Hours(25));
  kms_.now_ += 25 * 3600;
  ASSERT_TRUE((*km)->Maintain().ok());
  EXPECT_EQ(kms_.aliases_.count("alias/SPIRE_SERVER/example_org/gone/x509-CA-A"), 0u);
  EXPECT_FALSE(kms_.keys_["arn:aws:kms:us-east-1:123456789012:key/gone"].enabled);
  EXPECT_EQ(kms_.aliases_.count("alias/SPIRE_SERVER/other_org/gone/x509-CA-A"), 1u);
  EXPECT_EQ(kms_.aliases_.count(own_alias), 1u);
  // This server's alias was refreshed (its LastUpdatedDate moved).
  EXPECT_EQ(kms_.aliases_[own_alias].second, kms_.now_);
}

TEST_F(AwsKmsKeyManagerTest, MaintenanceDisposesOfTrustDomainKeysLeftWithoutAnAlias) {
  auto km = Make();
  ASSERT_TRUE(km.ok()) << km.status();
  const std::string orphan = "arn:aws:kms:us-east-1:123456789012:key/orphan";
  const std::string foreign = "arn:aws:kms:us-east-1:123456789012:key/foreign";
  kms_.keys_[orphan] = FakeKms::Key{*crypto::GenerateKey(crypto::KeyType::kEcP256), "ECC_NIST_P256",
                                    "SPIRE_SERVER_KEY/example_org/x509-CA-B"};
  kms_.keys_[foreign] = FakeKms::Key{*crypto::GenerateKey(crypto::KeyType::kEcP256), "ECC_NIST_P256", "not ours"};
  clock_.Advance(absl::Hours(49));
  ASSERT_TRUE((*km)->Maintain().ok());
  EXPECT_FALSE(kms_.keys_[orphan].enabled);
  EXPECT_TRUE(kms_.keys_[foreign].enabled);
}

TEST_F(AwsKmsKeyManagerTest, AFailedDeletionIsRetried) {
  auto km = Make();
  ASSERT_TRUE(km.ok()) << km.status();
  ASSERT_TRUE((*km)->GenerateKey("x509-CA-A", crypto::KeyType::kEcP256).ok());
  kms_.fail_["ScheduleKeyDeletion"] = "DependencyTimeoutException";
  ASSERT_TRUE((*km)->GenerateKey("x509-CA-A", crypto::KeyType::kEcP256).ok());
  kms_.fail_.clear();
  const int before = kms_.calls_["ScheduleKeyDeletion"];
  ASSERT_TRUE((*km)->Maintain().ok());
  EXPECT_EQ(kms_.calls_["ScheduleKeyDeletion"], before + 1);
  int disabled = 0;
  for (auto& [arn, k] : kms_.keys_) disabled += k.enabled ? 0 : 1;
  EXPECT_EQ(disabled, 1);
}

// Parse errors for `plugin_data` text; "" when it is valid.
std::string ConfigErrors(const std::string& text) {
  auto body = hcl::Parse(text, "t.conf");
  if (!body.ok()) return std::string(body.status().message());
  auto sec = config::Section::FromBody(*body, "plugin_data", "t.conf");
  ParseAwsKmsKeyManagerConfig(sec);
  return std::string(sec.Finish().message());
}

TEST(AwsKmsKeyManagerConfigTest, ChecksTheConfigurationAsSpireDoes) {
  EXPECT_EQ(ConfigErrors("region = \"us-east-1\"\nkey_identifier_file = \"/x/id\"\n"), "");
  EXPECT_EQ(ConfigErrors("region = \"us-east-1\"\nkey_identifier_value = \"server-1/a_b\"\n"), "");
  EXPECT_THAT(ConfigErrors("key_identifier_value = \"s\"\n"), HasSubstr("configuration is missing a region"));
  EXPECT_THAT(ConfigErrors("region = \"r\"\n"), HasSubstr("requires server id or server id file path"));
  EXPECT_THAT(ConfigErrors("region = \"r\"\nkey_identifier_value = \"s\"\nkey_identifier_file = \"/f\"\n"),
              HasSubstr("must not contain both server id and server id file path"));
  EXPECT_THAT(ConfigErrors("region = \"r\"\nkey_metadata_file = \"/a\"\nkey_identifier_file = \"/f\"\n"),
              HasSubstr("deprecated 'key_metadata_file'"));
  EXPECT_THAT(ConfigErrors("region = \"r\"\nkey_identifier_value = \"a.b\"\n"),
              HasSubstr("only alphanumeric characters"));
  EXPECT_THAT(ConfigErrors("region = \"r\"\nkey_identifier_value = \"alias/aws/x\"\n"),
              HasSubstr("must not start with alias/aws/"));
  EXPECT_THAT(ConfigErrors("region = \"r\"\nkey_identifier_file = \"/f\"\nkeys_path = \"/k\"\n"),
              HasSubstr("keys_path"));
}

TEST_F(AwsKmsKeyManagerTest, AServerIdFileThatIsNotAUuidIsRefused) {
  ASSERT_TRUE(files::WriteFileAtomic(cfg_.key_identifier_file, "not-a-uuid", 0600).ok());
  auto km = Make();
  ASSERT_FALSE(km.ok());
  EXPECT_THAT(std::string(km.status().message()), HasSubstr("not a UUID"));
}

}  // namespace
}  // namespace spirecvm::server
