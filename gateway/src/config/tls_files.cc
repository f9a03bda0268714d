#include "planbro/gateway/config/tls_files.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <string.h>  // explicit_bzero

#include <cstring>
#include <fstream>
#include <string_view>

namespace planbro::gateway::config {
namespace {

std::string problem(std::string_view key, std::string_view rule, const std::string& path, std::string_view why) {
  return "server.tls." + std::string(key) + ": " + std::string(rule) + " (got \"" + path + "\": " + std::string(why) +
         ")";
}

// Reads the file for the checks below; returns false after recording why it cannot be used.
bool readSmallFile(std::string_view key, const std::string& path, std::string& bytes, std::vector<std::string>& out) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    out.push_back(problem(key, "must name a readable file", path, std::strerror(errno)));
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    out.push_back(problem(key, "must name a regular file", path, S_ISDIR(st.st_mode) ? "a directory" : "not a file"));
    return false;
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxTlsFileBytes) {
    out.push_back(problem(key, "must be at most 1 MiB", path, std::to_string(st.st_size) + " bytes"));
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.push_back(problem(key, "must name a readable file", path, std::strerror(errno)));
    return false;
  }
  bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    out.push_back(problem(key, "must name a readable file", path, "read error"));
    return false;
  }
  if (bytes.find("-----BEGIN ") == std::string::npos) {
    out.push_back(problem(key, "must be PEM", path, bytes.empty() ? "empty" : "no -----BEGIN line"));
    return false;
  }
  return true;
}

// PKCS#8 (`BEGIN ENCRYPTED PRIVATE KEY`) and the traditional OpenSSL form (`Proc-Type: 4,ENCRYPTED`).
bool isEncryptedPemKey(std::string_view pem) {
  return pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string_view::npos ||
         pem.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos;
}

}  // namespace

std::vector<std::string> checkTlsFilesReadable(const TlsConfig& tls) {
  std::vector<std::string> problems;
  std::string bytes;
  if (!tls.certificate_file.empty() && readSmallFile("certificate_file", tls.certificate_file, bytes, problems) &&
      bytes.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    problems.push_back(problem("certificate_file", "must hold a PEM certificate", tls.certificate_file,
                               "no -----BEGIN CERTIFICATE----- line"));
  }
  if (!tls.private_key_file.empty() && readSmallFile("private_key_file", tls.private_key_file, bytes, problems)) {
    if (isEncryptedPemKey(bytes)) {
      problems.push_back(problem("private_key_file", "must be an unencrypted private key", tls.private_key_file,
                                 "encrypted; planbro has no pass phrase: decrypt it with `openssl pkey -in KEY -out "
                                 "KEY.plain` and protect the file by its mode (0600)"));
    } else if (bytes.find("PRIVATE KEY-----") == std::string::npos) {
      problems.push_back(problem("private_key_file", "must hold a PEM private key", tls.private_key_file,
                                 "no -----BEGIN ... PRIVATE KEY----- line"));
    }
  }
  explicit_bzero(bytes.data(), bytes.size());  // the key's bytes do not linger in freed memory
  return problems;
}

std::vector<std::string> tlsFileWarnings(const TlsConfig& tls) {
  std::vector<std::string> warnings;
  struct stat st {};
  if (!tls.private_key_file.empty() && ::stat(tls.private_key_file.c_str(), &st) == 0 && (st.st_mode & S_IROTH)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    warnings.push_back(problem("private_key_file", "should be readable by the gateway's user only",
                               tls.private_key_file, std::string("mode ") + mode + "; chmod 600 it"));
  }
  return warnings;
}

}  // namespace planbro::gateway::config
