#pragma once
// Checks that the TLS files a configuration names can be used before any socket opens, so that
// `planbro --validate-config` and `planbro serve` report a missing or unusable file together with every other
// problem, instead of the server failing (or OpenSSL prompting for a pass phrase) later.

#include <functional>
#include <string>
#include <vector>

#include "planbro/gateway/config/gateway_config.h"

namespace planbro::gateway::config {

/** One message per problem with the TLS files of `tls` (empty: usable, or TLS off). */
using TlsFileCheck = std::function<std::vector<std::string>(const TlsConfig& tls)>;

/** Largest certificate chain or key file read; a PEM chain of a few certificates is a few KiB. */
inline constexpr size_t kMaxTlsFileBytes = 1u << 20;

/**
 * The checks planbro_config can make without OpenSSL: each file set in `tls` exists, is a regular file, can be
 * read by this process, is at most kMaxTlsFileBytes, and holds PEM (a `-----BEGIN ` line); the private key is
 * not an encrypted PEM key (planbro has no pass phrase to give, and OpenSSL would otherwise prompt on the
 * terminal). Messages name the key, the rule and the path: `server.tls.certificate_file: must name a readable
 * file (got "/etc/planbro/tls.crt": No such file or directory)`. Does not parse the certificate or compare it with
 * the key (the HTTP server's loader does). Blocking (reads the files); thread-safe; never throws.
 */
std::vector<std::string> checkTlsFilesReadable(const TlsConfig& tls);

/**
 * Warnings, not errors, about usable TLS files: a private key file that every user of the host may read (mode o+r)
 * — `server.tls.private_key_file: should be readable by the gateway's user only (got "/etc/planbro/tls.key": mode
 * 0644; chmod 600 it)`. Group-readable keys pass (Debian's ssl-cert group convention). Thread-safe; never throws.
 */
std::vector<std::string> tlsFileWarnings(const TlsConfig& tls);

/**
 * `planbro --validate-config FILE`: every problem at once — YAML, schema, cross-field and the TLS files (checked
 * by `check_tls` on the config as far as it could be read). Ok, or kInvalidArgument / kNotFound listing them.
 */
Status validateConfigFile(const std::string& path, const TlsFileCheck& check_tls);

}  // namespace planbro::gateway::config
