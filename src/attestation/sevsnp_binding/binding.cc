#include "attestation/sevsnp_binding/binding.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status.h"
#include "common/strings.h"
#include "crypto/keys.h"

namespace spirecvm::sevsnp {
namespace {

using json = nlohmann::json;

absl::StatusOr<json> ParseObject(std::string_view text, size_t max, std::string_view what) {
  if (text.size() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("SEV-SNP ", ToAbsl(what), ": ", text.size(), " bytes exceeds the limit of ", max));
  }
  json j = json::parse(text.begin(), text.end(), /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("SEV-SNP ", ToAbsl(what), ": not a JSON object"));
  }
  return j;
}

// The string member `key`, or nullopt when absent; an error when present with another type.
absl::StatusOr<std::optional<std::string>> OptionalString(const json& j, const char* key, std::string_view what) {
  auto it = j.find(key);
  if (it == j.end()) return std::optional<std::string>();
  if (!it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("SEV-SNP ", ToAbsl(what), ": \"", key, "\" must be a string"));
  }
  return std::optional<std::string>(it->get<std::string>());
}

absl::StatusOr<std::string> DecodeMember(const std::string& b64, const char* key, std::string_view what) {
  absl::StatusOr<std::string> raw = Base64Decode(b64);
  RETURN_IF_ERROR(Annotate(raw, absl::StrCat("SEV-SNP ", ToAbsl(what), ": \"", key, "\" is not standard base64")));
  return raw;
}

}  // namespace

std::string SevSnpReportData(std::string_view nonce, std::string_view csr_spki_der, std::string_view iid_document) {
  std::string input;
  input.reserve(kReportDataContext.size() + nonce.size() + 64);
  input.append(kReportDataContext);
  input.append(nonce);
  input.append(crypto::Sha256(csr_spki_der));
  input.append(crypto::Sha256(iid_document));
  return crypto::Sha512(input);
}

std::string SevSnpChallenge::ToJson() const {
  json j = json::object();
  j["sev_snp_nonce"] = Base64Encode(nonce);
  return j.dump();
}

absl::StatusOr<SevSnpChallenge> SevSnpChallenge::FromJson(std::string_view text) {
  constexpr std::string_view kWhat = "challenge";
  ASSIGN_OR_RETURN(const json j, ParseObject(text, kMaxChallengeBytes, kWhat));
  ASSIGN_OR_RETURN(const std::optional<std::string> b64, OptionalString(j, "sev_snp_nonce", kWhat));
  if (!b64.has_value()) return absl::InvalidArgumentError("SEV-SNP challenge: missing \"sev_snp_nonce\"");
  ASSIGN_OR_RETURN(std::string nonce, DecodeMember(*b64, "sev_snp_nonce", kWhat));
  if (nonce.size() != kNonceSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("SEV-SNP challenge: nonce is ", nonce.size(), " bytes, want exactly ", kNonceSize));
  }
  return SevSnpChallenge{std::move(nonce)};
}

std::string SevSnpAnswer::ToJson() const {
  json j = json::object();
  if (is_unavailable()) {
    j["unavailable"] = unavailable;
  } else {
    j["report"] = Base64Encode(report);
    j["cert_table"] = Base64Encode(cert_table);
  }
  return j.dump();
}

absl::StatusOr<SevSnpAnswer> SevSnpAnswer::FromJson(std::string_view text) {
  constexpr std::string_view kWhat = "answer";
  ASSIGN_OR_RETURN(const json j, ParseObject(text, kMaxAnswerBytes, kWhat));
  ASSIGN_OR_RETURN(const std::optional<std::string> unavailable, OptionalString(j, "unavailable", kWhat));
  ASSIGN_OR_RETURN(const std::optional<std::string> report, OptionalString(j, "report", kWhat));
  ASSIGN_OR_RETURN(const std::optional<std::string> table, OptionalString(j, "cert_table", kWhat));
  SevSnpAnswer a;
  if (unavailable.has_value()) {
    if (report.has_value() || table.has_value()) {
      return absl::InvalidArgumentError("SEV-SNP answer: \"unavailable\" together with a report");
    }
    if (unavailable->empty()) return absl::InvalidArgumentError("SEV-SNP answer: \"unavailable\" is empty");
    a.unavailable = *unavailable;
    return a;
  }
  if (!report.has_value()) {
    return absl::InvalidArgumentError("SEV-SNP answer: neither \"report\" nor \"unavailable\"");
  }
  ASSIGN_OR_RETURN(a.report, DecodeMember(*report, "report", kWhat));
  if (a.report.empty()) return absl::InvalidArgumentError("SEV-SNP answer: \"report\" is empty");
  if (table.has_value()) {
    ASSIGN_OR_RETURN(a.cert_table, DecodeMember(*table, "cert_table", kWhat));
  }
  return a;
}

}  // namespace spirecvm::sevsnp
