// Signed messages: a MsgHead signed (enveloped xmldsig, RSA-SHA256, X509 in KeyInfo) with a key made in the test is
// verified against its certificate; a message changed after signing, one signed by an untrusted key, and an unsigned
// one when signatures are required are Avvist (S01).

#include "planbro/adapters/plo/signature.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <xmlsec/crypto.h>
#include <xmlsec/templates.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmlsec.h>

#include "planbro/fhir-model/hardened_xml.h"
#include "plo_test_support.h"

namespace planbro::adapters::plo {
namespace {

using testing::readFile;
using testing::samplesDir;

struct KeyAndCert {
  std::string key_pem;
  std::string cert_pem;
};

std::string bioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

KeyAndCert makeKeyAndCert(const char* common_name) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  X509* cert = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600L * 24 * 365);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, cert);
  KeyAndCert out{bioText(key_bio), bioText(cert_bio)};
  BIO_free(key_bio);
  BIO_free(cert_bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

// Signs the MsgHead the way senders do: an enveloped signature over the whole document, appended to the root.
std::string sign(const std::string& message, const KeyAndCert& signer) {
  auto parsed = fhir::parseHardenedXml(message, fhir::XmlLimits{.max_bytes = 64u << 20});
  EXPECT_TRUE(parsed.isOk());
  xmlDoc* doc = parsed->get();
  xmlNode* signature = xmlSecTmplSignatureCreate(doc, xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id, nullptr);
  xmlAddChild(xmlDocGetRootElement(doc), signature);
  xmlNode* reference = xmlSecTmplSignatureAddReference(signature, xmlSecTransformSha256Id, nullptr,
                                                       reinterpret_cast<const xmlChar*>(""), nullptr);
  xmlSecTmplReferenceAddTransform(reference, xmlSecTransformEnvelopedId);
  xmlNode* key_info = xmlSecTmplSignatureEnsureKeyInfo(signature, nullptr);
  xmlSecTmplKeyInfoAddX509Data(key_info);
  xmlSecDSigCtxPtr context = xmlSecDSigCtxCreate(nullptr);
  context->signKey = xmlSecCryptoAppKeyLoadMemory(reinterpret_cast<const xmlSecByte*>(signer.key_pem.data()),
                                                  static_cast<xmlSecSize>(signer.key_pem.size()),
                                                  xmlSecKeyDataFormatPem, nullptr, nullptr, nullptr);
  EXPECT_NE(context->signKey, nullptr);
  EXPECT_GE(xmlSecCryptoAppKeyCertLoadMemory(context->signKey,
                                             reinterpret_cast<const xmlSecByte*>(signer.cert_pem.data()),
                                             static_cast<xmlSecSize>(signer.cert_pem.size()), xmlSecKeyDataFormatPem),
            0);
  EXPECT_GE(xmlSecDSigCtxSign(context, signature), 0);
  xmlSecDSigCtxDestroy(context);
  xmlChar* bytes = nullptr;
  int size = 0;
  xmlDocDumpMemoryEnc(doc, &bytes, &size, "UTF-8");
  std::string out(reinterpret_cast<const char*>(bytes), static_cast<size_t>(size));
  xmlFree(bytes);
  return out;
}

class PloSignature : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    trusted_ = new KeyAndCert(makeKeyAndCert("Sykehuset test"));
    stranger_ = new KeyAndCert(makeKeyAndCert("Ukjent avsender"));
    // Starts xmlsec (once per process) before the test signs anything.
    ASSERT_TRUE(SignatureVerifier::create(trusted_->cert_pem).isOk());
  }
  static void TearDownTestSuite() {
    delete trusted_;
    delete stranger_;
  }

  std::shared_ptr<const Codec> codec(bool require) {
    CodecOptions options;
    auto verifier = SignatureVerifier::create(trusted_->cert_pem);
    EXPECT_TRUE(verifier.isOk()) << verifier.status().message();
    options.signatures = *verifier;
    options.require_signature = require;
    auto loaded = loadCodec(PLANBRO_PLO_SOURCE_DIR, options);
    EXPECT_TRUE(loaded.isOk()) << loaded.status().message();
    return *loaded;
  }

  static std::string message() {
    return readFile(samplesDir() / "dialogmelding-1.1" / "Helsefaglig_dialog_angi_profesjon_hos_mottaker.xml");
  }

  static KeyAndCert* trusted_;
  static KeyAndCert* stranger_;
};
KeyAndCert* PloSignature::trusted_ = nullptr;
KeyAndCert* PloSignature::stranger_ = nullptr;

TEST_F(PloSignature, AValidSignatureIsAccepted) {
  const std::string signed_message = sign(message(), *trusted_);
  const DecodedMessage m = codec(true)->decode(signed_message);
  EXPECT_EQ(m.status, AppRecStatus::kOk) << m.summary;
  ASSERT_TRUE(m.head.has_value());
  EXPECT_TRUE(m.head->signed_message);
}

TEST_F(PloSignature, AMessageChangedAfterSigningIsRejected) {
  std::string signed_message = sign(message(), *trusted_);
  const size_t at = signed_message.find("Trenger innspill");
  ASSERT_NE(at, std::string::npos);
  signed_message[at + 1] = 'X';  // "TXenger innspill": the signed text no longer matches its digest
  const DecodedMessage m = codec(false)->decode(signed_message);
  EXPECT_EQ(m.status, AppRecStatus::kRejected);
  ASSERT_FALSE(m.errors.empty());
  EXPECT_EQ(m.errors.front().code, "S01") << m.errors.front().detail;
}

TEST_F(PloSignature, AnUntrustedSignerIsRejected) {
  const DecodedMessage m = codec(false)->decode(sign(message(), *stranger_));
  EXPECT_EQ(m.status, AppRecStatus::kRejected);
  ASSERT_FALSE(m.errors.empty());
  EXPECT_EQ(m.errors.front().code, "S01") << m.errors.front().detail;
}

TEST_F(PloSignature, UnsignedIsRejectedOnlyWhenRequired) {
  EXPECT_EQ(codec(false)->decode(message()).status, AppRecStatus::kOk);
  const DecodedMessage m = codec(true)->decode(message());
  EXPECT_EQ(m.status, AppRecStatus::kRejected);
  ASSERT_FALSE(m.errors.empty());
  EXPECT_EQ(m.errors.front().code, "S01");
}

TEST_F(PloSignature, ABundleWithoutCertificatesIsRefused) {
  EXPECT_FALSE(SignatureVerifier::create("no certificates here").isOk());
}

}  // namespace
}  // namespace planbro::adapters::plo
