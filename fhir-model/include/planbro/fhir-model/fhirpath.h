#pragma once
// FHIRPath (N1, as used by FHIR R4) over the JSON tree: compile once, evaluate many times from many threads.
// Owner of the implementation: fhir-model/src/fhirpath/. This header is the contract other parts code against.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/model_info.h"
#include "planbro/fhir-model/status.h"

namespace planbro::fhir::fhirpath {

/** A parsed expression. Immutable and thread-safe: evaluate it from any number of threads at once. */
class Expression;
using ExpressionPtr = std::shared_ptr<const Expression>;

/**
 * Compiles `text`: parses it, checks function names and arities, precompiles literal regexes and resolves leading
 * type names against ModelInfo::r4() (loaded on first use). Thread-safe. Errors: kInvalidArgument with the offset
 * and reason for a syntax error, an unknown function, a wrong argument count or an expression over 4000 nodes.
 */
Result<ExpressionPtr> compile(std::string_view text);

__extension__ typedef __int128 Int128;

/** An exact decimal: mantissa × 10^-scale (scale ≥ 0). 1.10 keeps scale 2, so precision survives arithmetic. */
struct Decimal {
  Int128 mantissa = 0;
  int32_t scale = 0;

  /** Parses "-12.340" (no exponent). nullopt when `text` is not a decimal or needs more than 36 digits. */
  static std::optional<Decimal> parse(std::string_view text);
  static Decimal fromInt(int64_t v) { return {v, 0}; }
  std::string toString() const;
  double toDouble() const;
  /** Numeric comparison (scale ignored): -1, 0, 1. */
  friend int compare(const Decimal& a, const Decimal& b);
};

/** A date, date-time or time with partial precision (FHIRPath §2.1.20). Unused fields are 0. */
struct DateTime {
  enum Precision : uint8_t { kYear = 1, kMonth, kDay, kHour, kMinute, kSecond, kMillisecond };
  int32_t year = 0;
  uint8_t month = 0, day = 0, hour = 0, minute = 0, second = 0;
  uint16_t millisecond = 0;
  uint8_t precision = kYear;  // for a Time the lowest precision is kHour
  bool has_timezone = false;
  int16_t tz_offset_minutes = 0;
};

/** A quantity: value and UCUM unit (or a calendar duration keyword such as "year"). */
struct Quantity {
  Decimal value;
  std::string unit = "1";
};

/** A FHIR element inside the input tree. The pointers refer into the JsonDocument and ModelInfo, which must
 * outlive every Value holding the node. */
struct Node {
  const JsonValue* json = nullptr;       // the element's value; null when only the `_name` twin exists
  const JsonValue* extension = nullptr;  // the `_name` twin (id/extension of a primitive), or null
  std::string_view type;                 // FHIR type code: "string", "HumanName", "Patient"; empty if unknown
  const ElementDef* element = nullptr;   // null for resources and when the model does not know the element
  std::string_view name;                 // JSON property name the node was found under (empty for resources)
};

enum class ValueKind : uint8_t { kNode, kBoolean, kInteger, kDecimal, kString, kDate, kDateTime, kTime, kQuantity };

/** One item of a result collection: a FHIR element in the input tree or a system value made by the expression. */
class Value {
 public:
  Value() : int_(0) {}
  static Value node(const Node& n) { Value v; v.kind_ = ValueKind::kNode; v.node_ = n; return v; }
  static Value boolean(bool b) { Value v; v.kind_ = ValueKind::kBoolean; v.int_ = b ? 1 : 0; return v; }
  static Value integer(int64_t i) { Value v; v.kind_ = ValueKind::kInteger; v.int_ = i; return v; }
  static Value decimal(Decimal d) { Value v; v.kind_ = ValueKind::kDecimal; v.decimal_ = d; return v; }
  static Value string(std::string s) { Value v; v.kind_ = ValueKind::kString; v.string_ = std::move(s); return v; }
  static Value date(DateTime d) { Value v; v.kind_ = ValueKind::kDate; v.datetime_ = d; return v; }
  static Value dateTime(DateTime d) { Value v; v.kind_ = ValueKind::kDateTime; v.datetime_ = d; return v; }
  static Value time(DateTime d) { Value v; v.kind_ = ValueKind::kTime; v.datetime_ = d; return v; }
  static Value quantity(Quantity q) {
    Value v; v.kind_ = ValueKind::kQuantity; v.decimal_ = q.value; v.string_ = std::move(q.unit); return v;
  }

  ValueKind kind() const { return kind_; }
  bool isNode() const { return kind_ == ValueKind::kNode; }
  const Node& asNode() const { return node_; }
  bool asBoolean() const { return int_ != 0; }
  int64_t asInteger() const { return int_; }
  const Decimal& asDecimal() const { return decimal_; }
  const std::string& asString() const { return string_; }
  const DateTime& asDateTime() const { return datetime_; }
  Quantity asQuantity() const { return {decimal_, string_}; }
  const std::string& quantityUnit() const { return string_; }

  /** For a FHIR primitive node, the system value it holds (string, code → String; date → Date; ...); for a
   * Quantity-typed node a System.Quantity; otherwise (complex node, no value) nullopt. System values return
   * themselves. */
  std::optional<Value> toSystem() const;
  /** The FHIR or System type name: "HumanName", "code", or "System.Integer" style for system values. */
  std::string typeName() const;

