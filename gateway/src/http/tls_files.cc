#include "planbro/gateway/http/tls_files.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace planbro::gateway::http {
namespace {

constexpr const char* kCertKey = "server.tls.certificate_file";
constexpr const char* kKeyKey = "server.tls.private_key_file";

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

// Set by the pass-phrase callback, so an encrypted key is told apart from one that does not parse.
struct PassphraseProbe {
  bool asked = false;
};

int probePassphrase(char*, int, int, void* userdata) {
  if (userdata) static_cast<PassphraseProbe*>(userdata)->asked = true;
  return -1;
}

File openForReading(const std::string& path, const char* key, std::vector<std::string>& errors) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) errors.push_back(std::string(key) + ": cannot read \"" + path + "\": " + std::strerror(errno));
  return f;
}

}  // namespace

int refusePassphrase(char*, int, int, void*) { return -1; }

std::vector<std::string> checkTlsFiles(const config::TlsConfig& tls) {
  std::vector<std::string> errors;
  if (!tls.enabled()) return errors;
  if (tls.certificate_file.empty()) errors.push_back(std::string(kCertKey) + ": must be set with " + kKeyKey);
  if (tls.private_key_file.empty()) errors.push_back(std::string(kKeyKey) + ": must be set with " + kCertKey);

  std::unique_ptr<X509, X509Free> leaf;
  if (!tls.certificate_file.empty()) {
    if (File f = openForReading(tls.certificate_file, kCertKey, errors)) {
      leaf.reset(PEM_read_X509(f.get(), nullptr, refusePassphrase, nullptr));
      if (!leaf) {
        errors.push_back(std::string(kCertKey) + ": \"" + tls.certificate_file +
                         "\" holds no PEM certificate (expected -----BEGIN CERTIFICATE-----, the leaf first)");
      } else if (X509_cmp_current_time(X509_get0_notAfter(leaf.get())) < 0) {
        errors.push_back(std::string(kCertKey) + ": the certificate in \"" + tls.certificate_file + "\" has expired");
      }
    }
  }

  std::unique_ptr<EVP_PKEY, PkeyFree> key;
  if (!tls.private_key_file.empty()) {
    if (File f = openForReading(tls.private_key_file, kKeyKey, errors)) {
      PassphraseProbe probe;
      key.reset(PEM_read_PrivateKey(f.get(), nullptr, probePassphrase, &probe));
      if (!key && probe.asked) {
        errors.push_back(std::string(kKeyKey) + ": \"" + tls.private_key_file +
                         "\" is encrypted; planbro never asks for a pass-phrase: store the key unencrypted, readable "
                         "by the gateway's user only (e.g. openssl pkey -in KEY -out KEY.plain)");
      } else if (!key) {
        errors.push_back(std::string(kKeyKey) + ": \"" + tls.private_key_file +
                         "\" holds no PEM private key (expected -----BEGIN PRIVATE KEY----- or similar)");
      }
    }
  }
  ERR_clear_error();  // the failures above are reported here, not left for the next OpenSSL caller

  if (leaf && key && X509_check_private_key(leaf.get(), key.get()) != 1) {
    errors.push_back(std::string(kKeyKey) + ": \"" + tls.private_key_file + "\" is not the key of the certificate in " +
                     kCertKey + " (\"" + tls.certificate_file + "\")");
    ERR_clear_error();
  }
  return errors;
}

}  // namespace planbro::gateway::http
