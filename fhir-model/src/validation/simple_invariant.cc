#include "simple_invariant.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>
#include <vector>

#include "planbro/fhir-model/regex.h"

namespace planbro::fhir::validation {
namespace {

using Tri = std::optional<bool>;

struct Step {
  bool primitive = false;          // a single-typed primitive element
  std::vector<std::string> names;  // JSON names (a choice element has one per type)
  std::vector<std::string> twins;  // the same with a leading '_'
  std::string prefix;              // the element's name, which every JSON name of the step starts with
  bool repeats = false;
  /** Below a choice (value.code), the child is of another type in some of the choice's types (Timing.code is a
   *  CodeableConcept where Coding.code is a code): a complex value found there compares unequal, as in FHIRPath. */
  bool mixed = false;
  bool choice = false;  // a choice element (value[x]) as the last step: its JSON names are one per type
};

enum class Op {
  kAnd, kOr, kXor, kImplies, kNot, kExists, kEmpty, kHasValue, kEquals, kNotEquals, kContains, kMatches,
  kEqualsAny,  // path = 'a' or path = 'b' or ...: one path, several string literals (Node::literals)
  kWhereExists, kWhereEmpty,  // path.where(predicate).exists() / .empty(); the predicate is `a`, evaluated per item
  kWhereCount                 // path.where(predicate).count() <cmp> N: count() is never empty, so neither is this
};

enum class Cmp { kEq, kNe, kLt, kLe, kGt, kGe };

std::string upperFirst(std::string_view s) {
  std::string out(s);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

}  // namespace

struct SimpleInvariant::Node {
  Op op = Op::kExists;
  std::unique_ptr<Node> a;
  std::unique_ptr<Node> b;
  std::vector<Step> path;
  std::string literal;
  std::vector<std::string> literals;  // kEqualsAny
  bool literal_is_bool = false;
  bool rhs_first = false;  // kImplies: the right side is cheaper; when it is true, the left is not evaluated
  RegexPtr regex;  // kMatches: compiled once here (linear-time RE2), never per evaluation
  bool mixed = false;  // kEquals / kNotEquals on a Step::mixed path
  bool choice_bool = false;  // kEquals / kNotEquals of a choice element with a boolean literal (value = true)
  Cmp cmp = Cmp::kEq;  // kWhereCount: the comparison with `count`
  uint64_t count = 0;
  /** kWhere*: the predicate is `url = '<this>'` or `url = '<this>' and ...` (extension.where(url = ...)), so an item
   *  whose url is a plain string other than this is dropped without evaluating the predicate, and for one whose url
   *  is this string only the rest of the `and` is evaluated (keptByWhere). */
  std::optional<std::string> where_url;
};

namespace {

using Node = SimpleInvariant::Node;

class Parser {
 public:
  Parser(std::string_view text, std::span<const ElementDef* const> children, const ModelInfo& model)
      : s_(text), root_children_(children), model_(model) {}

  // The literal of a predicate `url = 'x'` (on its own, or left of an `and`), where `url` is the item's plain
  // single-named element: such a predicate is false for an item whose url is another string.
  static std::optional<std::string> urlGuard(const Node& predicate) {
    const Node* equals = predicate.op == Op::kAnd ? predicate.a.get() : &predicate;
    if (equals == nullptr || equals->op != Op::kEquals || equals->mixed || equals->choice_bool ||
        equals->literal_is_bool || equals->path.size() != 1) {
      return std::nullopt;
    }
    const Step& step = equals->path.front();
    if (step.names.size() != 1 || step.names.front() != "url" || step.choice || step.repeats) {
      return std::nullopt;
    }
    return equals->literal;
  }

  std::unique_ptr<Node> parse() {
    auto n = parseImplies();
    skipSpace();
    if (!ok_ || pos_ != s_.size()) return nullptr;
    return n;
  }

