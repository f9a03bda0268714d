#pragma once
// The adapters `planbro serve` can run, registered by name (docs/adapters.md, "Adding an adapter"). Each adapter
// registers one factory: from the gateway config and what the serve setup shares (the store, the adapter's own
// operations layer, the metrics, the log) it starts the adapter's codec, mapping table and inbound transport, and it
// answers for the dispatch subscribers of its kind with an outbound transport. The serve setup starts every
// registered adapter whose config turns it on and asks the registry for a subscriber's transport by kind, so the
// next adapter is one more registration (builtin_adapters.cc), not an edit of the serve setup.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/config/gateway_config.h"
#include "planbro/gateway/dispatch/transport.h"
#include "planbro/gateway/http/metrics.h"
#include "planbro/gateway/ops/operations.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::adapters {

/** What an adapter is started with. Everything outlives the adapter. */
struct AdapterContext {
  const gateway::config::GatewayConfig& config;
  gateway::store::ResourceStore& store;
  gateway::ops::Operations& operations;  // the adapter's own operations layer over the shared pipeline
  gateway::http::MetricsRegistry& metrics;
  std::function<void(std::string_view line)> info;
  std::function<void(std::string_view line)> warn;
};

/** A started adapter: its threads stop when it is destroyed. */
class RunningAdapter {
 public:
  virtual ~RunningAdapter() = default;
  /** The outbound transport for dispatch subscriber `subscriber` (its kind is this adapter's transport kind).
   *  Errors: kInvalidArgument when the adapter's config cannot send (naming the key to set). */
  virtual Result<std::shared_ptr<gateway::dispatch::Transport>> transport(
      const gateway::config::DispatchSubscriberConfig& subscriber) = 0;
};

struct AdapterFactory {
  std::string name;            // the config key under `adapters.` (e.g. "plo")
  std::string transport_kind;  // the `dispatch.subscribers[].kind` it sends for (e.g. "plo"); empty: none
  std::function<bool(const gateway::config::GatewayConfig&)> enabled;
  std::function<Result<std::unique_ptr<RunningAdapter>>(const AdapterContext&)> start;
};

class AdapterRegistry {
 public:
  /** Errors: kInvalidArgument for an empty or already registered name, or a transport kind already taken. */
  Status add(AdapterFactory factory);
  /** Null when no adapter of that name is registered. */
  const AdapterFactory* find(std::string_view name) const;
  /** The adapter sending for dispatch kind `kind`, or null. */
  const AdapterFactory* forTransportKind(std::string_view kind) const;
  const std::vector<AdapterFactory>& all() const { return factories_; }

 private:
  std::vector<AdapterFactory> factories_;
};

/** The adapters shipped with planbro (today: plo), registered once. */
const AdapterRegistry& builtinAdapters();

}  // namespace planbro::adapters
