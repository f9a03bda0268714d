#pragma once
// What the write path reports for operational metrics, without ops depending on the HTTP layer's registry:
// serve_setup fills these callbacks with the registry's families. Every callback is optional (empty: not reported)
// and must be thread-safe and cheap (they run on the write threads, inside the request).

#include <functional>
#include <string_view>

namespace planbro::gateway::ops {

struct WriteMetrics {
  /** One resource validated before a write (not $validate, which refuses nothing): its type, whether it passed
   *  (false: the write is refused with 422), and the seconds the validator took. */
  std::function<void(std::string_view type, bool accepted, double seconds)> validated;
  /** One write transaction ended: committed (with the seconds commit() took) or rolled back (seconds 0; a rollback
   *  after a failed commit counts as a rollback only). */
  std::function<void(bool committed, double seconds)> transaction_ended;
};

}  // namespace planbro::gateway::ops
