// FHIR search parameter parsing. Each accepted value becomes store IndexPredicates over the rows the indexer writes
// (see indexer.h for the derived row names), so the two files must agree on row shapes.
#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>

#include "planbro/fhir-model/model_info.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/search/search_request.h"

namespace planbro::gateway::search {
namespace {

using fhir::SearchParamDef;
using fhir::SearchParamType;
using store::IndexPredicate;
using store::IndexValueKind;

const fhir::ModelInfo& model() { return fhir::ModelInfo::r4(); }

// Splits on unescaped `sep` and removes the FHIR escapes (\, \| \$ \\) from the parts.
std::vector<std::string> splitEscaped(std::string_view s, char sep) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      out.back() += s[++i];
    } else if (c == sep) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

// Splits `system|code` on the first unescaped '|'; the bar's presence matters ("|code" means no system).
struct TokenParts {
  bool has_bar = false;
  std::string system;
  std::string code;
};
TokenParts splitToken(std::string_view s) {
  TokenParts t;
  std::string* cur = &t.code;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      *cur += s[++i];
    } else if (c == '|' && !t.has_bar) {
      t.has_bar = true;
      t.system = std::move(t.code);
      t.code.clear();
    } else {
      *cur += c;
    }
  }
  return t;
}

// The value split into OR-ed parts, each still FHIR-escaped except for commas.
std::vector<std::string> splitOr(std::string_view value) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '\\' && i + 1 < value.size()) {
      if (value[i + 1] == ',') {
        out.back() += ',';
      } else {
        out.back() += value[i];
        out.back() += value[i + 1];
      }
      ++i;
    } else if (value[i] == ',') {
      out.emplace_back();
    } else {
      out.back() += value[i];
    }
  }
  return out;
}

// Splits on unescaped `sep`, leaving every escape in place for the parts' own parsing.
std::vector<std::string> splitKeepingEscapes(std::string_view s, char sep) {
  std::vector<std::string> out(1);
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      out.back() += s[i];
      out.back() += s[++i];
    } else if (s[i] == sep) {
      out.emplace_back();
    } else {
      out.back() += s[i];
    }
  }
  return out;
}

std::string unescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

enum class Prefix { kEq, kNe, kGt, kLt, kGe, kLe, kSa, kEb, kAp };

Prefix takePrefix(std::string& value) {
  static constexpr std::pair<std::string_view, Prefix> kPrefixes[] = {
      {"eq", Prefix::kEq}, {"ne", Prefix::kNe}, {"gt", Prefix::kGt}, {"lt", Prefix::kLt}, {"ge", Prefix::kGe},
      {"le", Prefix::kLe}, {"sa", Prefix::kSa}, {"eb", Prefix::kEb}, {"ap", Prefix::kAp}};
  if (value.size() > 2 && (std::isdigit(static_cast<unsigned char>(value[2])) || value[2] == '-' || value[2] == '.')) {
    for (auto [text, p] : kPrefixes) {
      if (value.starts_with(text)) {
        value.erase(0, 2);
        return p;
      }
    }
  }
  return Prefix::kEq;
}

const SearchParamDef* componentDef(std::string_view type, std::string_view url) {
  for (const SearchParamDef* d : model().searchParams(type)) {
    if (d->url == url) return d;
  }
  return nullptr;
}

