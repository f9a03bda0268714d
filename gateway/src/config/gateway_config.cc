#include "planbro/gateway/config/gateway_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

namespace planbro::gateway::config {
namespace {

constexpr std::string_view kDefaultYaml = R"yaml(# planbro embedded default: what `planbro serve` runs with when no --config is given.
server:
  listen: 127.0.0.1:8080
  io_threads: 4
  worker_threads: 4
  write_threads: 64
  shutdown_timeout_ms: 10000
  gzip_min_bytes: 1024
limits:
  max_header_bytes: 16384
  max_body_bytes: 16777216
  max_connections: 16384
  read_timeout_ms: 30000
  write_timeout_ms: 30000
  idle_timeout_ms: 60000
  max_inflight_body_bytes: 268435456
  json:
    max_depth: 256
    max_number_length: 64
    max_string_bytes: 33554432
store:
  engine: sqlite
  data_dir: ./data
  sqlite_file: planbro.db
  postgres_url: ""
  pool_size: 0
  read_cache_mb: 64
logging:
  level: info
  format: json
  access_log: true
demo_data:
  load_once: true
)yaml";

constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};

// Quotes a scalar for an error message; long values are cut so a mistaken paste of a secret or a blob stays short.
std::string shown(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "null";
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  std::string s = node.Scalar();
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return "\"" + s + "\"";
}

// Walks the YAML tree against the schema, collecting every error rather than stopping at the first.
class Reader {
 public:
  std::vector<std::string>& errors() { return errors_; }

  void error(const std::string& path, const std::string& rule, const std::string& got) {
    errors_.push_back(path + ": " + rule + " (got " + got + ")");
  }

  // Returns the mapping at `path` (an absent or null section reads as empty); rejects keys outside `allowed`.
  bool mapping(const YAML::Node& node, const std::string& path, std::initializer_list<std::string_view> allowed) {
    if (!node.IsDefined() || node.IsNull()) return false;
    if (!node.IsMap()) {
      error(path.empty() ? "(top level)" : path, "must be a mapping of keys", shown(node));
      return false;
    }
    for (const auto& kv : node) {
      std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string allowed_list;
        for (auto a : allowed) allowed_list += (allowed_list.empty() ? "" : ", ") + std::string(a);
        errors_.push_back((path.empty() ? key : path + "." + key) + ": unknown key (allowed: " + allowed_list + ")");
      }
    }
    return true;
  }

  template <typename T>
  void integer(const YAML::Node& parent, std::string_view key, const std::string& path, T& out, uint64_t min,
               uint64_t max) {
    YAML::Node node = parent[std::string(key)];
    if (!node.IsDefined()) return;
    std::string full = path + "." + std::string(key);
    if (!node.IsScalar()) {
      error(full, "must be an integer between " + std::to_string(min) + " and " + std::to_string(max), shown(node));
      return;
    }
    const std::string& s = node.Scalar();
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
      error(full, "must be an integer between " + std::to_string(min) + " and " + std::to_string(max), shown(node));
      return;
    }
    if (v < min || v > max) {
      error(full, "must be between " + std::to_string(min) + " and " + std::to_string(max), s);
      return;
    }
    out = static_cast<T>(v);
  }

  void boolean(const YAML::Node& parent, std::string_view key, const std::string& path, bool& out) {
    YAML::Node node = parent[std::string(key)];
    if (!node.IsDefined()) return;
    std::string full = path + "." + std::string(key);
    std::string s = node.IsScalar() ? node.Scalar() : "";
    if (s == "true" || s == "True" || s == "TRUE") {
      out = true;
    } else if (s == "false" || s == "False" || s == "FALSE") {
      out = false;
    } else {
      error(full, "must be true or false", shown(node));
    }
  }

  // A list of exact web origins ("https://host" or "http://host:port": scheme and authority, nothing after).
  void origins(const YAML::Node& parent, std::string_view key, const std::string& path, std::vector<std::string>& out) {
    YAML::Node node = parent[std::string(key)];
    if (!node.IsDefined() || node.IsNull()) return;
    std::string full = path + "." + std::string(key);
    if (!node.IsSequence()) return error(full, "must be a list of origins such as https://www.example.no", shown(node));
    out.clear();
    for (size_t i = 0; i < node.size(); ++i) {
      std::string item = full + "[" + std::to_string(i) + "]";
      if (!node[i].IsScalar()) {
        error(item, "must be an origin such as https://www.example.no", shown(node[i]));
        continue;
      }
      const std::string& o = node[i].Scalar();
      size_t scheme = o.rfind("https://", 0) == 0 ? 8 : o.rfind("http://", 0) == 0 ? 7 : 0;
      bool ok = scheme > 0 && o.size() > scheme &&
                o.find_first_of("/?#* \t", scheme) == std::string::npos;
      if (!ok) {
        error(item, "must be an exact origin: http(s)://host[:port], no path, no wildcard", shown(node[i]));
        continue;
      }
      out.push_back(o);
    }
  }

  // Returns false (and records an error) when present but not a scalar; `out` untouched when absent.
  bool string(const YAML::Node& parent, std::string_view key, const std::string& path, std::string& out) {
    YAML::Node node = parent[std::string(key)];
    if (!node.IsDefined()) return false;
    if (node.IsNull()) {
      out.clear();
      return true;
    }
    if (!node.IsScalar()) {
      error(path + "." + std::string(key), "must be a string", shown(node));
      return false;
    }
    out = node.Scalar();
    return true;
  }

 private:
  std::vector<std::string> errors_;
};

