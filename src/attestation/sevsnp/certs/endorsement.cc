#include "attestation/sevsnp/certs/endorsement.h"

#include <openssl/sha.h>

#include <map>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace spirecvm::sevsnp::certs {
namespace {

std::string ObjText(const ASN1_OBJECT* obj) {
  char buf[128];
  int n = OBJ_obj2txt(buf, sizeof(buf), obj, /*no_name=*/1);
  if (n <= 0 || n >= static_cast<int>(sizeof(buf))) return "";
  return std::string(buf, n);
}

// Decodes a DER INTEGER that must span the whole buffer and lie in 0..255 (AMD encodes SPLs as
// 1-byte INTEGERs, or 2 bytes with a leading zero for values >= 128).
absl::StatusOr<int> DecodeSmallInteger(absl::string_view der, absl::string_view name) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ssl::Asn1IntegerPtr v(d2i_ASN1_INTEGER(nullptr, &p, static_cast<long>(der.size())));
  if (v == nullptr || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError(absl::StrCat("certificate extension ", name, " is not a DER INTEGER"));
  }
  int64_t out = 0;
  if (ASN1_INTEGER_get_int64(&out, v.get()) != 1 || out < 0 || out > 255) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError(absl::StrCat("certificate extension ", name, " is out of range, want 0..255"));
  }
  return static_cast<int>(out);
}

absl::StatusOr<std::string> DecodeIa5(absl::string_view der, absl::string_view name) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ssl::Asn1OctetStringPtr v(
      reinterpret_cast<ASN1_OCTET_STRING*>(d2i_ASN1_IA5STRING(nullptr, &p, static_cast<long>(der.size()))));
  if (v == nullptr || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError(absl::StrCat("certificate extension ", name, " is not a DER IA5String"));
  }
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v.get())), ASN1_STRING_length(v.get()));
}

// An SPL-style extension: absent => nullopt.
absl::StatusOr<std::optional<int>> OptionalSmallInteger(const AmdExtensions& ext, const char* oid, const char* name) {
  auto it = ext.find(oid);
  if (it == ext.end()) return std::optional<int>();
  ASSIGN_OR_RETURN(int v, DecodeSmallInteger(it->second, name));
  return std::optional<int>(v);
}

absl::StatusOr<uint8_t> RequiredSmallInteger(const AmdExtensions& ext, const char* oid, const char* name) {
  ASSIGN_OR_RETURN(std::optional<int> v, OptionalSmallInteger(ext, oid, name));
  if (!v.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("certificate lacks AMD extension ", name, " (", oid, ")"));
  }
  return static_cast<uint8_t>(*v);
}

// Turin's layout (structVersion 1): fmcSPL required, 8-byte hwID.
bool IsTurin(const EndorsementInfo& info) { return info.struct_version == 1 || info.product == abi::Product::kTurin; }

}  // namespace

absl::StatusOr<AmdExtensions> CollectAmdExtensions(X509* cert) {
  AmdExtensions ext;
  const int count = X509_get_ext_count(cert);
  for (int i = 0; i < count; ++i) {
    X509_EXTENSION* e = X509_get_ext(cert, i);
    std::string oid = ObjText(X509_EXTENSION_get_object(e));
    if (!absl::StartsWith(oid, "1.3.6.1.4.1.3704.1.")) continue;
    const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(e);
    std::string value(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)), ASN1_STRING_length(data));
    if (!ext.emplace(oid, std::move(value)).second) {
      return absl::InvalidArgumentError(absl::StrCat("certificate has duplicate AMD extension ", oid));
    }
  }
  return ext;
}

absl::Status ParseEndorsementProduct(const AmdExtensions& ext, EndorsementInfo& info) {
  ASSIGN_OR_RETURN(std::optional<int> sv, OptionalSmallInteger(ext, kOidStructVersion, "structVersion"));
  info.struct_version = sv.value_or(0);
  if (info.struct_version != 0 && info.struct_version != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate extension structVersion is ", info.struct_version, ", want 0 or 1"));
  }
  if (auto it = ext.find(kOidProductName); it != ext.end()) {
    ASSIGN_OR_RETURN(info.product_name, DecodeIa5(it->second, "productName"));
    auto p = abi::ParseProduct(info.product_name);
    if (p.ok()) info.product = *p;
  }
  return absl::OkStatus();
}

