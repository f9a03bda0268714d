#include "planbro/gateway/config/gateway_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>

#include "planbro/gateway/config/tls_files.h"
#include "yaml_structure.h"

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
  max_index_rows_per_resource: 10000
  max_index_rows_per_transaction: 200000
  max_bundle_work_rows: 1000000
  json:
    max_depth: 256
    max_number_length: 64
    max_string_bytes: 33554432
  max_bundle_response_bytes: 67108864
  search:
    max_parameters: 100
    max_or_values: 1000
    max_chain_depth: 3
    max_work_rows: 250000
    max_included: 500
    max_chain_matches: 1000
    max_sort_candidates: 5000
    max_total: 100000
    max_query_steps: 200000000
    max_page_bytes: 67108864
  fhirpath:
    max_steps: 5000000
    max_collection_items: 500000
    max_string_bytes: 4194304
  xml:
    max_attributes: 64
    max_name_bytes: 256
  validation:
    max_issues: 1000
  regex:
    max_pattern_bytes: 4096
    max_program_size: 100000
store:
  engine: sqlite
  data_dir: ./data
  sqlite_file: planbro.db
  postgres_url: ""
  pool_size: 0
  read_cache_mb: 64
  statement_cache_kb: 4096
logging:
  level: info
  format: json
  access_log: true
demo_data:
  load_once: false
rest:
  check_references: true
  transaction_writer_budget_ms: 10000
ip_figures:
  max_work_rows: 2000000
  max_period_years: 10
dispatch:
  node_id: ""
  partitions: 16
  max_in_flight: 64
  max_queued: 10000
  read_batch: 500
  max_attempts: 10
  max_age_s: 86400
  backoff_initial_ms: 500
  backoff_max_ms: 300000
  lease_ttl_ms: 30000
  poll_interval_ms: 50
  commit_interval_ms: 100
  stuck_after_s: 300
  admin_api: false
  admin_scope: system/planbro.dispatch-admin
  subscribers: []
  subscriptions:
    enabled: false
    poll_interval_ms: 1000
    max_active: 1000
    allow_plain_http: false
    allowed_endpoints: []
    max_headers: 10
    max_criteria_bytes: 4096
    min_heartbeat_s: 10
    timeout_ms: 10000
    connect_timeout_ms: 5000
    max_filters: 10
    receive_notifications: false
    receive_scope: system/planbro.subscription-notify
    receive_max_entries: 100
    max_pings_per_round: 32
    max_parallel_pings: 8
    events_max_count: 100
    events_max_scanned: 10000
ip_read:
  max_plans_per_patient: 100
  deadlines_max_within_days: 366
  deadlines_max_plans: 10000
  narrative_max_references: 200
ip:
  max_handover_overlap_days: 30
  provenance: true
auth:
  mode: open
