#pragma once
// The FHIRPath expressions of every constraint in the R4 core definitions, compiled once on first use and then
// shared read-only by all threads.

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "planbro/fhir-model/fhirpath.h"
#include "planbro/fhir-model/model_info.h"
#include "simple_invariant.h"

namespace planbro::fhir::validation {

class ConstraintCache {
 public:
  /** The cache for ModelInfo::r4(), built on first call (thread-safe static initialisation). */
  static const ConstraintCache& get();

  struct Compiled {
    fhirpath::ExpressionPtr expression;      // null when the engine could not compile it
    std::unique_ptr<SimpleInvariant> simple; // the fast path, when the expression is in its subset
    bool native = false;  // checked by the validator itself (dom-2..5, ele-1, ext-1, txt-1/2, ref-1): skip here
    bool per1 = false;    // per-1 (Period start <= end): the validator tries a native comparison first
    /** A frequent invariant whose truth often follows from which members are present (see passesByShape). */
    enum class Shortcut { kNone, kObs7, kCon3, kCon4, kCon5, kBdl3, kBdl4, kBdl7, kBdl11, kBdl12, kOrg1 } shortcut =
        Shortcut::kNone;
    /** A member of the focus whose absence makes the expression true, from its form alone: `m.exists() implies X`
     *  (no other `implies`) or `m.empty() or X` (no `implies` or `xor` anywhere, which would bind looser than or
     *  alongside it). Empty when the expression has neither form. See passesWhenAbsent. */
    std::string absent_member;
  };

  /** True when `focus` (a JSON object) has no member named `member`, `_member` or a choice of it (`memberString`):
   *  no member starts with either prefix. Then a constraint whose absent_member is `member` holds. */
  static bool passesWhenAbsent(std::string_view member, const JsonValue& focus);

  /** The member of absent_member for an expression, or empty (exposed for tests). */
  static std::string absentMemberOf(std::string_view expression);

  /** True when the expression of a constraint with this shortcut is certainly true on `focus` (a JSON object) by
   *  the presence or absence of members alone: obs-7 without `component`; con-3 with a non-empty `clinicalStatus` or
   *  without `category`; con-4 without any `abatement[x]`; con-5 without `verificationStatus` or without
   *  `clinicalStatus`. The Bundle's: bdl-11/bdl-12 when `type` is another code than document/message; bdl-3/bdl-4
   *  when every entry has `request`/`response` exactly when the Bundle's type calls for it (only where `resource`,
   *  the constraint's %resource, is the focus itself); bdl-7 when the type is history or the entries' fullUrl +
   *  versionId are distinct; org-1 with an identifier or a name. Only plain shapes are decided (strings where the
   *  expression reads values, objects where it navigates; no `_name` twins). False means "not decided": the
   *  FHIRPath engine decides. */
  static bool passesByShape(Compiled::Shortcut shortcut, const JsonValue& focus, const JsonValue* resource = nullptr);

  /** The compiled forms of `constraint`, or nullptr when it is not a core constraint. */
  const Compiled* find(const Constraint& constraint) const {
    auto it = compiled_.find(&constraint);
    return it == compiled_.end() ? nullptr : &it->second;
  }

  size_t size() const { return compiled_.size(); }
  size_t simpleCount() const { return simple_; }
  size_t failedToCompile() const { return failed_; }

 private:
  explicit ConstraintCache(const ModelInfo& model);
  std::unordered_map<const Constraint*, Compiled> compiled_;
  size_t simple_ = 0;
  size_t failed_ = 0;
};

}  // namespace planbro::fhir::validation
