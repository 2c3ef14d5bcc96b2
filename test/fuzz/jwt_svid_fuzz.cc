// libFuzzer target: JWT-SVIDs. Workloads hand the agent tokens through the Workload API's ValidateJWTSVID, and the
// server's and agent's callers parse them: ValidateJwtSvid (header, alg allow-list, kid lookup, JWS signature,
// claims, times, audience) and ParseJwtSvidInsecure run on every input. The keys are fixed test keys below, and
// LLVMFuzzerInitialize writes seeds signed with them (ES256 and RS256, one and several audiences), so mutations
// start from tokens that verify.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "crypto/keys.h"
#include "fuzz_util.h"
#include "spiffe/jwt_svid.h"

namespace {

namespace spiffe = spirecvm::spiffe;

// Test-only keys, generated for this target (never used anywhere else).
constexpr char kEcKeyPem[] = R"(
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjbX8ubOLdRXgIaJx
w5i1j9s+Mxk4ZJR/zzGZU/dy26ehRANCAAR/nzUdqhwdgLi8TqTC1dpIOvL2/Eg6
Y1M41iUp/5Q/Wj3FE/VfB2Z1R3LcOk7//I5Yo4Aw7LTUkCXJ6CqUsb6t
-----END PRIVATE KEY-----
)";
constexpr char kRsaKeyPem[] = R"(
-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCrXb1fYNu0/kx4
yORFgfz1Dh4Mjwgh9IbX3XekaHaAC1MslhYn5DvkIRyEG5susyGjXh3CkRcfYvgX
tt2Q0e6LS1nz0DicgvbrPTB2C0ErBSxdaYkibgftsg9mrLE6NWaQB20X0iX8Th5y
e5tmKfmus/Ra8h31T6JKTNl3T1vycY4Mu8gcrW6UZ2USaXRVY/NCU/CEErGz6kjA
mHquWgWcz8au5joicZrypTaO8d3ugtTbaEAuAt+XygpTBN2X+3OSdgqOWnZd1kai
UmEFwytX6dnxZ48j+MXs1HHxJ8Ya0ZiKp52XTSx983W0vO3LiA+VfqkGGEIBr9UA
+4MpXgd/AgMBAAECggEABm8IB5cu2H49p8E/FL77HMYxaZ5LG18/WsZlUgZcAJWs
Qz3FSi0e9IMru2f/7QJrrmL/sgjZeeOw1c8XRXMkRhWHpIg6P+II3C8ZbS0h/rf8
gOtP6zt/T7TCMEQmiT1tAtZMibrpky3ppbmvTWghCCaYc3uolUeum6SD+58+n/0E
phSQ8vZb9ja93qEMGFVqT/ofTT3hXd9mCMs98PIhbtOXC7ila08oVUP2srggaA12
CJ5ZkUDNAa90kqaxwQJPH+bURAAuv8M3UCWlCFd1+uVbGHXUl7VDjqUDeT52TgC1
yckJN4kT/OmHTZ0WmrOagKmrIMYqQmgbBp9gc7KzfQKBgQDimzyQ7VHTPyb2LChk
3Iys7IPHvTEk+39RITpjRAKrcq3ywWy6TlFBjfvHmckZLRu3j/KhWIssUg86jRi+
h7Oq5qFI7iWgXXlLABw5aZtAUOqvZlavTgsr8zdSvvgOOQrt4Gik6+/Chn9NUzed
/TJ4IS1sNLJyOTxqPbmF+4N5DQKBgQDBmC3MVDWWLNyK2UHelXOwhfCyLlVxfJCk
DiVCUF/yzSqiAZZODFqmp2AIxHwljLflQkOBA7qSz+draWZHXASOv7VRU//nVJci
t2ONGzG3fQ02hwQSSv4QmDinuhMMk8spjAod6OBMeJ9dlah0th9dDttTWXTlACDd
f9jy7EpHuwKBgDZoHS+Suz2kAP/D9GLbDS+LjcxMIVuGwrfA6Zrhvl5Zp2gMhsVo
flvl8hinVMAls2zsM84HS0r13NArBlDglgOnYfv3qbMKHlAik6Q5NdxIUUCRqqhm
bYo82ACW90m66mPYqGdIeoVS84emPklBfHeZR6WeNWX1VgsQDNYdYCCVAoGAc9rS
bZlniDvIr/9cgAwIc/d0F+3KjGPzW3prqcfX48IMZW91t7eE+H7p5dVQRlh0JOsG
4sqMeReacplc8A+NWrA3njgaySHCYLBHD0ba9egMZDlgomHmsZ+nKBkfFUPNLUv1
MfkPYjQ9iw/pBA+JrXMapkK+xdzRzjyYZKgru8kCgYBlxlZM70oA0MrMtPoeTekv
SkndJ8U1hqxN0YL0hQZyhLya7Af052FVJL79e73B8EBuGWX63eRWvcs/XUP6no+P
ikgT8cHB7CutD6umnjAPYL16gwlNSOa4SZlVYmJOlsiUpl+Rjm1L8ufOzMlJpWI5
H3Z/pMkPQKkoGZxeL6d4ww==
-----END PRIVATE KEY-----
)";

constexpr char kAudience[] = "spiffe://example.org/audience";
const absl::Time kNow = absl::FromUnixSeconds(1893456000);  // 2030-01-01: fixed, so runs are reproducible

std::vector<spiffe::JwtKey>* keys = nullptr;

void SignSeed(const std::string& name, EVP_PKEY* key, const std::string& kid, std::vector<std::string> aud) {
  auto sub = spiffe::SpiffeId::Parse("spiffe://example.org/workload");
  if (!sub.ok()) return;
  spiffe::JwtSigner signer{.key = key, .kid = kid, .issuer = "https://example.org"};
  auto token = spiffe::SignJwtSvid(signer, *sub, aud, kNow - absl::Minutes(1), kNow + absl::Hours(1));
  if (token.ok()) spirecvm::fuzz::WriteSeed(name, *token);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto ec = spirecvm::crypto::PrivateKeyFromPem(kEcKeyPem);
  auto rsa = spirecvm::crypto::PrivateKeyFromPem(kRsaKeyPem);
  if (!ec.ok() || !rsa.ok()) spirecvm::fuzz::Fail("the test keys do not load");
  SignSeed("es256", ec->get(), "ec-kid", {kAudience});
  SignSeed("es256-multi", ec->get(), "ec-kid", {"other", kAudience, "third"});
  SignSeed("rs256", rsa->get(), "rsa-kid", {kAudience});
  spirecvm::fuzz::WriteSeed("none", "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJzcGlmZmU6Ly9leGFtcGxlLm9yZy93In0.");
  keys = new std::vector<spiffe::JwtKey>;
  keys->push_back({.kid = "ec-kid", .key = std::move(*ec)});
  keys->push_back({.kid = "rsa-kid", .key = std::move(*rsa)});
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view token = spirecvm::fuzz::AsView(data, size);
  auto valid = spiffe::ValidateJwtSvid(token, *keys, kAudience, kNow);
  auto parsed = spiffe::ParseJwtSvidInsecure(token);
  if (valid.ok()) {
    // What validation accepts, the insecure parse reads the same way.
    if (!parsed.ok()) spirecvm::fuzz::Fail("validated but ParseJwtSvidInsecure refused: " + parsed.status().ToString());
    if (!(parsed->sub == valid->sub) || parsed->audience != valid->audience) spirecvm::fuzz::Fail("claims differ");
    if (valid->expiry <= kNow) spirecvm::fuzz::Fail("accepted an expired token");
  }
  return 0;
}