void readConfig(const YAML::Node& root, Reader& r, GatewayConfig& c) {
  if (!r.mapping(root, "", {"server", "limits", "store", "logging", "demo_data"})) return;

  if (YAML::Node n = root["server"];
      r.mapping(n, "server", {"listen", "io_threads", "worker_threads", "write_threads", "shutdown_timeout_ms",
                              "gzip_min_bytes", "tls", "cors", "metrics_listen"})) {
    if (r.string(n, "metrics_listen", "server", c.server.metrics_listen) && !c.server.metrics_listen.empty()) {
      Status s = parseListen(c.server.metrics_listen, c.server.metrics_host, c.server.metrics_port);
      if (!s.isOk()) r.error("server.metrics_listen", s.message(), "\"" + c.server.metrics_listen + "\"");
    }
    if (YAML::Node cors = n["cors"]; r.mapping(cors, "server.cors", {"allowed_origins"})) {
      r.origins(cors, "allowed_origins", "server.cors", c.server.cors.allowed_origins);
    }
    if (YAML::Node t = n["tls"]; r.mapping(t, "server.tls", {"certificate_file", "private_key_file", "min_version"})) {
      r.string(t, "certificate_file", "server.tls", c.server.tls.certificate_file);
      r.string(t, "private_key_file", "server.tls", c.server.tls.private_key_file);
      r.string(t, "min_version", "server.tls", c.server.tls.min_version);
    }
    std::string listen;
    if (r.string(n, "listen", "server", listen)) {
      Status s = parseListen(listen, c.server.host, c.server.port);
      if (!s.isOk()) r.error("server.listen", s.message(), "\"" + listen + "\"");
    }
    r.integer(n, "io_threads", "server", c.server.io_threads, 1, 256);
    r.integer(n, "worker_threads", "server", c.server.worker_threads, 0, 1024);
    r.integer(n, "write_threads", "server", c.server.write_threads, 0, 1024);
    r.integer(n, "shutdown_timeout_ms", "server", c.server.shutdown_timeout_ms, 0, 3'600'000);
    r.integer(n, "gzip_min_bytes", "server", c.server.gzip_min_bytes, 0, std::numeric_limits<uint32_t>::max());
  }

  if (YAML::Node n = root["limits"]; r.mapping(n, "limits", {"max_header_bytes", "max_body_bytes", "max_connections",
                                                              "read_timeout_ms", "write_timeout_ms", "idle_timeout_ms",
                                                              "json", "max_inflight_body_bytes"})) {
    r.integer(n, "max_header_bytes", "limits", c.limits.max_header_bytes, 1024, 1u << 20);
    r.integer(n, "max_body_bytes", "limits", c.limits.max_body_bytes, 1, 1ull << 32);
    r.integer(n, "max_connections", "limits", c.limits.max_connections, 1, 1'000'000);
    r.integer(n, "read_timeout_ms", "limits", c.limits.read_timeout_ms, 1, 3'600'000);
    r.integer(n, "write_timeout_ms", "limits", c.limits.write_timeout_ms, 1, 3'600'000);
    r.integer(n, "idle_timeout_ms", "limits", c.limits.idle_timeout_ms, 1, 86'400'000);
    r.integer(n, "max_inflight_body_bytes", "limits", c.limits.max_inflight_body_bytes, 1, 1ull << 40);
    if (YAML::Node j = n["json"];
        r.mapping(j, "limits.json", {"max_depth", "max_number_length", "max_string_bytes"})) {
      r.integer(j, "max_depth", "limits.json", c.limits.json_max_depth, 1, 10'000);
      r.integer(j, "max_number_length", "limits.json", c.limits.json_max_number_length, 1, 10'000);
      r.integer(j, "max_string_bytes", "limits.json", c.limits.json_max_string_bytes, 1,
                std::numeric_limits<uint32_t>::max());
    }
  }

  if (YAML::Node n = root["store"];
      r.mapping(n, "store", {"engine", "data_dir", "sqlite_file", "postgres_url", "pool_size",
                                             "read_cache_mb"})) {
    std::string engine;
    if (r.string(n, "engine", "store", engine)) {
      if (engine == "sqlite") {
        c.store.engine = StoreEngine::kSqlite;
      } else if (engine == "postgresql") {
        c.store.engine = StoreEngine::kPostgresql;
      } else {
        r.error("store.engine", "must be one of sqlite, postgresql", "\"" + engine + "\"");
      }
    }
    r.string(n, "data_dir", "store", c.store.data_dir);
    r.string(n, "sqlite_file", "store", c.store.sqlite_file);
    r.string(n, "postgres_url", "store", c.store.postgres_url);
    r.integer(n, "pool_size", "store", c.store.pool_size, 0, 1024);
    r.integer(n, "read_cache_mb", "store", c.store.read_cache_mb, 0, 65536);
  }

  if (YAML::Node n = root["logging"]; r.mapping(n, "logging", {"level", "format", "access_log"})) {
    std::string level;
    if (r.string(n, "level", "logging", level)) {
      if (std::find(std::begin(kLogLevels), std::end(kLogLevels), level) == std::end(kLogLevels)) {
        r.error("logging.level", "must be one of trace, debug, info, warn, error, critical, off", "\"" + level + "\"");
      } else {
        c.logging.level = level;
      }
    }
    std::string format;
    if (r.string(n, "format", "logging", format)) {
      if (format == "json") {
        c.logging.format = LogFormat::kJson;
      } else if (format == "text") {
        c.logging.format = LogFormat::kText;
      } else {
        r.error("logging.format", "must be one of json, text", "\"" + format + "\"");
      }
    }
    r.boolean(n, "access_log", "logging", c.logging.access_log);
  }

  if (YAML::Node n = root["demo_data"]; r.mapping(n, "demo_data", {"load_once"})) {
    r.boolean(n, "load_once", "demo_data", c.demo_data.load_once);
  }
}

Status joined(const std::vector<std::string>& errors) {
  std::string message;
  for (const auto& e : errors) message += (message.empty() ? "" : "\n") + e;
  return invalidArgument(std::move(message));
}

}  // namespace

std::string StoreConfig::sqlitePath() const {
  if (!sqlite_file.empty() && sqlite_file.front() == '/') return sqlite_file;
  if (data_dir.empty()) return sqlite_file;
  return data_dir.back() == '/' ? data_dir + sqlite_file : data_dir + "/" + sqlite_file;
}

fhir::JsonLimits GatewayConfig::jsonLimits() const {
  fhir::JsonLimits l;
  l.max_bytes = static_cast<size_t>(limits.max_body_bytes);
  l.max_depth = limits.json_max_depth;
  l.max_number_length = limits.json_max_number_length;
  l.max_string_bytes = limits.json_max_string_bytes;
  return l;
}

std::string_view embeddedDefaultConfigYaml() { return kDefaultYaml; }

GatewayConfig defaultConfig() {
  Result<GatewayConfig> c = parseConfig(kDefaultYaml, "embedded default");
  return c.isOk() ? *c : GatewayConfig{};
}

Status parseListen(std::string_view listen, std::string& host, uint16_t& port) {
  std::string_view h;
  std::string_view p;
  if (!listen.empty() && listen.front() == '[') {
    size_t close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return invalidArgument("must be HOST:PORT or [IPv6]:PORT");
    }
    h = listen.substr(1, close - 1);
    p = listen.substr(close + 2);
  } else {
    size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos || listen.find(':') != colon) {
      return invalidArgument("must be HOST:PORT or [IPv6]:PORT");
    }
    h = listen.substr(0, colon);
    p = listen.substr(colon + 1);
  }
  if (h.empty()) return invalidArgument("must name a host before the port");
  for (char ch : h) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
              ch == '-' || ch == ':' || ch == '%';
    if (!ok) return invalidArgument("host must be an IP address or a host name");
  }
  unsigned v = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  if (p.empty() || ec != std::errc() || end != p.data() + p.size() || v > 65535) {
    return invalidArgument("port must be an integer between 0 and 65535");
  }
  host = std::string(h);
  port = static_cast<uint16_t>(v);
  return Status::ok();
}

