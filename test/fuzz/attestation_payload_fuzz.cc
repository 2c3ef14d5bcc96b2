// libFuzzer target: the node attestation payload as SPIRE's agents (and ours) send it in AttestAgent's
// params.data.payload, before anything about the sender is known.
// Input: byte 0 selects the attestor; the rest is the payload.
//   even: aws_iid. AttestationPayload::FromJson ({"document", "signature", "rsa2048", "sev_snp_challenge"}), then
//         the whole server-side check, awsiid::Verifier::Verify, with AWS's real certificates from test/data and
//         the signature form `signature` allowed: document parse, form choice, base64, CMS / RSA verification,
//         policy, agent path template. The seeds are SPIRE-format payloads of the real us-west-2 document.
//   odd:  join_token. The server's join_token attestor on an in-memory SQLite datastore holding one token
//         (re-created after a successful attestation, so the fuzzer can keep reaching the success path).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "attestation/awsiid/verifier.h"
#include "common/clock.h"
#include "fuzz_util.h"
#include "server/datastore/sqlite_datastore.h"
#include "server/nodeattest/join_token_attestor.h"

namespace {

namespace awsiid = spirecvm::awsiid;
namespace server = spirecvm::server;
namespace datastore = spirecvm::datastore;

const absl::Time kNow = absl::FromUnixSeconds(1893456000);  // 2030-01-01
constexpr char kToken[] = "9b3c7a0e-5f1d-4c8a-b2e6-0d9f4e8a1c37";

struct Fixture {
  std::unique_ptr<awsiid::Verifier> verifier;
  spirecvm::FakeClock clock{kNow};
  std::unique_ptr<datastore::DataStore> ds;
  std::unique_ptr<server::NodeAttestor> join_token;
};
Fixture* fx = nullptr;

class NoChallenges final : public server::ChallengeChannel {
 public:
  absl::StatusOr<std::string> Challenge(std::string_view) override {
    return absl::FailedPreconditionError("join_token sends no challenge");
  }
};

void CreateToken() { (void)fx->ds->CreateJoinToken({.token = kToken, .expires_at = absl::ToUnixSeconds(kNow) + 3600}); }

void SeedPayloads() {
  const std::string dir = "test/data/aws/iid/us-west-2-2018/";
  awsiid::AttestationPayload p{.document = spirecvm::fuzz::ReadSourceFile(dir + "document"),
                               .rsa2048 = spirecvm::fuzz::ReadSourceFile(dir + "rsa2048")};
  spirecvm::fuzz::WriteSeed("aws-iid-rsa2048", std::string(1, '\0') + p.ToJson());
  p.sev_snp_challenge = true;
  spirecvm::fuzz::WriteSeed("aws-iid-sevsnp", std::string(1, '\0') + p.ToJson());
  p.rsa2048.clear();
  p.signature = spirecvm::fuzz::ReadSourceFile(dir + "signature");
  p.sev_snp_challenge = false;
  spirecvm::fuzz::WriteSeed("aws-iid-signature", std::string(1, '\0') + p.ToJson());
  spirecvm::fuzz::WriteSeed("join-token", std::string(1, '\1') + kToken);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fx = new Fixture;
  const char* root = std::getenv("SPIRECVM_SOURCE_DIR");
  awsiid::Config cfg{.aws_certificates_path = std::string(root ? root : ".") + "/test/data/aws/certs",
                     .allow_signature_form = true};
  auto verifier = awsiid::Verifier::Create(cfg);
  if (!verifier.ok()) spirecvm::fuzz::Fail("aws_iid verifier: " + verifier.status().ToString());
  fx->verifier = std::move(*verifier);
  auto ds = datastore::OpenSqlite({.path = ":memory:"}, fx->clock);
  if (!ds.ok()) spirecvm::fuzz::Fail("sqlite: " + ds.status().ToString());
  fx->ds = std::move(*ds);
  auto td = spirecvm::spiffe::TrustDomain::Parse("example.org");
  if (!td.ok()) spirecvm::fuzz::Fail("trust domain");
  fx->join_token = server::NewJoinTokenAttestor(*td);
  CreateToken();
  SeedPayloads();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string payload(reinterpret_cast<const char*>(data + 1), size - 1);
  if ((data[0] & 1) == 0) {
    auto parsed = awsiid::AttestationPayload::FromJson(payload);
    if (!parsed.ok()) return 0;
    auto verified = fx->verifier->Verify(*parsed, kNow);
    if (verified.ok() && verified->agent_path.rfind("/spire/agent/", 0) != 0) {
      spirecvm::fuzz::Fail("agent path outside /spire/agent: " + verified->agent_path);
    }
    return 0;
  }
  NoChallenges channel;
  auto result = fx->join_token->Attest({.payload = payload, .csr_spki_der = ""}, channel);
  if (!result.ok()) return 0;
  // The attestor names the agent; the admission (as the node service runs it) spends the token.
  const std::string id = result->agent_id.ToString();
  if (id.rfind("spiffe://example.org/spire/agent/join_token/", 0) != 0 || result->join_token != payload) {
    spirecvm::fuzz::Fail("join_token: agent " + id + " for a token it does not carry");
  }
  datastore::AttestedNode node;
  node.spiffe_id = id;
  node.attestation_type = "join_token";
  if (fx->ds->AdmitAttestedNodeWithJoinToken(node, result->join_token, absl::ToUnixSeconds(fx->clock.Now())).ok()) {
    if (payload != kToken) spirecvm::fuzz::Fail("join_token admitted an unknown token");
    (void)fx->ds->DeleteAttestedNode(id);
    CreateToken();
  }
  return 0;
}
