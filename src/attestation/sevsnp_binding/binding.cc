#include "attestation/sevsnp_binding/binding.h"

#include <openssl/sha.h>

namespace spirecvm::sevsnp {
namespace {

std::string Sha256(std::string_view d) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(d.data()), d.size(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace

std::string SevSnpReportData(std::string_view nonce, std::string_view csr_spki_der, std::string_view iid_document) {
  std::string msg;
  msg.append(kReportDataDomain);
  msg.append(nonce);
  msg.append(Sha256(csr_spki_der));
  msg.append(Sha256(iid_document));
  std::string out(SHA512_DIGEST_LENGTH, '\0');
  SHA512(reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace spirecvm::sevsnp