 private:
  void skipSpace() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  bool eat(std::string_view tok) {
    skipSpace();
    if (s_.substr(pos_, tok.size()) != tok) return false;
    pos_ += tok.size();
    return true;
  }
  bool eatKeyword(std::string_view kw) {
    skipSpace();
    if (s_.substr(pos_, kw.size()) != kw) return false;
    size_t end = pos_ + kw.size();
    if (end < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[end])) || s_[end] == '_')) return false;
    pos_ = end;
    return true;
  }
  std::unique_ptr<Node> fail() {
    ok_ = false;
    return nullptr;
  }
  static std::unique_ptr<Node> binary(Op op, std::unique_ptr<Node> a, std::unique_ptr<Node> b) {
    auto n = std::make_unique<Node>();
    n->op = op;
    n->a = std::move(a);
    n->b = std::move(b);
    return n;
  }

  std::unique_ptr<Node> parseImplies() {
    auto l = parseOr();
    if (!ok_) return nullptr;
    if (eatKeyword("implies")) {
      auto r = parseOr();
      if (!ok_) return nullptr;
      auto n = binary(Op::kImplies, std::move(l), std::move(r));
      n->rhs_first = cost(*n->b) < cost(*n->a);
      return n;
    }
    return l;
  }
  // A rough measure of a node's work, to order the sides of `implies`: a where() visits every item and runs its
  // predicate on each, a path step is a scan of an object's members.
  static size_t cost(const Node& n) {
    const bool where = n.op == Op::kWhereExists || n.op == Op::kWhereEmpty || n.op == Op::kWhereCount;
    size_t c = n.path.size();
    if (n.a) c += where ? 8 * cost(*n.a) : cost(*n.a);
    if (n.b) c += cost(*n.b);
    return where ? 8 * (c + 1) : c;
  }

  std::unique_ptr<Node> parseOr() {
    auto l = parseAnd();
    while (ok_) {
      Op op;
      if (eatKeyword("or")) {
        op = Op::kOr;
      } else if (eatKeyword("xor")) {
        op = Op::kXor;
      } else {
        break;
      }
      auto r = parseAnd();
      if (!ok_) return nullptr;
      if (op == Op::kOr && mergeEquals(*l, *r)) continue;
      l = binary(op, std::move(l), std::move(r));
    }
    return ok_ ? std::move(l) : nullptr;
  }

