#pragma once
// The gateway's configuration: typed structs read from YAML (yaml-cpp), validated whole before any socket opens.
// Every limit has a safe default; the embedded default (embeddedDefaultConfigYaml()) is what runs with no file.
// See docs/configuration.md and config/planbro.example.yaml.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/status.h"

namespace planbro::gateway::config {

/** `server.*`: where to listen and how many threads. */
/** HTTPS: on when both files are set (PEM). The key file should be readable by the gateway's user only. */
struct TlsConfig {
  std::string certificate_file;    // the server certificate chain, leaf first
  std::string private_key_file;    // its private key, unencrypted PEM
  std::string min_version = "1.2";  // "1.2" or "1.3"
  std::string client_ca_file;       // mutual TLS: PEM CA certificates client certificates must chain to ("" = off)
  std::string client_certificates = "off";  // "off", "request" (optional) or "require"; needs client_ca_file
  bool enabled() const { return !certificate_file.empty() || !private_key_file.empty(); }
};

/** `server.cors`: browsers on these origins may call the API (e.g. a web client on https://www.helsenorge.no). */
struct CorsConfig {
  std::vector<std::string> allowed_origins;  // exact origins, "https://host[:port]"; empty (default): no CORS
};

struct ServerConfig {
  std::string host = "127.0.0.1";  // from `listen: HOST:PORT` (IPv6 as `[::1]:8080`)
  uint16_t port = 8080;            // 0 = any free port (tests)
  uint32_t io_threads = 4;         // threads, each running an event loop of its own (two per core on 2 cores)
  uint32_t worker_threads = 4;     // threads running read handlers: GET, HEAD (0 = on the I/O threads)
  uint32_t write_threads = 64;     // threads running every other request (0 = share the worker threads); a durable
                                   // write waits for its group's fsync here, so this bounds the group size
  uint32_t shutdown_timeout_ms = 10000;  // graceful shutdown: how long in-flight requests may take to finish
  uint32_t gzip_min_bytes = 1024;        // responses at least this large are gzipped when the client accepts gzip
  TlsConfig tls;
  /** The absolute http(s) URL clients reach the FHIR endpoint by ("https://fhir.example.no/fhir"), used in Location,
   *  Bundle fullUrl and every link; empty: the listening scheme, host and port (effectiveBaseUrl). Never the
   *  client's Host header. */
  std::string base_url;
  CorsConfig cors;
  /** Start on a network address with auth.mode open or without TLS anyway (a test rig; never production). */
  bool allow_insecure = false;
  std::string metrics_listen;        // `server.metrics_listen: HOST:PORT`: /metrics on its own listener ("" = main)
  std::string metrics_host;          // parsed from metrics_listen
  uint16_t metrics_port = 0;
};

/** `limits.search.*`: bounds on one search (docs/security.md, "Search and store"). */
struct SearchLimitsConfig {
  uint32_t max_parameters = 100;        // parameters in one search; beyond: 400
  uint32_t max_or_values = 1000;        // comma-separated values of one parameter; beyond: 400
  uint32_t max_chain_depth = 3;         // levels of a chain or of nested _has; beyond: 400
  uint64_t max_work_rows = 250000;      // rows of work one search may take; beyond: 400 (includes: partial + warning)
  uint32_t max_included = 500;          // _include/_revinclude resources per page; beyond: dropped with a warning
  uint32_t max_chain_matches = 1000;    // ids one chain or _has level may collect; beyond: 400
  uint32_t max_sort_candidates = 5000;  // matches a _sort other than _id may order; beyond: 400
  uint32_t max_total = 100000;          // _total=accurate counts at most this many
  uint64_t max_query_steps = 200000000; // SQLite: engine steps one index query may take; beyond: 400
  uint64_t max_page_bytes = 64ull << 20; // JSON bytes of one page's resources; beyond: the page ends early (next link)
};

/** `limits.*`: bounds on what one client may send or hold. */
struct LimitsConfig {
  uint32_t max_header_bytes = 16 * 1024;      // request line + headers; beyond: 431
  uint64_t max_body_bytes = 16ull << 20;      // request body; beyond: 413 (judged from Content-Length first)
  uint32_t max_connections = 16384;           // open connections; beyond: 503 and close
  uint32_t read_timeout_ms = 30000;           // from a request's first byte to its last
  uint32_t write_timeout_ms = 30000;          // writing one response
  uint32_t idle_timeout_ms = 60000;           // a keep-alive connection waiting for its next request
  uint32_t json_max_depth = 256;              // `limits.json.max_depth`
  uint32_t json_max_number_length = 64;       // `limits.json.max_number_length`
  uint32_t json_max_string_bytes = 32u << 20; // `limits.json.max_string_bytes`
  uint64_t max_bundle_response_bytes = 64ull << 20;  // a batch/transaction response; entries beyond: error entries
  SearchLimitsConfig search;                  // `limits.search.*`
  uint32_t max_patch_operations = 1000;       // operations in one JSON Patch or FHIRPath Patch; beyond: 422
  uint64_t fhirpath_max_steps = 5'000'000;          // `limits.fhirpath.max_steps`: work of one evaluation
  uint32_t fhirpath_max_collection_items = 500'000; // `limits.fhirpath.max_collection_items`
  uint32_t fhirpath_max_string_bytes = 4u << 20;    // `limits.fhirpath.max_string_bytes`
  uint32_t xml_max_attributes = 64;                 // `limits.xml.max_attributes`: per element
  uint32_t xml_max_name_bytes = 256;                // `limits.xml.max_name_bytes`: element or attribute name
  uint32_t validation_max_issues = 1000;            // `limits.validation.max_issues`: per OperationOutcome
  uint32_t regex_max_pattern_bytes = 4096;          // `limits.regex.max_pattern_bytes`: one regular expression
  uint32_t regex_max_program_size = 100'000;        // `limits.regex.max_program_size`: RE2 instructions
  uint64_t max_inflight_body_bytes = 256ull << 20;  // request bodies of all connections together; beyond: 503
  uint32_t max_index_rows_per_resource = 10000;     // search index rows one written resource may make; beyond: 413
  uint32_t max_index_rows_per_transaction = 200000; // search index rows of all entries of one transaction; beyond: 413
  uint64_t max_bundle_work_rows = 1000000;          // search work of all entries of one batch/transaction together
};

enum class StoreEngine : uint8_t { kSqlite, kPostgresql };

/** `store.*`: which database engine and where. */
struct StoreConfig {
  StoreEngine engine = StoreEngine::kSqlite;
  std::string data_dir = "./data";
  std::string sqlite_file = "planbro.db";  // relative to data_dir unless absolute
  std::string postgres_url;                // libpq connection string or URI; required for postgresql
  uint32_t pool_size = 0;                  // database connections; 0 = fit the threads (ServeSetup)
  uint32_t read_cache_mb = 64;             // SQLite: current versions kept in memory for reads (0 = none)
  uint32_t statement_cache_kb = 4096;      // prepared statements kept per database connection (bytes bound)

