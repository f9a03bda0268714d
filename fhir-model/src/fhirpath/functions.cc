// The FHIRPath function library. Criteria arguments (where, select, all, exists, repeat, aggregate, iif) are
// evaluated per item with that item as $this; other arguments are evaluated once against the invocation's $this.
#include "functions.h"

#include <algorithm>
#include <cmath>

#include "evaluator.h"
#include "item_set.h"
#include "planbro/fhir-model/base64.h"

namespace planbro::fhir::fhirpath {

std::optional<FunctionInfo> lookupFunction(std::string_view name) {
  struct Row {
    std::string_view name;
    FunctionId id;
    int min_args, max_args;
  };
  static constexpr Row kRows[] = {
      {"empty", FunctionId::kEmpty, 0, 0},
      {"exists", FunctionId::kExists, 0, 1},
      {"all", FunctionId::kAll, 1, 1},
      {"allTrue", FunctionId::kAllTrue, 0, 0},
      {"anyTrue", FunctionId::kAnyTrue, 0, 0},
      {"allFalse", FunctionId::kAllFalse, 0, 0},
      {"anyFalse", FunctionId::kAnyFalse, 0, 0},
      {"subsetOf", FunctionId::kSubsetOf, 1, 1},
      {"supersetOf", FunctionId::kSupersetOf, 1, 1},
      {"count", FunctionId::kCount, 0, 0},
      {"distinct", FunctionId::kDistinct, 0, 0},
      {"isDistinct", FunctionId::kIsDistinct, 0, 0},
      {"where", FunctionId::kWhere, 1, 1},
      {"select", FunctionId::kSelect, 1, 1},
      {"repeat", FunctionId::kRepeat, 1, 1},
      {"ofType", FunctionId::kOfType, 1, 1},
      {"single", FunctionId::kSingle, 0, 0},
      {"first", FunctionId::kFirst, 0, 0},
      {"last", FunctionId::kLast, 0, 0},
      {"tail", FunctionId::kTail, 0, 0},
      {"skip", FunctionId::kSkip, 1, 1},
      {"take", FunctionId::kTake, 1, 1},
      {"intersect", FunctionId::kIntersect, 1, 1},
      {"exclude", FunctionId::kExclude, 1, 1},
      {"union", FunctionId::kUnion, 1, 1},
      {"combine", FunctionId::kCombine, 1, 1},
      {"iif", FunctionId::kIif, 2, 3},
      {"toBoolean", FunctionId::kToBoolean, 0, 0},
      {"convertsToBoolean", FunctionId::kConvertsToBoolean, 0, 0},
      {"toInteger", FunctionId::kToInteger, 0, 0},
      {"convertsToInteger", FunctionId::kConvertsToInteger, 0, 0},
      {"toDecimal", FunctionId::kToDecimal, 0, 0},
      {"convertsToDecimal", FunctionId::kConvertsToDecimal, 0, 0},
      {"toString", FunctionId::kToString, 0, 0},
      {"convertsToString", FunctionId::kConvertsToString, 0, 0},
      {"toDate", FunctionId::kToDate, 0, 0},
      {"convertsToDate", FunctionId::kConvertsToDate, 0, 0},
      {"toDateTime", FunctionId::kToDateTime, 0, 0},
      {"convertsToDateTime", FunctionId::kConvertsToDateTime, 0, 0},
      {"toTime", FunctionId::kToTime, 0, 0},
      {"convertsToTime", FunctionId::kConvertsToTime, 0, 0},
      {"toQuantity", FunctionId::kToQuantity, 0, 1},
      {"convertsToQuantity", FunctionId::kConvertsToQuantity, 0, 1},
      {"indexOf", FunctionId::kIndexOf, 1, 1},
      {"lastIndexOf", FunctionId::kLastIndexOf, 1, 1},
      {"substring", FunctionId::kSubstring, 1, 2},
      {"startsWith", FunctionId::kStartsWith, 1, 1},
      {"endsWith", FunctionId::kEndsWith, 1, 1},
      {"contains", FunctionId::kContains, 1, 1},
      {"upper", FunctionId::kUpper, 0, 0},
      {"lower", FunctionId::kLower, 0, 0},
      {"replace", FunctionId::kReplace, 2, 2},
      {"matches", FunctionId::kMatches, 1, 1},
      {"matchesFull", FunctionId::kMatchesFull, 1, 1},
      {"replaceMatches", FunctionId::kReplaceMatches, 2, 2},
      {"length", FunctionId::kLength, 0, 0},
      {"toChars", FunctionId::kToChars, 0, 0},
      {"abs", FunctionId::kAbs, 0, 0},
      {"ceiling", FunctionId::kCeiling, 0, 0},
      {"exp", FunctionId::kExp, 0, 0},
      {"floor", FunctionId::kFloor, 0, 0},
      {"ln", FunctionId::kLn, 0, 0},
      {"log", FunctionId::kLog, 1, 1},
      {"power", FunctionId::kPower, 1, 1},
      {"round", FunctionId::kRound, 0, 1},
      {"sqrt", FunctionId::kSqrt, 0, 0},
      {"truncate", FunctionId::kTruncate, 0, 0},
      {"children", FunctionId::kChildren, 0, 0},
      {"descendants", FunctionId::kDescendants, 0, 0},
      {"trace", FunctionId::kTrace, 1, 2},
      {"now", FunctionId::kNow, 0, 0},
      {"today", FunctionId::kToday, 0, 0},
      {"timeOfDay", FunctionId::kTimeOfDay, 0, 0},
      {"not", FunctionId::kNot, 0, 0},
      {"as", FunctionId::kAs, 1, 1},
      {"is", FunctionId::kIs, 1, 1},
      {"extension", FunctionId::kExtension, 1, 1},
      {"hasExtension", FunctionId::kHasExtension, 1, 1},
      {"hasValue", FunctionId::kHasValue, 0, 0},
      {"getValue", FunctionId::kGetValue, 0, 0},
      {"resolve", FunctionId::kResolve, 0, 0},
      {"htmlChecks", FunctionId::kHtmlChecks, 0, 0},
      {"htmlchecks", FunctionId::kHtmlChecks, 0, 0},
      {"conformsTo", FunctionId::kConformsTo, 1, 1},
      {"memberOf", FunctionId::kMemberOf, 1, 1},
      {"trim", FunctionId::kTrim, 0, 0},
      {"split", FunctionId::kSplit, 1, 1},
      {"join", FunctionId::kJoin, 0, 1},
      {"encode", FunctionId::kEncode, 1, 1},
      {"decode", FunctionId::kDecode, 1, 1},
      {"escape", FunctionId::kEscape, 1, 1},
      {"unescape", FunctionId::kUnescape, 1, 1},
      {"aggregate", FunctionId::kAggregate, 1, 2},
      {"lowBoundary", FunctionId::kLowBoundary, 0, 1},
      {"highBoundary", FunctionId::kHighBoundary, 0, 1},
      {"precision", FunctionId::kPrecision, 0, 0},
      {"sort", FunctionId::kSort, 0, 8},
      {"type", FunctionId::kType, 0, 0},
      {"comparable", FunctionId::kComparable, 1, 1},
      {"subsumes", FunctionId::kSubsumes, 1, 1},
      {"subsumedBy", FunctionId::kSubsumedBy, 1, 1},
      {"checkModifiers", FunctionId::kCheckModifiers, 1, 1},
      {"elementDefinition", FunctionId::kElementDefinition, 0, 0},
      {"slice", FunctionId::kSlice, 2, 2},
      {"defineVariable", FunctionId::kDefineVariable, 1, 2},
  };
  for (const Row& r : kRows) {
    if (r.name == name) return FunctionInfo{r.id, r.min_args, r.max_args};
  }
  return std::nullopt;
}

namespace {

Status err(const AstNode& n, const std::string& what) {
  return invalidArgument("FHIRPath: " + n.name + "(): " + what);
}

// Evaluates argument `i` once against the invocation's $this.
Status arg(const AstNode& n, size_t i, Items focus, Context& ctx, Collection& out) {
  out.clear();
  return eval(*n.args[i], focus, ctx, out);
}

// A single-item argument converted to a system value (nullopt when the argument is empty).
Status argValue(const AstNode& n, size_t i, Items focus, Context& ctx, std::optional<Value>& out) {
  Collection c;
  RETURN_IF_ERROR(arg(n, i, focus, ctx, c));
  std::optional<Value> v;
  RETURN_IF_ERROR(singleton(c, n.name.c_str(), v));
  out.reset();
  if (v) out = v->toSystem();
  return Status::ok();
}

Status argString(const AstNode& n, size_t i, Items focus, Context& ctx, std::optional<std::string>& out) {
  std::optional<Value> v;
  RETURN_IF_ERROR(argValue(n, i, focus, ctx, v));
  out.reset();
  if (!v) return Status::ok();
  if (v->kind() != ValueKind::kString) return err(n, "argument must be a String");
  out = v->asString();
  return Status::ok();
}

Status argInteger(const AstNode& n, size_t i, Items focus, Context& ctx, std::optional<int64_t>& out) {
  std::optional<Value> v;
  RETURN_IF_ERROR(argValue(n, i, focus, ctx, v));
  out.reset();
  if (!v) return Status::ok();
  if (v->kind() != ValueKind::kInteger) return err(n, "argument must be an Integer");
  out = v->asInteger();
  return Status::ok();
}

// The input as a single string (empty input → nullopt; non-string → error).
Status inputString(const AstNode& n, Items input, std::optional<std::string>& out) {
  out.reset();
  if (input.empty()) return Status::ok();
  if (input.size() > 1) return err(n, "input has more than one item");
  auto s = stringOf(input[0]);
  if (!s) return err(n, "input is not a String");
  out = std::string(*s);
  return Status::ok();
}

Status inputValue(const AstNode& n, Items input, std::optional<Value>& out) {
  out.reset();
  if (input.empty()) return Status::ok();
  if (input.size() > 1) return err(n, "input has more than one item");
  out = input[0].toSystem();
  return Status::ok();
}


std::optional<bool> stringToBool(std::string_view s) {
  std::string l;
  for (char c : s) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (l == "true" || l == "t" || l == "yes" || l == "y" || l == "1" || l == "1.0") return true;
  if (l == "false" || l == "f" || l == "no" || l == "n" || l == "0" || l == "0.0") return false;
  return std::nullopt;
}

std::optional<Value> convertTo(FunctionId to, const Value& v) {
  switch (to) {
    case FunctionId::kToBoolean:
      switch (v.kind()) {
        case ValueKind::kBoolean: return v;
        case ValueKind::kInteger:
          if (v.asInteger() == 0 || v.asInteger() == 1) return Value::boolean(v.asInteger() == 1);
          return std::nullopt;
        case ValueKind::kDecimal: {
          int c1 = compare(v.asDecimal(), Decimal::fromInt(1)), c0 = compare(v.asDecimal(), Decimal::fromInt(0));
          if (c1 == 0 || c0 == 0) return Value::boolean(c1 == 0);
          return std::nullopt;
        }
        case ValueKind::kString: {
          auto b = stringToBool(v.asString());
          if (b) return Value::boolean(*b);
          return std::nullopt;
        }
        default: return std::nullopt;
      }
    case FunctionId::kToInteger:
      switch (v.kind()) {
        case ValueKind::kInteger: return v;
        case ValueKind::kBoolean: return Value::integer(v.asBoolean() ? 1 : 0);
        case ValueKind::kString: {
          const std::string& s = v.asString();
          if (s.empty() || s.size() > 18) return std::nullopt;
          size_t i = (s[0] == '+' || s[0] == '-') ? 1 : 0;
          if (i == s.size()) return std::nullopt;
          for (size_t k = i; k < s.size(); ++k) {
            if (s[k] < '0' || s[k] > '9') return std::nullopt;
          }
          return Value::integer(std::stoll(s));
        }
        default: return std::nullopt;
      }
    case FunctionId::kToDecimal:
      switch (v.kind()) {
        case ValueKind::kDecimal: return v;
        case ValueKind::kInteger: return Value::decimal(Decimal::fromInt(v.asInteger()));
        case ValueKind::kBoolean: return Value::decimal(Decimal::fromInt(v.asBoolean() ? 1 : 0));
        case ValueKind::kString: {
          auto d = Decimal::parse(v.asString());
          if (d) return Value::decimal(*d);
          return std::nullopt;
        }
        default: return std::nullopt;
      }
    case FunctionId::kToString:
      return Value::string(valueToString(v));
    case FunctionId::kToDate:
      switch (v.kind()) {
        case ValueKind::kDate: return v;
        case ValueKind::kDateTime: {
          DateTime d = v.asDateTime();
          d.precision = std::min<uint8_t>(d.precision, DateTime::kDay);
          d.hour = d.minute = d.second = 0;
          d.millisecond = 0;
          d.has_timezone = false;
          d.tz_offset_minutes = 0;
          return Value::date(d);
        }
        case ValueKind::kString: {
          auto d = parseDate(v.asString());
          if (d) return Value::date(*d);
          auto dt = parseDateTime(v.asString());
          if (dt) return convertTo(FunctionId::kToDate, Value::dateTime(*dt));
          return std::nullopt;
        }
        default: return std::nullopt;
      }
    case FunctionId::kToDateTime:
      switch (v.kind()) {
        case ValueKind::kDateTime: return v;
        case ValueKind::kDate: return Value::dateTime(v.asDateTime());
        case ValueKind::kString: {
          auto d = parseDateTime(v.asString());
          if (d) return Value::dateTime(*d);
          return std::nullopt;
        }
        default: return std::nullopt;
      }
    case FunctionId::kToTime:
      switch (v.kind()) {
        case ValueKind::kTime: return v;
        case ValueKind::kString: {
          auto d = parseTime(v.asString());
          if (d) return Value::time(*d);
          return std::nullopt;
        }
        default: return std::nullopt;
      }
    case FunctionId::kToQuantity:
      switch (v.kind()) {
        case ValueKind::kQuantity: return v;
        case ValueKind::kInteger: return Value::quantity({Decimal::fromInt(v.asInteger()), "1"});
        case ValueKind::kDecimal: return Value::quantity({v.asDecimal(), "1"});
        case ValueKind::kBoolean: return Value::quantity({Decimal::fromInt(v.asBoolean() ? 1 : 0), "1"});
        case ValueKind::kString: {
          std::string_view s = v.asString();
          size_t sp = s.find(' ');
          std::string_view num = s.substr(0, sp);
          auto d = Decimal::parse(num);
          if (!d) return std::nullopt;
          if (sp == std::string_view::npos) return Value::quantity({*d, "1"});
          std::string_view unit = s.substr(sp + 1);
          while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
          if (unit.size() >= 2 && unit.front() == '\'' && unit.back() == '\'') {
            return Value::quantity({*d, std::string(unit.substr(1, unit.size() - 2))});
          }
          bool calendar = false;
          if (!timeUnitOf(unit, &calendar).empty() && calendar) return Value::quantity({*d, std::string(unit)});
          return std::nullopt;
        }
        default: return std::nullopt;
      }
    default: return std::nullopt;
  }
}

FunctionId conversionTarget(FunctionId id) {
  switch (id) {
    case FunctionId::kConvertsToBoolean: return FunctionId::kToBoolean;
    case FunctionId::kConvertsToInteger: return FunctionId::kToInteger;
    case FunctionId::kConvertsToDecimal: return FunctionId::kToDecimal;
    case FunctionId::kConvertsToString: return FunctionId::kToString;
    case FunctionId::kConvertsToDate: return FunctionId::kToDate;
    case FunctionId::kConvertsToDateTime: return FunctionId::kToDateTime;
    case FunctionId::kConvertsToTime: return FunctionId::kToTime;
    case FunctionId::kConvertsToQuantity: return FunctionId::kToQuantity;
    default: return id;
  }
}

}  // namespace

Result<RegexPtr> compileRegex(std::string_view pattern) { return Regex::compile(pattern); }

namespace {

// Counts code points so length()/substring() work on characters, not bytes.
std::vector<std::string_view> utf8Chars(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    len = std::min(len, s.size() - i);
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

// Digits of precision of a decimal/date for lowBoundary/highBoundary.
Status boundary(const AstNode& n, bool high, const Value& v, std::optional<int64_t> precision, Collection& out) {
  if (v.kind() == ValueKind::kInteger || v.kind() == ValueKind::kDecimal || v.kind() == ValueKind::kQuantity) {
    Decimal d = v.kind() == ValueKind::kInteger ? Decimal::fromInt(v.asInteger()) : v.asDecimal();
    int64_t p = precision.value_or(8);
    if (p < 0 || p > 28) return Status::ok();
    // The uncertainty interval is ±half a unit in the last given digit.
    Decimal half{5, d.scale + 1};
    auto b = high ? decimalAdd(d, half) : decimalSub(d, half);
    if (!b) return Status::ok();
    Decimal r = *b;
    if (p < r.scale) {
      // Truncate toward the boundary direction.
      Decimal t = r;
      while (t.scale > p) {
        Int128 q = t.mantissa / 10, rem = t.mantissa % 10;
        if (high && rem > 0) ++q;
        if (!high && rem < 0) --q;
        t.mantissa = q;
        --t.scale;
      }
      r = t;
    } else {
      while (r.scale < p) {
        if (__builtin_mul_overflow(r.mantissa, static_cast<Int128>(10), &r.mantissa)) return Status::ok();
        ++r.scale;
      }
    }
    if (v.kind() == ValueKind::kQuantity) out.push_back(Value::quantity({r, v.quantityUnit()}));
    else out.push_back(Value::decimal(r));
    return Status::ok();
  }
  if (v.kind() == ValueKind::kDate || v.kind() == ValueKind::kDateTime || v.kind() == ValueKind::kTime) {
    DateTime d = v.asDateTime();
    bool is_time = v.kind() == ValueKind::kTime;
    // An hour-only date-time is not a FHIR value; read it as hh:00.
    if (!is_time && d.precision == DateTime::kHour) d.precision = DateTime::kMinute;
    int64_t p = precision.value_or(is_time ? 9 : v.kind() == ValueKind::kDate ? 8 : 17);
    uint8_t target;
    if (is_time) {
      target = p <= 2 ? DateTime::kHour : p <= 4 ? DateTime::kMinute : p <= 6 ? DateTime::kSecond : DateTime::kMillisecond;
    } else {
      target = p <= 4 ? DateTime::kYear : p <= 6 ? DateTime::kMonth : p <= 8 ? DateTime::kDay : p <= 10 ? DateTime::kHour
             : p <= 12 ? DateTime::kMinute : p <= 14 ? DateTime::kSecond : DateTime::kMillisecond;
    }
    static constexpr uint8_t kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (d.precision < DateTime::kMonth && target >= DateTime::kMonth) d.month = high ? 12 : 1;
    if (d.precision < DateTime::kDay && target >= DateTime::kDay) {
      int dim = kDays[d.month - 1];
      if (d.month == 2 && ((d.year % 4 == 0 && d.year % 100 != 0) || d.year % 400 == 0)) dim = 29;
      d.day = static_cast<uint8_t>(high ? dim : 1);
    }
    if (d.precision < DateTime::kHour && target >= DateTime::kHour) d.hour = high ? 23 : 0;
    if (d.precision < DateTime::kMinute && target >= DateTime::kMinute) d.minute = high ? 59 : 0;
    if (d.precision < DateTime::kSecond && target >= DateTime::kSecond) d.second = high ? 59 : 0;
    if (d.precision < DateTime::kMillisecond && target >= DateTime::kMillisecond) d.millisecond = high ? 999 : 0;
    if (!is_time && v.kind() == ValueKind::kDateTime && target >= DateTime::kHour && !d.has_timezone) {
      d.has_timezone = true;
      d.tz_offset_minutes = high ? -12 * 60 : 14 * 60;
    }
    d.precision = target;
    if (is_time) out.push_back(Value::time(d));
    else if (v.kind() == ValueKind::kDate && target <= DateTime::kDay) out.push_back(Value::date(d));
    else if (target <= DateTime::kDay) out.push_back(Value::date(d));
    else out.push_back(Value::dateTime(d));
    return Status::ok();
  }
  return err(n, "input has no boundary");
}

Status resolveReference(std::string_view ref, Context& ctx, Collection& out) {
  if (ref.empty()) return Status::ok();
  const JsonValue* root = ctx.resource.asNode().json;
  auto emit = [&](const JsonValue* json) {
    out.push_back(Value::node(resourceNode(*json)));
  };
  if (ref[0] == '#') {
    const JsonValue* contained = root ? root->find("contained") : nullptr;
    if (ref.size() == 1 && root) {
      emit(root);
      return Status::ok();
    }
    if (contained && contained->isArray()) {
      for (const JsonValue& c : contained->items()) {
        const JsonValue* id = c.find("id");
        if (id && id->isString() && id->text() == ref.substr(1)) {
          emit(&c);
          return Status::ok();
        }
      }
    }
    return Status::ok();
  }
  if (ctx.env.resolver) {
    if (const JsonValue* r = ctx.env.resolver(ref)) {
      emit(r);
      return Status::ok();
    }
  }
  // Bundle entries: of %rootResource (the Bundle around the resource), or of %resource when it is the Bundle.
  if (ctx.root_resource.isNode() && ctx.root_resource.asNode().json) root = ctx.root_resource.asNode().json;
  if (root && root->find("resourceType") && root->find("resourceType")->text() == "Bundle") {
    const JsonValue* entries = root->find("entry");
    if (entries && entries->isArray()) {
      for (const JsonValue& e : entries->items()) {
        const JsonValue* full = e.find("fullUrl");
        const JsonValue* res = e.find("resource");
        if (!res || !res->isObject()) continue;
        bool match = full && full->isString() && full->text() == ref;
        if (!match) {
          const JsonValue* rt = res->find("resourceType");
          const JsonValue* id = res->find("id");
          if (rt && id && rt->isString() && id->isString()) {
            std::string local = std::string(rt->text()) + "/" + std::string(id->text());
            match = ref == local ||
                    (ref.size() > local.size() && ref.substr(ref.size() - local.size()) == local &&
                     ref[ref.size() - local.size() - 1] == '/');
          }
        }
        if (match) {
          emit(res);
          return Status::ok();
        }
      }
    }
  }
  // Unresolvable "Type/id" references still tell their target type, which `resolve() is Patient` needs.
  std::string_view path = ref;
  size_t hist = path.find("/_history/");
  if (hist != std::string_view::npos) path = path.substr(0, hist);
  size_t slash = path.rfind('/');
  if (slash != std::string_view::npos && slash > 0) {
    size_t prev = path.rfind('/', slash - 1);
    std::string_view type = path.substr(prev == std::string_view::npos ? 0 : prev + 1,
                                        slash - (prev == std::string_view::npos ? 0 : prev + 1));
    if (ctx.model.isResourceType(type)) {
      Node n;
      n.type = type;
      out.push_back(Value::node(n));
    }
  }
  return Status::ok();
}

std::optional<bool> memberOfCodes(const Value& v, std::string_view url, Context& ctx) {
  auto check = [&](std::string_view system, std::string_view code) -> std::optional<bool> {
    if (ctx.env.member_of) return ctx.env.member_of(url, system, code);
    const ValueSetCodes* vs = ctx.model.valueSet(url);
    if (!vs) return std::nullopt;
    bool found = system.empty() ? vs->containsCode(code) : vs->contains(system, code);
    if (!found && !vs->complete) return std::nullopt;
    return found;
  };
  if (auto s = stringOf(v)) return check({}, *s);
  if (!v.isNode() || !v.asNode().json || !v.asNode().json->isObject()) return std::nullopt;
  const JsonValue& obj = *v.asNode().json;
  auto coding = [&](const JsonValue& c) -> std::optional<bool> {
    const JsonValue* code = c.find("code");
    const JsonValue* system = c.find("system");
    if (!code || !code->isString()) return std::nullopt;
    return check(system && system->isString() ? system->text() : std::string_view(), code->text());
  };
  if (v.asNode().type == "CodeableConcept") {
    const JsonValue* codings = obj.find("coding");
    std::optional<bool> res;
    if (codings && codings->isArray()) {
      for (const JsonValue& c : codings->items()) {
        auto r = coding(c);
        if (r == true) return true;
        if (r) res = false;
      }
    }
    return res;
  }
  return coding(obj);
}

bool htmlOk(std::string_view div) {
  // Best effort of the narrative rules (txt-1/txt-2): a div root, no active content.
  std::string lower;
  lower.reserve(div.size());
  for (char c : div) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t start = lower.find_first_not_of(" \t\r\n");
  if (start == std::string::npos || lower.compare(start, 4, "<div") != 0) return false;
  static constexpr std::string_view kBanned[] = {"<script", "<object", "<iframe", "<form", "<embed", "<applet",
                                                 "<base", "<link", "<meta", "<style", "javascript:"};
  for (auto b : kBanned) {
    if (lower.find(b) != std::string::npos) return false;
  }
  // Event-handler attributes (onclick=...).
  for (size_t p = lower.find(" on"); p != std::string::npos; p = lower.find(" on", p + 1)) {
    size_t q = p + 3;
    while (q < lower.size() && std::isalpha(static_cast<unsigned char>(lower[q]))) ++q;
    while (q < lower.size() && lower[q] == ' ') ++q;
    if (q > p + 3 && q < lower.size() && lower[q] == '=') {
      // Only inside a tag: the last '<' before p is after the last '>'.
      size_t lt = lower.rfind('<', p), gt = lower.rfind('>', p);
      if (lt != std::string::npos && (gt == std::string::npos || lt > gt)) return false;
    }
  }
  return true;
}

}  // namespace

Status evalFunction(const AstNode& n, Items input, Items focus, Context& ctx, Collection& out) {
  switch (n.function) {
    case FunctionId::kEmpty:
      out.push_back(Value::boolean(input.empty()));
      return Status::ok();
    case FunctionId::kExists:
    case FunctionId::kAll:
    case FunctionId::kWhere:
    case FunctionId::kSelect: {
      FunctionId id = n.function;
      if (id == FunctionId::kExists && n.args.empty()) {
        out.push_back(Value::boolean(!input.empty()));
        return Status::ok();
      }
      Collection r;
      const Value* saved = ctx.index;
      bool all = true, any = false;
      for (size_t i = 0; i < input.size(); ++i) {
        Value idx = Value::integer(static_cast<int64_t>(i));
        ctx.index = &idx;
        r.clear();
        Status s = eval(*n.args[0], Items(&input[i], 1), ctx, r);
        ctx.index = saved;
        RETURN_IF_ERROR(s);
        if (id == FunctionId::kSelect) {
          out.insert(out.end(), r.begin(), r.end());
          continue;
        }
        ASSIGN_OR_RETURN(std::optional<bool> b, toBoolean(r));
        if (id == FunctionId::kWhere) {
          if (b == true) out.push_back(input[i]);
        } else if (id == FunctionId::kAll) {
          if (b != true) all = false;
        } else if (b == true) {
          any = true;
          break;
        }
      }
      if (id == FunctionId::kAll) out.push_back(Value::boolean(all));
      if (id == FunctionId::kExists) out.push_back(Value::boolean(any));
      return Status::ok();
    }
    case FunctionId::kAllTrue:
    case FunctionId::kAnyTrue:
    case FunctionId::kAllFalse:
    case FunctionId::kAnyFalse: {
      bool want = n.function == FunctionId::kAllTrue || n.function == FunctionId::kAnyTrue;
      bool is_all = n.function == FunctionId::kAllTrue || n.function == FunctionId::kAllFalse;
      bool res = is_all;
      for (const Value& v : input) {
        auto s = v.toSystem();
        if (!s || s->kind() != ValueKind::kBoolean) return err(n, "items must be Booleans");
        bool match = s->asBoolean() == want;
        if (is_all && !match) res = false;
        if (!is_all && match) res = true;
      }
      out.push_back(Value::boolean(res));
      return Status::ok();
    }
    case FunctionId::kSubsetOf:
    case FunctionId::kSupersetOf: {
      Collection other;
      RETURN_IF_ERROR(arg(n, 0, focus, ctx, other));
      Items sub = n.function == FunctionId::kSubsetOf ? input : Items(other);
      Items super = n.function == FunctionId::kSubsetOf ? Items(other) : input;
      ItemSet super_set(ctx);
      for (const Value& v : super) {
        super_set.insert(v);
        RETURN_IF_ERROR(ctx.charge(1));
      }
      bool res = true;
      for (const Value& v : sub) {
        bool found = super_set.contains(v);
        RETURN_IF_ERROR(ctx.charge(1));
        if (!found) {
          res = false;
          break;
        }
      }
      out.push_back(Value::boolean(res));
      return Status::ok();
    }
    case FunctionId::kCount:
      out.push_back(Value::integer(static_cast<int64_t>(input.size())));
      return Status::ok();
    case FunctionId::kDistinct:
    case FunctionId::kIsDistinct: {
      Collection d;
      ItemSet seen(ctx);
      for (const Value& v : input) {
        if (seen.insert(v)) d.push_back(v);
        RETURN_IF_ERROR(ctx.charge(1));
      }
      if (n.function == FunctionId::kIsDistinct) {
        out.push_back(Value::boolean(d.size() == input.size()));
      } else {
        out.insert(out.end(), d.begin(), d.end());
      }
      return Status::ok();
    }
    case FunctionId::kRepeat: {
      // Breadth first; each distinct item is expanded once, so the work is linear in the items reached. The loop
      // ends when no new item appears, or with an error once the collection or step limit is crossed.
      Collection seen;
      ItemSet seen_set(ctx);
      Collection frontier(input.begin(), input.end());
      Collection next;
      while (!frontier.empty()) {
        next.clear();
        for (const Value& v : frontier) RETURN_IF_ERROR(eval(*n.args[0], Items(&v, 1), ctx, next));
        frontier.clear();
        for (const Value& v : next) {
          bool added = seen_set.insert(v);
          RETURN_IF_ERROR(ctx.charge(1));
          if (!added) continue;
          seen.push_back(v);
          frontier.push_back(v);
        }
        if (seen.size() > ctx.env.limits.max_collection_items) return err(n, "result exceeds the collection limit");
      }
      out.insert(out.end(), seen.begin(), seen.end());
      return Status::ok();
    }
    case FunctionId::kOfType:
      if (!isKnownType(n.type, ctx.model)) return err(n, "unknown type " + n.type.name);
      for (const Value& v : input) {
        if (typeMatches(v, n.type, ctx.model, true)) out.push_back(v);
      }
      return Status::ok();
    case FunctionId::kAs:
    case FunctionId::kIs: {
      if (!isKnownType(n.type, ctx.model)) return err(n, "unknown type " + n.type.name);
      if (input.empty()) return Status::ok();
      if (n.function == FunctionId::kIs) {
        if (input.size() > 1) return err(n, "input has more than one item");
        out.push_back(Value::boolean(typeMatches(input[0], n.type, ctx.model)));
        return Status::ok();
      }
      // as() filters like ofType(): R4 invariants apply it to many items (dom-3: descendants().as(canonical)).
      for (const Value& v : input) {
        if (typeMatches(v, n.type, ctx.model, true)) out.push_back(v);
      }
      return Status::ok();
    }
    case FunctionId::kSingle:
      if (input.size() > 1) return err(n, "input has more than one item");
      out.insert(out.end(), input.begin(), input.end());
      return Status::ok();
    case FunctionId::kFirst:
      if (!input.empty()) out.push_back(input.front());
      return Status::ok();
    case FunctionId::kLast:
      if (!input.empty()) out.push_back(input.back());
      return Status::ok();
    case FunctionId::kTail:
      if (input.size() > 1) out.insert(out.end(), input.begin() + 1, input.end());
      return Status::ok();
    case FunctionId::kSkip:
    case FunctionId::kTake: {
      std::optional<int64_t> k;
      RETURN_IF_ERROR(argInteger(n, 0, focus, ctx, k));
      if (!k) return Status::ok();
      size_t num = *k < 0 ? 0 : static_cast<size_t>(*k);
      if (n.function == FunctionId::kSkip) {
        if (num < input.size()) out.insert(out.end(), input.begin() + static_cast<ptrdiff_t>(num), input.end());
      } else {
        out.insert(out.end(), input.begin(), input.begin() + static_cast<ptrdiff_t>(std::min(num, input.size())));
      }
      return Status::ok();
    }
    case FunctionId::kIntersect:
    case FunctionId::kExclude: {
      Collection other;
      RETURN_IF_ERROR(arg(n, 0, focus, ctx, other));
      ItemSet other_set(ctx);
      for (const Value& v : other) {
        other_set.insert(v);
        RETURN_IF_ERROR(ctx.charge(1));
      }
      ItemSet emitted(ctx);  // intersect() returns distinct items; exclude() keeps duplicates
      for (const Value& v : input) {
        bool in_other = other_set.contains(v);
        if (n.function == FunctionId::kIntersect) {
          if (in_other && emitted.insert(v)) out.push_back(v);
        } else if (!in_other) {
          out.push_back(v);
        }
        RETURN_IF_ERROR(ctx.charge(1));
      }
      return Status::ok();
    }
    case FunctionId::kUnion: {
      Collection other;
      RETURN_IF_ERROR(arg(n, 0, focus, ctx, other));
      return unionInto(input, other, ctx, out);
    }
    case FunctionId::kCombine: {
      Collection other;
      RETURN_IF_ERROR(arg(n, 0, focus, ctx, other));
      out.insert(out.end(), input.begin(), input.end());
      out.insert(out.end(), other.begin(), other.end());
      return Status::ok();
    }
    case FunctionId::kIif: {
      // With an explicit input, the criterion sees it as $this; the input must not have several items.
      Items self = n.base ? input : focus;
      if (n.base && input.size() > 1) return err(n, "input has more than one item");
      Collection c;
      RETURN_IF_ERROR(eval(*n.args[0], self, ctx, c));
      if (c.size() > 1) return err(n, "criterion is not a single Boolean");
      std::optional<bool> b;
      if (!c.empty()) {
        auto s = c[0].toSystem();
        if (!s || s->kind() != ValueKind::kBoolean) return err(n, "criterion is not a Boolean");
        b = s->asBoolean();
      }
      if (b == true) return eval(*n.args[1], self, ctx, out);
      if (n.args.size() > 2) return eval(*n.args[2], self, ctx, out);
      return Status::ok();
    }
    case FunctionId::kToBoolean:
    case FunctionId::kToInteger:
    case FunctionId::kToDecimal:
    case FunctionId::kToString:
    case FunctionId::kToDate:
    case FunctionId::kToDateTime:
    case FunctionId::kToTime:
    case FunctionId::kToQuantity: {
      std::optional<Value> v;
      RETURN_IF_ERROR(inputValue(n, input, v));
      if (!v) return Status::ok();
      auto r = convertTo(n.function, *v);
      if (r && n.function == FunctionId::kToQuantity && !n.args.empty()) {
        std::optional<std::string> unit;
        RETURN_IF_ERROR(argString(n, 0, focus, ctx, unit));
        if (!unit) return Status::ok();
        auto q = convertQuantity(r->asQuantity(), *unit);
        if (q) out.push_back(Value::quantity(std::move(*q)));
        return Status::ok();
      }
      if (r) out.push_back(std::move(*r));
      return Status::ok();
    }
    case FunctionId::kConvertsToBoolean:
    case FunctionId::kConvertsToInteger:
    case FunctionId::kConvertsToDecimal:
    case FunctionId::kConvertsToString:
    case FunctionId::kConvertsToDate:
    case FunctionId::kConvertsToDateTime:
    case FunctionId::kConvertsToTime:
    case FunctionId::kConvertsToQuantity: {
      std::optional<Value> v;
      RETURN_IF_ERROR(inputValue(n, input, v));
      if (input.empty()) return Status::ok();
      bool ok = v && convertTo(conversionTarget(n.function), *v).has_value();
      if (ok && n.function == FunctionId::kConvertsToQuantity && !n.args.empty()) {
        std::optional<std::string> unit;
        RETURN_IF_ERROR(argString(n, 0, focus, ctx, unit));
        ok = unit && convertQuantity(convertTo(FunctionId::kToQuantity, *v)->asQuantity(), *unit).has_value();
      }
      out.push_back(Value::boolean(ok));
      return Status::ok();
    }
    case FunctionId::kIndexOf:
    case FunctionId::kLastIndexOf:
    case FunctionId::kStartsWith:
    case FunctionId::kEndsWith:
    case FunctionId::kContains: {
      std::optional<std::string> s, a;
      RETURN_IF_ERROR(inputString(n, input, s));
      RETURN_IF_ERROR(argString(n, 0, focus, ctx, a));
      if (!s || !a) return Status::ok();
      switch (n.function) {
        case FunctionId::kIndexOf: {
          size_t p = s->find(*a);
          out.push_back(Value::integer(p == std::string::npos ? -1 : static_cast<int64_t>(utf8Chars(s->substr(0, p)).size())));
          break;
        }
        case FunctionId::kLastIndexOf: {
          size_t p = s->rfind(*a);
          out.push_back(Value::integer(p == std::string::npos ? -1 : static_cast<int64_t>(utf8Chars(s->substr(0, p)).size())));
          break;
        }
        case FunctionId::kStartsWith: out.push_back(Value::boolean(s->rfind(*a, 0) == 0)); break;
        case FunctionId::kEndsWith:
          out.push_back(Value::boolean(s->size() >= a->size() && s->compare(s->size() - a->size(), a->size(), *a) == 0));
          break;
        default: out.push_back(Value::boolean(s->find(*a) != std::string::npos)); break;
      }
      return Status::ok();
    }
    case FunctionId::kSubstring: {
      std::optional<std::string> s;
      std::optional<int64_t> start, len;
      RETURN_IF_ERROR(inputString(n, input, s));
      RETURN_IF_ERROR(argInteger(n, 0, focus, ctx, start));
      if (n.args.size() > 1) RETURN_IF_ERROR(argInteger(n, 1, focus, ctx, len));
      if (!s || !start) return Status::ok();
      auto chars = utf8Chars(*s);
      if (*start < 0 || static_cast<size_t>(*start) >= chars.size()) return Status::ok();
      size_t end = chars.size();
      if (n.args.size() > 1) {
        if (!len) return Status::ok();
        if (*len <= 0) {
          out.push_back(Value::string(""));
          return Status::ok();
        }
        end = std::min(chars.size(), static_cast<size_t>(*start + *len));
      }
      std::string r;
      for (size_t i = static_cast<size_t>(*start); i < end; ++i) r += chars[i];
      out.push_back(Value::string(std::move(r)));
      return Status::ok();
    }
    case FunctionId::kUpper:
    case FunctionId::kLower:
    case FunctionId::kTrim:
    case FunctionId::kLength:
    case FunctionId::kToChars: {
      std::optional<std::string> s;
      RETURN_IF_ERROR(inputString(n, input, s));
      if (!s) return Status::ok();
      if (n.function == FunctionId::kLength) {
        out.push_back(Value::integer(static_cast<int64_t>(utf8Chars(*s).size())));
      } else if (n.function == FunctionId::kToChars) {
        // One item per character: refuse before building what the collection limit would reject anyway.
        if (s->size() > ctx.env.limits.max_collection_items) return err(n, "result exceeds the collection limit");
        for (auto c : utf8Chars(*s)) out.push_back(Value::string(std::string(c)));
      } else if (n.function == FunctionId::kTrim) {
        size_t b = s->find_first_not_of(" \t\r\n"), e = s->find_last_not_of(" \t\r\n");
        out.push_back(Value::string(b == std::string::npos ? "" : s->substr(b, e - b + 1)));
      } else {
        bool up = n.function == FunctionId::kUpper;
        for (char& c : *s) c = static_cast<char>(up ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(static_cast<unsigned char>(c)));
        out.push_back(Value::string(std::move(*s)));
      }
      return Status::ok();
    }
    case FunctionId::kReplace: {
      std::optional<std::string> s, a, b;
      RETURN_IF_ERROR(inputString(n, input, s));
      RETURN_IF_ERROR(argString(n, 0, focus, ctx, a));
      RETURN_IF_ERROR(argString(n, 1, focus, ctx, b));
      if (!s || !a || !b) return Status::ok();
      std::string r;
      if (a->empty()) {
        // Inserts the replacement around every character.
        r = *b;
        for (auto c : utf8Chars(*s)) {
          r += c;
          r += *b;
        }
      } else {
        size_t pos = 0;
        for (size_t f = s->find(*a); f != std::string::npos; f = s->find(*a, pos)) {
          r.append(*s, pos, f - pos);
          r += *b;
          pos = f + a->size();
        }
        r.append(*s, pos, std::string::npos);
      }
      out.push_back(Value::string(std::move(r)));
      return Status::ok();
    }
    case FunctionId::kMatches:
    case FunctionId::kMatchesFull:
    case FunctionId::kReplaceMatches: {
      std::optional<std::string> s, pattern, with;
      RETURN_IF_ERROR(inputString(n, input, s));
      RETURN_IF_ERROR(argString(n, 0, focus, ctx, pattern));
      if (n.function == FunctionId::kReplaceMatches) RETURN_IF_ERROR(argString(n, 1, focus, ctx, with));
      if (!s || !pattern) return Status::ok();
      RegexPtr re = n.regex;
      if (!re) {
        auto compiled = compileRegex(*pattern);
        if (!compiled.isOk()) return err(n, compiled.status().message());
        re = std::move(compiled).value();
      }
      if (n.function == FunctionId::kMatches) {
        out.push_back(Value::boolean(re->search(*s)));
      } else if (n.function == FunctionId::kMatchesFull) {
        out.push_back(Value::boolean(re->fullMatch(*s)));
      } else {
        if (!with) return Status::ok();
        if (pattern->empty()) {
          out.push_back(Value::string(*s));
          return Status::ok();
        }
        auto replaced = re->replaceAll(*s, *with, ctx.env.limits.max_string_bytes);
        if (!replaced.isOk()) return err(n, replaced.status().message());
        out.push_back(Value::string(std::move(replaced).value()));
      }
      return Status::ok();
    }
    case FunctionId::kAbs:
    case FunctionId::kCeiling:
    case FunctionId::kFloor:
    case FunctionId::kTruncate:
    case FunctionId::kRound:
    case FunctionId::kExp:
    case FunctionId::kLn:
    case FunctionId::kLog:
    case FunctionId::kPower:
    case FunctionId::kSqrt: {
      std::optional<Value> v;
      RETURN_IF_ERROR(inputValue(n, input, v));
      if (!v) return Status::ok();
      ValueKind k = v->kind();
      if (k == ValueKind::kQuantity && n.function == FunctionId::kAbs) {
        Quantity q = v->asQuantity();
        if (q.value.mantissa < 0) q.value.mantissa = -q.value.mantissa;
        out.push_back(Value::quantity(std::move(q)));
        return Status::ok();
      }
      if (k != ValueKind::kInteger && k != ValueKind::kDecimal) return err(n, "input is not a number");
      Decimal d = k == ValueKind::kInteger ? Decimal::fromInt(v->asInteger()) : v->asDecimal();
      switch (n.function) {
        case FunctionId::kAbs:
          if (k == ValueKind::kInteger) {
            if (v->asInteger() != INT64_MIN) out.push_back(Value::integer(std::llabs(v->asInteger())));
          }
          else out.push_back(Value::decimal(Decimal{d.mantissa < 0 ? -d.mantissa : d.mantissa, d.scale}));
          return Status::ok();
        case FunctionId::kCeiling:
        case FunctionId::kFloor:
        case FunctionId::kTruncate: {
          Decimal r = n.function == FunctionId::kCeiling ? decimalCeiling(d)
                      : n.function == FunctionId::kFloor ? decimalFloor(d) : decimalTruncate(d);
          auto i = decimalToInt64(r);
          if (i) out.push_back(Value::integer(*i));
          return Status::ok();
        }
        case FunctionId::kRound: {
          std::optional<int64_t> digits = 0;
          if (!n.args.empty()) RETURN_IF_ERROR(argInteger(n, 0, focus, ctx, digits));
          if (!digits) return Status::ok();
          if (*digits < 0) return err(n, "precision must not be negative");
          out.push_back(Value::decimal(decimalRound(d, static_cast<int>(*digits))));
          return Status::ok();
        }
        default: break;
      }
      double x = d.toDouble(), r = 0;
      if (n.function == FunctionId::kLog || n.function == FunctionId::kPower) {
        std::optional<Value> a;
        RETURN_IF_ERROR(argValue(n, 0, focus, ctx, a));
        if (!a) return Status::ok();
        if (a->kind() != ValueKind::kInteger && a->kind() != ValueKind::kDecimal) return err(n, "argument is not a number");
        double y = a->kind() == ValueKind::kInteger ? static_cast<double>(a->asInteger()) : a->asDecimal().toDouble();
        if (n.function == FunctionId::kPower) {
          if (k == ValueKind::kInteger && a->kind() == ValueKind::kInteger && a->asInteger() >= 0) {
            // Square-and-multiply: at most 64 rounds whatever the exponent (1.power(10^18) must not spin).
            int64_t res = 1, base = v->asInteger();
            for (int64_t e = a->asInteger(); e > 0; e >>= 1) {
              if ((e & 1) && __builtin_mul_overflow(res, base, &res)) return Status::ok();
              if (e > 1 && __builtin_mul_overflow(base, base, &base)) {
                if (res != 0) return Status::ok();  // would overflow unless the product is already 0
                break;
              }
            }
            out.push_back(Value::integer(res));
            return Status::ok();
          }
          r = std::pow(x, y);
        } else {
          r = std::log(x) / std::log(y);
        }
      } else if (n.function == FunctionId::kExp) {
        r = std::exp(x);
      } else if (n.function == FunctionId::kLn) {
        r = std::log(x);
      } else {
        r = std::sqrt(x);
      }
      auto res = decimalFromDouble(r);
      if (res) out.push_back(Value::decimal(*res));
      return Status::ok();
    }
    case FunctionId::kChildren:
      for (const Value& v : input) childrenOf(v, ctx.model, out);
      return Status::ok();
    case FunctionId::kDescendants: {
      Collection frontier(input.begin(), input.end()), next;
      size_t produced = 0;
      while (!frontier.empty()) {
        next.clear();
        for (const Value& v : frontier) childrenOf(v, ctx.model, next);
        out.insert(out.end(), next.begin(), next.end());
        produced += next.size();
        if (produced > ctx.env.limits.max_collection_items) return err(n, "result exceeds the collection limit");
        RETURN_IF_ERROR(ctx.charge(next.size()));
        frontier.swap(next);
      }
      return Status::ok();
    }
    case FunctionId::kTrace: {
      std::optional<std::string> name;
      RETURN_IF_ERROR(argString(n, 0, focus, ctx, name));
      if (ctx.env.trace) {
        Collection items(input.begin(), input.end());
        if (n.args.size() > 1) {
          Collection projected;
          for (const Value& v : input) RETURN_IF_ERROR(eval(*n.args[1], Items(&v, 1), ctx, projected));
          items = std::move(projected);
        }
        ctx.env.trace(name.value_or(""), items);
      }
      out.insert(out.end(), input.begin(), input.end());
      return Status::ok();
    }
    case FunctionId::kNow:
      out.push_back(Value::dateTime(ctx.now()));
      return Status::ok();
    case FunctionId::kToday: {
      DateTime d = ctx.now();
      d.precision = DateTime::kDay;
      d.hour = d.minute = d.second = 0;
      d.millisecond = 0;
      d.has_timezone = false;
      d.tz_offset_minutes = 0;
      out.push_back(Value::date(d));
      return Status::ok();
    }
    case FunctionId::kTimeOfDay: {
      DateTime d = ctx.now();
      d.year = 0;
      d.month = d.day = 0;
      d.has_timezone = false;
      d.tz_offset_minutes = 0;
      out.push_back(Value::time(d));
      return Status::ok();
    }
    case FunctionId::kNot: {
      if (input.empty()) return Status::ok();
      if (input.size() > 1) return err(n, "input has more than one item");
      // Singleton evaluation: a lone non-Boolean item counts as true.
      auto v = input[0].toSystem();
      out.push_back(Value::boolean(v && v->kind() == ValueKind::kBoolean ? !v->asBoolean() : false));
      return Status::ok();
    }
    case FunctionId::kExtension:
    case FunctionId::kHasExtension: {
      std::optional<std::string> url;
      RETURN_IF_ERROR(argString(n, 0, focus, ctx, url));
      if (!url) return Status::ok();
      Collection exts;
      for (const Value& v : input) RETURN_IF_ERROR(navigate(v, "extension", ctx, exts));
      for (const Value& e : exts) {
        if (!e.isNode() || !e.asNode().json) continue;
        const JsonValue* u = e.asNode().json->find("url");
        if (u && u->isString() && u->text() == *url) {
          if (n.function == FunctionId::kHasExtension) {
            out.push_back(Value::boolean(true));
            return Status::ok();
          }
          out.push_back(e);
        }
      }
      if (n.function == FunctionId::kHasExtension) out.push_back(Value::boolean(false));
      return Status::ok();
    }
    case FunctionId::kHasValue:
      out.push_back(Value::boolean(input.size() == 1 && input[0].isNode() && input[0].asNode().json &&
                                   input[0].asNode().json->isPrimitive() && !input[0].asNode().json->isNull()));
      return Status::ok();
    case FunctionId::kGetValue:
      if (input.size() == 1 && input[0].isNode() && input[0].asNode().json && input[0].asNode().json->isPrimitive()) {
        auto v = input[0].toSystem();
        if (v) out.push_back(std::move(*v));
      }
      return Status::ok();
    case FunctionId::kResolve:
      for (const Value& v : input) {
        if (auto s = stringOf(v)) {
          RETURN_IF_ERROR(resolveReference(*s, ctx, out));
        } else if (v.isNode() && v.asNode().json && v.asNode().json->isObject()) {
          const JsonValue* ref = v.asNode().json->find("reference");
          if (ref && ref->isString()) RETURN_IF_ERROR(resolveReference(ref->text(), ctx, out));
        }
      }
      return Status::ok();
    case FunctionId::kHtmlChecks: {
      if (input.empty()) return Status::ok();
      auto s = stringOf(input[0]);
      out.push_back(Value::boolean(input.size() == 1 && s && htmlOk(*s)));
      return Status::ok();
    }
    case FunctionId::kConformsTo: {
      std::optional<std::string> url;
      RETURN_IF_ERROR(argString(n, 0, focus, ctx, url));
      if (!url || input.empty()) return Status::ok();
      if (input.size() > 1) return err(n, "input has more than one item");
      if (!input[0].isNode()) {
        out.push_back(Value::boolean(false));
        return Status::ok();
      }
      std::string_view type = input[0].asNode().type;
      const TypeDef* t = ctx.model.type(type);
      if (t && t->url == *url) {
        out.push_back(Value::boolean(true));
        return Status::ok();
      }
      const TypeDef* p = ctx.model.profile(*url);
      if (!p) {
        if (url->rfind("http://hl7.org/fhir/StructureDefinition/", 0) == 0 && ctx.model.type(url->substr(40))) {
          out.push_back(Value::boolean(false));
          return Status::ok();
        }
        return err(n, "unknown profile " + *url);
      }
      out.push_back(Value::boolean(p->name == type || p->elements.empty() ? false : p->root().path == type));
      return Status::ok();
    }
    case FunctionId::kMemberOf: {
      std::optional<std::string> url;
      RETURN_IF_ERROR(argString(n, 0, focus, ctx, url));
      if (!url || input.empty()) return Status::ok();
      if (input.size() > 1) return err(n, "input has more than one item");
      auto r = memberOfCodes(input[0], *url, ctx);
      if (r) out.push_back(Value::boolean(*r));
      return Status::ok();
    }
    case FunctionId::kSplit: {
      std::optional<std::string> s, sep;
      RETURN_IF_ERROR(inputString(n, input, s));
      RETURN_IF_ERROR(argString(n, 0, focus, ctx, sep));
      if (!s || !sep) return Status::ok();
      if (sep->empty()) {
        if (s->size() > ctx.env.limits.max_collection_items) return err(n, "result exceeds the collection limit");
        for (auto c : utf8Chars(*s)) out.push_back(Value::string(std::string(c)));
        return Status::ok();
      }
      size_t pos = 0;
      for (size_t parts = 0;; ++parts) {
        if (parts > ctx.env.limits.max_collection_items) return err(n, "result exceeds the collection limit");
        size_t f = s->find(*sep, pos);
        out.push_back(Value::string(s->substr(pos, f == std::string::npos ? std::string::npos : f - pos)));
        if (f == std::string::npos) break;
        pos = f + sep->size();
      }
      return Status::ok();
    }
    case FunctionId::kJoin: {
      std::optional<std::string> sep;
      if (!n.args.empty()) RETURN_IF_ERROR(argString(n, 0, focus, ctx, sep));
      std::string r;
      bool first = true;
      for (const Value& v : input) {
        auto s = stringOf(v);
        if (!s) return err(n, "items must be Strings");
        if (!first) r += sep.value_or("");
        first = false;
        r += *s;
      }
      out.push_back(Value::string(std::move(r)));
      return Status::ok();
    }
    case FunctionId::kEncode:
    case FunctionId::kDecode:
    case FunctionId::kEscape:
    case FunctionId::kUnescape: {
      std::optional<std::string> s, format;
      RETURN_IF_ERROR(inputString(n, input, s));
      RETURN_IF_ERROR(argString(n, 0, focus, ctx, format));
      if (!s || !format) return Status::ok();
      std::string r;
      static constexpr char kHex[] = "0123456789abcdef";
      if (n.function == FunctionId::kEncode) {
        if (*format == "hex") {
          for (unsigned char c : *s) {
            r += kHex[c >> 4];
            r += kHex[c & 15];
          }
        } else if (*format == "base64" || *format == "urlbase64") {
          r = fhir::base64Encode(*s, *format == "urlbase64");
        } else {
          return Status::ok();
        }
      } else if (n.function == FunctionId::kDecode) {
        if (*format == "hex") {
          if (s->size() % 2) return Status::ok();
          for (size_t i = 0; i < s->size(); i += 2) {
            auto h = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10; };
            r += static_cast<char>(h((*s)[i]) * 16 + h((*s)[i + 1]));
          }
        } else if (*format == "base64" || *format == "urlbase64") {
          auto d = fhir::base64Decode(*s);
          if (!d) return Status::ok();
          r = std::move(*d);
        } else {
          return Status::ok();
        }
      } else if (n.function == FunctionId::kEscape) {
        for (char c : *s) {
          if (*format == "html") {
            if (c == '<') r += "&lt;";
            else if (c == '>') r += "&gt;";
            else if (c == '&') r += "&amp;";
            else if (c == '"') r += "&quot;";
            else r += c;
          } else {
            if (c == '"' || c == '\\') {
              r += '\\';
              r += c;
            } else if (c == '\n') {
              r += "\\n";
            } else {
              r += c;
            }
          }
        }
      } else {
        if (*format == "html") {
          static constexpr std::pair<std::string_view, char> kEntities[] = {
              {"&lt;", '<'}, {"&gt;", '>'}, {"&amp;", '&'}, {"&quot;", '"'}, {"&apos;", '\''}};
          for (size_t i = 0; i < s->size();) {
            bool matched = false;
            for (auto [e, c] : kEntities) {
              if (s->compare(i, e.size(), e) == 0) {
                r += c;
                i += e.size();
                matched = true;
                break;
              }
            }
            if (!matched) r += (*s)[i++];
          }
        } else {
          for (size_t i = 0; i < s->size(); ++i) {
            if ((*s)[i] == '\\' && i + 1 < s->size()) {
              char e = (*s)[++i];
              r += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
            } else {
              r += (*s)[i];
            }
          }
        }
      }
      out.push_back(Value::string(std::move(r)));
      return Status::ok();
    }
    case FunctionId::kAggregate: {
      Collection total;
      if (n.args.size() > 1) RETURN_IF_ERROR(arg(n, 1, focus, ctx, total));
      const Value* saved_index = ctx.index;
      const Collection* saved_total = ctx.total;
      for (size_t i = 0; i < input.size(); ++i) {
        Value idx = Value::integer(static_cast<int64_t>(i));
        Collection next;
        ctx.index = &idx;
        ctx.total = &total;
        Status s = eval(*n.args[0], Items(&input[i], 1), ctx, next);
        ctx.index = saved_index;
        ctx.total = saved_total;
        RETURN_IF_ERROR(s);
        total = std::move(next);
      }
      out.insert(out.end(), total.begin(), total.end());
      return Status::ok();
    }
    case FunctionId::kLowBoundary:
    case FunctionId::kHighBoundary: {
      std::optional<Value> v;
      RETURN_IF_ERROR(inputValue(n, input, v));
      std::optional<int64_t> p;
      if (!n.args.empty()) RETURN_IF_ERROR(argInteger(n, 0, focus, ctx, p));
      if (!v) return Status::ok();
      return boundary(n, n.function == FunctionId::kHighBoundary, *v, p, out);
    }
    case FunctionId::kPrecision: {
      std::optional<Value> v;
      RETURN_IF_ERROR(inputValue(n, input, v));
      if (!v) return Status::ok();
      switch (v->kind()) {
        case ValueKind::kDecimal: out.push_back(Value::integer(v->asDecimal().scale)); break;
        case ValueKind::kInteger: out.push_back(Value::integer(0)); break;
        case ValueKind::kDate:
        case ValueKind::kDateTime: {
          static constexpr int kDigits[] = {0, 4, 6, 8, 10, 12, 14, 17};
          out.push_back(Value::integer(kDigits[v->asDateTime().precision]));
          break;
        }
        case ValueKind::kTime: {
          static constexpr int kDigits[] = {0, 0, 0, 0, 2, 4, 6, 9};
          out.push_back(Value::integer(kDigits[v->asDateTime().precision]));
          break;
        }
        default: break;
      }
      return Status::ok();
    }
    case FunctionId::kSort: {
      // sort() and sort(key, -key2, ...): a leading unary minus sorts that key descending.
      using Keys = std::vector<std::optional<Value>>;
      std::vector<std::pair<Keys, size_t>> keyed;
      for (size_t i = 0; i < input.size(); ++i) {
        Keys keys;
        if (n.args.empty()) {
          keys.push_back(input[i].toSystem());
        } else {
          for (const auto& a : n.args) {
            const AstNode* k = a->kind == NodeKind::kUnary && a->unary == '-' ? a->base.get() : a.get();
            Collection kv;
            RETURN_IF_ERROR(eval(*k, Items(&input[i], 1), ctx, kv));
            keys.push_back(kv.empty() ? std::nullopt : kv[0].toSystem());
          }
        }
        keyed.emplace_back(std::move(keys), i);
      }
      Status failure = Status::ok();
      auto less = [&](const std::pair<Keys, size_t>& x, const std::pair<Keys, size_t>& y) {
        for (size_t k = 0; k < x.first.size(); ++k) {
          bool desc = !n.args.empty() && n.args[k]->kind == NodeKind::kUnary && n.args[k]->unary == '-';
          const std::optional<Value>& a = x.first[k];
          const std::optional<Value>& b = y.first[k];
          // An empty key sorts after every value.
          if (!a && !b) continue;
          if (!a || !b) return desc ? !a : !b;
          int c = 0;
          if (a->kind() == ValueKind::kString && b->kind() == ValueKind::kString) c = a->asString().compare(b->asString());
          else if ((a->kind() == ValueKind::kInteger || a->kind() == ValueKind::kDecimal) &&
                   (b->kind() == ValueKind::kInteger || b->kind() == ValueKind::kDecimal)) {
            Decimal da = a->kind() == ValueKind::kInteger ? Decimal::fromInt(a->asInteger()) : a->asDecimal();
            Decimal db = b->kind() == ValueKind::kInteger ? Decimal::fromInt(b->asInteger()) : b->asDecimal();
            c = compare(da, db);
          } else if (a->kind() == b->kind() && (a->kind() == ValueKind::kDate || a->kind() == ValueKind::kDateTime ||
                                                a->kind() == ValueKind::kTime)) {
            c = compareDateTimes(a->asDateTime(), b->asDateTime(), a->kind() == ValueKind::kTime).value_or(0);
          }
          if (c != 0) return desc ? c > 0 : c < 0;
        }
        return x.second < y.second;
      };
      std::stable_sort(keyed.begin(), keyed.end(), less);
      RETURN_IF_ERROR(failure);
      for (const auto& k : keyed) out.push_back(input[k.second]);
      return Status::ok();
    }
    case FunctionId::kType:
      // A TypeInfo is represented as a node of pseudo-type "TypeInfo:<namespace>" whose name is the type name.
      for (const Value& v : input) {
        Node t;
        if (v.isNode()) {
          t.type = "TypeInfo:FHIR";
          t.name = v.asNode().type;
        } else {
          static constexpr std::string_view kNames[] = {"", "Boolean", "Integer", "Decimal", "String",
                                                        "Date", "DateTime", "Time", "Quantity"};
          t.type = "TypeInfo:System";
          t.name = kNames[static_cast<int>(v.kind())];
        }
        out.push_back(Value::node(t));
      }
      return Status::ok();
    case FunctionId::kComparable: {
      std::optional<Value> v, a;
      RETURN_IF_ERROR(inputValue(n, input, v));
      RETURN_IF_ERROR(argValue(n, 0, focus, ctx, a));
      if (!v || !a || v->kind() != ValueKind::kQuantity || a->kind() != ValueKind::kQuantity) return Status::ok();
      out.push_back(Value::boolean(compareQuantities(v->asQuantity(), a->asQuantity()).has_value()));
      return Status::ok();
    }
    case FunctionId::kCheckModifiers:
      out.insert(out.end(), input.begin(), input.end());
      return Status::ok();
    case FunctionId::kSubsumes:
    case FunctionId::kSubsumedBy:
    case FunctionId::kElementDefinition:
    case FunctionId::kSlice:
      return Status::ok();  // need terminology or profile context: unknown
    case FunctionId::kDefineVariable:
      out.insert(out.end(), input.begin(), input.end());
      return Status::ok();
  }
  return err(n, "not implemented");
}

}  // namespace planbro::fhir::fhirpath
