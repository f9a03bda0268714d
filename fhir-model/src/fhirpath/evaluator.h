#pragma once
// Internal interface between the evaluator core (navigation, operators) and the function library.

#include <span>

#include "ast.h"
#include "values.h"

namespace planbro::fhir::fhirpath {

using Items = std::span<const Value>;

struct Context {
  const Environment& env;
  const ModelInfo& model;
  Value resource;       // %resource
  Value root_resource;  // %rootResource (the Bundle around %resource, or %resource itself)
  Value context;        // %context
  const Value* index = nullptr;   // $index inside where/select/all/repeat/aggregate
  const Collection* total = nullptr;  // $total inside aggregate
  std::optional<DateTime> now_cache;  // read the clock once per evaluation, and only when asked
  int depth = 0;
  uint64_t steps = 0;
  uint64_t comparisons = 0;

  DateTime now();
  /** Adds `n` steps; an error once EvaluationLimits::max_steps is crossed. */
  Status charge(uint64_t n);
};

constexpr int kMaxEvalDepth = 400;
/** A string an expression builds costs one step per this many bytes (on top of one step per item). */
constexpr uint64_t kStringBytesPerStep = 2;

/** Evaluates `node` with `focus` as the input (and $this). Appends to `out`. */
Status eval(const AstNode& node, Items focus, Context& ctx, Collection& out);
Status evalFunction(const AstNode& node, Items input, Items focus, Context& ctx, Collection& out);

// Shared helpers.
std::optional<Value> systemOf(const Value& v);
/** FHIRPath `=` on two items: nullopt when precision makes it unknown or the items are not comparable. */
std::optional<bool> itemsEqual(const Value& a, const Value& b);
/** Appends the items of `l` then `r` to `out`, skipping any equal to one already appended (FHIRPath union).
 * Linear work (hashed); errors when the step budget runs out. */
Status unionInto(Items l, Items r, Context& ctx, Collection& out);
bool itemsEquivalent(const Value& a, const Value& b);
/** Appends the children (all members; arrays flattened) of a node item. */
void childrenOf(const Value& v, const ModelInfo& model, Collection& out);
/** Navigates `name` on one item; appends matches. Error only in strict mode for unknown names. */
Status navigate(const Value& v, std::string_view name, Context& ctx, Collection& out, bool* known = nullptr);
bool typeMatches(const Value& v, const TypeSpec& spec, const ModelInfo& model, bool exact_primitives = false);
bool isKnownType(const TypeSpec& spec, const ModelInfo& model);
bool isStringLike(const Value& v);
/** The string of a String system value or string-like primitive node; nullopt for other values. */
std::optional<std::string_view> stringOf(const Value& v);
Status singleton(Items items, const char* what, std::optional<Value>& out);
Value makeNode(const JsonValue* json, const JsonValue* ext, std::string_view type, const ElementDef* element,
               std::string_view name);

}  // namespace planbro::fhir::fhirpath