bool hasControlCharacter(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

class Parser {
 public:
  Parser(std::string_view type, const ParseOptions& options) : type_(type), options_(options) {}

  Result<SearchRequest> run(const QueryParams& params) {
    req_.type = type_;
    req_.count = std::clamp<size_t>(options_.default_count, 1, options_.max_count);
    if (params.size() > options_.max_parameters) {
      return invalidArgument("too many search parameters (" + std::to_string(params.size()) + "; at most " +
                             std::to_string(options_.max_parameters) + ")");
    }
    for (const auto& [name, value] : params) {
      // A NUL ends a text in SQLite's LIKE and in C interfaces ("%00x" matched everything); no search value
      // needs a control character. The message does not echo the text.
      if (hasControlCharacter(name)) return invalidArgument("a search parameter name contains a control character");
      if (hasControlCharacter(value)) {
        return invalidArgument("'" + name + "': search values must not contain control characters (U+0000-U+001F, U+007F)");
      }
    }
    for (const auto& [name, value] : params) {
      size_t before = req_.criteria.size();
      Status s = one(name, value);
      if (s.isOk()) {
        if (name != "_cursor") req_.link_params.emplace_back(name, value);
        continue;
      }
      if (s.code() == StatusCode::kUnsupported && options_.handling == Handling::kLenient) {
        req_.criteria.resize(before);
        req_.warnings.push_back(s.message() + "; ignored (handling=lenient)");
        continue;
      }
      return Status(StatusCode::kInvalidArgument, s.message());
    }
    return std::move(req_);
  }

 private:
  static Status unsupported(std::string message) { return {StatusCode::kUnsupported, std::move(message)}; }

  Status one(const std::string& name, const std::string& value) {
    if (name.empty()) return unsupported("empty search parameter name");
    if (name[0] == '_' && !name.starts_with("_has:")) {
      if (auto handled = resultParameter(name, value)) return *handled;
    }
    if (name.starts_with("_has:")) return reverseChain(name, value);
    size_t dot = name.find('.');
    if (dot != std::string::npos) return chain(name, value);
    std::string code = name;
    std::string modifier;
    if (size_t colon = name.find(':'); colon != std::string::npos) {
      code = name.substr(0, colon);
      modifier = name.substr(colon + 1);
    }
    const SearchParamDef* p = findSearchParam(type_, code);
    if (p == nullptr && definedButNotIndexed(type_, code)) {
      return unsupported("search parameter '" + name + "' is not indexed for " + type_ +
                         " (the CapabilityStatement lists the ones that are)");
    }
    if (p == nullptr) return unsupported("unknown search parameter '" + name + "' for " + type_);
    std::vector<Criterion> out;
    RETURN_IF_ERROR(criteria(name, *p, modifier, value, out));
    for (auto& c : out) req_.criteria.push_back(std::move(c));
    return Status::ok();
  }

  // Result parameters; nullopt when `name` is not one (then it is looked up as a search parameter).
  std::optional<Status> resultParameter(const std::string& name, const std::string& value) {
    if (name == "_count") {
      size_t n = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || ptr != value.data() + value.size()) {
        return invalidArgument("_count must be a non-negative integer (got '" + value + "')");
      }
      if (n == 0) {
        req_.summary = SummaryMode::kCount;
      } else {
        req_.count = std::min(n, options_.max_count);
      }
      return Status::ok();
    }
    if (name == "_sort") {
      std::vector<SortKey> keys;
      for (std::string key : splitEscaped(value, ',')) {
        SortKey k;
        if (key.starts_with('-')) {
          k.descending = true;
          key.erase(0, 1);
        }
        const SearchParamDef* p = findSearchParam(type_, key);
        if (p == nullptr) return unsupported("unknown _sort parameter '" + key + "' for " + type_);
        if (p->type == SearchParamType::kComposite || p->type == SearchParamType::kSpecial || p->expression.empty()) {
          return unsupported("_sort by '" + key + "' is not supported");
        }
        k.param = key;
        keys.push_back(std::move(k));
      }
      req_.sort = std::move(keys);
      return Status::ok();
    }
    if (name == "_include" || name == "_revinclude" || name == "_include:iterate" || name == "_revinclude:iterate" ||
        name == "_include:recurse" || name == "_revinclude:recurse") {
      return include(name, value);
    }
    if (name == "_summary") {
      ASSIGN_OR_RETURN(req_.summary, parseSummaryParam(value));
      return Status::ok();
    }
    if (name == "_total") {
      if (value == "none") req_.total = TotalMode::kNone;
      else if (value == "estimate") req_.total = TotalMode::kEstimate;
      else if (value == "accurate") req_.total = TotalMode::kAccurate;
      else return invalidArgument("_total must be none, estimate or accurate (got '" + value + "')");
      return Status::ok();
    }
    if (name == "_elements") {
      for (std::string& e : parseElementsParam(value)) req_.elements.push_back(std::move(e));
      return Status::ok();
    }
    if (name == "_format") {
      req_.format = value;
      return Status::ok();
    }
    if (name == "_pretty") {
      req_.pretty = value;
      return Status::ok();
    }
    if (name == "_cursor") {
      req_.cursor = value;
      return Status::ok();
    }
    return std::nullopt;
  }

  Status include(const std::string& name, const std::string& value) {
    bool reverse = name.starts_with("_revinclude");
    Include inc;
    inc.iterate = name.ends_with(":iterate") || name.ends_with(":recurse");
    std::vector<std::string> parts = splitEscaped(value, ':');
    if (parts.size() < 2 || parts.size() > 3) {
      return invalidArgument(name + " must be Type:param[:TargetType] (got '" + value + "')");
    }
    inc.source_type = parts[0];
    inc.param = parts[1];
    if (parts.size() == 3) inc.target_type = parts[2];
    if (!model().isResourceType(inc.source_type)) return unsupported(name + ": unknown resource type '" + parts[0] + "'");
    if (inc.target_type && !model().isResourceType(*inc.target_type)) {
      return unsupported(name + ": unknown resource type '" + *inc.target_type + "'");
    }
    if (!reverse && !inc.iterate && inc.source_type != type_) {
      return unsupported(name + "=" + value + ": the source type must be " + type_ + " (or use :iterate)");
    }
    if (inc.param != "*") {
      const SearchParamDef* p = findSearchParam(inc.source_type, inc.param);
      if (p == nullptr || p->type != SearchParamType::kReference) {
        return unsupported(name + ": '" + inc.param + "' is not a reference parameter of " + inc.source_type);
      }
    }
    (reverse ? req_.revincludes : req_.includes).push_back(std::move(inc));
    return Status::ok();
  }

  Status chain(const std::string& name, const std::string& value) {
    Criterion crit;
    RETURN_IF_ERROR(chainOn(type_, name, name, value, 1, crit));
    req_.criteria.push_back(std::move(crit));
    return Status::ok();
  }

  // `path` on resources of `type`: "ref[:Type].rest", where rest is a parameter of the target type(s)
  // ("identifier", "name:exact") or, one level down, another chain ("organization.name").
  Status chainOn(const std::string& type, const std::string& name, std::string_view path, const std::string& value,
                 size_t depth, Criterion& out) {
    if (depth > options_.max_chain_depth) {
      return invalidArgument("'" + name + "': chains of more than " + std::to_string(options_.max_chain_depth) +
                             " levels are not allowed");
    }
    const size_t dot = path.find('.');
    std::string left(path.substr(0, dot));
    std::string right(path.substr(dot + 1));
    std::string ref_code = left;
    std::optional<std::string> target_type;
    if (size_t colon = left.find(':'); colon != std::string::npos) {
      ref_code = left.substr(0, colon);
      target_type = left.substr(colon + 1);
    }
    const SearchParamDef* ref = findSearchParam(type, ref_code);
    if (ref == nullptr) return unsupported("unknown search parameter '" + ref_code + "' in chain '" + name + "'");
    if (ref->type != SearchParamType::kReference) {
      return unsupported("'" + ref_code + "' is not a reference parameter, so '" + name + "' cannot chain");
    }
    std::vector<std::string> types;
    if (target_type) {
      if (!ref->target.empty() && std::find(ref->target.begin(), ref->target.end(), *target_type) == ref->target.end()) {
        return unsupported("'" + ref_code + "' cannot refer to " + *target_type + " in '" + name + "'");
      }
      types.push_back(*target_type);
    } else {
      types = ref->target;
    }
    const size_t next_dot = right.find('.');
    std::string chained_code = right.substr(0, std::min(right.find(':'), next_dot));
    std::string chained_modifier;
    if (next_dot == std::string::npos) {
      if (size_t colon = right.find(':'); colon != std::string::npos) chained_modifier = right.substr(colon + 1);
    }
    Chain c;
    c.reference_param = ref_code;
    for (const std::string& t : types) {
      const SearchParamDef* p = findSearchParam(t, chained_code);
      if (p == nullptr) continue;
      if (next_dot != std::string::npos) {
        if (p->type != SearchParamType::kReference) continue;
        Criterion inner;
        RETURN_IF_ERROR(chainOn(t, name, right, value, depth + 1, inner));
        ChainTarget target;
        target.type = t;
        target.nested.push_back(std::move(inner));
        c.targets.push_back(std::move(target));
        continue;
      }
      std::vector<Criterion> crits;
      RETURN_IF_ERROR(criteria(name, *p, chained_modifier, value, crits));
      if (crits.size() != 1 || crits[0].chain || crits[0].has) {
        return unsupported("'" + name + "': this modifier or value form is not supported in a chain");
      }
      ChainTarget target;
      target.type = t;
      target.any_of = std::move(crits[0].any_of);
      c.targets.push_back(std::move(target));
    }
    if (c.targets.empty()) return unsupported("unknown chained parameter '" + chained_code + "' in '" + name + "'");
    out.name = name;
    out.chain = std::move(c);
    return Status::ok();
  }

  Status reverseChain(const std::string& name, const std::string& value) {
    Criterion crit;
    RETURN_IF_ERROR(hasOn(type_, name, name, value, 1, crit));
    req_.criteria.push_back(std::move(crit));
    return Status::ok();
  }

  // `tail` on resources of `type`: "_has:Source:ref:param[:modifier]" or "_has:Source:ref:_has:..." (nested).
  Status hasOn(const std::string& type, const std::string& name, std::string_view tail, const std::string& value,
               size_t depth, Criterion& out) {
    if (depth > options_.max_chain_depth) {
      return invalidArgument("'" + name + "': _has nested more than " + std::to_string(options_.max_chain_depth) +
                             " levels is not allowed");
    }
    // The first three ':'-separated parts are "_has", the source type and its reference parameter; the rest is
    // the source's parameter or a nested _has.
    size_t cut = std::string_view::npos;
    for (size_t k = 0, from = 0; k < 3; ++k, from = cut + 1) {
      cut = tail.find(':', from);
      if (cut == std::string_view::npos) break;
    }
    if (cut == std::string_view::npos || cut + 1 >= tail.size()) {
      return invalidArgument("'" + name + "' must be _has:Type:reference:parameter");
    }
    std::vector<std::string> head = splitEscaped(tail.substr(0, cut), ':');
    std::string_view rest = tail.substr(cut + 1);
    const std::string& source = head[1];
    if (!model().isResourceType(source)) return unsupported("'" + name + "': unknown resource type '" + source + "'");
    const SearchParamDef* ref = findSearchParam(source, head[2]);
    if (ref == nullptr || ref->type != SearchParamType::kReference) {
      return unsupported("'" + name + "': '" + head[2] + "' is not a reference parameter of " + source);
    }
    if (!ref->target.empty() && std::find(ref->target.begin(), ref->target.end(), type) == ref->target.end()) {
      return unsupported("'" + name + "': " + source + "." + head[2] + " cannot refer to " + type);
    }
    ReverseChain has{source, head[2], {}, {}};
    if (rest.starts_with("_has:")) {
      Criterion inner;
      RETURN_IF_ERROR(hasOn(source, name, rest, value, depth + 1, inner));
      has.nested.push_back(std::move(inner));
    } else {
      std::vector<std::string> parts = splitEscaped(rest, ':');
      if (parts.size() > 2) return invalidArgument("'" + name + "' must be _has:Type:reference:parameter[:modifier]");
      const SearchParamDef* p = findSearchParam(source, parts[0]);
      if (p == nullptr) return unsupported("'" + name + "': unknown parameter '" + parts[0] + "' of " + source);
      std::vector<Criterion> crits;
      RETURN_IF_ERROR(criteria(name, *p, parts.size() == 2 ? parts[1] : "", value, crits));
      if (crits.size() != 1 || crits[0].chain || crits[0].has) {
        return unsupported("'" + name + "': this modifier or value form is not supported in _has");
      }
      has.any_of = std::move(crits[0].any_of);
    }
    out.name = name;
    out.has = std::move(has);
    return Status::ok();
  }

  // One occurrence of a direct parameter: usually one criterion with OR-ed predicates; `:not` with several values
  // gives one criterion per value (none of them may match).
  Status criteria(const std::string& name, const SearchParamDef& p, const std::string& modifier,
                  const std::string& value, std::vector<Criterion>& out) {
    if (p.type == SearchParamType::kComposite && !p.expression.empty() && modifier != "missing") {
      return composite(name, p, modifier, value, out);
    }
    if (p.type == SearchParamType::kSpecial || p.expression.empty()) {
      return unsupported("search parameter '" + p.code + "' (" + std::string(fhir::searchParamTypeName(p.type)) + ") is not supported");
    }
    if (modifier == "missing") {
      if (value != "true" && value != "false") return invalidArgument("'" + name + "' must be true or false");
      // Value rows or presence rows (indexer.h, kPresentSuffix) answer it for every parameter type.
      Criterion c;
      c.name = name;
      IndexPredicate any = anyValue(p);
      any.negate = value == "true";
      c.any_of.push_back(std::move(any));
      out.push_back(std::move(c));
      return Status::ok();
    }
    Criterion c;
    c.name = name;
    const std::vector<std::string> parts = splitOr(value);
    if (parts.size() > options_.max_or_values) {
      return invalidArgument("'" + name + "' has " + std::to_string(parts.size()) + " values; at most " +
                             std::to_string(options_.max_or_values) + " are allowed");
    }
    for (const std::string& part : parts) {
      if (part.empty()) return invalidArgument("'" + name + "' has an empty value");
      IndexPredicate pred;
      pred.param = p.code;
      switch (p.type) {
        case SearchParamType::kToken: RETURN_IF_ERROR(token(name, modifier, part, pred)); break;
        case SearchParamType::kString: RETURN_IF_ERROR(string(name, p, modifier, part, pred)); break;
        case SearchParamType::kDate: RETURN_IF_ERROR(date(name, modifier, part, pred)); break;
        case SearchParamType::kNumber:
        case SearchParamType::kQuantity: {
          std::optional<IndexPredicate> unit;
          RETURN_IF_ERROR(number(name, p, modifier, part, pred, unit));
          if (unit) {
            if (parts.size() > 1) {
              return unsupported("'" + name + "': units with several OR-ed quantities are not supported");
            }
            Criterion u;
            u.name = name;
            u.any_of.push_back(std::move(*unit));
            out.push_back(std::move(u));
          }
          break;
        }
        case SearchParamType::kUri: RETURN_IF_ERROR(uri(name, modifier, part, pred)); break;
        case SearchParamType::kReference: RETURN_IF_ERROR(reference(name, p, modifier, part, pred)); break;
        default: return unsupported("search parameter '" + p.code + "' is not supported");
      }
      // A Norwegian identifier asked for by its alias system is searched as its OID (the indexer's form) and, for
      // rows an older version wrote with that alias, as the alias too.
      std::optional<IndexPredicate> alias;
      if (pred.kind == IndexValueKind::kToken && pred.system && (modifier.empty() || modifier == "not")) {
        TokenParts t = splitToken(part);
        if (t.has_bar && t.system != *pred.system) {
          alias = pred;
          alias->system = t.system;
        }
      }
      for (IndexPredicate* one : {&pred, alias ? &*alias : nullptr}) {
        if (one == nullptr) continue;
        if (one->negate) {
          Criterion n;
          n.name = name;
          n.any_of.push_back(std::move(*one));
          out.push_back(std::move(n));
        } else {
          c.any_of.push_back(std::move(*one));
        }
      }
    }
    if (!c.any_of.empty()) out.push_back(std::move(c));
    return Status::ok();
  }

  // `code-value-quantity=http://loinc.org|8480-6$lt60`: the first component's value picks the row parameter
  // (indexer.h, compositeParam), the second is an ordinary predicate of its type on those rows.
  Status composite(const std::string& name, const SearchParamDef& p, const std::string& modifier,
                   const std::string& value, std::vector<Criterion>& out) {
    if (!modifier.empty()) return unsupported("modifier ':" + modifier + "' is not supported on composite '" + name + "'");
    if (p.components.size() != 2) {
      return unsupported("composite parameter '" + p.code + "' has " + std::to_string(p.components.size()) +
                         " components; only two-component composites are supported");
    }
    const SearchParamDef* first = componentDef(type_, p.components[0]);
    const SearchParamDef* second = componentDef(type_, p.components[1]);
    if (!isSupportedSearchParam(type_, p) || first == nullptr || second == nullptr) {
      return unsupported("composite parameter '" + p.code + "' is not supported");
    }
    const std::vector<std::string> parts = splitOr(value);
    if (parts.size() > options_.max_or_values) {
      return invalidArgument("'" + name + "' has " + std::to_string(parts.size()) + " values; at most " +
                             std::to_string(options_.max_or_values) + " are allowed");
    }
    Criterion merged;
    merged.name = name;
    for (const std::string& part : parts) {
      std::vector<std::string> halves = splitKeepingEscapes(part, '$');
      if (halves.size() != 2 || halves[0].empty() || halves[1].empty()) {
        return invalidArgument("'" + name + "': '" + part + "' must be two values joined by '$'");
      }
      ASSIGN_OR_RETURN(std::string key, compositeKeyOf(name, *first, halves[0]));
      std::vector<Criterion> sub;
      // A '\,' in the second value must stay one value.
      std::string second_value;
      for (char c : halves[1]) {
        if (c == ',') second_value += '\\';
        second_value += c;
      }
      RETURN_IF_ERROR(criteria(name, *second, "", second_value, sub));
      for (Criterion& c : sub) {
        for (IndexPredicate& pred : c.any_of) {
          pred.param = compositeParam(p.code, key) + pred.param.substr(second->code.size());
        }
      }
      if (parts.size() == 1) {
        for (Criterion& c : sub) out.push_back(std::move(c));
        return Status::ok();
      }
      if (sub.size() != 1 || sub[0].any_of.size() != 1 || sub[0].any_of[0].negate) {
        return unsupported("'" + name + "': units or 'ne' with several OR-ed composite values are not supported");
      }
      merged.any_of.push_back(std::move(sub[0].any_of[0]));
    }
    out.push_back(std::move(merged));
    return Status::ok();
  }

  // The key of a composite's first value, as the indexer makes it from the row (compositeKeys).
  Result<std::string> compositeKeyOf(const std::string& name, const SearchParamDef& first, const std::string& text) {
    store::IndexRow row;
    if (first.type == SearchParamType::kToken) {
      TokenParts t = splitToken(text);
      row.kind = IndexValueKind::kToken;
      row.code = t.code;
      row.system = std::string(canonicalTokenSystem(t.system));
      if (row.code.empty()) return invalidArgument("'" + name + "': the first value needs a code");
      std::vector<std::string> keys = compositeKeys(row);
      return t.has_bar ? keys[1] : keys[0];
    }
    IndexPredicate ref;
    ref.param = first.code;
    RETURN_IF_ERROR(reference(name, first, "", text, ref));
    row.kind = IndexValueKind::kReference;
    row.text = ref.text;
    row.ref_id = ref.ref_id;
    row.ref_type = ref.ref_type.value_or("");
    std::vector<std::string> keys = compositeKeys(row);
    if (keys.empty()) return invalidArgument("'" + name + "': the first value is not a reference");
    return ref.ref_type || !ref.text.empty() ? keys[0] : keys[1];
  }

  // Presence of the parameter (for :missing): a row of its value kind, or its presence row (kPresentSuffix);
  // a composite has only the latter.
  static IndexPredicate anyValue(const SearchParamDef& p) {
    IndexPredicate any;
    if (std::optional<IndexValueKind> kind = valueKindOf(p.type)) {
      any.kind = *kind;
      any.param = p.code;
      any.presence_param = p.code + std::string(kPresentSuffix);
      return any;
    }
    any.kind = IndexValueKind::kToken;
    any.param = p.code + std::string(kPresentSuffix);
    any.code = "1";
    return any;
  }

  Status token(const std::string& name, const std::string& modifier, const std::string& part, IndexPredicate& pred) {
    if (modifier == "text") {
      pred.param += std::string(kTextSuffix);
      pred.kind = IndexValueKind::kString;
      pred.match = IndexPredicate::Match::kPrefix;
      pred.text = normalizeString(unescape(part));
      if (pred.text.empty()) return invalidArgument("'" + name + "' has an empty value");
      return Status::ok();
    }
    if (modifier == "of-type") {
      // type-system|type-code|value, each required (R4 search, token :of-type).
      std::vector<std::string> pieces = splitEscaped(part, '|');
      if (pieces.size() != 3 || pieces[0].empty() || pieces[1].empty() || pieces[2].empty()) {
        return invalidArgument("'" + name + "' must be type-system|type-code|value");
      }
      pred.param += std::string(kOfTypeSuffix);
      pred.kind = IndexValueKind::kToken;
      pred.system = pieces[0];
      pred.code = ofTypeCode(pieces[1], pieces[2]);
      return Status::ok();
    }
    if (!modifier.empty() && modifier != "not") {
      return unsupported("modifier ':" + modifier + "' is not supported on token parameter '" + name + "'");
    }
    pred.kind = IndexValueKind::kToken;
    pred.negate = modifier == "not";
    TokenParts t = splitToken(part);
    if (t.has_bar) {
      if (t.system.empty() && t.code.empty()) return invalidArgument("'" + name + "': '|' alone is not a token");
      pred.system = std::string(canonicalTokenSystem(t.system));  // "" = no system
      if (!t.code.empty()) pred.code = t.code;
    } else {
      pred.code = t.code;
    }
    return Status::ok();
  }

  Status string(const std::string& name, const SearchParamDef& p, const std::string& modifier, const std::string& part,
                IndexPredicate& pred) {
    pred.kind = IndexValueKind::kString;
    std::string text = unescape(part);
    if (modifier.empty()) {
      pred.match = IndexPredicate::Match::kPrefix;
      pred.text = normalizeString(text);
    } else if (modifier == "contains") {
      pred.match = IndexPredicate::Match::kContains;
      pred.text = normalizeString(text);
    } else if (modifier == "exact") {
      pred.match = IndexPredicate::Match::kExact;
      pred.param = p.code + std::string(kExactSuffix);
      pred.text = text;
    } else {
      return unsupported("modifier ':" + modifier + "' is not supported on string parameter '" + name + "'");
    }
    if (pred.text.empty()) return invalidArgument("'" + name + "' has an empty value");
    return Status::ok();
  }

  Status date(const std::string& name, const std::string& modifier, const std::string& part, IndexPredicate& pred) {
    if (!modifier.empty()) return unsupported("modifier ':" + modifier + "' is not supported on date parameter '" + name + "'");
    pred.kind = IndexValueKind::kDate;
    std::string v = unescape(part);
    Prefix prefix = takePrefix(v);
    std::optional<DateRange> r = parseDateRange(v);
    if (!r) return invalidArgument("'" + name + "': '" + part + "' is not a valid date (prefix, then YYYY[-MM[-DD[Thh:mm[:ss][zone]]]])");
    const int64_t ql = r->low, qh = r->high;
    switch (prefix) {
      case Prefix::kEq: pred.low_ge = ql; pred.high_le = qh; break;
      case Prefix::kNe: pred.low_ge = ql; pred.high_le = qh; pred.negate = true; break;
      case Prefix::kGt: pred.high_ge = qh + 1; break;
      case Prefix::kLt: pred.low_le = ql - 1; break;
      case Prefix::kGe: pred.high_ge = ql; break;
      case Prefix::kLe: pred.low_le = qh; break;
      case Prefix::kSa: pred.low_ge = qh + 1; break;
      case Prefix::kEb: pred.high_le = ql - 1; break;
      case Prefix::kAp: {
        // Approximately: the value's range widened by 10% of its distance from now (at least a day), overlapping.
        int64_t now = options_.now ? options_.now->time_since_epoch().count()
                                   : std::chrono::duration_cast<std::chrono::microseconds>(
                                         std::chrono::system_clock::now().time_since_epoch()).count();
        double distance = std::fabs(static_cast<double>(now) - static_cast<double>(ql));
        int64_t slack = std::max<int64_t>(static_cast<int64_t>(distance * 0.1), 86'400'000'000);
        pred.low_le = qh + slack;
        pred.high_ge = ql - slack;
        break;
      }
    }
    return Status::ok();
  }

  Status number(const std::string& name, const SearchParamDef& p, const std::string& modifier, const std::string& part,
                IndexPredicate& pred, std::optional<IndexPredicate>& unit) {
    if (!modifier.empty()) return unsupported("modifier ':" + modifier + "' is not supported on '" + name + "'");
    pred.kind = IndexValueKind::kNumber;
    std::string v = unescape(part);
    if (p.type == SearchParamType::kQuantity) {
      TokenParts first = splitToken(part);  // number|system|code
      if (first.has_bar) {
        v = unescape(first.system);
        TokenParts rest = splitToken(first.code);
        IndexPredicate u;
        u.param = p.code + std::string(kUnitSuffix);
        u.kind = IndexValueKind::kToken;
        if (rest.has_bar) {
          if (!rest.system.empty()) u.system = rest.system;
          if (!rest.code.empty()) u.code = rest.code;
        } else if (!rest.code.empty()) {
          u.code = rest.code;
        }
        if (u.system || u.code) unit = std::move(u);
      }
    }
    Prefix prefix = takePrefix(v);
    double d = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), d);
    if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || !std::isfinite(d)) {
      return invalidArgument("'" + name + "': '" + part + "' is not a number");
    }
    // Implicit precision: "100" covers [99.5, 100.5], "100.0" covers [99.95, 100.05].
    int decimals = 0;
    if (size_t dot = v.find('.'); dot != std::string::npos) {
      size_t end = v.find_first_of("eE", dot);
      decimals = static_cast<int>((end == std::string::npos ? v.size() : end) - dot - 1);
    }
    double half = 0.5 * std::pow(10.0, -decimals);
    constexpr double kInf = std::numeric_limits<double>::infinity();
    switch (prefix) {
      case Prefix::kEq: pred.number_ge = d - half; pred.number_le = d + half; break;
      case Prefix::kNe: pred.number_ge = d - half; pred.number_le = d + half; pred.negate = true; break;
      case Prefix::kGt:
      case Prefix::kSa: pred.number_ge = std::nextafter(d, kInf); break;
      case Prefix::kLt:
      case Prefix::kEb: pred.number_le = std::nextafter(d, -kInf); break;
      case Prefix::kGe: pred.number_ge = d; break;
      case Prefix::kLe: pred.number_le = d; break;
      case Prefix::kAp: pred.number_ge = d - std::fabs(d) * 0.1; pred.number_le = d + std::fabs(d) * 0.1; break;
    }
    return Status::ok();
  }

  Status uri(const std::string& name, const std::string& modifier, const std::string& part, IndexPredicate& pred) {
    pred.kind = IndexValueKind::kUri;
    pred.text = unescape(part);
    if (modifier == "below") {
      pred.match = IndexPredicate::Match::kPrefix;
    } else if (!modifier.empty()) {
      return unsupported("modifier ':" + modifier + "' is not supported on uri parameter '" + name + "'");
    }
    return Status::ok();
  }

  Status reference(const std::string& name, const SearchParamDef& p, const std::string& modifier,
                   const std::string& part, IndexPredicate& pred) {
    if (modifier == "identifier") {
      pred.param = p.code + std::string(kIdentifierSuffix);
      return token(name, "", part, pred);
    }
    std::optional<std::string> type_modifier;
    if (!modifier.empty()) {
      if (!model().isResourceType(modifier)) {
        return unsupported("modifier ':" + modifier + "' is not supported on reference parameter '" + name + "'");
      }
      type_modifier = modifier;
    }
    pred.kind = IndexValueKind::kReference;
    std::string v = unescape(part);
    if (v.find("://") != std::string::npos || v.starts_with("urn:")) {
      pred.text = v;
      return Status::ok();
    }
    if (size_t h = v.find("/_history/"); h != std::string::npos) v.resize(h);
    if (size_t slash = v.find('/'); slash != std::string::npos) {
      std::string t = v.substr(0, slash);
      std::string id = v.substr(slash + 1);
      if (!model().isResourceType(t) || id.empty() || id.find('/') != std::string::npos) {
        return invalidArgument("'" + name + "': '" + part + "' is not Type/id, an id or an absolute URL");
      }
      if (type_modifier && *type_modifier != t) {
        return invalidArgument("'" + name + "': the value's type " + t + " contradicts the modifier :" + *type_modifier);
      }
      pred.ref_type = t;
      pred.ref_id = id;
    } else {
      pred.ref_id = v;
      if (type_modifier) pred.ref_type = *type_modifier;
    }
    if (pred.ref_type && !p.target.empty() &&
        std::find(p.target.begin(), p.target.end(), *pred.ref_type) == p.target.end()) {
      return invalidArgument("'" + name + "' cannot refer to " + *pred.ref_type);
    }
    return Status::ok();
  }

  std::string type_;
  ParseOptions options_;
  SearchRequest req_;
};

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> decodeComponent(std::string_view s, bool form) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return invalidArgument("truncated percent escape in query");
      int hi = hexValue(s[i + 1]);
      int lo = hexValue(s[i + 2]);
      if (hi < 0 || lo < 0) return invalidArgument("invalid percent escape in query");
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && form) {
      out += ' ';
    } else {
      out += c;
    }
  }
  // Reject invalid UTF-8: decoded values flow into SQL parameters and OperationOutcome text.
  for (size_t i = 0; i < out.size();) {
    auto b = static_cast<unsigned char>(out[i]);
    size_t len = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (len == 0 || i + len > out.size()) return invalidArgument("query is not valid UTF-8");
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(out[i + k]) & 0xC0) != 0x80) return invalidArgument("query is not valid UTF-8");
    }
    i += len;
  }
  return out;
}

}  // namespace

