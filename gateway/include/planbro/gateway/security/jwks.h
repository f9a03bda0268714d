#pragma once
// The issuer's public signing keys (a JWKS, RFC 7517), and where they come from: a file read at start, or a URL
// fetched with libcurl, cached, and refetched when a token names an unknown `kid` — at most once per interval, so a
// stream of tokens with made-up key ids cannot turn the gateway into a load generator against the issuer.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "planbro/fhir-model/status.h"

namespace planbro::gateway::security {

/** A parsed key set: RSA (at least 2048 bits) and EC P-256 public signing keys only; symmetric ("oct") keys, keys
 *  with private members and keys whose `use` is not "sig" are left out (an HMAC key can never verify a token). */
class Jwks {
 public:
  ~Jwks();
  Jwks(const Jwks&) = delete;
  Jwks& operator=(const Jwks&) = delete;

  /** Parses a JWKS document. Errors: not JSON, no `keys` array, no usable key (kInvalidArgument). */
  static Result<std::shared_ptr<const Jwks>> parse(std::string_view json);

  size_t size() const;
  /** The key for `kid` usable with `alg` (kty matching the algorithm, `alg` member equal if present): a borrowed
   *  jansson json_t*, valid as long as this Jwks; nullptr if none. An empty kid matches when exactly one key fits. */
  const void* find(std::string_view kid, std::string_view alg) const;

  struct Impl;

 private:
  explicit Jwks(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/** Where the keys come from. Thread-safe. */
class KeySource {
 public:
  virtual ~KeySource() = default;
  /** The keys in use now (never null once started; a source that never loaded returns an empty set). */
  virtual std::shared_ptr<const Jwks> current() const = 0;
  /** A token named a kid not in current(): refetch if the interval since the last fetch has passed, and return the
   *  keys then in use. May block (network). */
  virtual std::shared_ptr<const Jwks> refreshForUnknownKid() = 0;
  virtual bool mayBlock() const = 0;
};

/** Keys from a file read once (auth.jwks_file). Errors: unreadable, larger than 1 MiB, or no usable key. */
Result<std::shared_ptr<KeySource>> loadJwksFile(const std::string& path);

/** Keys from `jwks` already parsed (tests, the development key). */
std::shared_ptr<KeySource> staticKeySource(std::shared_ptr<const Jwks> jwks);

struct JwksUrlOptions {
  std::string url;                                  // https:// (http:// only for loopback tests)
  std::chrono::seconds refresh_interval{300};       // at most one refetch per interval on an unknown kid
  std::chrono::milliseconds timeout{5000};          // one fetch, connect and transfer
  size_t max_bytes = 1 << 20;                       // a larger answer is refused
};

/** Keys from a URL (auth.jwks_url), fetched now (a failure stops the start) and on unknown kids. */
Result<std::shared_ptr<KeySource>> fetchJwksUrl(const JwksUrlOptions& options);

}  // namespace planbro::gateway::security
