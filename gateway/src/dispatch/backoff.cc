#include "planbro/gateway/dispatch/backoff.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <random>

namespace planbro::gateway::dispatch {

RandomSource systemRandom() {
  struct Shared {
    std::mutex mutex;
    std::mt19937_64 engine{std::random_device{}()};
  };
  auto shared = std::make_shared<Shared>();
  return [shared] {
    std::lock_guard lock(shared->mutex);
    return std::uniform_real_distribution<double>(0.0, 1.0)(shared->engine);
  };
}

std::chrono::microseconds BackoffPolicy::delay(int attempt, const RandomSource& random) const {
  using std::chrono::microseconds;
  const auto cap = std::chrono::duration_cast<microseconds>(max);
  auto base = std::chrono::duration_cast<microseconds>(initial);
  // Doubling stops at the cap (and long before it could overflow).
  for (int i = 1; i < attempt && base < cap; ++i) base *= 2;
  base = std::min(base, cap);
  const double r = std::clamp(random ? random() : 0.5, 0.0, 1.0);
  return microseconds(static_cast<int64_t>(static_cast<double>(base.count()) * (0.5 + 0.5 * r)));
}

}  // namespace planbro::gateway::dispatch
