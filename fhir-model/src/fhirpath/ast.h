#pragma once
// The compiled form of a FHIRPath expression: an immutable tree built once by the parser and only read while
// evaluating, so one Expression serves any number of threads.

#include <memory>
#include <string>
#include <vector>

#include "planbro/fhir-model/fhirpath.h"
#include "planbro/fhir-model/regex.h"

namespace planbro::fhir::fhirpath {

enum class NodeKind : uint8_t {
  kLiteral,     // literal_ (empty collection when is_empty_literal)
  kEmpty,       // {}
  kMember,      // children[0] (or the focus when absent) . name
  kFunction,    // children[0] (or the focus when absent) . name(args...)
  kThis,
  kIndex,
  kTotal,
  kVariable,    // %name
  kIndexer,     // children[0][children[1]]
  kUnary,       // op_ is '+' or '-', children[0]
  kBinary,      // children[0] op children[1]
  kTypeOp,      // children[0] is/as type_
};

enum class BinaryOp : uint8_t {
  kMul, kDiv, kIntDiv, kMod, kAdd, kSub, kConcat, kUnion, kLt, kGt, kLe, kGe, kEq, kEquiv, kNe, kNotEquiv,
  kIn, kContains, kAnd, kOr, kXor, kImplies,
};

struct TypeSpec {
  std::string ns;    // "FHIR", "System" or empty when unqualified
  std::string name;  // "Patient", "String", "Quantity"
};

enum class FunctionId : uint16_t;

struct AstNode {
  NodeKind kind = NodeKind::kLiteral;
  std::string name;  // member, function or variable name
  BinaryOp op = BinaryOp::kAdd;
  char unary = '+';
  bool is_as = false;  // kTypeOp: true for `as`, false for `is`
  TypeSpec type;
  Value literal;
  FunctionId function{};
  std::unique_ptr<AstNode> base;                  // the focus expression (null: the input focus / $this)
  std::vector<std::unique_ptr<AstNode>> args;     // function arguments, or the right operand / index
  size_t position = 0;                            // offset in the source text, for messages
  RegexPtr regex;                                 // matches()/replaceMatches() with a literal pattern, compiled once
  const TypeDef* type_def = nullptr;              // a leading member that names a FHIR type (`Patient.name`)
};

}  // namespace planbro::fhir::fhirpath

namespace planbro::fhir::fhirpath {

class Expression {
 public:
  Expression(std::string text, std::unique_ptr<AstNode> root) : text_(std::move(text)), root_(std::move(root)) {}
  const AstNode& root() const { return *root_; }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::unique_ptr<AstNode> root_;
};

}  // namespace planbro::fhir::fhirpath
