#pragma once
// The FHIRPath expressions of every constraint in the R4 core definitions, compiled once on first use and then
// shared read-only by all threads.

#include <unordered_map>

#include "planbro/fhir-model/fhirpath.h"
#include "planbro/fhir-model/model_info.h"

namespace planbro::fhir::validation {

class ConstraintCache {
 public:
  /** The cache for ModelInfo::r4(), built on first call (thread-safe static initialisation). */
  static const ConstraintCache& get();

  /** The compiled expression of `constraint`, or nullptr when it did not compile or is not a core constraint. */
  const fhirpath::Expression* find(const Constraint& constraint) const {
    auto it = compiled_.find(&constraint);
    return it == compiled_.end() ? nullptr : it->second.get();
  }

  size_t size() const { return compiled_.size(); }
  size_t failedToCompile() const { return failed_; }

 private:
  explicit ConstraintCache(const ModelInfo& model);
  std::unordered_map<const Constraint*, fhirpath::ExpressionPtr> compiled_;
  size_t failed_ = 0;
};

}  // namespace planbro::fhir::validation