std::vector<std::string> validateConfig(const GatewayConfig& c) {
  std::vector<std::string> errors;
  if (c.server.io_threads < 1 || c.server.io_threads > 256) {
    errors.push_back("server.io_threads: must be between 1 and 256 (got " + std::to_string(c.server.io_threads) + ")");
  }
  if (c.store.engine == StoreEngine::kPostgresql && c.store.postgres_url.empty()) {
    errors.push_back("store.postgres_url: must be set when store.engine is postgresql (got \"\")");
  }
  if (c.store.engine == StoreEngine::kSqlite) {
    if (c.store.sqlite_file.empty()) errors.push_back("store.sqlite_file: must not be empty (got \"\")");
    if (c.store.data_dir.empty() && (c.store.sqlite_file.empty() || c.store.sqlite_file.front() != '/')) {
      errors.push_back("store.data_dir: must not be empty unless store.sqlite_file is absolute (got \"\")");
    }
  }
  const TlsConfig& tls = c.server.tls;
  if (tls.enabled()) {
    if (tls.certificate_file.empty()) errors.push_back("server.tls.certificate_file: must be set with server.tls.private_key_file (got \"\")");
    if (tls.private_key_file.empty()) errors.push_back("server.tls.private_key_file: must be set with server.tls.certificate_file (got \"\")");
  }
  if (tls.min_version != "1.2" && tls.min_version != "1.3") {
    errors.push_back("server.tls.min_version: must be \"1.2\" or \"1.3\" (got \"" + tls.min_version + "\")");
  }
  if (c.limits.max_inflight_body_bytes < c.limits.max_body_bytes) {
    errors.push_back("limits.max_inflight_body_bytes: must be at least limits.max_body_bytes (" +
                     std::to_string(c.limits.max_body_bytes) + "), or no maximal request could ever be read (got " +
                     std::to_string(c.limits.max_inflight_body_bytes) + ")");
  }
  if (c.limits.idle_timeout_ms < 1) errors.push_back("limits.idle_timeout_ms: must be between 1 and 86400000 (got 0)");
  return errors;
}