  static bool samePath(const std::vector<Step>& a, const std::vector<Step>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i].names != b[i].names || a[i].mixed != b[i].mixed || a[i].choice != b[i].choice ||
          a[i].primitive != b[i].primitive || a[i].repeats != b[i].repeats) {
        return false;
      }
    }
    return true;
  }
  // An equality with a string literal, the kind `or` can fold into one kEqualsAny.
  static bool foldable(const Node& n) {
    return (n.op == Op::kEquals && !n.choice_bool && !n.literal_is_bool) || n.op == Op::kEqualsAny;
  }
  // `l or r` where both compare the same single-valued path with string literals: the path yields the same value for
  // both, so each side is empty exactly when the other is (no value, or one that is not a string) and false for a
  // complex value below a mixed choice; otherwise `or` is true when the value equals any literal. `l` becomes that
  // one kEqualsAny node, its path found once instead of once per literal.
  static bool mergeEquals(Node& l, Node& r) {
    if (!foldable(l) || !foldable(r) || l.mixed != r.mixed || !samePath(l.path, r.path)) return false;
    if (l.op == Op::kEquals) {
      l.op = Op::kEqualsAny;
      l.literals.push_back(std::move(l.literal));
      l.literal.clear();
    }
    if (r.op == Op::kEquals) {
      l.literals.push_back(std::move(r.literal));
    } else {
      for (std::string& lit : r.literals) l.literals.push_back(std::move(lit));
    }
    return true;
  }
  std::unique_ptr<Node> parseAnd() {
    auto l = parseTerm();
    while (ok_ && eatKeyword("and")) {
      auto r = parseTerm();
      if (!ok_) return nullptr;
      l = binary(Op::kAnd, std::move(l), std::move(r));
    }
    return ok_ ? std::move(l) : nullptr;
  }

  // '(' expr ')' | path '.' function | path ('=' | '!=') literal
  //   | path '.where(' expr ')' '.' ('exists' | 'empty') '()', the expr relative to each item of the path;
  // each optionally followed by '.not()'.
  std::unique_ptr<Node> parseTerm() {
    std::unique_ptr<Node> n;
    if (eat("(")) {
      n = parseImplies();
      if (!ok_ || !eat(")")) return fail();
    } else {
      std::vector<Step> path;
      std::span<const ElementDef* const> children = root_children_;
      std::string_view function;
      const ElementDef* last = nullptr;  // the element of the last step
      int below_choice = 0;  // 1: the next step is a child of a choice's types; 2: it was (nothing deeper)
      while (true) {
        std::string_view ident = identifier();
        if (ident.empty()) return fail();
        if (ident == "exists" || ident == "empty" || ident == "hasValue" || ident == "contains" || ident == "not" ||
            ident == "matches" || ident == "where") {
          if (path.empty()) return fail();
          function = ident;
          break;
        }
        if (below_choice == 2) return fail();  // only one step below a choice (value.code), never further
        if (below_choice == 1) below_choice = 2;
        const ElementDef* el = nullptr;
        for (const ElementDef* c : children) {
          if (c->name == ident && c->slice_name.empty()) {
            el = c;
            break;
          }
        }
        if (el == nullptr) return fail();
        const ElementDef& eff = el->content_reference != nullptr ? *el->content_reference : *el;
        Step step;
        step.mixed = next_step_mixed_;
        next_step_mixed_ = false;
        step.repeats = el->isArray();
        step.primitive = !el->is_choice && eff.types.size() == 1 && model_.isPrimitiveType(eff.types.front().code);
        step.choice = el->is_choice;
        step.prefix = el->name;
        if (el->is_choice) {
          for (const TypeRef& t : eff.types) step.names.push_back(el->name + upperFirst(t.code));
        } else {
          step.names.push_back(el->name);
        }
        for (const std::string& name : step.names) step.twins.push_back("_" + name);
        path.push_back(std::move(step));
        last = el;
        if (!eat(".")) break;
        if (peekFunction()) continue;
        // Descend: the next identifier is a child of this element.
        if (!eff.children.empty()) {
          children = eff.children;
        } else if (!el->is_choice && eff.types.size() == 1) {
          children = model_.childrenOf(eff, eff.types.front().code);
        } else if (el->is_choice) {
          // value.code: only the types of value[x] that have a `code` are looked at (valueCoding.code,
          // valueQuantity.code, ...); in the others FHIRPath finds nothing. Each such child must be the same plain
          // element (one type, same cardinality), so one Step describes it whichever type is present.
          size_t save = pos_;
          std::string_view next = identifier();
          pos_ = save;
          if (next.empty()) return fail();
          Step& choice = path.back();
          choice.names.clear();
          choice.twins.clear();
          const ElementDef* first = nullptr;
          std::span<const ElementDef* const> first_children;
          for (const TypeRef& t : eff.types) {
            std::span<const ElementDef* const> type_children = model_.childrenOf(eff, t.code);
            const ElementDef* c = nullptr;
            for (const ElementDef* d : type_children) {
              if (d->name == next && d->slice_name.empty()) c = d;
            }
            if (c == nullptr) continue;
            if (c->is_choice || c->content_reference != nullptr || c->types.size() != 1) return fail();
            if (first == nullptr) {
              first = c;
              first_children = type_children;
            } else if (c->isArray() != first->isArray()) {
              return fail();
            } else if (c->types.front().code != first->types.front().code) {
              next_step_mixed_ = true;
            }
            choice.names.push_back(el->name + upperFirst(t.code));
            choice.twins.push_back("_" + el->name + upperFirst(t.code));
          }
          if (first == nullptr) return fail();
          choice.primitive = false;
          choice.choice = false;  // a step follows it
          children = first_children;
          below_choice = 1;
        } else {
          return fail();
        }
      }
      if (function.empty()) {
        // A comparison with a literal, on a single-valued path.
        bool not_equals = false;
        if (eat("!=")) {
          not_equals = true;
        } else if (!eat("=")) {
          return fail();
        }
        for (const Step& st : path) {
          if (st.repeats) return fail();
        }
        // A choice compared with a boolean (value = true): equal only to a boolean value, unequal to any other.
        const bool choice_bool = !path.back().primitive && !path.back().mixed && path.back().choice;
        if (!path.back().primitive && !path.back().mixed && !choice_bool) return fail();
        n = std::make_unique<Node>();
        n->op = not_equals ? Op::kNotEquals : Op::kEquals;
        n->mixed = path.back().mixed;
        n->choice_bool = choice_bool;
        n->path = std::move(path);
        if (!literal(*n)) return fail();
        if (choice_bool && !n->literal_is_bool) return fail();
      } else if (function == "where") {
        // The predicate is about each item: its paths start at the children of the item's type.
        if (last == nullptr || path.back().primitive || last->is_choice || below_choice != 0) return fail();
        const ElementDef& eff = last->content_reference != nullptr ? *last->content_reference : *last;
        std::span<const ElementDef* const> item_children = eff.children;
        if (item_children.empty() && eff.types.size() == 1) item_children = model_.childrenOf(eff, eff.types.front().code);
        if (item_children.empty() || !eat("(")) return fail();
        std::span<const ElementDef* const> saved = root_children_;
        root_children_ = item_children;
        std::unique_ptr<Node> predicate = parseImplies();
        root_children_ = saved;
        if (!ok_ || !eat(")") || !eat(".")) return fail();
        std::string_view then = identifier();
        if ((then != "exists" && then != "empty" && then != "count") || !eat("(") || !eat(")")) return fail();
        n = std::make_unique<Node>();
        n->op = then == "exists" ? Op::kWhereExists : then == "empty" ? Op::kWhereEmpty : Op::kWhereCount;
        n->path = std::move(path);
        n->a = std::move(predicate);
        n->where_url = urlGuard(*n->a);
        if (n->op == Op::kWhereCount && !countComparison(*n)) return fail();
      } else {
        // hasValue, contains and matches need a primitive whatever type the choice has.
        if (path.back().mixed && function != "exists" && function != "empty") return fail();
        n = std::make_unique<Node>();
        n->path = std::move(path);
        if (function == "exists" || function == "empty" || function == "hasValue") {
          if (!eat("(") || !eat(")")) return fail();
          n->op = function == "exists" ? Op::kExists : function == "empty" ? Op::kEmpty : Op::kHasValue;
          if (n->op == Op::kHasValue) {
            for (const Step& st : n->path) {
              if (st.repeats) return fail();
            }
            if (!n->path.back().primitive) return fail();
          }
        } else if (function == "contains") {
          for (const Step& st : n->path) {
            if (st.repeats) return fail();
          }
          if (!n->path.back().primitive) return fail();
          n->op = Op::kContains;
          if (!eat("(") || !literal(*n) || n->literal_is_bool || !eat(")")) return fail();
        } else if (function == "matches") {
          for (const Step& st : n->path) {
            if (st.repeats) return fail();
          }
          if (!n->path.back().primitive) return fail();
          n->op = Op::kMatches;
          if (!eat("(") || !literal(*n) || n->literal_is_bool || !eat(")")) return fail();
          auto re = Regex::compile(n->literal);
          if (!re.isOk()) return fail();  // left to the engine, which reports it
          n->regex = std::move(re).value();
        } else {
          return fail();
        }
      }
    }
    while (true) {
      size_t save = pos_;
      if (eat(".") && eatKeyword("not") && eat("(") && eat(")")) {
        auto neg = std::make_unique<Node>();
        neg->op = Op::kNot;
        neg->a = std::move(n);
        n = std::move(neg);
        continue;
      }
      pos_ = save;
      break;
    }
    return n;
  }

  // After count(): one of = != < <= > >= and a non-negative integer literal.
  bool countComparison(Node& n) {
    if (eat("<=")) {
      n.cmp = Cmp::kLe;
    } else if (eat(">=")) {
      n.cmp = Cmp::kGe;
    } else if (eat("!=")) {
      n.cmp = Cmp::kNe;
    } else if (eat("<")) {
      n.cmp = Cmp::kLt;
    } else if (eat(">")) {
      n.cmp = Cmp::kGt;
    } else if (eat("=")) {
      n.cmp = Cmp::kEq;
    } else {
      return false;
    }
    skipSpace();
    size_t start = pos_;
    uint64_t value = 0;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9' && pos_ - start < 9) {
      value = value * 10 + static_cast<uint64_t>(s_[pos_] - '0');
      ++pos_;
    }
    if (pos_ == start) return false;
    // Not followed by more of a number (a decimal, a longer literal) or an identifier character.
    if (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' || s_[pos_] == '_')) {
      return false;
    }
    n.count = value;
    return true;
  }

  bool peekFunction() {
    size_t save = pos_;
    std::string_view ident = identifier();
    pos_ = save;
    return ident == "exists" || ident == "empty" || ident == "hasValue" || ident == "contains" || ident == "not" ||
           ident == "matches" || ident == "where";
  }

  std::string_view identifier() {
    skipSpace();
    if (pos_ < s_.size() && s_[pos_] == '`') {
      size_t end = s_.find('`', pos_ + 1);
      if (end == std::string_view::npos) return {};
      std::string_view id = s_.substr(pos_ + 1, end - pos_ - 1);
      pos_ = end + 1;
      return id;
    }
    size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
    if (start == pos_ || std::isdigit(static_cast<unsigned char>(s_[start]))) return {};
    return s_.substr(start, pos_ - start);
  }

  bool literal(Node& n) {
    skipSpace();
    if (eatKeyword("true")) {
      n.literal = "true";
      n.literal_is_bool = true;
      return true;
    }
    if (eatKeyword("false")) {
      n.literal = "false";
      n.literal_is_bool = true;
      return true;
    }
    if (pos_ >= s_.size() || s_[pos_] != '\'') return false;
    ++pos_;
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != '\'') {
      if (s_[pos_] == '\\') return false;  // escapes: leave to the engine
      out += s_[pos_++];
    }
    if (pos_ >= s_.size()) return false;
    ++pos_;
    n.literal = std::move(out);
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  bool ok_ = true;
  bool next_step_mixed_ = false;
  std::span<const ElementDef* const> root_children_;
  const ModelInfo& model_;
};