adapters:
  plo:
    enabled: false
    data_dir: ""
    max_message_bytes: 33554432
    max_depth: 64
    apprec_version: "1.1"
    require_signature: false
    verify_signatures: false
    trusted_certificates_file: ""
    her_id: ""
    name: ""
    spool:
      in: ""
      out: ""
      error: ""
      work: ""
      poll_interval_ms: 1000
      max_files_per_poll: 100
      workers: 16
    msh:
      base_url: ""
      token_endpoint: ""
      client_id: ""
      key_file: ""
      scope: ""
      source_system: planbro
      api_version: "2"
      ca_file: ""
      poll_interval_ms: 5000
      max_messages_per_poll: 100
      connect_timeout_ms: 5000
      timeout_ms: 30000
      max_attempts: 4
      backoff_initial_ms: 500
      backoff_max_ms: 10000
      allow_plain_http: false
      max_failures_per_message: 5
    apprec_timeout_minutes: 60
    apprec_max_resends: 2
    apprec_max_per_sweep: 100
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
    // `got` is already quoted; cut long ones as shown() does (enumerations and listen addresses pass here raw).
    std::string value = got.size() > 62 ? got.substr(0, 58) + "...\"" : got;
    errors_.push_back(path + ": " + rule + " (got " + value + ")");
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

  // A list of plain strings (client ids, algorithm names); `out` replaced when present.
  void stringList(const YAML::Node& parent, std::string_view key, const std::string& path, std::vector<std::string>& out) {
    YAML::Node node = parent[std::string(key)];
    if (!node.IsDefined()) return;
    std::string full = path + "." + std::string(key);
    out.clear();
    if (node.IsNull()) return;
    if (!node.IsSequence()) return error(full, "must be a list of strings", shown(node));
    for (size_t i = 0; i < node.size(); ++i) {
      if (!node[i].IsScalar() || node[i].Scalar().empty()) {
        error(full + "[" + std::to_string(i) + "]", "must be a non-empty string", shown(node[i]));
        continue;
      }
      out.push_back(node[i].Scalar());
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

// `dispatch.subscriptions.*` (docs/dispatch.md, "Subscriptions").
void readDispatchSubscriptions(const YAML::Node& n, Reader& r, DispatchSubscriptionsConfig& s) {
  const std::string path = "dispatch.subscriptions";
  if (!r.mapping(n, path, {"enabled", "poll_interval_ms", "max_active", "allow_plain_http", "allowed_endpoints",
                           "max_headers", "max_criteria_bytes", "min_heartbeat_s", "timeout_ms",
                           "connect_timeout_ms", "max_filters", "receive_notifications", "receive_scope",
                           "receive_max_entries", "max_pings_per_round", "max_parallel_pings", "events_max_count",
                           "events_max_scanned"})) {
    return;
  }
  r.boolean(n, "enabled", path, s.enabled);
  r.integer(n, "poll_interval_ms", path, s.poll_interval_ms, 10, 600'000);
  r.integer(n, "max_active", path, s.max_active, 1, 100'000);
  r.boolean(n, "allow_plain_http", path, s.allow_plain_http);
  r.stringList(n, "allowed_endpoints", path, s.allowed_endpoints);
  r.integer(n, "max_headers", path, s.max_headers, 0, 100);
  r.integer(n, "max_criteria_bytes", path, s.max_criteria_bytes, 16, 65'536);
  r.integer(n, "min_heartbeat_s", path, s.min_heartbeat_s, 1, 86'400);
  r.integer(n, "timeout_ms", path, s.timeout_ms, 100, 600'000);
  r.integer(n, "connect_timeout_ms", path, s.connect_timeout_ms, 100, 600'000);
  r.integer(n, "max_filters", path, s.max_filters, 0, 100);
  r.boolean(n, "receive_notifications", path, s.receive_notifications);
  r.string(n, "receive_scope", path, s.receive_scope);
  r.integer(n, "receive_max_entries", path, s.receive_max_entries, 1, 10'000);
  r.integer(n, "max_pings_per_round", path, s.max_pings_per_round, 1, 1000);
  r.integer(n, "max_parallel_pings", path, s.max_parallel_pings, 1, 64);
  r.integer(n, "events_max_count", path, s.events_max_count, 1, 1000);
  r.integer(n, "events_max_scanned", path, s.events_max_scanned, 1, 1'000'000);
}

// `dispatch.*` (docs/dispatch.md): the dispatcher's bounds and its rest-hook subscribers.
void readDispatch(const YAML::Node& n, Reader& r, DispatchConfig& d) {
  if (!r.mapping(n, "dispatch", {"node_id", "partitions", "max_in_flight", "max_queued", "read_batch", "max_attempts",
                                 "max_age_s", "backoff_initial_ms", "backoff_max_ms", "lease_ttl_ms",
                                 "poll_interval_ms", "commit_interval_ms", "stuck_after_s", "admin_api", "admin_scope",
                                 "subscribers", "subscriptions"})) {
    return;
  }
  r.string(n, "node_id", "dispatch", d.node_id);
  r.integer(n, "partitions", "dispatch", d.partitions, 1, 4096);
  r.integer(n, "max_in_flight", "dispatch", d.max_in_flight, 1, 10'000);
  r.integer(n, "max_queued", "dispatch", d.max_queued, 1, 1'000'000);
  r.integer(n, "read_batch", "dispatch", d.read_batch, 1, 1000);
  r.integer(n, "max_attempts", "dispatch", d.max_attempts, 1, 1000);
  r.integer(n, "max_age_s", "dispatch", d.max_age_s, 1, 30u * 86400);
  r.integer(n, "backoff_initial_ms", "dispatch", d.backoff_initial_ms, 1, 3'600'000);
  r.integer(n, "backoff_max_ms", "dispatch", d.backoff_max_ms, 1, 86'400'000);
  r.integer(n, "lease_ttl_ms", "dispatch", d.lease_ttl_ms, 1000, 3'600'000);
  r.integer(n, "poll_interval_ms", "dispatch", d.poll_interval_ms, 1, 60'000);
  r.integer(n, "commit_interval_ms", "dispatch", d.commit_interval_ms, 0, 60'000);
  r.integer(n, "stuck_after_s", "dispatch", d.stuck_after_s, 1, 30u * 86400);
  r.boolean(n, "admin_api", "dispatch", d.admin_api);
  r.string(n, "admin_scope", "dispatch", d.admin_scope);
  readDispatchSubscriptions(n["subscriptions"], r, d.subscriptions);
  YAML::Node subs = n["subscribers"];
  if (!subs.IsDefined() || subs.IsNull()) return;
  if (!subs.IsSequence()) return r.error("dispatch.subscribers", "must be a list of subscribers", shown(subs));
  d.subscribers.clear();
  for (size_t i = 0; i < subs.size(); ++i) {
    const std::string path = "dispatch.subscribers[" + std::to_string(i) + "]";
    DispatchSubscriberConfig s;
    if (!r.mapping(subs[i], path, {"name", "endpoint", "payload", "headers", "source_system", "types", "start",
                                   "ca_file", "client_cert_file", "client_key_file", "timeout_ms",
                                   "connect_timeout_ms", "max_parallel", "allow_plain_http", "kind",
                                   "receiver_organization", "receiver_her_id"})) {
      r.error(path, "must be a mapping with at least name and endpoint", shown(subs[i]));
      continue;
    }
    const YAML::Node& e = subs[i];
    r.string(e, "name", path, s.name);
    r.string(e, "endpoint", path, s.endpoint);
    r.string(e, "payload", path, s.payload);
    r.stringList(e, "headers", path, s.headers);
    r.string(e, "source_system", path, s.source_system);
    r.stringList(e, "types", path, s.types);
    r.string(e, "start", path, s.start);
    r.string(e, "ca_file", path, s.ca_file);
    r.string(e, "client_cert_file", path, s.client_cert_file);
    r.string(e, "client_key_file", path, s.client_key_file);
    r.integer(e, "timeout_ms", path, s.timeout_ms, 100, 600'000);
    r.integer(e, "connect_timeout_ms", path, s.connect_timeout_ms, 100, 600'000);
    r.integer(e, "max_parallel", path, s.max_parallel, 1, 256);
    r.boolean(e, "allow_plain_http", path, s.allow_plain_http);
    r.string(e, "kind", path, s.kind);
    r.string(e, "receiver_organization", path, s.receiver_organization);
    r.string(e, "receiver_her_id", path, s.receiver_her_id);
    auto digits = [](const std::string& v) { return std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }); };
    if (!s.receiver_organization.empty() && (s.receiver_organization.size() != 9 || !digits(s.receiver_organization))) {
      r.error(path + ".receiver_organization", "must be a 9-digit organisation number", s.receiver_organization);
    }
    if (!s.receiver_her_id.empty() && (s.receiver_her_id.size() > 9 || !digits(s.receiver_her_id))) {
      r.error(path + ".receiver_her_id", "must be a HER-id (up to 9 digits)", s.receiver_her_id);
    }
    // A plo subscriber never sends back what arrived as a message (the adapter's own source system).
    if (s.kind == "plo" && s.source_system.empty()) s.source_system = "adapter:plo";
    d.subscribers.push_back(std::move(s));
  }
}

void readConfig(const YAML::Node& root, Reader& r, GatewayConfig& c) {
  if (!r.mapping(root, "", {"server", "limits", "store", "logging", "demo_data", "rest", "ip_figures", "dispatch", "ip_read", "ip", "auth", "adapters"})) return;

  if (YAML::Node n = root["server"];
      r.mapping(n, "server", {"listen", "io_threads", "worker_threads", "write_threads", "shutdown_timeout_ms",
                              "gzip_min_bytes", "tls", "base_url", "cors", "metrics_listen", "allow_insecure"})) {
    r.boolean(n, "allow_insecure", "server", c.server.allow_insecure);
    if (r.string(n, "metrics_listen", "server", c.server.metrics_listen) && !c.server.metrics_listen.empty()) {
      Status s = parseListen(c.server.metrics_listen, c.server.metrics_host, c.server.metrics_port);
      if (!s.isOk()) r.error("server.metrics_listen", s.message(), "\"" + c.server.metrics_listen + "\"");
    }
    if (YAML::Node cors = n["cors"]; r.mapping(cors, "server.cors", {"allowed_origins"})) {
      r.origins(cors, "allowed_origins", "server.cors", c.server.cors.allowed_origins);
    }
    if (YAML::Node t = n["tls"]; r.mapping(t, "server.tls", {"certificate_file", "private_key_file", "min_version",
                                                             "client_ca_file", "client_certificates"})) {
      r.string(t, "client_ca_file", "server.tls", c.server.tls.client_ca_file);
      r.string(t, "client_certificates", "server.tls", c.server.tls.client_certificates);
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
    r.string(n, "base_url", "server", c.server.base_url);  // checked in validateConfig
  }

  if (YAML::Node n = root["limits"]; r.mapping(n, "limits", {"max_header_bytes", "max_body_bytes", "max_connections",
                                                              "read_timeout_ms", "write_timeout_ms", "idle_timeout_ms",
                                                              "json", "max_bundle_response_bytes", "search", "max_patch_operations",
                                                              "fhirpath", "xml", "validation", "regex", "max_inflight_body_bytes",
                                                              "max_index_rows_per_resource", "max_index_rows_per_transaction",
                                                              "max_bundle_work_rows"})) {
    r.integer(n, "max_header_bytes", "limits", c.limits.max_header_bytes, 1024, 1u << 20);
    r.integer(n, "max_body_bytes", "limits", c.limits.max_body_bytes, 1, 1ull << 32);
    r.integer(n, "max_connections", "limits", c.limits.max_connections, 1, 1'000'000);
    r.integer(n, "read_timeout_ms", "limits", c.limits.read_timeout_ms, 1, 3'600'000);
    r.integer(n, "write_timeout_ms", "limits", c.limits.write_timeout_ms, 1, 3'600'000);
    r.integer(n, "idle_timeout_ms", "limits", c.limits.idle_timeout_ms, 1, 86'400'000);
    r.integer(n, "max_bundle_response_bytes", "limits", c.limits.max_bundle_response_bytes, 4096, 1ull << 34);
    r.integer(n, "max_patch_operations", "limits", c.limits.max_patch_operations, 1, 1'000'000);
    r.integer(n, "max_inflight_body_bytes", "limits", c.limits.max_inflight_body_bytes, 1, 1ull << 40);
    r.integer(n, "max_index_rows_per_resource", "limits", c.limits.max_index_rows_per_resource, 100, 10'000'000);
    r.integer(n, "max_index_rows_per_transaction", "limits", c.limits.max_index_rows_per_transaction, 100, 100'000'000);
    r.integer(n, "max_bundle_work_rows", "limits", c.limits.max_bundle_work_rows, 1000, 1'000'000'000'000);
    if (YAML::Node j = n["json"];
        r.mapping(j, "limits.json", {"max_depth", "max_number_length", "max_string_bytes"})) {
      r.integer(j, "max_depth", "limits.json", c.limits.json_max_depth, 1, 10'000);
      r.integer(j, "max_number_length", "limits.json", c.limits.json_max_number_length, 1, 10'000);
      r.integer(j, "max_string_bytes", "limits.json", c.limits.json_max_string_bytes, 1,
                std::numeric_limits<uint32_t>::max());
    }
    if (YAML::Node q = n["search"];
        r.mapping(q, "limits.search", {"max_parameters", "max_or_values", "max_chain_depth", "max_work_rows",
                                       "max_included", "max_chain_matches", "max_sort_candidates", "max_total",
                                       "max_query_steps", "max_page_bytes"})) {
      SearchLimitsConfig& sl = c.limits.search;
      r.integer(q, "max_parameters", "limits.search", sl.max_parameters, 1, 10'000);
      r.integer(q, "max_or_values", "limits.search", sl.max_or_values, 1, 100'000);
      r.integer(q, "max_chain_depth", "limits.search", sl.max_chain_depth, 1, 10);
      r.integer(q, "max_work_rows", "limits.search", sl.max_work_rows, 100, 1'000'000'000);
      r.integer(q, "max_included", "limits.search", sl.max_included, 0, 100'000);
      r.integer(q, "max_chain_matches", "limits.search", sl.max_chain_matches, 1, 1'000'000);
      r.integer(q, "max_sort_candidates", "limits.search", sl.max_sort_candidates, 1, 10'000'000);
      r.integer(q, "max_total", "limits.search", sl.max_total, 1, 1'000'000'000);
      r.integer(q, "max_query_steps", "limits.search", sl.max_query_steps, 0, 1'000'000'000'000);
      r.integer(q, "max_page_bytes", "limits.search", sl.max_page_bytes, 1024, 1ull << 40);
    }
    if (YAML::Node f = n["fhirpath"];
        r.mapping(f, "limits.fhirpath", {"max_steps", "max_collection_items", "max_string_bytes"})) {
      r.integer(f, "max_steps", "limits.fhirpath", c.limits.fhirpath_max_steps, 1000, 1'000'000'000);
      r.integer(f, "max_collection_items", "limits.fhirpath", c.limits.fhirpath_max_collection_items, 100, 100'000'000);
      r.integer(f, "max_string_bytes", "limits.fhirpath", c.limits.fhirpath_max_string_bytes, 1024, 1u << 30);
    }
    if (YAML::Node x = n["xml"]; r.mapping(x, "limits.xml", {"max_attributes", "max_name_bytes"})) {
      r.integer(x, "max_attributes", "limits.xml", c.limits.xml_max_attributes, 4, 100'000);
      r.integer(x, "max_name_bytes", "limits.xml", c.limits.xml_max_name_bytes, 16, 1u << 20);
    }
    if (YAML::Node v = n["validation"]; r.mapping(v, "limits.validation", {"max_issues"})) {
      r.integer(v, "max_issues", "limits.validation", c.limits.validation_max_issues, 1, 1'000'000);
    }
    if (YAML::Node x = n["regex"]; r.mapping(x, "limits.regex", {"max_pattern_bytes", "max_program_size"})) {
      r.integer(x, "max_pattern_bytes", "limits.regex", c.limits.regex_max_pattern_bytes, 16, 1u << 20);
      r.integer(x, "max_program_size", "limits.regex", c.limits.regex_max_program_size, 100, 10'000'000);
    }
  }

  if (YAML::Node n = root["store"];
      r.mapping(n, "store", {"engine", "data_dir", "sqlite_file", "postgres_url", "pool_size",
                                             "read_cache_mb", "statement_cache_kb"})) {
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
    r.integer(n, "statement_cache_kb", "store", c.store.statement_cache_kb, 64, 1u << 20);
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

  if (YAML::Node n = root["rest"]; r.mapping(n, "rest", {"check_references", "transaction_writer_budget_ms"})) {
    r.boolean(n, "check_references", "rest", c.rest.check_references);
    r.integer(n, "transaction_writer_budget_ms", "rest", c.rest.transaction_writer_budget_ms, 1, 3'600'000);
  }

  if (YAML::Node n = root["ip"]; r.mapping(n, "ip", {"max_handover_overlap_days", "provenance"})) {
    r.integer(n, "max_handover_overlap_days", "ip", c.ip.max_handover_overlap_days, 0, 366);
    r.boolean(n, "provenance", "ip", c.ip.provenance);
  }

  if (YAML::Node n = root["ip_read"]; r.mapping(n, "ip_read", {"max_plans_per_patient", "deadlines_max_within_days",
                                                                 "deadlines_max_plans", "narrative_max_references"})) {
    r.integer(n, "max_plans_per_patient", "ip_read", c.ip_read.max_plans_per_patient, 1, 100'000);
    r.integer(n, "deadlines_max_within_days", "ip_read", c.ip_read.deadlines_max_within_days, 0, 3'660);
    r.integer(n, "deadlines_max_plans", "ip_read", c.ip_read.deadlines_max_plans, 1, 10'000'000);
    r.integer(n, "narrative_max_references", "ip_read", c.ip_read.narrative_max_references, 1, 100'000);
  }

  if (YAML::Node n = root["ip_figures"]; r.mapping(n, "ip_figures", {"max_work_rows", "max_period_years"})) {
    r.integer(n, "max_work_rows", "ip_figures", c.ip_figures.max_work_rows, 1, 1'000'000'000);
    r.integer(n, "max_period_years", "ip_figures", c.ip_figures.max_period_years, 1, 100);
  }

  readDispatch(root["dispatch"], r, c.dispatch);

  if (YAML::Node n = root["auth"];
      r.mapping(n, "auth", {"mode", "issuer", "audience", "jwks_file", "jwks_url", "jwks_refresh_interval_s",
                            "algorithms", "dpop", "dpop_max_age_s", "clock_skew_s", "max_token_bytes",
                            "min_security_level", "trusted_clients", "token_cache_entries", "replay_cache_entries",
                            "emergency_access_minutes", "consent_max_entries", "dpop_replay_cache",
                            "dpop_replay_purge_batch", "dpop_nonce", "dpop_nonce_window_s", "audit", "audit_queue_entries",
                            "audit_batch_entries", "audit_flush_interval_ms", "audit_export_max_entries",
                            "token_cache_mb", "consent_cache_entries", "consent_compartment_cache_mb"})) {
    AuthConfig& a = c.auth;
    r.string(n, "mode", "auth", a.mode);
    r.string(n, "issuer", "auth", a.issuer);
    r.string(n, "audience", "auth", a.audience);
    r.string(n, "jwks_file", "auth", a.jwks_file);
    r.string(n, "jwks_url", "auth", a.jwks_url);
    r.integer(n, "jwks_refresh_interval_s", "auth", a.jwks_refresh_interval_s, 1, 86'400);
    r.stringList(n, "algorithms", "auth", a.algorithms);
    r.string(n, "dpop", "auth", a.dpop);
    r.integer(n, "dpop_max_age_s", "auth", a.dpop_max_age_s, 1, 3'600);
    r.integer(n, "clock_skew_s", "auth", a.clock_skew_s, 0, 300);
    r.integer(n, "max_token_bytes", "auth", a.max_token_bytes, 1024, 65'536);
    r.integer(n, "min_security_level", "auth", a.min_security_level, 0, 4);
    r.stringList(n, "trusted_clients", "auth", a.trusted_clients);
    r.integer(n, "token_cache_entries", "auth", a.token_cache_entries, 0, 10'000'000);
    r.integer(n, "replay_cache_entries", "auth", a.replay_cache_entries, 1'000, 100'000'000);
    r.integer(n, "emergency_access_minutes", "auth", a.emergency_access_minutes, 1, 24 * 60);
    r.integer(n, "consent_max_entries", "auth", a.consent_max_entries, 10, 1'000);
    r.string(n, "dpop_replay_cache", "auth", a.dpop_replay_cache);
    r.integer(n, "dpop_replay_purge_batch", "auth", a.dpop_replay_purge_batch, 1, 100'000);
    r.string(n, "dpop_nonce", "auth", a.dpop_nonce);
    r.integer(n, "dpop_nonce_window_s", "auth", a.dpop_nonce_window_s, 10, 3'600);
    r.boolean(n, "audit", "auth", a.audit);
    r.integer(n, "audit_queue_entries", "auth", a.audit_queue_entries, 1'000, 10'000'000);
    r.integer(n, "audit_batch_entries", "auth", a.audit_batch_entries, 1, 10'000);
    r.integer(n, "audit_flush_interval_ms", "auth", a.audit_flush_interval_ms, 10, 10'000);
    r.integer(n, "audit_export_max_entries", "auth", a.audit_export_max_entries, 1, 10'000);
    r.integer(n, "token_cache_mb", "auth", a.token_cache_mb, 1, 4'096);
    r.integer(n, "consent_cache_entries", "auth", a.consent_cache_entries, 0, 1'000'000);
    r.integer(n, "consent_compartment_cache_mb", "auth", a.consent_compartment_cache_mb, 0, 4'096);
  }
  if (YAML::Node a = root["adapters"]; r.mapping(a, "adapters", {"plo"})) {
    if (YAML::Node n = a["plo"];
        r.mapping(n, "adapters.plo", {"enabled", "data_dir", "max_message_bytes", "max_depth", "apprec_version",
                                      "require_signature", "verify_signatures", "trusted_certificates_file",
                                      "her_id", "name", "spool", "msh", "apprec_timeout_minutes",
                                      "apprec_max_resends", "apprec_max_per_sweep"})) {
      PloAdapterConfig& p = c.adapters.plo;
      r.boolean(n, "enabled", "adapters.plo", p.enabled);
      r.string(n, "data_dir", "adapters.plo", p.data_dir);
      r.integer(n, "max_message_bytes", "adapters.plo", p.max_message_bytes, 1024, 1ull << 30);
      r.integer(n, "max_depth", "adapters.plo", p.max_depth, 8, 1024);
      if (r.string(n, "apprec_version", "adapters.plo", p.apprec_version) && p.apprec_version != "1.0" &&
          p.apprec_version != "1.1") {
        r.error("adapters.plo.apprec_version", "must be \"1.0\" or \"1.1\"", shown(n["apprec_version"]));
      }
      r.boolean(n, "require_signature", "adapters.plo", p.require_signature);
      r.boolean(n, "verify_signatures", "adapters.plo", p.verify_signatures);
      r.string(n, "trusted_certificates_file", "adapters.plo", p.trusted_certificates_file);
      if (r.string(n, "her_id", "adapters.plo", p.her_id) && !p.her_id.empty() &&
          (p.her_id.size() > 10 || p.her_id.find_first_not_of("0123456789") != std::string::npos ||
           p.her_id.front() == '0')) {
        r.error("adapters.plo.her_id", "must be a HER-id (a positive integer)", shown(n["her_id"]));
      }
      r.string(n, "name", "adapters.plo", p.name);
      if (YAML::Node sp = n["spool"];
          r.mapping(sp, "adapters.plo.spool", {"in", "out", "error", "work", "poll_interval_ms", "max_files_per_poll",
                                                 "workers"})) {
        r.string(sp, "in", "adapters.plo.spool", p.spool.in_dir);
        r.string(sp, "out", "adapters.plo.spool", p.spool.out_dir);
        r.string(sp, "error", "adapters.plo.spool", p.spool.error_dir);
        r.string(sp, "work", "adapters.plo.spool", p.spool.work_dir);
        r.integer(sp, "poll_interval_ms", "adapters.plo.spool", p.spool.poll_interval_ms, 10, 3'600'000);
        r.integer(sp, "max_files_per_poll", "adapters.plo.spool", p.spool.max_files_per_poll, 1, 100'000);
        r.integer(sp, "workers", "adapters.plo.spool", p.spool.workers, 1, 256);
      }
      if (YAML::Node m = n["msh"];
          r.mapping(m, "adapters.plo.msh", {"base_url", "token_endpoint", "client_id", "key_file", "scope",
                                            "source_system", "api_version", "ca_file", "poll_interval_ms",
                                            "max_messages_per_poll", "connect_timeout_ms", "timeout_ms",
                                            "max_attempts", "backoff_initial_ms", "backoff_max_ms",
                                            "allow_plain_http", "max_failures_per_message"})) {
        const std::string mp = "adapters.plo.msh";
        r.string(m, "base_url", mp, p.msh.base_url);
        r.string(m, "token_endpoint", mp, p.msh.token_endpoint);
        r.string(m, "client_id", mp, p.msh.client_id);
        r.string(m, "key_file", mp, p.msh.key_file);
        r.string(m, "scope", mp, p.msh.scope);
        r.string(m, "source_system", mp, p.msh.source_system);
        r.string(m, "api_version", mp, p.msh.api_version);
        r.string(m, "ca_file", mp, p.msh.ca_file);
        r.integer(m, "poll_interval_ms", mp, p.msh.poll_interval_ms, 100, 3'600'000);
        r.integer(m, "max_messages_per_poll", mp, p.msh.max_messages_per_poll, 1, 100);
        r.integer(m, "connect_timeout_ms", mp, p.msh.connect_timeout_ms, 100, 600'000);
        r.integer(m, "timeout_ms", mp, p.msh.timeout_ms, 100, 600'000);
        r.integer(m, "max_attempts", mp, p.msh.max_attempts, 1, 20);
        r.integer(m, "backoff_initial_ms", mp, p.msh.backoff_initial_ms, 1, 600'000);
        r.integer(m, "backoff_max_ms", mp, p.msh.backoff_max_ms, 1, 3'600'000);
        r.boolean(m, "allow_plain_http", mp, p.msh.allow_plain_http);
        r.integer(m, "max_failures_per_message", mp, p.msh.max_failures_per_message, 1, 1000);
      }
      r.integer(n, "apprec_timeout_minutes", "adapters.plo", p.apprec_timeout_minutes, 1, 10'080);
      r.integer(n, "apprec_max_resends", "adapters.plo", p.apprec_max_resends, 0, 10);
      r.integer(n, "apprec_max_per_sweep", "adapters.plo", p.apprec_max_per_sweep, 1, 10'000);
    }
  }
}

// Cross-field rules of `dispatch.*`. Header values are never shown: they carry the receivers' credentials.
void validateDispatch(const DispatchConfig& d, std::vector<std::string>& errors) {
  if (d.backoff_initial_ms > d.backoff_max_ms) {
    errors.push_back("dispatch.backoff_initial_ms: must not exceed dispatch.backoff_max_ms (got " +
                     std::to_string(d.backoff_initial_ms) + ")");
  }
  if (d.read_batch > d.max_queued) {
    errors.push_back("dispatch.read_batch: must not exceed dispatch.max_queued (got " + std::to_string(d.read_batch) + ")");
  }
  if (static_cast<uint64_t>(d.poll_interval_ms) * 3 > d.lease_ttl_ms) {
    errors.push_back("dispatch.poll_interval_ms: must be at most a third of dispatch.lease_ttl_ms, or leases lapse "
                     "between rounds (got " + std::to_string(d.poll_interval_ms) + ")");
  }
  if (static_cast<uint64_t>(d.commit_interval_ms) * 3 >= d.lease_ttl_ms) {
    errors.push_back("dispatch.commit_interval_ms: must be less than a third of dispatch.lease_ttl_ms (got " +
                     std::to_string(d.commit_interval_ms) + ")");
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < d.subscribers.size(); ++i) {
    const DispatchSubscriberConfig& s = d.subscribers[i];
    const std::string path = "dispatch.subscribers[" + std::to_string(i) + "]";
    auto shownText = [](const std::string& v) { return "\"" + (v.size() > 60 ? v.substr(0, 57) + "..." : v) + "\""; };
    if (s.name.empty() || s.name.size() > 200) {
      errors.push_back(path + ".name: must be 1..200 characters (got " + shownText(s.name) + ")");
    } else if (std::find(names.begin(), names.end(), s.name) != names.end()) {
      errors.push_back(path + ".name: must be unique among the subscribers (got " + shownText(s.name) + ")");
    }
    names.push_back(s.name);
    const bool https = s.endpoint.rfind("https://", 0) == 0;
    const bool http = s.endpoint.rfind("http://", 0) == 0;
    if (s.kind != "rest-hook" && s.kind != "plo") {
      errors.push_back(path + ".kind: must be one of rest-hook, plo (got " + shownText(s.kind) + ")");
    } else if (s.kind == "plo") {
      // Sends through adapters.plo.msh (checked with the adapter); an endpoint would be ignored, so it is refused.
      if (!s.endpoint.empty()) errors.push_back(path + ".endpoint: must be empty for kind plo (got " + shownText(s.endpoint) + ")");
    } else if (!https && !(http && s.allow_plain_http)) {
      errors.push_back(path + ".endpoint: must be an https:// URL (http:// only with allow_plain_http: true) (got " +
                       shownText(s.endpoint) + ")");
    } else if (s.endpoint.find_first_of(" \r\n\t") != std::string::npos) {
      errors.push_back(path + ".endpoint: must not contain spaces or line breaks (got " + shownText(s.endpoint) + ")");
    }
    if (s.payload != "full" && s.payload != "id-only" && s.payload != "empty") {
      errors.push_back(path + ".payload: must be one of full, id-only, empty (got " + shownText(s.payload) + ")");
    }
    if (s.start != "now" && s.start != "beginning") {
      errors.push_back(path + ".start: must be one of now, beginning (got " + shownText(s.start) + ")");
    }
    for (size_t h = 0; h < s.headers.size(); ++h) {
      const std::string& header = s.headers[h];
      const size_t colon = header.find(':');
      if (colon == std::string::npos || colon == 0 || header.find_first_of("\r\n") != std::string::npos) {
        errors.push_back(path + ".headers[" + std::to_string(h) +
                         "]: must be 'Name: value' on one line (value not shown: it may be a credential)");
      }
    }
    if (s.client_cert_file.empty() != s.client_key_file.empty()) {
      errors.push_back(path + ".client_cert_file: must be set together with client_key_file (mutual TLS)");
    }
  }
}


// Quotes a configured string for an error message, cut like shown().
std::string quoted(const std::string& v) { return "\"" + (v.size() > 60 ? v.substr(0, 57) + "..." : v) + "\""; }

// adapters.plo.msh: everything the HelseID client and the message service need, once base_url turns it on; and
// the `plo` dispatch subscribers, which send through it.
void validatePloMsh(const GatewayConfig& c, std::vector<std::string>& errors) {
  const PloAdapterConfig& p = c.adapters.plo;
  const PloMshConfig& m = p.msh;
  auto shownText = [](const std::string& v) { return "\"" + (v.size() > 60 ? v.substr(0, 57) + "..." : v) + "\""; };
  const bool msh_on = !m.base_url.empty();
  for (size_t i = 0; i < c.dispatch.subscribers.size(); ++i) {
    if (c.dispatch.subscribers[i].kind == "plo" && !(p.enabled && msh_on)) {
      errors.push_back("dispatch.subscribers[" + std::to_string(i) +
                       "].kind: plo needs adapters.plo.enabled and adapters.plo.msh.base_url (got \"plo\")");
    }
  }
  if (!msh_on) return;
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"base_url", &m.base_url},
                                   {"token_endpoint", &m.token_endpoint}}) {
    const bool https = value->rfind("https://", 0) == 0;
    const bool http = value->rfind("http://", 0) == 0;
    if (!https && !(http && m.allow_plain_http)) {
      errors.push_back(std::string("adapters.plo.msh.") + key +
                       ": must be an https:// URL (http:// only with allow_plain_http: true) (got " + shownText(*value) + ")");
    } else if (value->find_first_of(" \r\n\t") != std::string::npos) {
      errors.push_back(std::string("adapters.plo.msh.") + key + ": must not contain spaces or line breaks (got " +
                       shownText(*value) + ")");
    }
  }
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"client_id", &m.client_id},
                                   {"key_file", &m.key_file}}) {
    if (value->empty()) errors.push_back(std::string("adapters.plo.msh.") + key + ": must be set with adapters.plo.msh.base_url (got \"\")");
  }
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"source_system", &m.source_system},
                                   {"api_version", &m.api_version}, {"client_id", &m.client_id}, {"scope", &m.scope}}) {
    if (value->find_first_of("\r\n") != std::string::npos || value->size() > 200) {
      errors.push_back(std::string("adapters.plo.msh.") + key + ": must be one line of at most 200 characters");
    }
  }
  if (p.her_id.empty()) errors.push_back("adapters.plo.her_id: must be set with adapters.plo.msh.base_url: it is the mailbox read (got \"\")");
  if (m.backoff_max_ms < m.backoff_initial_ms) {
    errors.push_back("adapters.plo.msh.backoff_max_ms: must be at least backoff_initial_ms (got " + std::to_string(m.backoff_max_ms) + ")");
  }
}

void validateAuth(const GatewayConfig& c, std::vector<std::string>& errors) {
  const AuthConfig& a = c.auth;
  if (a.mode != "open" && a.mode != "token" && a.mode != "development") {
    errors.push_back("auth.mode: must be \"open\", \"token\" or \"development\" (got " + quoted(a.mode) + ")");
  }
  if (a.dpop != "required" && a.dpop != "allowed" && a.dpop != "off") {
    errors.push_back("auth.dpop: must be \"required\", \"allowed\" or \"off\" (got " + quoted(a.dpop) + ")");
  }
  if (a.dpop_replay_cache != "auto" && a.dpop_replay_cache != "memory" && a.dpop_replay_cache != "store") {
    errors.push_back("auth.dpop_replay_cache: must be \"auto\", \"memory\" or \"store\" (got " +
                     quoted(a.dpop_replay_cache) + ")");
  }
  if (a.dpop_nonce != "off" && a.dpop_nonce != "required") {
    errors.push_back("auth.dpop_nonce: must be \"off\" or \"required\" (got " + quoted(a.dpop_nonce) + ")");
  } else if (a.dpop_nonce == "required" && a.dpop == "off") {
    errors.push_back("auth.dpop_nonce: \"required\" needs auth.dpop \"required\" or \"allowed\" (got auth.dpop \"off\")");
  }
  for (const std::string& alg : a.algorithms) {
    if (alg != "RS256" && alg != "PS256" && alg != "ES256") {
      errors.push_back("auth.algorithms: each must be RS256, PS256 or ES256 (no \"none\", no HMAC) (got " +
                       quoted(alg) + ")");
    }
  }
  if (a.algorithms.empty()) errors.push_back("auth.algorithms: must name at least one algorithm (got [])");
  auto loopbackHttp = [](const std::string& url) {
    for (std::string_view host : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
      if (url.rfind(host, 0) == 0 && (url.size() == host.size() || url[host.size()] == ':' || url[host.size()] == '/')) {
        return true;
      }
    }
    return false;
  };
  if (!a.jwks_url.empty() && a.jwks_url.rfind("https://", 0) != 0 && !loopbackHttp(a.jwks_url)) {
    errors.push_back("auth.jwks_url: must be an https:// URL (plain http only on loopback) (got " + quoted(a.jwks_url) +
                     ")");
  }
  if (a.mode == "token") {
    if (a.issuer.empty()) errors.push_back("auth.issuer: must be set when auth.mode is token (got \"\")");
    if (a.audience.empty()) errors.push_back("auth.audience: must be set when auth.mode is token (got \"\")");
    if (a.jwks_file.empty() == a.jwks_url.empty()) {
      errors.push_back("auth.jwks_file: exactly one of auth.jwks_file and auth.jwks_url must be set when auth.mode is "
                       "token (got " + quoted(a.jwks_file) + " and " + quoted(a.jwks_url) + ")");
    }
  }
  const TlsConfig& tls = c.server.tls;
  if (tls.client_certificates != "off" && tls.client_certificates != "request" && tls.client_certificates != "require") {
    errors.push_back("server.tls.client_certificates: must be \"off\", \"request\" or \"require\" (got " +
                     quoted(tls.client_certificates) + ")");
  } else if ((tls.client_certificates != "off") != !tls.client_ca_file.empty()) {
    errors.push_back("server.tls.client_ca_file: must be set exactly when server.tls.client_certificates is request "
                     "or require (got " + quoted(tls.client_ca_file) + ")");
  } else if (!tls.client_ca_file.empty() && !tls.enabled()) {
    errors.push_back("server.tls.client_ca_file: mutual TLS needs server.tls.certificate_file and private_key_file");
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

bool isLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  if (!host.starts_with("127.")) return false;
  return host.find_first_not_of("0123456789.") == std::string_view::npos;
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
    const std::string shown_version =
        tls.min_version.size() > 60 ? tls.min_version.substr(0, 57) + "..." : tls.min_version;
    errors.push_back("server.tls.min_version: must be \"1.2\" or \"1.3\" (got \"" + shown_version + "\")");
  }
  if (c.limits.max_inflight_body_bytes < c.limits.max_body_bytes) {
    errors.push_back("limits.max_inflight_body_bytes: must be at least limits.max_body_bytes (" +
                     std::to_string(c.limits.max_body_bytes) + "), or no maximal request could ever be read (got " +
                     std::to_string(c.limits.max_inflight_body_bytes) + ")");
  }
  validateAuth(c, errors);
  if (c.limits.idle_timeout_ms < 1) errors.push_back("limits.idle_timeout_ms: must be between 1 and 86400000 (got 0)");
  if (!c.server.base_url.empty()) {
    if (Status s = checkBaseUrl(c.server.base_url); !s.isOk()) {
      std::string got = c.server.base_url.size() > 60 ? c.server.base_url.substr(0, 57) + "..." : c.server.base_url;
      errors.push_back("server.base_url: " + s.message() + " (got \"" + got + "\")");
    }
  }
  validateDispatch(c.dispatch, errors);
  if (c.adapters.plo.verify_signatures && c.adapters.plo.trusted_certificates_file.empty()) {
    errors.push_back("adapters.plo.trusted_certificates_file: must be set with adapters.plo.verify_signatures (got \"\")");
  }
  validatePloMsh(c, errors);
  if (c.adapters.plo.enabled) {
    const PloSpoolConfig& sp = c.adapters.plo.spool;
    // With the message service configured the spool is optional: set all three folders or none.
    const bool spool_wanted = c.adapters.plo.msh.base_url.empty() || !sp.in_dir.empty() || !sp.out_dir.empty() ||
                              !sp.error_dir.empty();
    for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"in", &sp.in_dir},
                                     {"out", &sp.out_dir}, {"error", &sp.error_dir}}) {
      if (spool_wanted && value->empty()) {
        errors.push_back(std::string("adapters.plo.spool.") + key + ": must be set when adapters.plo.enabled (got \"\")");
      }
    }
  }
  return errors;
}

Status checkBaseUrl(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else {
    return invalidArgument("must be an absolute URL starting with http:// or https://");
  }
  for (char ch : url) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F) return invalidArgument("must not contain spaces, control or non-ASCII characters");
    if (ch == '?' || ch == '#') return invalidArgument("must not have a query or a fragment");
    if (ch == '\\' || ch == '"' || ch == '<' || ch == '>' || ch == '`' || ch == '{' || ch == '}' || ch == '|' || ch == '^') {
      return invalidArgument("must not contain the character '" + std::string(1, ch) + "'");
    }
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  if (authority.find('@') != std::string_view::npos) return invalidArgument("must not carry user info (user@)");
  std::string_view host = authority;
  std::optional<std::string_view> port;
  bool host_ok = true;
  if (authority.starts_with('[')) {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return invalidArgument("an IPv6 host must be closed with ']'");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return invalidArgument("must have only a port after the IPv6 host");
    if (!after.empty()) port = after.substr(1);
    for (char ch : host) host_ok = host_ok && (std::isxdigit(static_cast<unsigned char>(ch)) || ch == ':' || ch == '.');
  } else {
    if (size_t colon = authority.find(':'); colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    for (char ch : host) host_ok = host_ok && (std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-');
  }
  if (host.empty()) return invalidArgument("must name a host");
  if (!host_ok) return invalidArgument("the host must be a host name or an IP address");
  if (port) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(port->data(), port->data() + port->size(), v);
    if (port->empty() || ec != std::errc() || end != port->data() + port->size() || v < 1 || v > 65535) {
      return invalidArgument("the port must be an integer between 1 and 65535");
    }
  }
  return Status::ok();
}

std::string effectiveBaseUrl(const GatewayConfig& config, uint16_t port) {
  if (!config.server.base_url.empty()) {
    std::string base = config.server.base_url;
    while (base.ends_with('/')) base.pop_back();
    return base;
  }
  const bool https = config.server.tls.enabled();
  std::string base = https ? "https://" : "http://";
  const std::string& host = config.server.host;
  base += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (https ? 443 : 80)) base += ":" + std::to_string(port);
  return base;
}

namespace {

// Reads `yaml` over `config`, appending every problem to `errors`. Returns a syntax error (nothing could be read:
// `config` keeps its defaults) or ok.
Status parseInto(std::string_view yaml, std::string_view source_name, GatewayConfig& config,
                 std::vector<std::string>& errors) {
  Reader reader;
  try {
    std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml));
    // A second document (after `---`) would be ignored: say so rather than run on half the file.
    if (documents.size() > 1) {
      reader.errors().push_back("(top level): must be one YAML document (got " + std::to_string(documents.size()) +
                                ", separated by ---)");
    }
    if (!documents.empty()) {
      findDuplicateKeys(documents.front(), reader.errors());
      readConfig(documents.front(), reader, config);
    }
  } catch (const YAML::Exception& e) {
    // Syntax errors: yaml-cpp's mark is 0-based.
    std::ostringstream m;
    m << source_name << ": invalid YAML at line " << (e.mark.line + 1) << ", column " << (e.mark.column + 1) << ": "
      << e.msg;
    return invalidArgument(m.str());
  } catch (const std::exception& e) {
    return invalidArgument(std::string(source_name) + ": cannot read YAML: " + e.what());
  }
  // Cross-field rules run even when a key was wrong (that key kept its default), so one run shows every problem.
  for (auto& e : validateConfig(config)) reader.errors().push_back(std::move(e));
  for (auto& e : reader.errors()) errors.push_back(std::move(e));
  return Status::ok();
}

// Reads a config file's text, bounded. kNotFound when it cannot be read.
Result<std::string> readConfigText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return notFound("cannot open config file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return notFound("cannot read config file " + path);
  constexpr size_t kMaxConfigBytes = 1u << 20;
  if (text.str().size() > kMaxConfigBytes) return invalidArgument(path + ": larger than 1 MiB; not a config file");
  return text.str();
}

}  // namespace

Result<GatewayConfig> parseConfig(std::string_view yaml, std::string_view source_name) {
  GatewayConfig config;
  if (source_name != "embedded default") config = defaultConfig();
  std::vector<std::string> errors;
  if (Status syntax = parseInto(yaml, source_name, config, errors); !syntax.isOk()) return syntax;
  if (!errors.empty()) return joined(errors);
  return config;
}

Result<GatewayConfig> loadConfig(const std::string& path) {
  Result<std::string> text = readConfigText(path);
  if (!text.isOk()) return text.status();
  return parseConfig(*text, path);
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
  if (overrides.demo_data) config.demo_data.load_once = *overrides.demo_data;
  if (errors.empty()) errors = validateConfig(config);
  if (!errors.empty()) return joined(errors);
  return Status::ok();
}

Status validateConfigFile(const std::string& path) { return validateConfigFile(path, checkTlsFilesReadable); }

Status validateConfigFile(const std::string& path, const TlsFileCheck& check_tls) {
  Result<std::string> text = readConfigText(path);
  if (!text.isOk()) return text.status();
  GatewayConfig config = defaultConfig();
  std::vector<std::string> errors;
  if (Status syntax = parseInto(*text, path, config, errors); !syntax.isOk()) return syntax;
  // The files are checked when both are named; a missing half is already reported by validateConfig().
  const TlsConfig& tls = config.server.tls;
  if (check_tls && !tls.certificate_file.empty() && !tls.private_key_file.empty()) {
    for (auto& e : check_tls(tls)) errors.push_back(std::move(e));
  }
  if (!errors.empty()) return joined(errors);
  return Status::ok();
}

}  // namespace planbro::gateway::config