Result<GatewayConfig> parseConfig(std::string_view yaml, std::string_view source_name) {
  GatewayConfig config;
  Reader reader;
  if (source_name != "embedded default") config = defaultConfig();
  try {
    YAML::Node root = YAML::Load(std::string(yaml));
    readConfig(root, reader, config);
  } catch (const YAML::Exception& e) {
    // Syntax errors: yaml-cpp's mark is 0-based.
    std::ostringstream m;
    m << source_name << ": invalid YAML at line " << (e.mark.line + 1) << ", column " << (e.mark.column + 1) << ": "
      << e.msg;
    return invalidArgument(m.str());
  } catch (const std::exception& e) {
    return invalidArgument(std::string(source_name) + ": cannot read YAML: " + e.what());
  }
  if (reader.errors().empty()) {
    for (auto& e : validateConfig(config)) reader.errors().push_back(std::move(e));
  }
  if (!reader.errors().empty()) return joined(reader.errors());
  return config;
}

Result<GatewayConfig> loadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot open config file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return notFound("cannot read config file " + path);
  constexpr size_t kMaxConfigBytes = 1u << 20;
  if (text.str().size() > kMaxConfigBytes) return invalidArgument(path + ": larger than 1 MiB; not a config file");
  return parseConfig(text.str(), path);
}

Status applyOverrides(GatewayConfig& config, const ConfigOverrides& overrides) {
  std::vector<std::string> errors;
  if (overrides.listen) {
    Status s = parseListen(*overrides.listen, config.server.host, config.server.port);
    if (!s.isOk()) errors.push_back("--listen: " + s.message() + " (got \"" + *overrides.listen + "\")");
  }
  if (overrides.data_dir) {
    if (overrides.data_dir->empty()) {
      errors.push_back("--data-dir: must not be empty (got \"\")");
    } else {
      config.store.data_dir = *overrides.data_dir;
    }
  }
  if (overrides.threads) {
    if (*overrides.threads < 1 || *overrides.threads > 256) {
      errors.push_back("--threads: must be between 1 and 256 (got " + std::to_string(*overrides.threads) + ")");
    } else {
      config.server.io_threads = *overrides.threads;
    }
  }
  if (errors.empty()) errors = validateConfig(config);
  if (!errors.empty()) return joined(errors);
  return Status::ok();
}

Status validateConfigFile(const std::string& path) {
  Result<GatewayConfig> c = loadConfig(path);
  return c.isOk() ? Status::ok() : c.status();
}

}  // namespace planbro::gateway::config
