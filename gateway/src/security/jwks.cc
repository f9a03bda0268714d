#include "planbro/gateway/security/jwks.h"

#include <curl/curl.h>
#include <sys/stat.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

#include "jose_util.h"

namespace planbro::gateway::security {

struct Jwks::Impl {
  struct Key {
    std::string kid;
    detail::JsonPtr jwk;
  };
  std::vector<Key> keys;
};

Jwks::Jwks(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Jwks::~Jwks() = default;

size_t Jwks::size() const { return impl_->keys.size(); }

const void* Jwks::find(std::string_view kid, std::string_view alg) const {
  const json_t* only = nullptr;
  size_t fitting = 0;
  for (const Impl::Key& k : impl_->keys) {
    if (!detail::publicKeyFits(k.jwk.get(), alg)) continue;
    if (!kid.empty() && k.kid == kid) return k.jwk.get();
    ++fitting;
    only = k.jwk.get();
  }
  return kid.empty() && fitting == 1 ? only : nullptr;
}

Result<std::shared_ptr<const Jwks>> Jwks::parse(std::string_view json) {
  detail::JsonPtr doc = detail::parseObject(json);
  if (!doc) return invalidArgument("the JWKS is not a JSON object");
  const json_t* keys = json_object_get(doc.get(), "keys");
  if (!json_is_array(keys)) return invalidArgument("the JWKS has no \"keys\" array");
  auto impl = std::make_unique<Impl>();
  for (size_t i = 0; i < json_array_size(keys); ++i) {
    const json_t* k = json_array_get(keys, i);
    bool usable = false;
    for (std::string_view alg : {"RS256", "PS256", "ES256"}) usable = usable || detail::publicKeyFits(k, alg);
    if (!usable) continue;  // oct, private, encryption-only or too-short keys never verify anything
    std::string kid(detail::stringMember(k, "kid").value_or(""));
    impl->keys.push_back({std::move(kid), detail::JsonPtr(json_deep_copy(k))});
  }
  if (impl->keys.empty()) return invalidArgument("the JWKS holds no RSA (2048 bits or more) or EC P-256 public key");
  return std::shared_ptr<const Jwks>(new Jwks(std::move(impl)));
}

namespace {

class StaticKeySource : public KeySource {
 public:
  explicit StaticKeySource(std::shared_ptr<const Jwks> jwks) : jwks_(std::move(jwks)) {}
  std::shared_ptr<const Jwks> current() const override { return jwks_; }
  std::shared_ptr<const Jwks> refreshForUnknownKid() override { return jwks_; }
  bool mayBlock() const override { return false; }

 private:
  std::shared_ptr<const Jwks> jwks_;
};

size_t appendBody(char* data, size_t size, size_t count, void* user) {
  auto* state = static_cast<std::pair<std::string, size_t>*>(user);
  size_t n = size * count;
  if (state->first.size() + n > state->second) return 0;  // too large: libcurl aborts the transfer
  state->first.append(data, n);
  return n;
}

Result<std::string> fetch(const JwksUrlOptions& o) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return unavailable("cannot start a JWKS fetch");
  std::pair<std::string, size_t> state{std::string(), o.max_bytes};
  curl_easy_setopt(curl, CURLOPT_URL, o.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(o.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.timeout.count()));
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(o.max_bytes));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &state);
  CURLcode rc = curl_easy_perform(curl);
  long http_status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK) return unavailable(std::string("JWKS fetch failed: ") + curl_easy_strerror(rc));
  if (http_status != 200) return unavailable("JWKS fetch answered HTTP " + std::to_string(http_status));
  return std::move(state.first);
}

class UrlKeySource : public KeySource {
 public:
  explicit UrlKeySource(JwksUrlOptions options) : options_(std::move(options)) {}

  Status load() {
    auto body = fetch(options_);
    if (!body.isOk()) return body.status();
    auto parsed = Jwks::parse(*body);
    if (!parsed.isOk()) return parsed.status();
    std::lock_guard lock(mutex_);
    jwks_ = std::move(parsed).value();  // the first unknown kid after start may refetch at once (a rotation)
    return Status::ok();
  }

  std::shared_ptr<const Jwks> current() const override {
    std::lock_guard lock(mutex_);
    return jwks_;
  }

  std::shared_ptr<const Jwks> refreshForUnknownKid() override {
    {
      std::lock_guard lock(mutex_);
      auto now = std::chrono::steady_clock::now();
      if (fetching_ || (last_fetch_ && now - *last_fetch_ < options_.refresh_interval)) return jwks_;
      fetching_ = true;
      last_fetch_ = now;  // counted from the attempt: a failing issuer is not asked again within the interval
    }
    auto body = fetch(options_);
    std::shared_ptr<const Jwks> fresh;
    if (body.isOk()) {
      if (auto parsed = Jwks::parse(*body); parsed.isOk()) fresh = std::move(parsed).value();
    }
    std::lock_guard lock(mutex_);
    fetching_ = false;
    if (fresh) jwks_ = std::move(fresh);  // a failed refetch keeps the keys that worked
    return jwks_;
  }

  bool mayBlock() const override { return true; }

 private:
  JwksUrlOptions options_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Jwks> jwks_;
  std::optional<std::chrono::steady_clock::time_point> last_fetch_;  // of the last refetch for an unknown kid
  bool fetching_ = false;
};

}  // namespace

std::shared_ptr<KeySource> staticKeySource(std::shared_ptr<const Jwks> jwks) {
  return std::make_shared<StaticKeySource>(std::move(jwks));
}

Result<std::shared_ptr<KeySource>> loadJwksFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return invalidArgument("auth.jwks_file: " + path + " is not a readable regular file");
  }
  if (st.st_size > (1 << 20)) return invalidArgument("auth.jwks_file: " + path + " is larger than 1 MiB");
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return invalidArgument("auth.jwks_file: cannot read " + path);
  auto parsed = Jwks::parse(text.str());
  if (!parsed.isOk()) return invalidArgument("auth.jwks_file: " + path + ": " + parsed.status().message());
  return staticKeySource(std::move(parsed).value());
}

Result<std::shared_ptr<KeySource>> fetchJwksUrl(const JwksUrlOptions& options) {
  auto source = std::make_shared<UrlKeySource>(options);
  if (Status s = source->load(); !s.isOk()) return invalidArgument("auth.jwks_url: " + s.message());
  return std::shared_ptr<KeySource>(std::move(source));
}

}  // namespace planbro::gateway::security
