// Every problem of a config file shows in one run: duplicate keys at any depth, a second YAML document, cross-field
// rules next to schema errors, and TLS files that cannot be used (missing, unreadable, not PEM, encrypted key).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "planbro/gateway/config/gateway_config.h"
#include "planbro/gateway/config/tls_files.h"

namespace planbro::gateway::config {
namespace {

namespace fs = std::filesystem;

std::string errorOf(std::string_view yaml) {
  Result<GatewayConfig> c = parseConfig(yaml, "test.yaml");
  EXPECT_FALSE(c.isOk()) << yaml;
  return c.isOk() ? "" : c.status().message();
}

size_t lines(const std::string& s) { return s.empty() ? 0 : static_cast<size_t>(std::count(s.begin(), s.end(), '\n')) + 1; }

TEST(ConfigDuplicateKeys, ASecondTopLevelBlockIsAnErrorNamingBothLines) {
  std::string e = errorOf("server:\n  io_threads: 2\nlimits: {}\nserver:\n  io_threads: 3\n");
  EXPECT_EQ(e, "server: must appear once in its mapping (got it again at line 4, first at line 1)");
}

TEST(ConfigDuplicateKeys, AreFoundAtEveryDepthWithTheKeyPath) {
  std::string e = errorOf("server:\n  tls:\n    min_version: \"1.2\"\n    min_version: \"1.3\"\n"
                          "limits: {json: {max_depth: 3, max_depth: 4}}\n");
  EXPECT_NE(e.find("server.tls.min_version: must appear once in its mapping (got it again at line 4, first at "
                   "line 3)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("limits.json.max_depth: must appear once in its mapping (got it again at line 5, column 31, "
                   "first at line 5, column 17)"),
            std::string::npos)
      << e;
  EXPECT_EQ(lines(e), 2u) << e;
}

TEST(ConfigDuplicateKeys, InsideListsNameTheIndex) {
  std::string e = errorOf("bogus:\n  - {a: 1}\n  - {a: 1, a: 2}\n");
  EXPECT_NE(e.find("bogus[1].a: must appear once in its mapping"), std::string::npos) << e;
  EXPECT_NE(e.find("bogus: unknown key"), std::string::npos) << e;
}

TEST(ConfigStructure, ASecondYamlDocumentIsAnError) {
  EXPECT_EQ(errorOf("server: {}\n---\nserver: {io_threads: 1}\n"),
            "(top level): must be one YAML document (got 2, separated by ---)");
}

TEST(ConfigStructure, AliasesRepeatingANodeAreBoundedNotExpanded) {
  // Nine levels of ten aliases each name 10^9 nodes in a few hundred bytes; the walk stops at its node budget.
  std::string yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 9; ++i) {
    yaml += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 10; ++j) yaml += (j ? ", *a" : "*a") + std::to_string(i - 1);
    yaml += "]\n";
  }
  std::string e = errorOf(yaml);
  EXPECT_NE(e.find("(top level): must have at most 100000 nodes"), std::string::npos) << e.substr(0, 300);
  EXPECT_LT(e.size(), 2000u);
}

TEST(ConfigStructure, DeepNestingIsAnErrorNotACrash) {
  std::string yaml = "bogus: ";
  for (int i = 0; i < 100; ++i) yaml += "[";
  for (int i = 0; i < 100; ++i) yaml += "]";
  std::string e = errorOf(yaml);
  EXPECT_NE(e.find("must be nested at most 64 levels deep"), std::string::npos) << e;
  std::string deeper(100000, '[');
  EXPECT_FALSE(parseConfig(deeper + std::string(100000, ']'), "deep.yaml").isOk());
}

TEST(ConfigAllErrors, CrossFieldRulesAreReportedWithSchemaErrors) {
  // Before: the postgres_url and TLS errors appeared only once the schema errors were fixed.
  std::string e = errorOf("server: {io_threads: 0, tls: {certificate_file: /etc/c.pem, min_version: \"1.1\"}}\n"
                          "store: {engine: postgresql}\nbogus: 1\n");
  EXPECT_NE(e.find("server.io_threads: must be between 1 and 256 (got 0)"), std::string::npos) << e;
  EXPECT_NE(e.find("bogus: unknown key"), std::string::npos) << e;
  EXPECT_NE(e.find("store.postgres_url: must be set when store.engine is postgresql"), std::string::npos) << e;
  EXPECT_NE(e.find("server.tls.private_key_file: must be set with server.tls.certificate_file"), std::string::npos)
      << e;
  EXPECT_NE(e.find("server.tls.min_version: must be \"1.2\" or \"1.3\" (got \"1.1\")"), std::string::npos) << e;
  EXPECT_EQ(lines(e), 5u) << e;
}

TEST(ConfigAllErrors, LongValuesAreCutInMessages) {
  const std::string secret(500, 'S');
  for (const std::string& yaml : {"store: {engine: " + secret + "}", "server: {listen: " + secret + "}",
                                 "server: {tls: {min_version: " + secret + "}}", "limits: {max_body_bytes: " + secret + "}"}) {
    std::string e = errorOf(yaml);
    EXPECT_LT(e.size(), 200u) << e;
    EXPECT_NE(e.find("..."), std::string::npos) << e;
  }
}

// A real certificate and keys made with OpenSSL, in a directory of their own.
class TlsFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "planbro-config-tls-XXXXXX").string();
    ASSERT_NE(::mkdtemp(templ.data()), nullptr);
    dir_ = templ;
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
    ASSERT_TRUE(key);
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    ASSERT_TRUE(cert);
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                               0);
    X509_set_issuer_name(cert.get(), name);
    ASSERT_GT(X509_sign(cert.get(), key.get(), EVP_sha256()), 0);
    cert_ = dir_ / "tls.crt";
    key_ = dir_ / "tls.key";
    pkcs8_encrypted_ = dir_ / "pkcs8-encrypted.key";
    traditional_encrypted_ = dir_ / "traditional-encrypted.key";
    write(cert_, [&](FILE* f) { return PEM_write_X509(f, cert.get()); });
    write(key_, [&](FILE* f) { return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
    char pass[] = "secret";
    write(pkcs8_encrypted_, [&](FILE* f) {
      return PEM_write_PrivateKey(f, key.get(), EVP_aes_256_cbc(), nullptr, 0, nullptr, pass);
    });
    write(traditional_encrypted_, [&](FILE* f) {
      std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_fp(f, BIO_NOCLOSE), BIO_free);
      return PEM_write_bio_PrivateKey_traditional(bio.get(), key.get(), EVP_aes_128_cbc(), nullptr, 0, nullptr, pass);
    });
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  template <typename Writer>
  void write(const fs::path& path, Writer writer) {
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    EXPECT_EQ(writer(f), 1);
    std::fclose(f);
    ::chmod(path.c_str(), 0600);
  }

  fs::path configFile(const std::string& yaml) {
    fs::path path = dir_ / "planbro.yaml";
    std::ofstream(path) << yaml;
    return path;
  }

  static TlsConfig tls(const fs::path& cert, const fs::path& key) {
    TlsConfig t;
    t.certificate_file = cert.string();
    t.private_key_file = key.string();
    return t;
  }

  fs::path dir_, cert_, key_, pkcs8_encrypted_, traditional_encrypted_;
};

