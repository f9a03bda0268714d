#pragma once
// The access check every event passes for every receiver before it leaves. The default lets everything through; the
// consent policy (who may see what of a patient's plan) plugs in here. A refused event is not sent at all: not the
// resource, not its id, not a tombstone, so a receiver never learns that a hidden resource exists or changed.

#include <string>

#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::dispatch {

struct SubscriberSpec;

/** A receiver a transport picks per event (a PLO message goes to the organisations the plan names by HER-id). */
struct EventReceiver {
  std::string organization_number;  // as in HelseID
  std::string her_id;               // the address register's id, used when organization_number is empty
};

class AccessPolicy {
 public:
  virtual ~AccessPolicy() = default;
  /**
   * Whether `subscriber` may receive `event`. `resource` is the version's JSON, or for a delete the last version
   * before it (what the receiver had been allowed to see), or null when it could not be read. Called on the
   * subscriber's worker thread; must be thread-safe across subscribers.
   */
  virtual bool mayReceive(const SubscriberSpec& subscriber, const store::OutboxEvent& event,
                          const std::string* resource) const = 0;
  /**
   * Whether `receiver`, chosen by `subscriber`'s transport for `event`, may receive it: asked per receiver before
   * anything is built for it; a refused receiver gets nothing (the transport skips it and counts it as withheld).
   * `resource` as for mayReceive. Thread-safe. Default: yes.
   */
  virtual bool mayReceiveAt(const SubscriberSpec& subscriber, const EventReceiver& receiver,
                            const store::OutboxEvent& event, const std::string* resource) const {
    (void)subscriber;
    (void)receiver;
    (void)event;
    (void)resource;
    return true;
  }
};

/** Lets every event through (until the consent policy plugs in). */
class AllowAllPolicy final : public AccessPolicy {
 public:
  bool mayReceive(const SubscriberSpec&, const store::OutboxEvent&, const std::string*) const override { return true; }
};

}  // namespace planbro::gateway::dispatch
