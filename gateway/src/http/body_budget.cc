#include "body_budget.h"

#include <utility>

namespace planbro::gateway::http {

bool BodyBudget::tryReserve(uint64_t bytes) {
  uint64_t used = used_.load(std::memory_order_relaxed);
  do {
    if (bytes > capacity_ || used > capacity_ - bytes) return false;
  } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
  return true;
}

void BodyBudget::release(uint64_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }

BodyReservation::BodyReservation(BodyReservation&& other) noexcept
    : budget_(std::exchange(other.budget_, nullptr)), held_(std::exchange(other.held_, 0)) {}

BodyReservation& BodyReservation::operator=(BodyReservation&& other) noexcept {
  if (this != &other) {
    reset();
    budget_ = std::exchange(other.budget_, nullptr);
    held_ = std::exchange(other.held_, 0);
  }
  return *this;
}

bool BodyReservation::grow(uint64_t bytes) {
  if (bytes == 0) return true;
  if (!budget_ || !budget_->tryReserve(bytes)) return false;
  held_ += bytes;
  return true;
}

void BodyReservation::reset() {
  if (budget_ && held_ > 0) budget_->release(held_);
  held_ = 0;
}

}  // namespace planbro::gateway::http
