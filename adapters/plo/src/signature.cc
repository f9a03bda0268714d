#include "planbro/adapters/plo/signature.h"

#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/keysmngr.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmltree.h>

#include <fstream>

namespace planbro::adapters::plo {
namespace {

// xmlsec's global start-up, once per process. Its error callback is silenced: reasons are reported as Statuses.
bool startXmlsec() {
  static const bool started = [] {
    if (xmlSecInit() < 0) return false;
    if (xmlSecCheckVersion() != 1) return false;
    if (xmlSecCryptoAppInit(nullptr) < 0) return false;
    if (xmlSecCryptoInit() < 0) return false;
    xmlSecErrorsSetCallback([](const char*, int, const char*, const char*, const char*, int, const char*) {});
    return true;
  }();
  return started;
}

}  // namespace

SignatureVerifier::~SignatureVerifier() {
  if (manager_ != nullptr) xmlSecKeysMngrDestroy(static_cast<xmlSecKeysMngrPtr>(manager_));
}

Result<std::shared_ptr<const SignatureVerifier>> SignatureVerifier::create(const std::string& pem_bundle) {
  if (!startXmlsec()) return invalidArgument("xmlsec (libxmlsec1 with OpenSSL) cannot start");
  std::shared_ptr<SignatureVerifier> verifier(new SignatureVerifier());
  xmlSecKeysMngrPtr manager = xmlSecKeysMngrCreate();
  if (manager == nullptr) return invalidArgument("xmlsec: cannot create a keys manager");
  verifier->manager_ = manager;
  if (xmlSecCryptoAppDefaultKeysMngrInit(manager) < 0) return invalidArgument("xmlsec: cannot set up the keys manager");
  size_t loaded = 0;
  static constexpr std::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  for (size_t at = pem_bundle.find(kBegin); at != std::string::npos; at = pem_bundle.find(kBegin, at + 1)) {
    const size_t end = pem_bundle.find(kEnd, at);
    if (end == std::string::npos) break;
    const std::string pem = pem_bundle.substr(at, end + kEnd.size() - at) + "\n";
    if (xmlSecCryptoAppKeysMngrCertLoadMemory(manager, reinterpret_cast<const xmlSecByte*>(pem.data()),
                                              static_cast<xmlSecSize>(pem.size()), xmlSecKeyDataFormatPem,
                                              xmlSecKeyDataTypeTrusted) < 0) {
      return invalidArgument("trusted certificate " + std::to_string(loaded + 1) + " cannot be loaded");
    }
    ++loaded;
  }
  if (loaded == 0) return invalidArgument("no PEM certificate in the trusted certificates");
  return std::shared_ptr<const SignatureVerifier>(std::move(verifier));
}

Result<std::shared_ptr<const SignatureVerifier>> SignatureVerifier::fromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalidArgument("cannot read " + path);
  std::string text(1u << 20, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (in.peek() != std::char_traits<char>::eof()) return invalidArgument(path + " exceeds 1 MiB");
  return create(text);
}

Status SignatureVerifier::verify(xmlDoc* doc) const {
  xmlNode* root = xmlDocGetRootElement(doc);
  xmlNode* signature = nullptr;
  for (xmlNode* child = root != nullptr ? root->children : nullptr; child != nullptr; child = child->next) {
    if (child->type == XML_ELEMENT_NODE && xmlSecCheckNodeName(child, xmlSecNodeSignature, xmlSecDSigNs) == 1) {
      signature = child;
    }
  }
  if (signature == nullptr) return {StatusCode::kPermissionDenied, "the message carries no signature"};
  std::lock_guard<std::mutex> lock(mutex_);
  xmlSecDSigCtxPtr context = xmlSecDSigCtxCreate(static_cast<xmlSecKeysMngrPtr>(manager_));
  if (context == nullptr) return internalError("xmlsec: cannot create a signature context");
  // Only references into the message itself: no file, no network.
  context->enabledReferenceUris = static_cast<xmlSecTransformUriType>(xmlSecTransformUriTypeEmpty |
                                                                      xmlSecTransformUriTypeSameDocument);
  const int rc = xmlSecDSigCtxVerify(context, signature);
  const bool ok = rc >= 0 && context->status == xmlSecDSigStatusSucceeded;
  const bool processed = rc >= 0;
  xmlSecDSigCtxDestroy(context);
  if (ok) return Status::ok();
  return {StatusCode::kPermissionDenied, processed ? "the signature does not match the message"
                                                   : "the signature cannot be verified (untrusted or unusable key)"};
}

}  // namespace planbro::adapters::plo