TEST_F(TlsFiles, UsableCertificateAndKeyPass) {
  EXPECT_TRUE(checkTlsFilesReadable(tls(cert_, key_)).empty());
  fs::path config = configFile("server:\n  tls:\n    certificate_file: " + cert_.string() + "\n    private_key_file: " +
                               key_.string() + "\n");
  Status s = validateConfigFile(config.string());
  EXPECT_TRUE(s.isOk()) << s.message();
}

TEST_F(TlsFiles, AWorldReadableKeyIsAWarningNotAnError) {
  EXPECT_TRUE(tlsFileWarnings(tls(cert_, key_)).empty());  // written 0600
  ::chmod(key_.c_str(), 0640);
  EXPECT_TRUE(tlsFileWarnings(tls(cert_, key_)).empty());  // group-readable: the ssl-cert convention
  ::chmod(key_.c_str(), 0644);
  std::vector<std::string> w = tlsFileWarnings(tls(cert_, key_));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0], "server.tls.private_key_file: should be readable by the gateway's user only (got \"" +
                      key_.string() + "\": mode 0644; chmod 600 it)");
  EXPECT_TRUE(checkTlsFilesReadable(tls(cert_, key_)).empty());
}

TEST_F(TlsFiles, EncryptedKeysAreRefusedInBothPemForms) {
  for (const fs::path& key : {pkcs8_encrypted_, traditional_encrypted_}) {
    std::vector<std::string> problems = checkTlsFilesReadable(tls(cert_, key));
    ASSERT_EQ(problems.size(), 1u) << key;
    EXPECT_EQ(problems[0].find("server.tls.private_key_file: must be an unencrypted private key (got \"" +
                               key.string() + "\": encrypted;"),
              0u)
        << problems[0];
  }
}

