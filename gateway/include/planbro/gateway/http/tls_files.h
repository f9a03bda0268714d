#pragma once
// Checks of the TLS certificate and private key files (server.tls.*) before anything listens: for the server's
// start and for `planbro --validate-config`, which reports every problem at once.

#include <string>
#include <vector>

#include "planbro/gateway/config/gateway_config.h"

namespace planbro::gateway::http {

/**
 * Loads `tls.certificate_file` and `tls.private_key_file` and checks that both exist and are readable, that the
 * certificate file holds at least one PEM certificate (the leaf first) that has not expired, that the key is a PEM
 * private key that is not encrypted (an encrypted key is refused; no pass-phrase is ever asked for), and that the
 * key belongs to the leaf certificate. Returns one message per problem, each starting with the key it is about
 * (`server.tls.private_key_file: ...`); empty when TLS is off or the files are usable. Never throws, never blocks
 * on a terminal.
 */
std::vector<std::string> checkTlsFiles(const config::TlsConfig& tls);

/**
 * An OpenSSL pem_password_cb that refuses (returns -1) instead of prompting on a terminal: install it wherever a
 * private key is loaded, so an encrypted key fails at once.
 */
int refusePassphrase(char* buf, int size, int rwflag, void* userdata);

}  // namespace planbro::gateway::http