  /** The SQLite database path: sqlite_file when absolute, else data_dir/sqlite_file. */
  std::string sqlitePath() const;
};

enum class LogFormat : uint8_t { kJson, kText };

/** `logging.*`. */
struct LoggingConfig {
  std::string level = "info";  // trace, debug, info, warn, error, critical, off
  LogFormat format = LogFormat::kJson;
  bool access_log = true;      // one JSON line per request (never a body, never a query string)
};

/** `demo_data.*`. */
struct DemoDataConfig {
  bool load_once = false;  // load the demo individual plan into an empty store on start (only when asked: the
                           // quick start asks with `planbro serve --demo-data`; a production start does not)
};

/** `rest.*`: the write rules of the FHIR REST layer and its operations. */
struct RestConfig {
  bool check_references = true;                 // local references must resolve on write (422); off for bulk loads
  uint32_t transaction_writer_budget_ms = 10000;  // the longest a transaction may hold the store's writer turn
};

/** `ip_figures.*`: the limits of `[base]/$ip-figures` (docs/ip-figures.md). */
struct IpFiguresConfig {
  uint64_t max_work_rows = 2'000'000;  // index rows + resource reads of one computation; beyond: 422 too-costly
  uint32_t max_period_years = 10;      // the longest period one request may ask for; longer: 400
};

/** One `dispatch.subscribers[]` entry: a FHIR rest-hook receiver of every committed change (docs/dispatch.md). */
struct DispatchSubscriberConfig {
  std::string name;                 // stable: its positions and dead letters are kept under it
  std::string endpoint;             // https:// (http:// only with allow_plain_http)
  std::string payload = "full";     // full (PUT/DELETE [endpoint]/[type]/[id]), id-only, empty (POST, no body)
  std::vector<std::string> headers; // "Name: value", e.g. "Authorization: Bearer ..."
  std::string source_system;        // changes made through this system are never sent back to it
  std::vector<std::string> types;   // resource types it receives; empty: all
  std::string start = "now";        // now | beginning: where a subscriber new to the store starts
  std::string ca_file;              // empty: the system trust store
  std::string client_cert_file;     // mutual TLS (with client_key_file)
  std::string client_key_file;
  uint32_t timeout_ms = 10000;
  uint32_t connect_timeout_ms = 5000;
  uint32_t max_parallel = 8;        // plans delivered to it at once
  bool allow_plain_http = false;
  /** "rest-hook" (a FHIR endpoint) or "plo" (Dialogmelding through adapters.plo.msh; needs no endpoint). */
  std::string kind = "rest-hook";
  /** Who receives, for consent enforcement on the outbound feed (docs/dispatch.md, Access): the organisation number
   *  (9 digits) or, for a party in the address register, the HER-id. With auth on, such a subscriber gets a change
   *  only when the patient's consent lets that organisation see it; without either, it is trusted with everything. */
  std::string receiver_organization;
  std::string receiver_her_id;
};

/** `dispatch.subscriptions.*`: stored R4 Subscriptions as subscribers (docs/dispatch.md, "Subscriptions"). */
struct DispatchSubscriptionsConfig {
  bool enabled = false;                       // off: Subscription writes are 422
  uint32_t poll_interval_ms = 1000;           // how soon a change on another node takes effect
  uint32_t max_active = 1000;                 // Subscriptions served at once
  bool allow_plain_http = false;              // http:// endpoints (loopback, closed networks)
  std::vector<std::string> allowed_endpoints; // endpoint prefixes; empty: any https:// URL
  uint32_t max_headers = 10;                  // channel.header entries
  uint32_t max_criteria_bytes = 4096;
  uint32_t min_heartbeat_s = 10;              // the shortest backport heartbeat-period accepted
  uint32_t timeout_ms = 10000;                // per notification, handshake, heartbeat
  uint32_t connect_timeout_ms = 5000;
  uint32_t max_filters = 10;                  // backport-filter-criteria entries of a topic-based Subscription
  bool receive_notifications = false;         // POST /subscription-notifications applies another node's changes
  std::string receive_scope = "system/planbro.subscription-notify";  // the scope a sender needs
  uint32_t receive_max_entries = 100;         // entries of one notification Bundle
  uint32_t max_pings_per_round = 32;          // handshakes per manager round (heartbeats: twice that)
  uint32_t max_parallel_pings = 8;            // handshakes and heartbeats sent at once
  uint32_t events_max_count = 100;            // events in one Subscription/$events answer (the rest: a next link)
  uint32_t events_max_scanned = 10000;        // outbox changes one $events answer looks at
};

/** `dispatch.*`: the dispatcher over the outbox. On when a subscriber is configured. */
struct DispatchConfig {
  std::string node_id;                 // lease owner name, unique per node; "" = host:pid:random
  uint32_t partitions = 16;            // per new subscriber
  uint32_t max_in_flight = 64;         // events handed to one subscriber's transport at once
  uint32_t max_queued = 10000;         // events read ahead per subscriber (memory bound)
  uint32_t read_batch = 500;           // outbox events per read
  uint32_t max_attempts = 10;          // failed tries before a dead letter
  uint32_t max_age_s = 86400;          // or this long since the first failed try
  uint32_t backoff_initial_ms = 500;
  uint32_t backoff_max_ms = 300000;
  uint32_t lease_ttl_ms = 30000;       // a dead node's partitions are taken over after this
  uint32_t poll_interval_ms = 50;      // idle wait between rounds
  uint32_t commit_interval_ms = 100;   // positions written at most this often (a crash resends at most this much)
  uint32_t stuck_after_s = 300;        // /readyz fails while a subscriber's oldest undelivered change is older
  bool admin_api = false;              // /admin/dispatch/... (dead letters, replay)
  std::string admin_scope = "system/planbro.dispatch-admin";  // the scope a principal needs for the admin API
  std::vector<DispatchSubscriberConfig> subscribers;
  DispatchSubscriptionsConfig subscriptions;
};

/** `ip_read.*`: the bounds of reading the individual plan ($ip-status, $ip-deadlines, the generated narrative). */
struct IpReadConfig {
  uint32_t max_plans_per_patient = 100;      // IP CarePlans one $ip-status reads for one patient; beyond: 422
  uint32_t deadlines_max_within_days = 366;  // the largest withinDays $ip-deadlines takes; beyond: 400
  uint32_t deadlines_max_plans = 10000;      // current IP CarePlans one $ip-deadlines examines; beyond: 422
  uint32_t narrative_max_references = 200;   // resources one plan's narrative reads; the rest shown unresolved
};

/** `ip.*`: the individual-plan rules (docs/ip-rules.md). */
struct IpConfig {
  uint32_t max_handover_overlap_days = 30;  // two current coordinators at most this many days, in a declared handover
  bool provenance = true;                   // a Provenance for every change of an IP resource (GW-50)
};

/** `auth.*`: who may call the FHIR endpoint (HelseID access tokens, DPoP, scopes). docs/security.md, Authentication. */
struct AuthConfig {
  /** "open": no authentication (loopback only unless server.allow_insecure); "token": every FHIR request but
   *  /metadata needs a valid access token; "development": tokens signed by a local key in data_dir that
   *  `planbro token` mints (loopback only, always). */
  std::string mode = "open";
  std::string issuer;                 // `iss` every token must carry (exact match), e.g. "https://helseid-sts.nhn.no"
  std::string audience;               // a value `aud` must hold, e.g. "nhn:planbro"
  std::string jwks_file;              // the issuer's signing keys (JWKS) from a file
  std::string jwks_url;               // ... or fetched over HTTPS, cached, refreshed on an unknown `kid`
  uint32_t jwks_refresh_interval_s = 300;  // an unknown `kid` refetches the JWKS at most once per interval
  std::vector<std::string> algorithms = {"RS256", "PS256", "ES256"};  // accepted JWS algorithms (asymmetric only)
  std::string dpop = "allowed";       // "required", "allowed" or "off" (RFC 9449 proof-of-possession)
  uint32_t dpop_max_age_s = 60;       // a proof older than this (by its `iat`) is refused
  uint32_t clock_skew_s = 30;         // tolerance on exp / nbf / iat, in seconds (at most 300)
  uint32_t max_token_bytes = 16384;   // an Authorization or DPoP header longer than this is refused (401)
  uint32_t min_security_level = 4;    // a person's token (pid or HPR number) needs at least this security level
  std::vector<std::string> trusted_clients;  // client ids of integration engines that may write for their org
  uint32_t token_cache_entries = 10000;      // validated tokens kept (until `exp`)
  uint32_t replay_cache_entries = 1000000;   // DPoP proof ids remembered for their lifetime; full: 503
  uint32_t emergency_access_minutes = 60;    // how long an emergency-access grant («nødtilgang», GW-46) lasts
  uint32_t consent_max_entries = 1000;       // CareTeams, Consents and grants the consent policy reads per request
  // Where DPoP proof ids are remembered: "store" (a table every node on the database shares), "memory" (this
  // process only), or "auto" (store on postgresql, where several nodes may share one database; memory on sqlite).
  std::string dpop_replay_cache = "auto";
  uint32_t dpop_replay_purge_batch = 1000;  // expired proof ids one purge deletes at most (store cache)
  // RFC 9449 §8 server-provided nonces: "required" refuses a proof without a fresh `nonce` (use_dpop_nonce, with a
  // DPoP-Nonce header to retry with); "off" neither issues nor checks them.
  std::string dpop_nonce = "off";
  uint32_t dpop_nonce_window_s = 300;  // a nonce is valid in the window it was issued in and the next one
  uint32_t consent_cache_entries = 10000;     // consent entitlements kept per requester identity (0: none)
  uint32_t consent_compartment_cache_mb = 8;  // resource contents kept with their patient compartments (0: none)
  // The audit trail (docs/security.md, Audit): AuditEvents for access decisions, writes and failed
  // authentications, queued and written to the store in batches by one thread.
  bool audit = true;
  uint32_t audit_queue_entries = 65536;  // records waiting at most; full: the access is refused (503)
  uint32_t audit_batch_entries = 500;    // AuditEvents one store transaction writes at most
  uint32_t audit_flush_interval_ms = 200;  // the longest a record waits for its batch (a crash loses at most this)
  uint32_t audit_export_max_entries = 10000;  // AuditEvents one GET AuditEvent/$export-ndjson answers at most
  uint32_t token_cache_mb = 16;  // bytes of validated tokens (and their Principals) the token cache holds at most
  bool enabled() const { return mode == "token" || mode == "development"; }
  bool development() const { return mode == "development"; }
};

/** The whole configuration. Copyable value type. */
/** `adapters.plo.spool.*`: the file-spool transport of the PLO adapter (docs/adapters.md). */
struct PloSpoolConfig {
  std::string in_dir;     // `in`: where the message agent drops messages (required when the adapter is on)
  std::string out_dir;    // `out`: AppRecs planbro writes (required)
  std::string error_dir;  // `error`: messages answered Avvist, with their AppRec (required)
  std::string work_dir;   // `work`: files being processed (default: <in>/.work; same file system as the others)
  uint32_t poll_interval_ms = 1000;  // how often `in` is read
  uint32_t max_files_per_poll = 100; // files one poll takes
  uint32_t workers = 16;             // files processed at once (their store commits share an fsync)
};

/** `adapters.plo.msh.*`: NHN's message service REST API (MSH API v2) with HelseID client credentials. On when
 *  base_url is set (docs/adapters.md, Transport). */
struct PloMshConfig {
  std::string base_url;           // e.g. https://api.hn-tjener.prod.melding.nhn.no; "" = the MSH transport is off
  std::string token_endpoint;     // HelseID, e.g. https://helseid-sts.nhn.no/connect/token
  std::string client_id;          // this node's HelseID client
  std::string key_file;           // the client's private JWK (RSA or EC), mode 0600
  std::string scope;              // the scope asked for (space-separated), e.g. "nhn:msh/api"
  std::string source_system = "planbro";  // the `nhn-source-system` header
  std::string api_version = "2";          // the `api-version` header
  std::string ca_file;            // empty: the system trust store
  uint32_t poll_interval_ms = 5000;       // how often the mailbox is read
  uint32_t max_messages_per_poll = 100;   // messages one poll takes (the API allows 1..100)
  uint32_t connect_timeout_ms = 5000;
  uint32_t timeout_ms = 30000;            // one call, the transfer included
  uint32_t max_attempts = 4;              // tries of one call that failed in passing (connect, 429, 5xx)
  uint32_t backoff_initial_ms = 500;      // the wait after the first failed try; doubled per try
  uint32_t backoff_max_ms = 10000;
  bool allow_plain_http = false;          // http:// base_url and token_endpoint (loopback tests only)
  uint32_t max_failures_per_message = 5;  // polls one message may fail in; then answered Avvist (X99) and read
};

/** `adapters.plo.*`: the PLO / Dialogmelding / AppRec adapter (docs/adapters.md). Off by default. */
struct PloAdapterConfig {
  bool enabled = false;
  std::string data_dir;                        // schemas and mapping table; empty: the shipped ones
  uint64_t max_message_bytes = 32ull << 20;    // one message; larger: Avvist (T99) without being read whole
  uint32_t max_depth = 64;                     // XML element nesting of one message; deeper: Avvist (T99)
  std::string apprec_version = "1.1";          // AppRec version planbro answers with: "1.0" or "1.1"
  bool require_signature = false;              // unsigned messages are Avvist (S01)
  bool verify_signatures = false;              // signed messages are verified (libxmlsec1); a bad one is Avvist (S01)
  std::string trusted_certificates_file;       // PEM certificates signatures must chain to (with verify_signatures)
  std::string her_id;                          // planbro's own HER-id, for AppRecs to messages that name no receiver
  std::string name;                            // its organisation name
  PloSpoolConfig spool;
  PloMshConfig msh;
  uint32_t apprec_timeout_minutes = 60;  // a sent message's wait for its AppRec (and each resend's)
  uint32_t apprec_max_resends = 2;       // resends before an unanswered message is escalated
  uint32_t apprec_max_per_sweep = 100;   // overdue messages one sweep reads (the rest: the next sweep)
};

struct AdaptersConfig {
  PloAdapterConfig plo;
};

struct GatewayConfig {
  ServerConfig server;
  LimitsConfig limits;
  StoreConfig store;
  LoggingConfig logging;
  DemoDataConfig demo_data;
  RestConfig rest;
  IpFiguresConfig ip_figures;
  DispatchConfig dispatch;
  IpReadConfig ip_read;
  IpConfig ip;
  AuthConfig auth;
  AdaptersConfig adapters;

