#pragma once
// The dispatcher as `planbro serve` runs it: built from `dispatch.*` (rest-hook subscribers), started with the
// server, stopped before the store closes. Registers the per-subscriber metrics and a "dispatch" readiness check,
// and puts the admin API in front of the handler when dispatch.admin_api is on.

#include <functional>
#include <memory>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/config/gateway_config.h"
#include "planbro/gateway/dispatch/dispatcher.h"
#include "planbro/gateway/dispatch/transport.h"
#include "planbro/gateway/http/metrics.h"
#include "planbro/gateway/serve.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::dispatch {

/** Builds the transport of a subscriber whose kind is not rest-hook (e.g. "plo", provided by the PLO adapter). */
using TransportFactory =
    std::function<Result<std::shared_ptr<Transport>>(const config::DispatchSubscriberConfig& subscriber)>;

class DispatchService {
 public:
  /**
   * With subscribers configured or dispatch.subscriptions.enabled (stored Subscriptions add subscribers at runtime):
   * builds and starts the dispatcher. Without: null (the dispatcher is off, nothing
   * runs). Either way, with dispatch.admin_api the admin API wraps components.handler (set it first). Errors: a
   * subscriber's transport cannot be built, or the store keeps no dispatcher state. `access`: the per-receiver
   * decision on each event (null: every event passes; `planbro serve` gives the consent policy when auth is on).
   */
  static Result<std::shared_ptr<DispatchService>> start(const config::GatewayConfig& cfg, store::ResourceStore& store,
                                                        http::MetricsRegistry& registry, ServeComponents& components,
                                                        const TransportFactory& other_kinds = {},
                                                        std::shared_ptr<const AccessPolicy> access = nullptr);
  ~DispatchService();  // stops the workers (they hand their leases back)

  Dispatcher& dispatcher() { return *dispatcher_; }

 private:
  std::unique_ptr<Dispatcher> dispatcher_;
};

/** The readiness answer for `metrics`: unavailable, naming the subscriber, while one's oldest undelivered change is
 *  older than `stuck_after`. */
Status dispatchReadiness(const std::vector<SubscriberMetrics>& metrics, std::chrono::seconds stuck_after);

}  // namespace planbro::gateway::dispatch
