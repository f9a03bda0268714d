#include "planbro/gateway/rest/serve_setup.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <memory>

#include "planbro/fhir-model/fhirpath.h"
#include "planbro/fhir-model/profile_set.h"
#include "planbro/fhir-model/validator.h"
#include "planbro/fhir-model/regex.h"
#include "planbro/gateway/dispatch/dispatch_service.h"
#include "planbro/gateway/http/logging.h"
#include "planbro/gateway/ip/conformance_catalog.h"
#include "planbro/gateway/ip/figures_operation.h"
#include "planbro/gateway/ip/ip_read_operations.h"
#include "planbro/gateway/ip/plan_narrative_stage.h"
#include "planbro/gateway/ip/ip_rules.h"
#include "planbro/gateway/ops/identity_keys.h"
#include "planbro/gateway/ops/write_pipeline.h"
#include "planbro/gateway/rest/profile_loading.h"
#include "planbro/gateway/rest/rest_handler.h"
#include "planbro/gateway/security/audit_export.h"
#include "planbro/gateway/security/audit_log.h"
#include "planbro/gateway/security/auth_filter.h"
#include "planbro/gateway/security/consent_policy.h"
#include "planbro/gateway/security/consent_dispatch.h"
#include "planbro/gateway/security/emergency_access.h"
#include "planbro/gateway/store/resource_store.h"
#include "serve_metrics.h"
#include "planbro/adapters/adapter_registry.h"
#include "planbro/gateway/subscriptions/events_operation.h"
#include "planbro/gateway/ops/operations.h"
#include "planbro/gateway/search/search_executor.h"
#include "planbro/gateway/subscriptions/notification_receiver.h"
#include "planbro/gateway/subscriptions/status_operation.h"
#include "planbro/gateway/subscriptions/subscription_access.h"
#include "planbro/gateway/subscriptions/subscription_manager.h"
#include "planbro/gateway/subscriptions/topic.h"

#ifndef PLANBRO_DEMO_BUNDLE_PATH
#define PLANBRO_DEMO_BUNDLE_PATH "conformance/demo/individual-plan-demo.json"
#endif