// Calls `fn(value, twin)` for each element at `path` (from step `i`) under `object`; stops when fn returns true.
// `Twins`: whether fn looks at an element that has only its `_name` twin (exists() and empty() do: an element with
// only an extension exists). Every other caller ignores a call without a value, so the twin lookup, a scan of the
// object's members per name, is not made for them.
template <bool Twins = false, typename Fn>
bool anyAt(const JsonValue& object, const std::vector<Step>& path, size_t i, Fn& fn);

// anyAt from step `i + 1` under a member's value: each item of an array, or the value itself.
template <bool Twins, typename Fn>
bool anyBelow(const JsonValue& value, const std::vector<Step>& path, size_t i, Fn& fn) {
  if (!value.isArray()) return anyAt<Twins>(value, path, i + 1, fn);
  for (const JsonValue& item : value.items()) {
    if (anyAt<Twins>(item, path, i + 1, fn)) return true;
  }
  return false;
}

template <bool Twins, typename Fn>
bool anyAt(const JsonValue& object, const std::vector<Step>& path, size_t i, Fn& fn) {
  if (!object.isObject()) return false;
  const Step& step = path[i];
  // A choice followed by a step (value.code: one name per type of value[x] that has a `code`) would cost a scan of
  // the members per name; one scan finds the members of any of its names (no twins: the step is not the last), then
  // they are followed in the step's name order, the first member of a name counting, as lookups by name would.
  if (step.names.size() > 2 && i + 1 < path.size() && !step.prefix.empty()) {
    struct Found {
      size_t k;
      const JsonValue* value;
    };
    std::array<Found, 4> found;
    size_t count = 0;
    bool overflow = false;
    for (const JsonMember& m : object.members()) {
      const std::string_view key = m.key;
      if (key.size() <= step.prefix.size() || key[0] != step.prefix[0] || !key.starts_with(step.prefix)) continue;
      size_t k = 0;
      while (k < step.names.size() && step.names[k] != key) ++k;
      if (k == step.names.size()) continue;
      bool seen = false;
      for (size_t e = 0; e < count; ++e) seen = seen || found[e].k == k;
      if (seen) continue;
      if (count == found.size()) {
        overflow = true;
        break;
      }
      found[count++] = {k, &m.value};
    }
    if (!overflow) {
      for (size_t a = 1; a < count; ++a) {
        for (size_t b = a; b > 0 && found[b - 1].k > found[b].k; --b) std::swap(found[b - 1], found[b]);
      }
      for (size_t e = 0; e < count; ++e) {
        if (anyBelow<Twins>(*found[e].value, path, i, fn)) return true;
      }
      return false;
    }
  }
  for (size_t k = 0; k < step.names.size(); ++k) {
    const JsonValue* value = object.find(step.names[k]);
    const JsonValue* twin = (Twins && i + 1 == path.size()) ? object.find(step.twins[k]) : nullptr;
    if (value == nullptr && twin == nullptr) continue;
    if (i + 1 == path.size()) {
      if (value != nullptr && value->isArray()) {
        auto items = value->items();
        auto twins = twin != nullptr && twin->isArray() ? twin->items() : std::span<const JsonValue>();
        for (size_t j = 0; j < std::max(items.size(), twins.size()); ++j) {
          const JsonValue* v = j < items.size() && !items[j].isNull() ? &items[j] : nullptr;
          const JsonValue* t = j < twins.size() && !twins[j].isNull() ? &twins[j] : nullptr;
          if ((v != nullptr || t != nullptr) && fn(v, t)) return true;
        }
      } else if (value == nullptr && twin != nullptr && twin->isArray()) {
        for (const JsonValue& t : twin->items()) {
          if (!t.isNull() && fn(nullptr, &t)) return true;
        }
      } else if (fn(value != nullptr && !value->isNull() ? value : nullptr, twin)) {
        return true;
      }
      continue;
    }
    if (value != nullptr && anyBelow<Twins>(*value, path, i, fn)) return true;
  }
  return false;
}