bool isSupportedSearchParam(std::string_view type, const SearchParamDef& p) {
  if (p.expression.empty() || p.type == SearchParamType::kSpecial) return false;
  if (p.type != SearchParamType::kComposite) return true;
  if (p.components.size() != 2 || p.component_expressions.size() != 2) return false;
  const SearchParamDef* first = componentDef(type, p.components[0]);
  const SearchParamDef* second = componentDef(type, p.components[1]);
  return first != nullptr && second != nullptr &&
         (first->type == SearchParamType::kToken || first->type == SearchParamType::kReference) &&
         second->type != SearchParamType::kComposite && second->type != SearchParamType::kSpecial;
}

Result<SearchRequest> parseSearch(std::string_view type, const QueryParams& params, const ParseOptions& options) {
  if (!model().isResourceType(type)) return invalidArgument("unknown resource type '" + std::string(type) + "'");
  return Parser(type, options).run(params);
}

Result<SearchRequest> parseSearch(std::string_view type, const QueryParams& params, Handling handling) {
  ParseOptions options;
  options.handling = handling;
  return parseSearch(type, params, options);
}

Result<std::string> percentDecode(std::string_view s, bool form) { return decodeComponent(s, form); }

Result<SummaryMode> parseSummaryParam(std::string_view value) {
  static constexpr std::pair<std::string_view, SummaryMode> kModes[] = {
      {"true", SummaryMode::kTrue}, {"false", SummaryMode::kFalse}, {"count", SummaryMode::kCount},
      {"data", SummaryMode::kData}, {"text", SummaryMode::kText}};
  for (auto [text, mode] : kModes) {
    if (value == text) return mode;
  }
  return invalidArgument("_summary must be true, false, count, data or text (got '" + std::string(value) + "')");
}

