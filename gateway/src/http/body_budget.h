#pragma once
// The memory all request bodies in flight may hold together (limits.max_inflight_body_bytes). A connection reserves
// a body's size before reading it (Content-Length at once, a chunked body chunk by chunk); the reservation is held
// until the request — whose body the handler reads — is destroyed. A reservation that does not fit is refused, and
// the server answers 503 instead of reading the body: many connections each sending a large body cannot together
// take more memory than the budget.

#include <atomic>
#include <cstdint>

namespace planbro::gateway::http {

/** A shared byte budget. Thread-safe. */
class BodyBudget {
 public:
  explicit BodyBudget(uint64_t capacity) : capacity_(capacity) {}
  BodyBudget(const BodyBudget&) = delete;
  BodyBudget& operator=(const BodyBudget&) = delete;

  /** Takes `bytes` if they fit beside what is already taken; false (nothing taken) otherwise. */
  bool tryReserve(uint64_t bytes);
  /** Gives back `bytes` taken by tryReserve. */
  void release(uint64_t bytes);
  uint64_t inUse() const { return used_.load(std::memory_order_relaxed); }
  uint64_t capacity() const { return capacity_; }

 private:
  const uint64_t capacity_;
  std::atomic<uint64_t> used_{0};
};

/** Bytes held from a BodyBudget, given back when it is destroyed or reset. Move-only. */
class BodyReservation {
 public:
  BodyReservation() = default;
  explicit BodyReservation(BodyBudget* budget) : budget_(budget) {}
  BodyReservation(BodyReservation&& other) noexcept;
  BodyReservation& operator=(BodyReservation&& other) noexcept;
  BodyReservation(const BodyReservation&) = delete;
  BodyReservation& operator=(const BodyReservation&) = delete;
  ~BodyReservation() { reset(); }

  /** Holds `bytes` more; false (and nothing more held) when the budget has no room. */
  bool grow(uint64_t bytes);
  /** Gives everything back. */
  void reset();
  uint64_t held() const { return held_; }

 private:
  BodyBudget* budget_ = nullptr;
  uint64_t held_ = 0;
};

}  // namespace planbro::gateway::http
