// CompartmentMemo (compartment_memo.h). Compared byte for byte rather than by a hash, so that no collision can ever
// put a resource in another patient's compartment.
#include "compartment_memo.h"

#include "planbro/gateway/security/consent_policy.h"

namespace planbro::gateway::security {

std::shared_ptr<const std::vector<std::string>> CompartmentMemo::of(std::string_view type, std::string_view id,
                                                                    std::string_view json) {
  if (max_bytes_ == 0 || id.empty() || json.empty()) {
    return std::make_shared<const std::vector<std::string>>(patientCompartmentsOf(type, id, json));
  }
  thread_local std::string key_buffer;  // the lookup allocates nothing
  key_buffer.clear();
  key_buffer.append(type).append("/").append(id);
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key_buffer);
    if (it != entries_.end() && it->second.json == json) {
      ++hits_;
      return it->second.compartments;
    }
  }
  std::string key = key_buffer;
  auto computed = std::make_shared<const std::vector<std::string>>(patientCompartmentsOf(type, id, json));
  const size_t size = key.size() + json.size();
  if (size > max_bytes_) return computed;
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    bytes_ -= it->first.size() + it->second.json.size();
    entries_.erase(it);
  }
  if (bytes_ + size > max_bytes_) {
    entries_.clear();
    bytes_ = 0;
  }
  bytes_ += size;
  entries_.emplace(std::move(key), Entry{std::string(json), computed});
  return computed;
}

size_t CompartmentMemo::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

uint64_t CompartmentMemo::hits() const {
  std::lock_guard lock(mutex_);
  return hits_;
}

}  // namespace planbro::gateway::security
