#pragma once
// A fast path for the many R4 invariants that only test presence and simple values of the focus's own elements,
// e.g. qty-3 "code.empty() or system.exists()", dom-6 "text.`div`.exists()", bdl-8
// "fullUrl.contains('/_history/').not()". Such expressions are compiled here, against the element definitions of
// their context, into a tiny program evaluated directly on the JSON tree with FHIRPath's three-valued logic. Anything
// outside the subset is left to the FHIRPath engine. Immutable after compile; thread-safe.

#include <memory>
#include <optional>
#include <span>
#include <string_view>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/model_info.h"

namespace planbro::fhir::validation {

class SimpleInvariant {
 public:
  /** Compiles `expression` for a focus whose child definitions are `children`; nullptr when outside the subset. */
  static std::unique_ptr<SimpleInvariant> compile(std::string_view expression,
                                                  std::span<const ElementDef* const> children,
                                                  const ModelInfo& model);

  /** Evaluates on the focus object: true, false, or nullopt for FHIRPath's empty. */
  std::optional<bool> evaluate(const JsonValue& focus) const;

  struct Node;
  explicit SimpleInvariant(std::unique_ptr<Node> root);
  ~SimpleInvariant();

 private:
  std::unique_ptr<Node> root_;
};

}  // namespace planbro::fhir::validation
