// The X509-SVID leaf written as DER (x509_svid.h: MintX509Svid).
//
// Building the certificate as OpenSSL objects (X509_new, X509_set_*, X509V3_EXT_conf_nid, i2d) cost about 40 us per
// SVID in allocations, name copies and ASN.1 template walks, twice the P-256 signature itself (docs/benchmarks.md).
// The leaf's shape is fixed by the X509-SVID profile, so it is written here field by field with crypto/der.h; only
// the serial, validity, subject, key, key identifier, SANs and extra extensions vary. The output is byte for byte
// what the OpenSSL-object builder wrote (x509_svid_writer_test.cc checks it against certificates that builder made).
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status.h"
#include "crypto/der.h"
#include "crypto/keys.h"
#include "crypto/x509.h"
#include "spiffe/ca_signing.h"
#include "spiffe/x509_svid.h"

namespace spirecvm::spiffe {
namespace {

// Tags beyond crypto/der.h's.
constexpr uint8_t kBitString = 0x03, kPrintableString = 0x13, kUtcTime = 0x17;
constexpr uint8_t kExplicit3 = 0xa3, kKeyId = 0x80, kDnsName = 0x82, kUri = 0x86;

// OID contents (DER, without tag and length).
constexpr std::string_view kCountry("\x55\x04\x06", 3), kOrganization("\x55\x04\x0a", 3),
    kUniqueIdentifier("\x55\x04\x2d", 3), kCommonName("\x55\x04\x03", 3);
constexpr std::string_view kBasicConstraints("\x55\x1d\x13", 3), kKeyUsage("\x55\x1d\x0f", 3),
    kExtKeyUsage("\x55\x1d\x25", 3), kSubjectKeyId("\x55\x1d\x0e", 3), kAuthorityKeyId("\x55\x1d\x23", 3),
    kSubjectAltName("\x55\x1d\x11", 3);
constexpr std::string_view kServerAuth("\x2b\x06\x01\x05\x05\x07\x03\x01", 8),
    kClientAuth("\x2b\x06\x01\x05\x05\x07\x03\x02", 8);
// The extensions the profile writes itself, which an extra extension must not repeat.
constexpr int kProfileNids[] = {
    NID_basic_constraints,        NID_key_usage,       NID_ext_key_usage, NID_subject_key_identifier,
    NID_authority_key_identifier, NID_subject_alt_name};

std::string Oid(std::string_view content) { return der::Tlv(der::kOid, content); }

// AlgorithmIdentifier of the CA's signature: ECDSA with the curve's digest (no parameters, RFC 5758), or
// sha256WithRSAEncryption with NULL parameters (RFC 4055), as crypto::SignCertificate writes them.
std::string SignatureAlgorithm(crypto::KeyType t) {
  switch (t) {
    case crypto::KeyType::kEcP256:
      return der::Tlv(der::kSequence, Oid(std::string_view("\x2a\x86\x48\xce\x3d\x04\x03\x02", 8)));
    case crypto::KeyType::kEcP384:
      return der::Tlv(der::kSequence, Oid(std::string_view("\x2a\x86\x48\xce\x3d\x04\x03\x03", 8)));
    case crypto::KeyType::kRsa2048:
    case crypto::KeyType::kRsa4096:
      break;
  }
  return der::Tlv(der::kSequence,
                  Oid(std::string_view("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b", 9)) + std::string("\x05\x00", 2));
}

// 128 random bits as SPIRE draws them (never zero), as a positive DER INTEGER, and in decimal.
struct Serial {
  std::string der;
  std::string decimal;
};

absl::StatusOr<Serial> RandomSerial(Random& rnd) {
  const std::string bytes = internal::RandomSerialBytes(rnd);
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  ssl::BignumPtr bn(BN_bin2bn(b, 16, nullptr));
  ssl::OpensslStringPtr dec(bn ? BN_bn2dec(bn.get()) : nullptr);
  if (!dec) return absl::InternalError("serial: decimal form");
  const size_t zeros = bytes.find_first_not_of('\0');
  std::string content = bytes.substr(zeros);
  if (static_cast<uint8_t>(content[0]) & 0x80) content.insert(content.begin(), '\0');
  return Serial{der::Tlv(der::kInteger, content), std::string(dec.get())};
}

// RFC 5280 4.1.2.5: UTCTime for 1950 through 2049, GeneralizedTime otherwise; whole seconds, UTC.
absl::StatusOr<std::string> CertTime(absl::Time t) {
  const absl::CivilSecond c = absl::ToCivilSecond(absl::FromUnixSeconds(absl::ToUnixSeconds(t)), absl::UTCTimeZone());
  if (c.year() < 0 || c.year() > 9999) {
    return absl::InvalidArgumentError(absl::StrCat("certificate time out of range: ", absl::FormatTime(t)));
  }
  const absl::Time whole = absl::FromCivil(c, absl::UTCTimeZone());
  if (c.year() >= 1950 && c.year() < 2050) {
    return der::Tlv(kUtcTime, absl::FormatTime("%y%m%d%H%M%SZ", whole, absl::UTCTimeZone()));
  }
  return der::Tlv(der::kGeneralizedTime, absl::FormatTime("%4Y%m%d%H%M%SZ", whole, absl::UTCTimeZone()));
}

std::string NameAttribute(std::string_view oid, uint8_t string_tag, std::string_view value) {
  return der::Tlv(der::kSet, der::Tlv(der::kSequence, Oid(oid) + der::Tlv(string_tag, value)));
}

// SPIRE's subject: C=US, O=SPIRE, x500UniqueIdentifier = hex(first half of SHA-256(SPIFFE ID)), CN = first DNS name.
absl::StatusOr<std::string> Subject(std::string_view uri, const std::vector<std::string>& dns) {
  std::string rdns = NameAttribute(kCountry, kPrintableString, "US") +
                     NameAttribute(kOrganization, kPrintableString, "SPIRE") +
                     NameAttribute(kUniqueIdentifier, kPrintableString, HexEncode(crypto::Sha256(uri).substr(0, 16)));
  if (!dns.empty()) {
    // The checks OpenSSL's X509_NAME_add_entry_by_NID makes for a commonName: valid UTF-8, 1 to 64 characters.
    const std::string& cn = dns.front();
    if (ASN1_mbstring_ncopy(nullptr, reinterpret_cast<const unsigned char*>(cn.data()), static_cast<int>(cn.size()),
                            MBSTRING_UTF8, B_ASN1_UTF8STRING, 1, ub_common_name) < 0) {
      ssl::DrainErrors();
      return absl::InvalidArgumentError(absl::StrCat("X509-SVID: DNS name \"", cn,
                                                     "\" cannot be the subject common name (UTF-8, 1 to ",
                                                     ub_common_name, " characters)"));
    }
    rdns += NameAttribute(kCommonName, der::kUtf8String, cn);
  }
  return der::Tlv(der::kSequence, rdns);
}

std::string Extension(std::string_view oid, bool critical, std::string_view value) {
  return der::Tlv(der::kSequence,
                  Oid(oid) + (critical ? der::Bool(true) : std::string()) + der::Tlv(der::kOctetString, value));
}

// The subjectPublicKey bits of a SubjectPublicKeyInfo (the key identifier is their SHA-1, RFC 5280 4.2.1.2 (1)).
absl::StatusOr<std::string_view> SubjectPublicKeyBits(std::string_view spki) {
  der::Reader outer(spki);
  ASSIGN_OR_RETURN(std::string_view info, outer.Next(der::kSequence, "X509-SVID: SubjectPublicKeyInfo"));
  der::Reader fields(info);
  RETURN_IF_ERROR(fields.Next(der::kSequence, "X509-SVID: SubjectPublicKeyInfo algorithm").status());
  ASSIGN_OR_RETURN(std::string_view bits, fields.Next(kBitString, "X509-SVID: subjectPublicKey"));
  if (!outer.empty() || !fields.empty() || bits.empty() || bits[0] != 0) {
    return absl::InvalidArgumentError("X509-SVID: SubjectPublicKeyInfo is not one DER key with whole-byte bits");
  }
  return bits.substr(1);
}

absl::StatusOr<std::string> ExtraExtensions(const std::vector<std::pair<int, std::string>>& extra) {
  absl::flat_hash_set<int> seen(std::begin(kProfileNids), std::end(kProfileNids));
  std::string out;
  for (const auto& [nid, value] : extra) {
    const ASN1_OBJECT* obj = OBJ_nid2obj(nid);
    if (obj == nullptr || OBJ_length(obj) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("extension NID ", nid, " has no OID"));
    }
    if (!seen.insert(nid).second) {
      return absl::InvalidArgumentError(absl::StrCat("extension ", OBJ_nid2sn(nid), " is already set"));
    }
    out +=
        Extension(std::string_view(reinterpret_cast<const char*>(OBJ_get0_data(obj)), OBJ_length(obj)), false, value);
  }
  return out;
}

absl::StatusOr<std::string> Extensions(const X509SvidParams& p, std::string_view uri, std::string_view key_bits,
                                       std::string_view issuer_key_id) {
  std::string sans = der::Tlv(kUri, uri);
  for (const auto& d : p.dns_names) sans += der::Tlv(kDnsName, d);
  std::string key_id(SHA_DIGEST_LENGTH, '\0');
  SHA1(reinterpret_cast<const unsigned char*>(key_bits.data()), key_bits.size(),
       reinterpret_cast<unsigned char*>(key_id.data()));
  ASSIGN_OR_RETURN(std::string extra, ExtraExtensions(p.extra_extensions));
  std::string exts = Extension(kBasicConstraints, true, std::string_view("\x30\x00", 2)) +
                     // digitalSignature (bit 0), keyEncipherment (2), keyAgreement (4): 3 unused bits.
                     Extension(kKeyUsage, true, std::string_view("\x03\x02\x03\xa8", 4)) +
                     Extension(kExtKeyUsage, false, der::Tlv(der::kSequence, Oid(kServerAuth) + Oid(kClientAuth))) +
                     Extension(kSubjectKeyId, false, der::Tlv(der::kOctetString, key_id)) +
                     Extension(kAuthorityKeyId, false, der::Tlv(der::kSequence, der::Tlv(kKeyId, issuer_key_id))) +
                     Extension(kSubjectAltName, false, der::Tlv(der::kSequence, sans)) + extra;
  return der::Tlv(kExplicit3, der::Tlv(der::kSequence, exts));
}

// What the leaf takes from its CA: the signer, the issuer name, the key identifier, and notAfter.
struct Issuer {
  const crypto::Signer* signer = nullptr;
  std::shared_ptr<crypto::Signer> local;  // when the CaSigner holds a private key
  std::string name_der;
  std::string key_id;
  absl::Time not_after;
};

absl::StatusOr<Issuer> IssuerOf(const CaSigner& ca) {
  Issuer is;
  ASSIGN_OR_RETURN(is.signer, internal::SignerOf(ca, is.local));
  RETURN_IF_ERROR(internal::CheckSignerMatchesCa(ca.cert, *is.signer));
  const ASN1_OCTET_STRING* ski = X509_get0_subject_key_id(const_cast<X509*>(ca.cert));
  if (ski == nullptr) return absl::InvalidArgumentError("CA certificate has no subject key identifier");
  is.key_id.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ski)), ASN1_STRING_length(ski));
  unsigned char* name = nullptr;
  const int len = i2d_X509_NAME(X509_get_subject_name(ca.cert), &name);
  if (len <= 0) return absl::InternalError(absl::StrCat("CA certificate: subject name: ", ssl::DrainErrors()));
  ssl::OpensslBytesPtr owned(name);
  is.name_der.assign(reinterpret_cast<const char*>(name), len);
  is.not_after = crypto::NotAfter(ca.cert);
  return is;
}

