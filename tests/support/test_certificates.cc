#include "test_certificates.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>
#include <utility>
#include <vector>

namespace planbro::testing {
namespace {

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertificatePtr = std::unique_ptr<X509, decltype(&X509_free)>;
using BioPtr = std::unique_ptr<BIO, decltype(&BIO_free)>;

std::string textOf(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

bool addExtension(X509* certificate, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, certificate, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) return false;
  const bool added = X509_add_ext(certificate, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return added;
}

bool writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

}  // namespace

SelfSignedCertificate makeSelfSignedCertificate(const SelfSignedCertificateOptions& options) {
  KeyPtr key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  CertificatePtr certificate(X509_new(), X509_free);
  if (!key || !certificate) return {};
  X509* x = certificate.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), options.serial);
  X509_gmtime_adj(X509_getm_notBefore(x), options.not_before_seconds);
  X509_gmtime_adj(X509_getm_notAfter(x), options.not_after_seconds);
  X509_set_pubkey(x, key.get());
  X509_NAME* subject = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(options.common_name.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, subject);
  if (!options.subject_alt_name.empty() && !addExtension(x, NID_subject_alt_name, options.subject_alt_name)) return {};
  if (options.certificate_authority && !addExtension(x, NID_basic_constraints, "critical,CA:TRUE")) return {};
  if (X509_sign(x, key.get(), EVP_sha256()) <= 0) return {};

  BioPtr certificate_bio(BIO_new(BIO_s_mem()), BIO_free);
  BioPtr key_bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!certificate_bio || !key_bio || PEM_write_bio_X509(certificate_bio.get(), x) != 1) return {};
  std::vector<char> passphrase(options.key_passphrase.begin(), options.key_passphrase.end());
  passphrase.push_back('\0');
  const int key_written =
      options.key_passphrase.empty()
          ? PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)
          : PEM_write_bio_PrivateKey(key_bio.get(), key.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr, passphrase.data());
  if (key_written != 1) return {};

  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(x, EVP_sha256(), digest, &length) != 1) return {};
  return {textOf(certificate_bio.get()), textOf(key_bio.get()),
          std::string(reinterpret_cast<const char*>(digest), length)};
}

bool writeSelfSignedCertificate(const std::string& certificate_file, const std::string& private_key_file,
                                const SelfSignedCertificateOptions& options, SelfSignedCertificate* made) {
  SelfSignedCertificate certificate = makeSelfSignedCertificate(options);
  if (certificate.certificate_pem.empty() || certificate.private_key_pem.empty()) return false;
  if (!writeFile(certificate_file, certificate.certificate_pem) || !writeFile(private_key_file, certificate.private_key_pem)) {
    return false;
  }
  if (made) *made = std::move(certificate);
  return true;
}

}  // namespace planbro::testing