 private:
  // One payload per kind (Boolean and Integer in int_, Decimal and a Quantity's value in decimal_); the string
  // holds a String or a Quantity's unit. Every union member is trivially copyable, so Value copies cheaply.
  union {
    int64_t int_;
    Decimal decimal_;
    DateTime datetime_;
    Node node_;
  };
  std::string string_;
  ValueKind kind_ = ValueKind::kBoolean;
};

using Collection = std::vector<Value>;

/** How `resolve()` finds a referenced resource (e.g. inside a Bundle, or from the store). Optional. */
using Resolver = std::function<const JsonValue*(std::string_view reference)>;
/** Answers memberOf(): does the code (system may be empty) belong to the ValueSet? nullopt = unknown. */
using MembershipCheck =
    std::function<std::optional<bool>(std::string_view value_set, std::string_view system, std::string_view code)>;

/**
 * Bounds on one evaluation, so a runaway expression (nested repeat()/combine(), aggregate() doubling a string) ends
 * in an evaluation error instead of a hang or an allocation the process cannot survive. A step is one evaluation of
 * an expression node, one input item it is applied to, one item it produces (plus one per 2 bytes of a string it
 * builds), or one item comparison.
 */
struct EvaluationLimits {
  uint64_t max_steps = 5'000'000;          // beyond: kInvalidArgument "evaluation budget exceeded"
  size_t max_collection_items = 500'000;   // items in any one intermediate collection
  size_t max_string_bytes = 4u << 20;      // bytes of any one string the expression builds
};

/** What one evaluation cost; filled when Environment::stats is set (for tests and metrics). */
struct EvaluationStats {
  uint64_t steps = 0;
  uint64_t comparisons = 0;  // item equality tests made by distinct(), repeat(), union and the other set functions
};

/** The limits an Environment starts with: EvaluationLimits{} unless setDefaultEvaluationLimits() changed them. */
EvaluationLimits defaultEvaluationLimits();
/** Sets the process-wide default limits (from the configuration, once at start-up, before evaluations run). */
void setDefaultEvaluationLimits(const EvaluationLimits& limits);

struct Environment {
  EvaluationLimits limits = defaultEvaluationLimits();
  /** When set, receives the cost of the evaluation (also when it fails). Not shared between threads. */
  EvaluationStats* stats = nullptr;
  Resolver resolver;  // tried after contained resources ("#id"); then Bundle entries of %rootResource
  /** %rootResource when it differs from %resource (e.g. the Bundle around an entry being validated); must outlive
   * the evaluation. */
  const JsonValue* root_resource = nullptr;
  // %resource, %rootResource, %context, %ucum, %sct, %loinc and %"vs-..." are provided by the engine.
  /** Extra %variables by name (without the '%'). Looked up before the built-in ones. */
  std::vector<std::pair<std::string, Collection>> variables;
  /** When empty, memberOf() uses the expanded core ValueSets from ModelInfo (unknown → empty result). */
  MembershipCheck member_of;
  /** Items of the trace() function go here when set. */
  std::function<void(std::string_view name, const Collection& items)> trace;
  /** The instant now()/today()/timeOfDay() return; the wall clock when unset. Fixed for one evaluation. */
  std::optional<DateTime> now;
  /** Reject navigation to element names the FHIR model does not define for a known type (a semantic error in
   * FHIRPath's strict mode). Off by default: unknown names give empty. */
  bool strict = false;
};

/**
 * Evaluates `expression` with `resource` (a JSON object with resourceType) as %resource and the focus.
 * Errors: kInvalidArgument when the expression is not valid for the input (e.g. single() on many items).
 */
Result<Collection> evaluate(const Expression& expression, const JsonValue& resource, const Environment& env = {});

/** The node for a resource object (its type from resourceType). */
Node resourceNode(const JsonValue& resource);

/**
 * Evaluates with `focus` (a node inside `resource`, e.g. an element an invariant is declared on) as the focus and
 * %context, and `resource` as %resource. Same errors as evaluate().
 */
Result<Collection> evaluateAt(const Expression& expression, const Node& focus, const JsonValue& resource,
                              const Environment& env = {});

/**
 * FHIRPath's singleton evaluation of a collection as a boolean (§4.5): empty → nullopt; one Boolean → it; one item
 * of another type → true; more than one item → kInvalidArgument.
 */
Result<std::optional<bool>> toBoolean(const Collection& collection);

/** Convenience for invariants: evaluates and applies toBoolean(); empty counts as `empty_is`. */
Result<bool> evaluateBoolean(const Expression& expression, const Node& focus, const JsonValue& resource,
                             const Environment& env = {}, bool empty_is = true);

/** The text a system or primitive value has in FHIRPath's toString() (e.g. "@2012" → "2012", 1.0 'mg'). */
std::string valueToString(const Value& value);

/** Serialises a result collection as a JSON array (FHIR elements as their JSON, system values as JSON scalars). */
std::string toJson(const Collection& collection);

}  // namespace planbro::fhir::fhirpath
