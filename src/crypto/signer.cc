#include "crypto/signer.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/strings.h"

namespace spirecvm::crypto {
namespace {

absl::Status SslInternal(std::string_view what) {
  std::string errs = ssl::DrainErrors();
  return absl::InternalError(errs.empty() ? std::string(what) : absl::StrCat(ToAbsl(what), ": ", errs));
}

bool IsRsa(KeyType t) { return t == KeyType::kRsa2048 || t == KeyType::kRsa4096; }

class LocalSigner final : public Signer {
 public:
  LocalSigner(ssl::EvpPkeyPtr key, ssl::EvpPkeyPtr pub, KeyType type)
      : key_(std::move(key)), pub_(std::move(pub)), type_(type) {}

  EVP_PKEY* PublicKey() const override { return pub_.get(); }
  KeyType Type() const override { return type_; }

  absl::StatusOr<std::string> SignDigest(const EVP_MD* md, std::string_view digest) const override {
    if (md == nullptr || digest.size() != static_cast<size_t>(EVP_MD_get_size(md))) {
      return absl::InvalidArgumentError("sign: the digest does not match the digest algorithm");
    }
    ssl::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new(key_.get(), nullptr));
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1) {
      return SslInternal("sign: init");
    }
    if (IsRsa(type_) && EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1) {
      return SslInternal("sign: RSA padding");
    }
    const auto* in = reinterpret_cast<const unsigned char*>(digest.data());
    size_t len = 0;
    if (EVP_PKEY_sign(ctx.get(), nullptr, &len, in, digest.size()) != 1) return SslInternal("sign: size");
    std::string sig(len, '\0');
    if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, digest.size()) != 1) {
      return SslInternal("sign");
    }
    sig.resize(len);
    return sig;
  }

 private:
  ssl::EvpPkeyPtr key_;
  ssl::EvpPkeyPtr pub_;
  KeyType type_;
};

// Writes the signature AlgorithmIdentifier: no parameters for ECDSA, NULL for RSA (RFC 5758, RFC 4055).
absl::Status SetAlgorithm(const X509_ALGOR* alg, int nid, bool rsa) {
  if (X509_ALGOR_set0(const_cast<X509_ALGOR*>(alg), OBJ_nid2obj(nid), rsa ? V_ASN1_NULL : V_ASN1_UNDEF, nullptr) != 1) {
    return SslInternal("certificate: signature algorithm");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<Signer>> NewLocalSigner(ssl::EvpPkeyPtr private_key) {
  if (private_key == nullptr) return absl::InvalidArgumentError("signer: key is null");
  ASSIGN_OR_RETURN(KeyType type, KeyTypeOf(private_key.get()));
  // A public-only copy, so that what the signer hands out never carries the private part.
  ASSIGN_OR_RETURN(std::string spki, PublicKeyToDer(private_key.get()));
  ASSIGN_OR_RETURN(ssl::EvpPkeyPtr pub, PublicKeyFromDer(spki));
  return std::make_shared<LocalSigner>(std::move(private_key), std::move(pub), type);
}

absl::StatusOr<const Signer*> SignerOrLocal(const Signer* signer, EVP_PKEY* key, std::shared_ptr<Signer>& local) {
  if (signer != nullptr) return signer;
  ASSIGN_OR_RETURN(local, NewLocalSigner(ShareKey(key)));
  return local.get();
}

const EVP_MD* DigestFor(KeyType t) { return t == KeyType::kEcP384 ? EVP_sha384() : EVP_sha256(); }

absl::StatusOr<std::string> SignData(const Signer& signer, const EVP_MD* md, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out, &len, md, nullptr) != 1) return SslInternal("sign: digest");
  return signer.SignDigest(md, std::string_view(reinterpret_cast<const char*>(out), len));
}

absl::Status SignCertificate(X509* cert, const Signer& signer, const EVP_MD* md) {
  const bool rsa = IsRsa(signer.Type());
  int nid = NID_undef;
  if (OBJ_find_sigid_by_algs(&nid, EVP_MD_get_type(md), rsa ? NID_rsaEncryption : NID_X9_62_id_ecPublicKey) != 1) {
    return absl::InvalidArgumentError("certificate: no signature algorithm for this key and digest");
  }
  const ASN1_BIT_STRING* sig_const = nullptr;
  const X509_ALGOR* outer = nullptr;
  X509_get0_signature(&sig_const, &outer, cert);
  RETURN_IF_ERROR(SetAlgorithm(X509_get0_tbs_sigalg(cert), nid, rsa));
  RETURN_IF_ERROR(SetAlgorithm(outer, nid, rsa));
  unsigned char* tbs_raw = nullptr;
  const int tbs_len = i2d_re_X509_tbs(cert, &tbs_raw);  // re-encodes: the fields changed since any earlier encoding
  if (tbs_len <= 0) return SslInternal("certificate: encode TBSCertificate");
  ssl::OpensslBytesPtr tbs(tbs_raw);
  ASSIGN_OR_RETURN(std::string sig,
                   SignData(signer, md, std::string_view(reinterpret_cast<const char*>(tbs.get()), tbs_len)));
  auto* bits = const_cast<ASN1_BIT_STRING*>(sig_const);
  if (ASN1_BIT_STRING_set(bits, reinterpret_cast<unsigned char*>(sig.data()), static_cast<int>(sig.size())) != 1) {
    return SslInternal("certificate: store signature");
  }
  // A signature is whole bytes: no unused bits in the BIT STRING.
  bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
  bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;
  return absl::OkStatus();
}

}  // namespace spirecvm::crypto
