#pragma once
// Verification of the xmldsig signature of a signed MsgHead with libxmlsec1 (OpenSSL back end), against trust
// anchors configured at start (`adapters.plo.trusted_certificates_file`). Only same-document references are
// followed: a signature cannot make the verifier read a file or the network.

#include <libxml/tree.h>

#include <memory>
#include <mutex>
#include <string>

#include "planbro/fhir-model/status.h"

namespace planbro::adapters::plo {

class SignatureVerifier {
 public:
  /** Trusts every certificate of `pem_bundle` (one or more PEM CERTIFICATE blocks). Errors: kInvalidArgument when
   *  xmlsec cannot start or the bundle holds no certificate it accepts. */
  static Result<std::shared_ptr<const SignatureVerifier>> create(const std::string& pem_bundle);
  /** Reads the bundle from a file (at most 1 MiB). */
  static Result<std::shared_ptr<const SignatureVerifier>> fromFile(const std::string& path);
  ~SignatureVerifier();
  SignatureVerifier(const SignatureVerifier&) = delete;
  SignatureVerifier& operator=(const SignatureVerifier&) = delete;

  /**
   * Verifies the Signature element directly under the root of `doc` (an enveloped signature over the message).
   * Ok when it is valid and its certificate chains to a trusted one; kPermissionDenied with the reason otherwise
   * (no signature, a digest or signature mismatch, an untrusted certificate). Thread-safe (serialised). Modifies
   * nothing a later schema or content step reads.
   */
  Status verify(xmlDoc* doc) const;

 private:
  SignatureVerifier() = default;
  void* manager_ = nullptr;  // xmlSecKeysMngrPtr
  mutable std::mutex mutex_;
};

}  // namespace planbro::adapters::plo
