#include "crypto/x509.h"

#include <openssl/pem.h>

#include <ctime>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/strings.h"
#include "crypto/keys.h"

namespace spirecvm::crypto {
namespace {

absl::Status SslInvalid(std::string_view what) {
  std::string errs = ssl::DrainErrors();
  if (errs.empty()) return absl::InvalidArgumentError(ToAbsl(what));
  return absl::InvalidArgumentError(absl::StrCat(ToAbsl(what), ": ", errs));
}

std::vector<std::string> SansOfType(const X509* cert, int type) {
  std::vector<std::string> out;
  ssl::GeneralNamesPtr names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type != type) continue;
    const ASN1_IA5STRING* s = type == GEN_URI ? gn->d.uniformResourceIdentifier : gn->d.dNSName;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
  }
  return out;
}

std::string KeyIdHex(const ASN1_OCTET_STRING* id) {
  if (id == nullptr) return "";
  return HexEncode(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(id)),
                                    static_cast<size_t>(ASN1_STRING_length(id))));
}

}  // namespace

absl::StatusOr<ssl::X509Ptr> ParseCertDer(std::string_view der) {
  if (der.empty()) return absl::InvalidArgumentError("certificate DER: empty input");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ssl::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return SslInvalid("certificate DER: not a parsable X.509 certificate");
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("certificate DER: trailing bytes after the certificate");
  }
  return cert;
}

absl::StatusOr<std::vector<ssl::X509Ptr>> ParseCertsDerConcat(std::string_view der) {
  if (der.empty()) return absl::InvalidArgumentError("certificate chain DER: empty input");
  std::vector<ssl::X509Ptr> out;
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  const unsigned char* end = p + der.size();
  while (p < end) {
    ssl::X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(end - p)));
    if (!cert) {
      return SslInvalid(absl::StrCat("certificate chain DER: certificate #", out.size() + 1, " is not parsable"));
    }
    out.push_back(std::move(cert));
  }
  return out;
}

absl::StatusOr<std::vector<ssl::X509Ptr>> ParseCertsPem(std::string_view pem) {
  ssl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return SslInvalid("certificate PEM: BIO");
  std::vector<ssl::X509Ptr> out;
  ERR_clear_error();
  for (;;) {
    ssl::X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) {
      unsigned long err = ERR_peek_last_error();
      if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        break;
      }
      return SslInvalid(absl::StrCat("certificate PEM: block #", out.size() + 1, " is malformed"));
    }
    out.push_back(std::move(cert));
  }
  if (out.empty()) return absl::InvalidArgumentError("certificate PEM: no CERTIFICATE block found");
  return out;
}

std::vector<std::string_view> PemCertificateBlocks(std::string_view pem) {
  static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string_view> out;
  for (size_t pos = pem.find(kBegin); pos != std::string_view::npos; pos = pem.find(kBegin, pos)) {
    const size_t end = pem.find(kEnd, pos + kBegin.size());
    if (end == std::string_view::npos) break;
    out.push_back(pem.substr(pos, end + kEnd.size() - pos));
    pos = end + kEnd.size();
  }
  return out;
}

bool SamePemBlock(std::string_view a, std::string_view b) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  size_t i = 0, j = 0;
  for (;;) {
    while (i < a.size() && is_space(a[i])) ++i;
    while (j < b.size() && is_space(b[j])) ++j;
    if (i == a.size() || j == b.size()) return i == a.size() && j == b.size();
    if (a[i++] != b[j++]) return false;
  }
}

std::string CertToDer(const X509* cert) {
  unsigned char* out = nullptr;
  int len = i2d_X509(cert, &out);
  if (len <= 0) return {};
  ssl::OpensslBytesPtr owned(out);
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(len));
}

std::string CertToPem(const X509* cert) {
  ssl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string SerialDecimal(const X509* cert) {
  ssl::BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) return {};
  ssl::OpensslStringPtr dec(BN_bn2dec(bn.get()));
  return dec ? std::string(dec.get()) : std::string();
}

absl::StatusOr<absl::Time> FromAsn1Time(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return SslInvalid("ASN.1 time: not parsable");
  absl::CivilSecond cs(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return absl::FromCivil(cs, absl::UTCTimeZone());
}

absl::StatusOr<ssl::Asn1TimePtr> ToAsn1Time(absl::Time t) {
  ssl::Asn1TimePtr out(ASN1_TIME_set(nullptr, static_cast<time_t>(absl::ToUnixSeconds(t))));
  if (!out) return SslInvalid("ASN.1 time: out of range");
  return out;
}

absl::Time NotBefore(const X509* cert) {
  auto t = FromAsn1Time(X509_get0_notBefore(cert));
  return t.ok() ? *t : absl::InfinitePast();
}

absl::Time NotAfter(const X509* cert) {
  auto t = FromAsn1Time(X509_get0_notAfter(cert));
  return t.ok() ? *t : absl::InfinitePast();
}

std::string FingerprintSha256Hex(const X509* cert) { return HexEncode(Sha256(CertToDer(cert))); }

std::string SubjectKeyIdHex(const X509* cert) {
  // The getters cache the parsed extensions, hence the casts; the certificate is not changed.
  return KeyIdHex(X509_get0_subject_key_id(const_cast<X509*>(cert)));
}

std::string AuthorityKeyIdHex(const X509* cert) {
  return KeyIdHex(X509_get0_authority_key_id(const_cast<X509*>(cert)));
}

std::vector<std::string> UriSans(const X509* cert) { return SansOfType(cert, GEN_URI); }
std::vector<std::string> DnsSans(const X509* cert) { return SansOfType(cert, GEN_DNS); }

absl::StatusOr<std::string> CertSpkiDer(const X509* cert) {
  const EVP_PKEY* key = X509_get0_pubkey(cert);
  if (key == nullptr) return SslInvalid("certificate public key: not parsable");
  return PublicKeyToDer(key);
}

ssl::X509Ptr ShareCert(X509* cert) {
  if (cert == nullptr) return nullptr;
  X509_up_ref(cert);
  return ssl::X509Ptr(cert);
}

}  // namespace spirecvm::crypto
