// CompartmentMemo (compartment_memo.h). Compared byte for byte rather than by a hash, so that no collision can ever
// put a resource in another patient's compartment.
#include "compartment_memo.h"

#include <algorithm>

#include "planbro/gateway/security/consent_policy.h"

namespace planbro::gateway::security {

namespace {

// "Type/id" in a buffer of the thread's own: the lookup allocates nothing.
const std::string& keyOf(std::string_view type, std::string_view id) {
  thread_local std::string key_buffer;
  key_buffer.resize(type.size() + 1 + id.size());
  char* out = std::copy(type.begin(), type.end(), key_buffer.data());
  *out++ = '/';
  std::copy(id.begin(), id.end(), out);
  return key_buffer;
}

}  // namespace

const std::vector<std::string>* CompartmentMemo::findLocked(std::string_view type, std::string_view id,
                                                            std::string_view json) {
  auto it = entries_.find(keyOf(type, id));
  if (it == entries_.end() || it->second.json != json) return nullptr;
  ++hits_;
  return it->second.compartments.get();
}

std::shared_ptr<const std::vector<std::string>> CompartmentMemo::of(std::string_view type, std::string_view id,
                                                                    std::string_view json) {
  if (!cacheable(id, json)) {
    return std::make_shared<const std::vector<std::string>>(patientCompartmentsOf(type, id, json));
  }
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(keyOf(type, id));
    if (it != entries_.end() && it->second.json == json) {
      ++hits_;
      return it->second.compartments;
    }
  }
  std::string key = keyOf(type, id);
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