  /** The JSON parser limits for request bodies (max_bytes = limits.max_body_bytes). */
  fhir::JsonLimits jsonLimits() const;
};

/** The annotated YAML the gateway runs with when no file is given. */
std::string_view embeddedDefaultConfigYaml();

/** The embedded default, parsed. Never fails (a test guards it). */
GatewayConfig defaultConfig();

/**
 * Parses YAML text over the defaults (keys absent from the text keep their default) and validates the result.
 * Unknown keys, a key given twice in one mapping (at any depth) and a second YAML document are rejected. Errors:
 * kInvalidArgument whose message lists every problem (schema and cross-field rules alike), one per line, each naming
 * the key path, the rule and the offending value: `server.io_threads: must be between 1 and 256 (got 0)`.
 * `source_name` prefixes YAML syntax errors (e.g. the file name). Never throws.
 */
Result<GatewayConfig> parseConfig(std::string_view yaml, std::string_view source_name = "config");

/** Reads and parses a YAML file. Errors as parseConfig, plus kNotFound when the file cannot be read. Never throws. */
Result<GatewayConfig> loadConfig(const std::string& path);

/** Checks cross-field rules of a config assembled in code; returns one message per problem (empty: valid). */
std::vector<std::string> validateConfig(const GatewayConfig& config);

/** Command-line settings that win over the file: `--listen HOST:PORT`, `--data-dir DIR`, `--threads N`,
 * `--demo-data`. */
struct ConfigOverrides {
  std::optional<std::string> listen;
  std::optional<std::string> data_dir;
  std::optional<uint32_t> threads;  // I/O threads
  std::optional<bool> demo_data;    // demo_data.load_once
};

/** Applies overrides, then validates again. Errors: kInvalidArgument naming the option (`--listen: ...`). */
Status applyOverrides(GatewayConfig& config, const ConfigOverrides& overrides);

/** 127.0.0.0/8 written as an address (a host name "127.example" is not one), ::1, or localhost. */
bool isLoopbackHost(std::string_view host);

/** Parses `HOST:PORT` or `[IPv6]:PORT` into host and port. Errors: kInvalidArgument with a plain-words rule. */
Status parseListen(std::string_view listen, std::string& host, uint16_t& port);

/**
 * Checks a `server.base_url`: an absolute `http://` or `https://` URL with a host (name, IPv4 or [IPv6]) and an
 * optional port and path, without user info, query or fragment; a trailing '/' is allowed. Errors:
 * kInvalidArgument with the rule broken, in plain words.
 */
Status checkBaseUrl(std::string_view url);

/**
 * The base URL the gateway puts in Location, fullUrl and links, without a trailing '/': server.base_url when set,
 * else `https://` (server.tls on) or `http://`, the listen host (IPv6 in brackets) and `port` (the bound port,
 * for `listen: HOST:0`), the port left out when it is the scheme's default.
 */
std::string effectiveBaseUrl(const GatewayConfig& config, uint16_t port);

/** For `planbro --validate-config FILE`: ok, or the error listing every problem, the TLS files' included
 * (checkTlsFilesReadable; tls_files.h has the overload taking another check). */
Status validateConfigFile(const std::string& path);

}  // namespace planbro::gateway::config
