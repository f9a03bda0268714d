#pragma once
// Self-signed X.509 certificates for tests that speak TLS (a server's certificate, a client's for mutual TLS, a
// loopback service's CA), made per run with OpenSSL so no key material is checked in.

#include <string>

namespace planbro::testing {

/** What the certificate says. The defaults make a server certificate for 127.0.0.1, valid from an hour ago. */
struct SelfSignedCertificateOptions {
  std::string common_name = "127.0.0.1";
  /** The subjectAltName extension ("IP:127.0.0.1", "DNS:localhost"); empty: none. */
  std::string subject_alt_name = "IP:127.0.0.1";
  /** Adds basicConstraints "critical,CA:TRUE" (a certificate clients load as their trust anchor). */
  bool certificate_authority = false;
  long serial = 1;
  /** notBefore and notAfter, in seconds from now (a negative not_after makes an expired certificate). */
  long not_before_seconds = -3600;
  long not_after_seconds = 3600;
  /** Non-empty: the private key PEM is encrypted with it (PKCS#8, AES-256-CBC). */
  std::string key_passphrase;
};

/** A fresh EC P-256 key and its self-signed certificate (X.509 v3, SHA-256), as PEM text. */
struct SelfSignedCertificate {
  std::string certificate_pem;
  std::string private_key_pem;
  /** SHA-256 of the certificate's DER, raw bytes (base64url of it is RFC 8705's x5t#S256). */
  std::string der_sha256;
};

/** Makes one. Every PEM is empty when OpenSSL fails (the test's TLS setup then fails visibly). */
SelfSignedCertificate makeSelfSignedCertificate(const SelfSignedCertificateOptions& options = {});

/**
 * Makes one and writes the certificate and the key to the two paths (created or truncated). False when OpenSSL fails
 * or a file cannot be written. When `made` is given, the certificate is also returned there.
 */
bool writeSelfSignedCertificate(const std::string& certificate_file, const std::string& private_key_file,
                                const SelfSignedCertificateOptions& options = {},
                                SelfSignedCertificate* made = nullptr);

}  // namespace planbro::testing