absl::Status ParseEndorsementTcb(const AmdExtensions& ext, EndorsementInfo& info) {
  ASSIGN_OR_RETURN(info.tcb.bl, RequiredSmallInteger(ext, kOidBlSpl, "blSPL"));
  ASSIGN_OR_RETURN(info.tcb.tee, RequiredSmallInteger(ext, kOidTeeSpl, "teeSPL"));
  ASSIGN_OR_RETURN(info.tcb.snp, RequiredSmallInteger(ext, kOidSnpSpl, "snpSPL"));
  ASSIGN_OR_RETURN(info.tcb.ucode, RequiredSmallInteger(ext, kOidUcodeSpl, "ucodeSPL"));
  ASSIGN_OR_RETURN(std::optional<int> fmc, OptionalSmallInteger(ext, kOidFmcSpl, "fmcSPL"));
  if (fmc.has_value()) {
    info.has_fmc = true;
    info.tcb.fmc = static_cast<uint8_t>(*fmc);
  }
  if (IsTurin(info) && !info.has_fmc) {
    return absl::InvalidArgumentError("Turin certificate (structVersion 1) lacks fmcSPL");
  }
  return absl::OkStatus();
}

absl::Status ParseEndorsementKeyId(const AmdExtensions& ext, EndorsementInfo& info) {
  auto hw = ext.find(kOidHwId);
  auto csp = ext.find(kOidCspId);
  if (hw != ext.end() && csp != ext.end()) {
    return absl::InvalidArgumentError("certificate has both hwID (VCEK) and csp_id (VLEK) extensions");
  }
  if (hw == ext.end() && csp == ext.end()) {
    return absl::InvalidArgumentError(
        "certificate has neither hwID (VCEK) nor csp_id (VLEK) extension: not an AMD endorsement "
        "key certificate");
  }
  if (csp != ext.end()) {
    info.kind = abi::SigningKey::kVlek;
    ASSIGN_OR_RETURN(info.csp_id, DecodeIa5(csp->second, "csp_id"));
    return absl::OkStatus();
  }
  info.kind = abi::SigningKey::kVcek;
  const std::string& v = hw->second;
  const size_t want = IsTurin(info) ? 8 : 64;
  if (v.size() == want) {
    info.hw_id = v;  // raw, as AMD KDS issues it
  } else if (v.size() == want + 2 && static_cast<uint8_t>(v[0]) == 0x04 && static_cast<uint8_t>(v[1]) == want) {
    info.hw_id = v.substr(2);  // wrapped in an OCTET STRING by some generators
  } else {
    return absl::InvalidArgumentError(absl::StrCat("certificate extension hwID is ", v.size(), " bytes, want ", want,
                                                   " (raw or wrapped in an OCTET STRING)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<EndorsementInfo> ParseEndorsementExtensions(X509* cert) {
  ASSIGN_OR_RETURN(const AmdExtensions ext, CollectAmdExtensions(cert));
  EndorsementInfo info;
  RETURN_IF_ERROR(ParseEndorsementProduct(ext, info));
  RETURN_IF_ERROR(ParseEndorsementTcb(ext, info));
  RETURN_IF_ERROR(ParseEndorsementKeyId(ext, info));
  return info;
}

absl::StatusOr<std::vector<ssl::X509Ptr>> LoadCertificates(absl::string_view bytes) {
  std::vector<ssl::X509Ptr> out;
  if (bytes.find("-----BEGIN") != absl::string_view::npos) {
    ssl::BioPtr bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())));
    if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
    while (true) {
      ssl::X509Ptr c(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
      if (c == nullptr) break;
      out.push_back(std::move(c));
    }
    ERR_clear_error();  // the loop ends with a "no start line" error
    if (out.empty()) return absl::InvalidArgumentError("no PEM certificate found");
    return out;
  }
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
  ssl::X509Ptr c(d2i_X509(nullptr, &p, static_cast<long>(bytes.size())));
  if (c == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("not a DER or PEM certificate: ", ssl::DrainErrors()));
  }
  if (p != reinterpret_cast<const unsigned char*>(bytes.data()) + bytes.size()) {
    return absl::InvalidArgumentError("DER certificate has trailing bytes");
  }
  out.push_back(std::move(c));
  return out;
}

absl::StatusOr<ssl::X509Ptr> LoadCertificate(absl::string_view bytes) {
  ASSIGN_OR_RETURN(auto all, LoadCertificates(bytes));
  if (all.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("want exactly one certificate, found ", all.size()));
  }
  return std::move(all.front());
}

std::string CertDer(X509* cert) {
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  if (n <= 0) return "";
  ssl::OpensslBytesPtr owned(der);
  return std::string(reinterpret_cast<char*>(der), n);
}

std::string Sha256(absl::string_view bytes) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string CertFingerprint(X509* cert) { return Sha256(CertDer(cert)); }

std::string CommonName(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  int idx = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (idx < 0) return "";
  const ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, idx));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), ASN1_STRING_length(s));
}

}  // namespace spirecvm::sevsnp::certs