std::vector<std::string> parseElementsParam(std::string_view value) {
  std::vector<std::string> out;
  for (std::string& e : splitEscaped(value, ',')) {
    size_t first = e.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    size_t last = e.find_last_not_of(" \t");
    out.push_back(e.substr(first, last - first + 1));
  }
  return out;
}

Result<QueryParams> decodeQuery(std::string_view text, bool form) {
  QueryParams out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t amp = text.find('&', start);
    if (amp == std::string_view::npos) amp = text.size();
    std::string_view pair = text.substr(start, amp - start);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      ASSIGN_OR_RETURN(std::string name, decodeComponent(pair.substr(0, eq), form));
      std::string value;
      if (eq != std::string_view::npos) {
        ASSIGN_OR_RETURN(value, decodeComponent(pair.substr(eq + 1), form));
      }
      out.emplace_back(std::move(name), std::move(value));
    }
    start = amp + 1;
  }
  return out;
}

std::string encodeQueryKeeping(const QueryParams& params, std::string_view also_kept) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  auto encode = [also_kept](std::string_view s, std::string& out) {
    for (char c : s) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x80 && std::isalnum(u)) || c == '-' || c == '_' || c == '.' || c == '~' ||
          also_kept.find(c) != std::string_view::npos) {
        out += c;
      } else {
        out += '%';
        out += kHex[u >> 4];
        out += kHex[u & 0xF];
      }
    }
  };
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    encode(name, out);
    out += '=';
    encode(value, out);
  }
  return out;
}

std::string encodeQuery(const QueryParams& params) { return encodeQueryKeeping(params, ":|,/"); }

}  // namespace planbro::gateway::search