absl::StatusOr<std::string> SpkiOf(const X509SvidParams& p) {
  if (!p.spki_der.empty()) return std::string(p.spki_der);
  if (p.public_key == nullptr) return absl::InvalidArgumentError("X509-SVID: public key is missing");
  return crypto::PublicKeyToDer(p.public_key);
}

}  // namespace

absl::StatusOr<MintedX509Svid> MintX509Svid(const CaSigner& ca, const X509SvidParams& p, Random& rnd) {
  if (ca.cert == nullptr || (ca.key == nullptr && ca.signer == nullptr)) {
    return absl::InvalidArgumentError("X509-SVID: CA signer is incomplete");
  }
  if (p.id.empty()) return absl::InvalidArgumentError("X509-SVID: SPIFFE ID is empty");
  ASSIGN_OR_RETURN(Issuer issuer, IssuerOf(ca));
  ASSIGN_OR_RETURN(std::string spki, SpkiOf(p));
  ASSIGN_OR_RETURN(std::string_view key_bits, SubjectPublicKeyBits(spki));
  // As SPIRE: notAfter no later than the CA's.
  const absl::Time not_after = std::min(p.not_after, issuer.not_after);
  if (not_after <= p.not_before) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate validity is empty: not_after ", absl::FormatTime(not_after), " <= not_before ",
                     absl::FormatTime(p.not_before), " (after clamping to the CA's notAfter)"));
  }
  const std::string uri = p.id.ToString();
  ASSIGN_OR_RETURN(Serial serial, RandomSerial(rnd));
  ASSIGN_OR_RETURN(std::string nb, CertTime(p.not_before));
  ASSIGN_OR_RETURN(std::string na, CertTime(not_after));
  ASSIGN_OR_RETURN(std::string subject, Subject(uri, p.dns_names));
  ASSIGN_OR_RETURN(std::string extensions, Extensions(p, uri, key_bits, issuer.key_id));
  const std::string alg = SignatureAlgorithm(issuer.signer->Type());
  const std::string tbs =
      der::Tlv(der::kSequence, std::string("\xa0\x03\x02\x01\x02", 5) + serial.der + alg + issuer.name_der +
                                   der::Tlv(der::kSequence, nb + na) + subject + spki + extensions);
  ASSIGN_OR_RETURN(std::string sig, crypto::SignData(*issuer.signer, crypto::DigestFor(issuer.signer->Type()), tbs));
  MintedX509Svid out;
  out.der = der::Tlv(der::kSequence, tbs + alg + der::Tlv(kBitString, std::string(1, '\0') + sig));
  out.serial_decimal = std::move(serial.decimal);
  out.not_after = absl::FromUnixSeconds(absl::ToUnixSeconds(not_after));
  return out;
}

absl::StatusOr<ssl::X509Ptr> SignX509Svid(const CaSigner& ca, const X509SvidParams& p, Random& rnd) {
  ASSIGN_OR_RETURN(MintedX509Svid minted, MintX509Svid(ca, p, rnd));
  return crypto::ParseCertDer(minted.der);
}

}  // namespace spirecvm::spiffe
