#pragma once
// Exponential backoff with jitter for redelivery, with an injected source of randomness (tests pin it).

#include <chrono>
#include <functional>

namespace planbro::gateway::dispatch {

/** Uniform in [0, 1). Must be callable from any thread. */
using RandomSource = std::function<double()>;
/** A thread-safe RandomSource seeded from the OS. */
RandomSource systemRandom();

struct BackoffPolicy {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{300'000};
  /** The wait after the `attempt`-th failure (1-based): min(max, initial * 2^(attempt-1)), scaled by a random
   *  factor in [0.5, 1) ("equal jitter"), so receivers coming back are not hit by every sender at once. */
  std::chrono::microseconds delay(int attempt, const RandomSource& random) const;
};

}  // namespace planbro::gateway::dispatch