namespace planbro::gateway::rest {
namespace {

// Everything that must outlive the server, destroyed handler first (it refers to the store).
struct Parts {
  std::unique_ptr<store::ResourceStore> store;
  std::shared_ptr<RestHandler> handler;
  std::unique_ptr<ServeMetrics> metrics;  // its scrape-time reads stop before the store goes
  std::shared_ptr<dispatch::DispatchService> dispatch;  // declared after the store: stopped before it closes
  // The adapters write through operations of their own over the same store and pipeline (adapters.*).
  std::unique_ptr<search::SearchExecutor> adapter_executor;
  std::unique_ptr<ops::Operations> adapter_operations;
  std::vector<std::pair<std::string, std::unique_ptr<adapters::RunningAdapter>>> adapters;  // by name
  // Stored Subscriptions as dispatcher subscribers (dispatch.subscriptions): writes their status through operations
  // of its own.
  std::unique_ptr<search::SearchExecutor> subscriptions_executor;
  std::unique_ptr<ops::Operations> subscriptions_operations;
  std::unique_ptr<subscriptions::SubscriptionManager> subscriptions;
  // Another node's notifications applied here (dispatch.subscriptions.receive_notifications).
  std::unique_ptr<search::SearchExecutor> receiver_executor;
  std::unique_ptr<ops::Operations> receiver_operations;
  // The audit trail (auth.audit): stopped — every accepted record written — once nothing records any more, before
  // the store closes. Filters and policies may hold it longer; stopped, it never touches the store again.
  std::shared_ptr<security::AuditLog> audit;
  ~Parts() {
    subscriptions.reset();  // its thread stops, its subscribers leave the dispatcher, before the dispatcher goes
    subscriptions_operations.reset();
    subscriptions_executor.reset();
    receiver_operations.reset();
    receiver_executor.reset();
    dispatch.reset();  // a `plo` subscriber's transport uses the adapter's operations and client: it stops first
    adapters.clear();  // their polling threads stop before what they write to goes
    adapter_operations.reset();
    adapter_executor.reset();
    handler.reset();
    metrics.reset();
    if (audit) audit->stop();
  }
};

// Database connections when store.pool_size is not set (opened lazily, up to this many). Every thread that runs
// handlers may read at once. SQLite connections are cheap, and its writes go through the one writer connection, so
// the pool fits all threads. A PostgreSQL connection is a server process and writes hold one for their whole
// transaction: the write threads get at most kPostgresWriteConnections, so that a few nodes stay well inside the
// server's max_connections (100 by default); more concurrent writes wait for a connection.
constexpr size_t kPostgresWriteConnections = 16;
size_t defaultPoolSize(const config::GatewayConfig& cfg) {
  size_t pool = static_cast<size_t>(cfg.server.io_threads) + cfg.server.worker_threads;
  if (cfg.store.engine == config::StoreEngine::kSqlite) {
    pool += cfg.server.write_threads;
  } else {
    pool += std::min<size_t>(cfg.server.write_threads, kPostgresWriteConnections);
  }
  return std::max<size_t>(pool, 1);
}

// The validator of every write and of $validate: the R4 core profiles and the individual-plan package, built once
// (profile_loading.h: `planbro validate` loads the same way).
Result<std::shared_ptr<const fhir::Validator>> profileValidator(const RestServeOptions& options,
                                                                const fhir::ValidationOptions& base) {
  ProfilePackages packages;
  packages.ip_package_dir = options.profile_package_dir;
  fhir::ValidatorOptions vo;
  vo.base = base;
  auto loaded = loadProfileValidator(packages, std::move(vo));
  if (!loaded.isOk()) return loaded.status();
  if (loaded->ip_package_missing) {
    http::appLogger()->warn("profiles: no package folder at {}; validating against the R4 core profiles only",
                            loaded->ip_package_dir);
  }
  for (const std::string& w : loaded->warnings) http::appLogger()->warn("profiles: {}", w);
  http::appLogger()->info("profiles: {} loaded (R4 core and {})", loaded->profile_count, loaded->ip_package_dir);
  return std::move(loaded->validator);
}

}  // namespace

ServeSetup makeRestServeSetup(RestServeOptions options) {
  return [options](const config::GatewayConfig& cfg, http::MetricsRegistry& registry, ServeComponents& components) -> Status {
    auto parts = std::make_shared<Parts>();
    size_t pool = cfg.store.pool_size != 0 ? cfg.store.pool_size : defaultPoolSize(cfg);
    if (cfg.store.engine == config::StoreEngine::kSqlite) {
      std::error_code ec;
      std::filesystem::create_directories(cfg.store.data_dir, ec);
      if (ec) return unavailable("cannot create data directory " + cfg.store.data_dir + ": " + ec.message());
      store::SqliteStoreOptions so;
      so.path = cfg.store.sqlitePath();
      so.pool_size = pool;
      so.read_cache_bytes = static_cast<size_t>(cfg.store.read_cache_mb) << 20;
      so.statement_cache_bytes = static_cast<size_t>(cfg.store.statement_cache_kb) << 10;
      auto s = store::openSqliteStore(so);
      if (!s.isOk()) return s.status();
      parts->store = std::move(s).value();
    } else {
      store::PostgresStoreOptions po;
      po.conninfo = cfg.store.postgres_url;
      po.pool_size = pool;
      po.statement_cache_bytes = static_cast<size_t>(cfg.store.statement_cache_kb) << 10;
      auto s = store::openPostgresStore(po);
      if (!s.isOk()) return s.status();
      parts->store = std::move(s).value();
    }
    // Patients stored before one-Patient-per-person-number existed get their keys now, once per database.
    auto backfill = ops::claimStoredPersonNumbers(*parts->store);
    if (!backfill.isOk()) return backfill.status();
    if (!backfill->already_done) {
      http::appLogger()->info("person-number keys claimed for {} of {} stored Patients", backfill->claimed,
                              backfill->patients);
      for (const std::string& d : backfill->duplicates) {
        http::appLogger()->warn("duplicate Patient registration found: {}; merge them", d);
      }
    }
    parts->metrics = std::make_unique<ServeMetrics>(registry, *parts->store, options.outbox_refresh_interval);
    parts->metrics->refreshOutbox();
    RestOptions rest;
    rest.writer.metrics = parts->metrics->writeMetrics();
    // A commit wakes the dispatcher (once it runs) instead of leaving the change to its next poll.
    auto dispatch_to_wake = std::make_shared<std::atomic<dispatch::DispatchService*>>(nullptr);
    auto waking = rest.writer.metrics ? std::make_shared<ops::WriteMetrics>(*rest.writer.metrics)
                                      : std::make_shared<ops::WriteMetrics>();
    // A committed Subscription write wakes the Subscription manager too (the write hook marks it).
    auto subscriptions_to_wake = std::make_shared<std::atomic<subscriptions::SubscriptionManager*>>(nullptr);
    auto subscription_written = std::make_shared<std::atomic<bool>>(false);
    waking->transaction_ended = [ended = waking->transaction_ended, dispatch_to_wake, subscriptions_to_wake,
                                 subscription_written](bool committed, double seconds) {
      if (ended) ended(committed, seconds);
      if (dispatch::DispatchService* d = committed ? dispatch_to_wake->load() : nullptr) d->dispatcher().wake();
      if (committed && subscription_written->exchange(false)) {
        if (subscriptions::SubscriptionManager* m = subscriptions_to_wake->load()) m->wake();
      }
    };
    rest.writer.metrics = std::move(waking);
    rest.json_limits = cfg.jsonLimits();
    rest.writer.validation.json_limits = rest.json_limits;
    rest.check_references = cfg.rest.check_references;
    rest.transaction_writer_budget = std::chrono::milliseconds(cfg.rest.transaction_writer_budget_ms);
    rest.max_bundle_response_bytes = static_cast<size_t>(cfg.limits.max_bundle_response_bytes);
    const config::SearchLimitsConfig& sl = cfg.limits.search;
    rest.search.max_work_rows = sl.max_work_rows;
    rest.search.max_included = sl.max_included;
    rest.search.max_chain_matches = sl.max_chain_matches;
    rest.search.max_sort_candidates = sl.max_sort_candidates;
    rest.search.max_total = sl.max_total;
    rest.search.max_query_steps = static_cast<int64_t>(sl.max_query_steps);
    rest.search.max_page_bytes = static_cast<size_t>(sl.max_page_bytes);
    rest.search_parse.max_parameters = sl.max_parameters;
    rest.search_parse.max_or_values = sl.max_or_values;
    rest.search_parse.max_chain_depth = sl.max_chain_depth;
    rest.max_patch_operations = cfg.limits.max_patch_operations;
    rest.writer.max_index_rows = cfg.limits.max_index_rows_per_resource;
    rest.writer.max_transaction_index_rows = cfg.limits.max_index_rows_per_transaction;
    rest.max_bundle_work_rows = static_cast<size_t>(cfg.limits.max_bundle_work_rows);
    // Location, fullUrl and links: the configured base, else the listening scheme, host and port.
    rest.base_url = config::effectiveBaseUrl(cfg, cfg.server.port);
    rest.writer.validation.max_issues = cfg.limits.validation_max_issues;
    rest.xml_limits.max_bytes = static_cast<size_t>(cfg.limits.max_body_bytes);
    rest.xml_limits.max_attributes = cfg.limits.xml_max_attributes;
    rest.xml_limits.max_name_bytes = cfg.limits.xml_max_name_bytes;
    fhir::RegexLimits regex_limits;
    regex_limits.max_pattern_bytes = cfg.limits.regex_max_pattern_bytes;
    regex_limits.max_program_size = static_cast<int>(cfg.limits.regex_max_program_size);
    fhir::setDefaultRegexLimits(regex_limits);
    fhir::fhirpath::setDefaultEvaluationLimits({cfg.limits.fhirpath_max_steps, cfg.limits.fhirpath_max_collection_items,
                                                cfg.limits.fhirpath_max_string_bytes});
    auto validator = profileValidator(options, rest.writer.validation);
    if (!validator.isOk()) return validator.status();
    rest.writer.validator = ops::makeProfileValidator(std::move(validator).value());
    // The conformance resources served at GET [base]/StructureDefinition/... come from the same folder the
    // validator was built from, so a client reads exactly what its writes are held to.
    {
      std::string dir = options.profile_package_dir.empty() ? PLANBRO_IP_PACKAGE_DIR : options.profile_package_dir;
      std::error_code ec;
      if (std::filesystem::is_directory(dir, ec)) {
        // With the no-basis profiles the validator loaded alongside (profile_loading.h), served the same way.
        ProfilePackages served;
        served.ip_package_dir = options.profile_package_dir;
        const std::string no_basis = noBasisDirOf(served);
        std::vector<std::filesystem::path> dirs{dir};
        if (!no_basis.empty()) dirs.emplace_back(no_basis);
        auto catalog = ip::ConformanceCatalog::loadDirectories(dirs);
        if (!catalog.isOk()) return catalog.status();
        http::appLogger()->info("conformance: {} resources served read-only from {}{}", (*catalog)->size(), dir,
                                no_basis.empty() ? std::string() : " and " + no_basis);
        rest.conformance = std::move(catalog).value();
      }
    }
    std::shared_ptr<OperationRegistry> operation_registry;  // filled during start-up only
    {
      auto registry = std::make_shared<OperationRegistry>();
      operation_registry = registry;
      ip::IpReadOptions ip_read;
      ip_read.max_plans_per_patient = cfg.ip_read.max_plans_per_patient;
      ip_read.deadlines_max_within_days = static_cast<int>(cfg.ip_read.deadlines_max_within_days);
      ip_read.deadlines_max_plans = cfg.ip_read.deadlines_max_plans;
      if (Status s = ip::registerIpReadOperations(*registry, ip_read); !s.isOk()) return s;
      ip::FiguresOptions figures;
      figures.max_work_rows = static_cast<size_t>(cfg.ip_figures.max_work_rows);
      figures.max_period_years = static_cast<int>(cfg.ip_figures.max_period_years);
      if (Status s = registry->add(ip::makeIpFiguresOperation(figures)); !s.isOk()) return s;
      if (cfg.dispatch.subscriptions.enabled) {
        if (Status s = subscriptions::registerStatusOperation(*registry); !s.isOk()) return s;
      }
      // The audit trail as NDJSON, for the auditor (docs/security.md, Audit).
      if (Status s = registry->add(security::makeAuditExportOperation(cfg.auth.audit_export_max_entries)); !s.isOk()) {
        return s;
      }
      rest.operations = std::move(registry);
    }
    // The IP CarePlan's narrative: made from the plan on every write, and from what it references on every read.
    rest.writer.transform = ip::makePlanNarrativeTransform(rest.conformance);
    rest.presenter = ip::makePlanNarrativePresenter(rest.clock, rest.conformance, cfg.ip_read.narrative_max_references);
    // The individual-plan rules (docs/ip-rules.md), on every write; their measure-status graph from the package.
    {
      std::string dir = options.profile_package_dir.empty() ? PLANBRO_IP_PACKAGE_DIR : options.profile_package_dir;
      ip::MeasureStatusGraph graph;
      std::error_code ec;
      if (std::filesystem::is_directory(dir, ec)) {
        auto loaded = ip::MeasureStatusGraph::fromPackageDir(dir);
        if (!loaded.isOk()) return Status(loaded.status().code(), "ip rules: " + loaded.status().message());
        graph = std::move(loaded).value();
      } else {
        http::appLogger()->warn("ip rules: no package folder at {}; measure-status transitions (GW-18) unchecked", dir);
      }
      ip::IpRulesOptions ip_options;
      ip_options.clock = rest.clock;
      ip_options.max_handover_overlap_days = cfg.ip.max_handover_overlap_days;
      ip_options.record_provenance = cfg.ip.provenance;
      for (auto& hook : ip::makeIpRuleHooks(ip_options, std::move(graph))) rest.writer.hooks.push_back(std::move(hook));
      // Plans stored before one-active-plan-per-patient existed get their keys now, once per database.
      auto plans = ip::claimStoredActivePlans(*parts->store);
      if (!plans.isOk()) return plans.status();
      if (!plans->already_done) {
        http::appLogger()->info("active-plan keys claimed for {} of {} stored CarePlans", plans->claimed, plans->plans);
        for (const std::string& d : plans->duplicates) {
          http::appLogger()->warn("a patient has more than one active individual plan: {}; end one of them", d);
        }
      }
    }
    // Every Subscription write is held to what the gateway can serve (dispatch.subscriptions; off: 422).
    const config::DispatchSubscriptionsConfig& sc = cfg.dispatch.subscriptions;
    subscriptions::SubscriptionPolicy subscription_policy;
    subscription_policy.enabled = sc.enabled;
    subscription_policy.allow_plain_http = sc.allow_plain_http;
    subscription_policy.allowed_endpoints = sc.allowed_endpoints;
    subscription_policy.max_headers = sc.max_headers;
    subscription_policy.criteria.max_bytes = sc.max_criteria_bytes;
    subscription_policy.criteria.max_parameters = std::min<size_t>(sl.max_parameters, 20);
    subscription_policy.min_heartbeat = std::chrono::seconds(sc.min_heartbeat_s);
    subscription_policy.max_filters = sc.max_filters;
    // The gateway's SubscriptionTopics (Basic) come from the conformance package the validator is built from.
    {
      std::string dir = options.profile_package_dir.empty() ? PLANBRO_IP_PACKAGE_DIR : options.profile_package_dir;
      std::error_code ec;
      if (std::filesystem::is_directory(dir, ec)) {
        auto topics = subscriptions::TopicCatalog::loadDirectory(dir);
        if (!topics.isOk()) return topics.status();
        subscription_policy.topics = std::move(topics).value();
      }
    }
    rest.writer.hooks.push_back(subscriptions::makeTopicWriteHook(subscription_policy.topics));
    rest.writer.hooks.push_back(subscriptions::makeSubscriptionWriteHook(
        subscription_policy, [subscription_written] { subscription_written->store(true); }));
    // auth.mode token: the authentication filter runs before every request, the scope policy inside every
    // interaction (docs/security.md, Authentication). Open mode keeps the allow-all default.
    std::shared_ptr<security::AuthFilter> auth_filter;
    std::shared_ptr<const dispatch::AccessPolicy> dispatch_access;  // consent on the outbound feed, with auth on
    if (cfg.auth.audit) {
      // Every write through the pipeline (REST, adapters, the demo loader) and, with tokens, every access decision
      // and failed authentication (docs/security.md, Audit).
      security::AuditLogOptions ao;
      ao.queue_entries = cfg.auth.audit_queue_entries;
      ao.batch_entries = cfg.auth.audit_batch_entries;
      ao.flush_interval = std::chrono::milliseconds(cfg.auth.audit_flush_interval_ms);
      parts->audit = std::make_shared<security::AuditLog>(*parts->store, ao);
      rest.writer.audit = parts->audit;
    }
    if (cfg.auth.enabled()) {
      auto auth = security::makeAuthComponents(cfg, rest.base_url, parts->store.get());
      if (!auth.isOk()) return auth.status();
      auth_filter = auth->filter;
      rest.access = auth->policy;
      if (parts->audit) {
        auth->filter->setAuditSink(parts->audit);
        rest.access = security::makeAuditedPolicy(auth->policy, parts->audit);
      }
      // Consent enforcement (docs/security.md, "Consent enforcement") after the scopes, and emergency access; each
      // per-resource decision is audited too.
      security::ConsentPolicyOptions consent;
      consent.clock = rest.clock;
      consent.emergency_access_minutes = static_cast<int>(cfg.auth.emergency_access_minutes);
      consent.max_team_entries = cfg.auth.consent_max_entries;
      consent.entitlement_cache_entries = cfg.auth.consent_cache_entries;
      consent.compartment_cache_bytes = size_t{cfg.auth.consent_compartment_cache_mb} << 20;
      if (parts->audit) consent.on_access_decision = security::auditObserverOf(parts->audit);
      rest.access = security::makeConsentPolicy(*parts->store, consent, rest.access);
      // The same consent rules per receiver on the outbound feed (docs/dispatch.md, Access): a subscriber that names
      // its receiving organisation gets a change only when the patient's consent lets that organisation see it.
      {
        std::map<std::string, security::DispatchReceiver> receivers;
        for (const config::DispatchSubscriberConfig& s : cfg.dispatch.subscribers) {
          if (s.receiver_organization.empty() && s.receiver_her_id.empty()) continue;
          security::DispatchReceiver r;
          r.organization_number = s.receiver_organization;
          r.her_id = s.receiver_her_id;
          receivers.emplace(s.name, std::move(r));
        }
        // Always: stored Subscriptions receive as their creators (SubscriberSpec::acting_for) even with no receiver.
        dispatch_access = security::makeConsentDispatchPolicy(*parts->store, consent, std::move(receivers));
      }
      if (operation_registry) {
        security::EmergencyAccessOptions emergency;
        emergency.clock = rest.clock;
        emergency.minutes = consent.emergency_access_minutes;
        emergency.on_access_decision = consent.on_access_decision;  // one audit sink sees both
        emergency.operations.writer = rest.writer;
        emergency.operations.check_references = rest.check_references;
        emergency.operations.search_parse = rest.search_parse;
        if (Status s = operation_registry->add(security::makeEmergencyAccessOperation(*parts->store, emergency)); !s.isOk()) {
          return s;
        }
      }
      components.filters.push_back(auth->filter);
    }
    // A Subscription pushes what its creator may not otherwise have asked for: writing one needs search access
    // to every type it delivers (docs/dispatch.md, "Subscriptions").
    if (rest.access) rest.access = subscriptions::makeSubscriptionAccessPolicy(rest.access, subscription_policy.topics);
    // Subscription/$events: the outbox read again as each Subscription's notifications were sent, under the same
    // access policy (docs/dispatch.md, "$events").
    if (operation_registry && sc.enabled) {
      auto events = std::make_shared<subscriptions::EventsOptions>();
      events->max_events = sc.events_max_count;
      events->max_scanned = sc.events_max_scanned;
      events->policy = subscription_policy;
      events->access = dispatch_access;
      events->own_base_url = rest.base_url;
      if (Status s = operation_registry->add(subscriptions::makeEventsOperation(std::move(events))); !s.isOk()) return s;
    }
    parts->handler = std::make_shared<RestHandler>(*parts->store, rest);
    if (cfg.server.base_url.empty() && cfg.server.port == 0) {
      // `listen: HOST:0`: the port is known once the server listens.
      std::weak_ptr<RestHandler> weak = parts->handler;
      components.on_listening = [weak, cfg, auth_filter](uint16_t port) {
        if (auto handler = weak.lock()) handler->setBaseUrl(config::effectiveBaseUrl(cfg, port));
        if (auth_filter) auth_filter->setBaseUrl(config::effectiveBaseUrl(cfg, port));
      };
    }

    // Said either way, so an operator can tell from the log whether synthetic data may be in the store.
    if (cfg.demo_data.load_once) {
      std::string path = options.demo_bundle_path.empty() ? PLANBRO_DEMO_BUNDLE_PATH : options.demo_bundle_path;
      BundleLoadReport report;
      // In-process, past the access policy but through the same write pipeline (loadBundleIfEmpty's contract).
      Status loaded = loadBundleIfEmpty(*parts->store, rest, path, &report);
      if (loaded.code() == StatusCode::kNotFound) {
        http::appLogger()->warn("demo data: requested but not loaded: {}", loaded.message());
      } else if (!loaded.isOk()) {
        return loaded;
      } else if (!report.store_was_empty) {
        http::appLogger()->info("demo data: requested; the store already holds data, nothing loaded");
      } else {
        http::appLogger()->info("demo data: loaded {} resources from {} ({} of {} entries already present)",
                                report.created, path, report.entries - report.created, report.entries);
      }
    } else {
      http::appLogger()->info("demo data: not requested");
    }
    // The adapters (adapters.*) are started through their registry, by name (adapters/registry, docs/adapters.md);
    // each writes through operations of its own over the same store and pipeline.
    for (const adapters::AdapterFactory& factory : adapters::builtinAdapters().all()) {
      if (!factory.enabled(cfg)) continue;
      if (!parts->adapter_operations) {
        parts->adapter_executor = std::make_unique<search::SearchExecutor>(*parts->store, rest.search);
        ops::OperationsOptions oo;
        oo.writer = rest.writer;
        oo.check_references = rest.check_references;
        oo.transaction_writer_budget = rest.transaction_writer_budget;
        oo.search_parse = rest.search_parse;
        parts->adapter_operations = std::make_unique<ops::Operations>(*parts->store, *parts->adapter_executor, oo);
      }
      const adapters::AdapterContext context{cfg, *parts->store, *parts->adapter_operations, registry,
                                             [](std::string_view line) { http::appLogger()->info("{}", line); },
                                             [](std::string_view line) { http::appLogger()->warn("{}", line); }};
      auto started = factory.start(context);
      if (!started.isOk()) return started.status();
      parts->adapters.emplace_back(factory.name, std::move(started).value());
    }
    store::ResourceStore* raw = parts->store.get();
    components.readiness.push_back(http::ReadinessCheck{"store", [raw]() -> Status {
      auto r = raw->read("Patient", "readiness-probe");
      if (r.isOk() || r.status().code() == StatusCode::kNotFound || r.status().code() == StatusCode::kGone) {
        return Status::ok();
      }
      return r.status();
    }});
    components.handler = parts->handler;
    // The dispatcher over the outbox (on when dispatch.subscribers lists any) and its admin API (docs/dispatch.md).
    // A subscriber of an adapter's kind (e.g. `plo`) sends through that adapter (docs/adapters.md).
    dispatch::TransportFactory adapter_transports = [raw_parts = parts.get()](
        const config::DispatchSubscriberConfig& s) -> Result<std::shared_ptr<dispatch::Transport>> {
      const adapters::AdapterFactory* factory = adapters::builtinAdapters().forTransportKind(s.kind);
      if (factory != nullptr) {
        for (auto& [name, adapter] : raw_parts->adapters) {
          if (name == factory->name) return adapter->transport(s);
        }
      }
      return invalidArgument("kind " + s.kind + " needs adapters." + (factory != nullptr ? factory->name : s.kind) +
                             ".enabled");
    };
    auto dispatch =
        dispatch::DispatchService::start(cfg, *parts->store, registry, components, adapter_transports, dispatch_access);
    if (!dispatch.isOk()) return dispatch.status();
    parts->dispatch = std::move(dispatch).value();
    dispatch_to_wake->store(parts->dispatch.get());
    if (sc.enabled && parts->dispatch) {
      parts->subscriptions_executor = std::make_unique<search::SearchExecutor>(*parts->store, rest.search);
      ops::OperationsOptions oo;
      oo.writer = rest.writer;
      oo.check_references = rest.check_references;
      oo.search_parse = rest.search_parse;
      parts->subscriptions_operations = std::make_unique<ops::Operations>(*parts->store, *parts->subscriptions_executor, oo);
      subscriptions::ManagerOptions mo;
      mo.policy = subscription_policy;
      mo.poll_interval = std::chrono::milliseconds(sc.poll_interval_ms);
      mo.max_active = sc.max_active;
      mo.timeout = std::chrono::milliseconds(sc.timeout_ms);
      mo.connect_timeout = std::chrono::milliseconds(sc.connect_timeout_ms);
      mo.max_pings_per_round = sc.max_pings_per_round;
      mo.max_parallel_pings = sc.max_parallel_pings;
      mo.own_base_url = rest.base_url;
      // Notifications name resources by absolute URL: the base as it is once the server listens (port 0).
      auto base = std::make_shared<std::pair<std::mutex, std::string>>();
      base->second = rest.base_url;
      mo.base_url = [base] {
        std::lock_guard lock(base->first);
        return base->second;
      };
      if (cfg.server.base_url.empty() && cfg.server.port == 0) {
        components.on_listening = [before = components.on_listening, base, cfg](uint16_t port) {
          if (before) before(port);
          std::lock_guard lock(base->first);
          base->second = config::effectiveBaseUrl(cfg, port);
        };
      }
      parts->subscriptions = std::make_unique<subscriptions::SubscriptionManager>(
          *parts->store, *parts->subscriptions_operations, *parts->subscriptions_executor,
          parts->dispatch->dispatcher(), std::move(mo));
      if (Status s = parts->subscriptions->seedTopics(); !s.isOk()) return s;
      parts->subscriptions->start();
      subscriptions_to_wake->store(parts->subscriptions.get());
      http::appLogger()->info("subscriptions: stored Subscriptions are served (dispatch.subscriptions.enabled)");
    }
    if (sc.receive_notifications) {
      parts->receiver_executor = std::make_unique<search::SearchExecutor>(*parts->store, rest.search);
      ops::OperationsOptions oo;
      oo.writer = rest.writer;
      oo.check_references = rest.check_references;
      oo.search_parse = rest.search_parse;
      parts->receiver_operations = std::make_unique<ops::Operations>(*parts->store, *parts->receiver_executor, oo);
      subscriptions::NotificationReceiverOptions ro;
      ro.scope = sc.receive_scope;
      ro.max_entries = sc.receive_max_entries;
      components.handler = subscriptions::makeNotificationReceiver(*parts->receiver_operations, ro, components.handler);
      http::appLogger()->info("subscriptions: notifications from other nodes are applied at {}",
                              subscriptions::kNotificationReceiverPath);
    }
    components.keep_alive = parts;
    return Status::ok();
  };
}

}  // namespace planbro::gateway::rest