Tri evalNode(const Node& n, const JsonValue& focus);

// Whether the where() of `n` keeps `item` (its predicate true; false and empty drop it). With Node::where_url the
// item's first `url` member, when a string, decides the leading `url = literal` as its evaluation would: another
// string drops the item, the literal itself leaves only the rest of the `and` (true and x is x) or, for the
// equality alone, keeps it.
bool keptByWhere(const Node& n, const JsonValue& item) {
  const Node& predicate = *n.a;
  if (n.where_url) {
    const JsonValue* url = item.find("url");
    if (url != nullptr && url->isString()) {
      if (url->text() != *n.where_url) return false;
      if (predicate.op == Op::kAnd) return evalNode(*predicate.b, item) == true;
      if (predicate.op == Op::kEquals) return true;
    }
  }
  return evalNode(predicate, item) == true;
}

Tri evalNode(const Node& n, const JsonValue& focus) {
  switch (n.op) {
    case Op::kAnd: {
      Tri a = evalNode(*n.a, focus);
      if (a == false) return false;
      Tri b = evalNode(*n.b, focus);
      if (b == false) return false;
      if (a == true && b == true) return true;
      return std::nullopt;
    }
    case Op::kOr: {
      Tri a = evalNode(*n.a, focus);
      if (a == true) return true;
      Tri b = evalNode(*n.b, focus);
      if (b == true) return true;
      if (a == false && b == false) return false;
      return std::nullopt;
    }
    case Op::kXor: {
      Tri a = evalNode(*n.a, focus);
      Tri b = evalNode(*n.b, focus);
      if (!a || !b) return std::nullopt;
      return *a != *b;
    }
    case Op::kImplies: {
      if (n.rhs_first) {
        // Whatever the left side is, a true right side makes `implies` true; otherwise as below.
        Tri b = evalNode(*n.b, focus);
        if (b == true) return true;
        Tri a = evalNode(*n.a, focus);
        if (a == false) return true;
        if (a == true) return b;
        return std::nullopt;
      }
      Tri a = evalNode(*n.a, focus);
      if (a == false) return true;
      Tri b = evalNode(*n.b, focus);
      if (a == true) return b;
      if (b == true) return true;
      return std::nullopt;
    }
    case Op::kNot: {
      Tri a = evalNode(*n.a, focus);
      if (!a) return std::nullopt;
      return !*a;
    }
    case Op::kExists:
    case Op::kEmpty: {
      auto any = [](const JsonValue*, const JsonValue*) { return true; };
      bool found = anyAt</*Twins=*/true>(focus, n.path, 0, any);
      return n.op == Op::kExists ? found : !found;
    }
    case Op::kWhereExists:
    case Op::kWhereEmpty: {
      // where() keeps the items its criteria call true (false and empty drop them).
      auto kept = [&n](const JsonValue* v, const JsonValue*) { return v != nullptr && v->isObject() && keptByWhere(n, *v); };
      bool found = anyAt(focus, n.path, 0, kept);
      return n.op == Op::kWhereExists ? found : !found;
    }
    case Op::kWhereCount: {
      uint64_t count = 0;
      auto counted = [&n, &count](const JsonValue* v, const JsonValue*) {
        if (v != nullptr && v->isObject() && keptByWhere(n, *v)) ++count;
        return false;  // every item is looked at
      };
      anyAt(focus, n.path, 0, counted);
      switch (n.cmp) {
        case Cmp::kEq: return count == n.count;
        case Cmp::kNe: return count != n.count;
        case Cmp::kLt: return count < n.count;
        case Cmp::kLe: return count <= n.count;
        case Cmp::kGt: return count > n.count;
        case Cmp::kGe: return count >= n.count;
      }
      return std::nullopt;
    }
    case Op::kHasValue: {
      auto has = [](const JsonValue* v, const JsonValue*) { return v != nullptr && v->isPrimitive(); };
      return anyAt(focus, n.path, 0, has);
    }
    case Op::kEquals:
    case Op::kNotEquals:
      if (n.choice_bool) {
        // As the engine compares: nothing is empty; several values, or one that is not a boolean, are unequal.
        const JsonValue* found = nullptr;
        size_t count = 0;
        auto all = [&found, &count](const JsonValue* v, const JsonValue*) {
          if (v != nullptr) {
            if (found == nullptr) found = v;
            ++count;
          }
          return false;
        };
        anyAt(focus, n.path, 0, all);
        if (count == 0) return std::nullopt;
        bool equal = count == 1 && found->isBool() && found->boolean() == (n.literal == "true");
        return n.op == Op::kEquals ? equal : !equal;
      }
      [[fallthrough]];
    case Op::kEqualsAny:
    case Op::kContains:
    case Op::kMatches: {
      const JsonValue* found = nullptr;
      auto first = [&found](const JsonValue* v, const JsonValue*) {
        found = v;
        return v != nullptr;
      };
      anyAt(focus, n.path, 0, first);
      if (n.mixed && found != nullptr && found->isObject()) return n.op == Op::kNotEquals;  // complex vs a literal
      if (found == nullptr || !found->isPrimitive() || found->isNull()) return std::nullopt;
      if (n.op == Op::kMatches) {
        if (!found->isString()) return std::nullopt;
        std::string_view text = found->text();
        return n.regex->search(text);
      }
      if (n.op == Op::kContains) {
        if (!found->isString()) return std::nullopt;
        return found->text().find(n.literal) != std::string_view::npos;
      }
      if (n.op == Op::kEqualsAny) {
        if (!found->isString()) return std::nullopt;
        const std::string_view text = found->text();
        return std::find(n.literals.begin(), n.literals.end(), text) != n.literals.end();
      }
      bool equal;
      if (n.literal_is_bool) {
        if (!found->isBool()) return std::nullopt;
        equal = found->boolean() == (n.literal == "true");
      } else {
        if (!found->isString()) return std::nullopt;
        equal = found->text() == n.literal;
      }
      return n.op == Op::kEquals ? equal : !equal;
    }
  }
  return std::nullopt;
}

}  // namespace

SimpleInvariant::SimpleInvariant(std::unique_ptr<Node> root) : root_(std::move(root)) {}
SimpleInvariant::~SimpleInvariant() = default;

std::unique_ptr<SimpleInvariant> SimpleInvariant::compile(std::string_view expression,
                                                          std::span<const ElementDef* const> children,
                                                          const ModelInfo& model) {
  if (children.empty()) return nullptr;
  Parser parser(expression, children, model);
  std::unique_ptr<Node> root = parser.parse();
  if (!root) return nullptr;
  return std::make_unique<SimpleInvariant>(std::move(root));
}

std::optional<bool> SimpleInvariant::evaluate(const JsonValue& focus) const { return evalNode(*root_, focus); }

}  // namespace planbro::fhir::validation