TEST_F(TlsFiles, MissingUnreadableAndWrongFilesAreNamed) {
  std::vector<std::string> p = checkTlsFilesReadable(tls(dir_ / "missing.crt", dir_));
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0], "server.tls.certificate_file: must name a readable file (got \"" + (dir_ / "missing.crt").string() +
                      "\": No such file or directory)");
  EXPECT_EQ(p[1], "server.tls.private_key_file: must name a regular file (got \"" + dir_.string() +
                      "\": a directory)");
  p = checkTlsFilesReadable(tls(key_, cert_));  // swapped
  ASSERT_EQ(p.size(), 2u);
  EXPECT_NE(p[0].find("server.tls.certificate_file: must hold a PEM certificate"), std::string::npos) << p[0];
  EXPECT_NE(p[1].find("server.tls.private_key_file: must hold a PEM private key"), std::string::npos) << p[1];
  if (::geteuid() != 0) {  // root reads any file
    ::chmod(key_.c_str(), 0);
    p = checkTlsFilesReadable(tls(cert_, key_));
    ASSERT_EQ(p.size(), 1u);
    EXPECT_NE(p[0].find("server.tls.private_key_file: must name a readable file"), std::string::npos) << p[0];
    EXPECT_NE(p[0].find("Permission denied"), std::string::npos) << p[0];
  }
}

TEST_F(TlsFiles, ValidateConfigFileReportsTheFilesWithEveryOtherProblem) {
  fs::path config = configFile("server:\n  io_threads: 0\n  tls:\n    certificate_file: " + (dir_ / "nope.crt").string() +
                               "\n    private_key_file: " + pkcs8_encrypted_.string() +
                               "\nstore:\n  engine: postgresql\nserver:\n  io_threads: 1\n");
  Status s = validateConfigFile(config.string());
  ASSERT_FALSE(s.isOk());
  const std::string& e = s.message();
  EXPECT_NE(e.find("server: must appear once in its mapping (got it again at line 8, first at line 1)"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("server.io_threads: must be between 1 and 256 (got 0)"), std::string::npos) << e;
  EXPECT_NE(e.find("store.postgres_url: must be set"), std::string::npos) << e;
  EXPECT_NE(e.find("server.tls.certificate_file: must name a readable file"), std::string::npos) << e;
  EXPECT_NE(e.find("server.tls.private_key_file: must be an unencrypted private key"), std::string::npos) << e;
  EXPECT_EQ(lines(e), 5u) << e;
}

TEST_F(TlsFiles, TheTlsCheckCanBeReplaced) {
  fs::path config = configFile("server:\n  tls:\n    certificate_file: " + cert_.string() + "\n    private_key_file: " +
                               key_.string() + "\n");
  int calls = 0;
  Status s = validateConfigFile(config.string(), [&](const TlsConfig& t) {
    ++calls;
    EXPECT_EQ(t.certificate_file, cert_.string());
    return std::vector<std::string>{"server.tls.private_key_file: must match the certificate (got \"x\")"};
  });
  EXPECT_EQ(calls, 1);
  ASSERT_FALSE(s.isOk());
  EXPECT_EQ(s.message(), "server.tls.private_key_file: must match the certificate (got \"x\")");
}

}  // namespace
}  // namespace planbro::gateway::config
