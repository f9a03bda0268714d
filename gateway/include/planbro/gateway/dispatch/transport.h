#pragma once
// The dispatcher's seam towards receivers: a subscriber is a named Transport with its own codec (FHIR rest-hook,
// a PLO message, a vendor adapter). The dispatcher knows nothing of any receiver; a transport knows nothing of the
// outbox, leases or retries.

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "planbro/gateway/dispatch/access_policy.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::dispatch {

/** One event for one receiver. */
struct Delivery {
  store::OutboxEvent event;
  /** The ordering key (the patient's compartment, e.g. "Patient/123"; else "Type/id"). */
  std::string ordering_key;
  /** Stable per event and receiver: the same on every attempt, on every node, after a restart. A receiver that
   *  remembers it applies the effect once. */
  std::string idempotency_key;
  /** The version's JSON (create / update), empty for a delete or when the transport needs no resource. */
  std::shared_ptr<const std::string> resource;
  /** The dispatcher's access policy and the subscriber, for a transport that picks receivers per event
   *  (mayReceiveAt below). Null when handed over without a dispatcher (tests): every receiver passes. */
  const AccessPolicy* access = nullptr;
  const SubscriberSpec* subscriber = nullptr;
};

/** Whether the receiver a transport picked for `delivery` may receive it (AccessPolicy::mayReceiveAt). */
inline bool mayReceiveAt(const Delivery& delivery, const EventReceiver& receiver) {
  if (delivery.access == nullptr || delivery.subscriber == nullptr) return true;
  return delivery.access->mayReceiveAt(*delivery.subscriber, receiver, delivery.event, delivery.resource.get());
}

struct DeliveryOutcome {
  enum class Kind {
    kDelivered,
    kFailed,        // the receiver refused or could not be reached: the dispatcher retries with backoff
    kNotAttempted,  // not sent (an earlier event of the same ordering key failed in this batch)
  };
  Kind kind = Kind::kNotAttempted;
  std::string error;  // for kFailed: what went wrong ("HTTP 503", "connect timeout"), for logs and dead letters
  /** For kDelivered: receivers the transport picked that the access policy refused (nothing sent to them). */
  int64_t withheld = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  /** "rest-hook", ...: for metrics and the admin API. */
  virtual std::string_view kind() const = 0;
  /** Whether deliveries carry the resource JSON (a payload-less rest-hook does not: no read for it). */
  virtual bool needsResource() const { return true; }
  /**
   * Delivers `batch` and returns one outcome per item, in batch order. Items of one ordering key come in their
   * order and must reach the receiver in it: once one of them fails, the later ones of that key are kNotAttempted.
   * Items of different keys may go in parallel. Blocks (a worker thread per subscriber calls it); must return in
   * bounded time (its own timeouts).
   */
  virtual std::vector<DeliveryOutcome> deliver(std::span<const Delivery> batch) = 0;
  /**
   * Shutdown: while `cancelled`, a deliver() running on another thread returns as soon as it can (no waiting for
   * a slow receiver or its timeout) and later calls send nothing; what did not finish is kNotAttempted (the
   * dispatcher sends it again later, under the same idempotency key). Any thread. The default does nothing: a
   * transport without it returns within its own timeouts.
   */
  virtual void setCancelled(bool cancelled) { (void)cancelled; }
};

}  // namespace planbro::gateway::dispatch
