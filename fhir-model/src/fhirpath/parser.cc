// Lexer and recursive-descent parser for FHIRPath N1, with the spec's operator precedence (§6.x, lowest first):
// implies; or xor; and; in contains; = ~ != !~; < > <= >=; |; is as; + - &; * / div mod; unary + -; . []
#include <cctype>
#include <string>

#include "ast.h"
#include "functions.h"
#include "values.h"

namespace planbro::fhir::fhirpath {
namespace {

enum class Tok : uint8_t {
  kEnd, kIdentifier, kDelimited, kString, kNumber, kDate, kTime, kDateTime, kVariable, kSpecial, kSymbol,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // identifier/symbol text, unescaped string, literal text without '@'
  size_t pos = 0;
};

Status syntaxError(size_t pos, const std::string& what) {
  return invalidArgument("FHIRPath syntax error at offset " + std::to_string(pos) + ": " + what);
}

bool isIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool isIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : s_(text) {}

  Result<std::vector<Token>> run() {
    std::vector<Token> out;
    while (true) {
      RETURN_IF_ERROR(skipSpace());
      Token t;
      t.pos = i_;
      if (i_ >= s_.size()) {
        out.push_back(t);
        return out;
      }
      char c = s_[i_];
      if (isIdentStart(c)) {
        size_t b = i_;
        while (i_ < s_.size() && isIdentChar(s_[i_])) ++i_;
        t.kind = Tok::kIdentifier;
        t.text = std::string(s_.substr(b, i_ - b));
      } else if (c == '`' || c == '\'') {
        t.kind = c == '`' ? Tok::kDelimited : Tok::kString;
        ASSIGN_OR_RETURN(t.text, quoted(c));
      } else if (isDigit(c)) {
        size_t b = i_;
        while (i_ < s_.size() && isDigit(s_[i_])) ++i_;
        if (i_ + 1 < s_.size() && s_[i_] == '.' && isDigit(s_[i_ + 1])) {
          ++i_;
          while (i_ < s_.size() && isDigit(s_[i_])) ++i_;
        }
        t.kind = Tok::kNumber;
        t.text = std::string(s_.substr(b, i_ - b));
      } else if (c == '@') {
        ++i_;
        size_t b = i_;
        if (i_ < s_.size() && s_[i_] == 'T') {
          ++i_;
          scanClock();
          t.kind = Tok::kTime;
          t.text = std::string(s_.substr(b, i_ - b));
          // A time literal cannot carry a zone; keep it so evaluation reports it.
          if (i_ < s_.size() && (s_[i_] == 'Z' || s_[i_] == '+' || s_[i_] == '-')) {
            return syntaxError(t.pos, "a time literal cannot have a timezone");
          }
        } else {
          while (i_ < s_.size() && (isDigit(s_[i_]) || s_[i_] == '-')) ++i_;
          t.kind = Tok::kDate;
          if (i_ < s_.size() && s_[i_] == 'T') {
            ++i_;
            t.kind = Tok::kDateTime;
            scanClock();
            if (i_ < s_.size() && s_[i_] == 'Z') {
              ++i_;
            } else if (i_ < s_.size() && (s_[i_] == '+' || s_[i_] == '-') && i_ + 1 < s_.size() &&
                       isDigit(s_[i_ + 1])) {
              ++i_;
              while (i_ < s_.size() && (isDigit(s_[i_]) || s_[i_] == ':')) ++i_;
            }
          }
          t.text = std::string(s_.substr(b, i_ - b));
        }
      } else if (c == '%') {
        ++i_;
        t.kind = Tok::kVariable;
        if (i_ < s_.size() && (s_[i_] == '`' || s_[i_] == '\'')) {
          ASSIGN_OR_RETURN(t.text, quoted(s_[i_]));
        } else {
          size_t b = i_;
          while (i_ < s_.size() && isIdentChar(s_[i_])) ++i_;
          if (b == i_) return syntaxError(t.pos, "'%' without a name");
          t.text = std::string(s_.substr(b, i_ - b));
        }
      } else if (c == '$') {
        ++i_;
        size_t b = i_;
        while (i_ < s_.size() && isIdentChar(s_[i_])) ++i_;
        t.kind = Tok::kSpecial;
        t.text = std::string(s_.substr(b, i_ - b));
        if (t.text != "this" && t.text != "index" && t.text != "total") {
          return syntaxError(t.pos, "unknown $" + t.text);
        }
      } else {
        t.kind = Tok::kSymbol;
        std::string_view two = s_.substr(i_, 2);
        if (two == "!=" || two == "!~" || two == "<=" || two == ">=") {
          t.text = std::string(two);
          i_ += 2;
        } else if (std::string_view(".[](){},+-*/|&=~<>").find(c) != std::string_view::npos) {
          t.text = std::string(1, c);
          ++i_;
        } else {
          return syntaxError(i_, std::string("unexpected character '") + c + "'");
        }
      }
      out.push_back(std::move(t));
    }
  }

 private:
  // hh:mm:ss.fff — a '.' belongs to the literal only when digits follow (else it is an invocation).
  void scanClock() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (isDigit(c) || c == ':' || (c == '.' && i_ + 1 < s_.size() && isDigit(s_[i_ + 1]))) ++i_;
      else break;
    }
  }

  Status skipSpace() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        ++i_;
      } else if (s_.substr(i_, 2) == "//") {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else if (s_.substr(i_, 2) == "/*") {
        size_t end = s_.find("*/", i_ + 2);
        if (end == std::string_view::npos) return syntaxError(i_, "unterminated comment");
        i_ = end + 2;
      } else {
        break;
      }
    }
    return Status::ok();
  }

  Result<std::string> quoted(char q) {
    size_t start = i_;
    ++i_;
    std::string out;
    while (i_ < s_.size() && s_[i_] != q) {
      char c = s_[i_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) break;
      char e = s_[i_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (i_ + 4 > s_.size()) return syntaxError(i_, "bad \\u escape");
          uint32_t cp = 0;
          for (int k = 0; k < 4; ++k) {
            char h = s_[i_++];
            cp <<= 4;
            if (isDigit(h)) cp |= static_cast<uint32_t>(h - '0');
            else if (h >= 'a' && h <= 'f') cp |= static_cast<uint32_t>(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') cp |= static_cast<uint32_t>(h - 'A' + 10);
            else return syntaxError(i_, "bad \\u escape");
          }
          appendUtf8(out, cp);
          break;
        }
        default: out += e; break;  // \' \" \` \\ \/
      }
    }
    if (i_ >= s_.size()) return syntaxError(start, "unterminated quoted text");
    ++i_;
    return out;
  }

  std::string_view s_;
  size_t i_ = 0;
};

bool isCalendarUnit(std::string_view w) {
  static constexpr std::string_view kUnits[] = {"year",    "years",   "month",  "months",      "week",
                                                "weeks",   "day",     "days",   "hour",        "hours",
                                                "minute",  "minutes", "second", "seconds",     "millisecond",
                                                "milliseconds"};
  for (auto u : kUnits) {
    if (u == w) return true;
  }
  return false;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  Result<std::unique_ptr<AstNode>> parseAll() {
    ASSIGN_OR_RETURN(auto e, expression(0));
    if (peek().kind != Tok::kEnd) return syntaxError(peek().pos, "unexpected '" + peek().text + "'");
    return e;
  }

 private:
  using NodeP = std::unique_ptr<AstNode>;
  static constexpr int kMaxDepth = 200;

  const Token& peek(size_t k = 0) const { return t_[std::min(p_ + k, t_.size() - 1)]; }
  bool isSym(std::string_view s, size_t k = 0) const { return peek(k).kind == Tok::kSymbol && peek(k).text == s; }
  bool isWord(std::string_view s) const { return peek().kind == Tok::kIdentifier && peek().text == s; }

  // Binary operator at the current token and its precedence level (0 = implies ... 9 = multiplicative).
  std::optional<std::pair<int, BinaryOp>> binaryOp() const {
    const Token& t = peek();
    if (t.kind == Tok::kSymbol) {
      const std::string& s = t.text;
      if (s == "*") return {{9, BinaryOp::kMul}};
      if (s == "/") return {{9, BinaryOp::kDiv}};
      if (s == "+") return {{8, BinaryOp::kAdd}};
      if (s == "-") return {{8, BinaryOp::kSub}};
      if (s == "&") return {{8, BinaryOp::kConcat}};
      if (s == "|") return {{6, BinaryOp::kUnion}};
      if (s == "<") return {{5, BinaryOp::kLt}};
      if (s == ">") return {{5, BinaryOp::kGt}};
      if (s == "<=") return {{5, BinaryOp::kLe}};
      if (s == ">=") return {{5, BinaryOp::kGe}};
      if (s == "=") return {{4, BinaryOp::kEq}};
      if (s == "~") return {{4, BinaryOp::kEquiv}};
      if (s == "!=") return {{4, BinaryOp::kNe}};
      if (s == "!~") return {{4, BinaryOp::kNotEquiv}};
      return std::nullopt;
    }
    if (t.kind != Tok::kIdentifier) return std::nullopt;
    const std::string& s = t.text;
    if (s == "div") return {{9, BinaryOp::kIntDiv}};
    if (s == "mod") return {{9, BinaryOp::kMod}};
    if (s == "in") return {{3, BinaryOp::kIn}};
    if (s == "contains") return {{3, BinaryOp::kContains}};
    if (s == "and") return {{2, BinaryOp::kAnd}};
    if (s == "or") return {{1, BinaryOp::kOr}};
    if (s == "xor") return {{1, BinaryOp::kXor}};
    if (s == "implies") return {{0, BinaryOp::kImplies}};
    return std::nullopt;
  }

  Result<NodeP> expression(int min_level) {
    if (++depth_ > kMaxDepth) return syntaxError(peek().pos, "expression nested too deeply");
    ASSIGN_OR_RETURN(NodeP lhs, unary());
    while (true) {
      // `is` / `as` sit at level 7 and take a type specifier, not an expression.
      if ((isWord("is") || isWord("as")) && min_level <= 7) {
        auto n = newNode();
        if (nodes_ > kMaxNodes) return syntaxError(peek().pos, "expression too long");
        n->kind = NodeKind::kTypeOp;
        n->position = peek().pos;
        n->is_as = peek().text == "as";
        ++p_;
        ASSIGN_OR_RETURN(n->type, typeSpecifier());
        n->base = std::move(lhs);
        lhs = std::move(n);
        continue;
      }
      auto op = binaryOp();
      if (!op || op->first < min_level) break;
      auto n = newNode();
      if (nodes_ > kMaxNodes) return syntaxError(peek().pos, "expression too long");
      n->kind = NodeKind::kBinary;
      n->op = op->second;
      n->position = peek().pos;
      ++p_;
      ASSIGN_OR_RETURN(NodeP rhs, expression(op->first + 1));
      n->base = std::move(lhs);
      n->args.push_back(std::move(rhs));
      lhs = std::move(n);
    }
    --depth_;
    return lhs;
  }

  Result<TypeSpec> typeSpecifier() {
    TypeSpec spec;
    ASSIGN_OR_RETURN(std::string first, identifier());
    if (isSym(".")) {
      ++p_;
      ASSIGN_OR_RETURN(std::string second, identifier());
      spec.ns = first;
      spec.name = second;
    } else {
      spec.name = first;
    }
    return spec;
  }

  Result<std::string> identifier() {
    const Token& t = peek();
    if (t.kind != Tok::kIdentifier && t.kind != Tok::kDelimited) return syntaxError(t.pos, "expected an identifier");
    ++p_;
    return t.text;
  }

  Result<NodeP> unary() {
    if (isSym("+") || isSym("-")) {
      auto n = newNode();
      n->kind = NodeKind::kUnary;
      n->unary = peek().text[0];
      n->position = peek().pos;
      ++p_;
      if (++depth_ > kMaxDepth) return syntaxError(peek().pos, "expression nested too deeply");
      ASSIGN_OR_RETURN(NodeP operand, unary());
      --depth_;
      // Fold a sign into a numeric literal so that -5 stays an Integer literal.
      if (operand->kind == NodeKind::kLiteral && !operand->base) {
        Value& v = operand->literal;
        if (v.kind() == ValueKind::kInteger) {
          if (n->unary == '-') v = Value::integer(-v.asInteger());
          return operand;
        }
        if (v.kind() == ValueKind::kDecimal) {
          if (n->unary == '-') {
            Decimal d = v.asDecimal();
            d.mantissa = -d.mantissa;
            v = Value::decimal(d);
          }
          return operand;
        }
      }
      n->base = std::move(operand);
      return n;
    }
    return postfix();
  }

  Result<NodeP> postfix() {
    ASSIGN_OR_RETURN(NodeP n, term());
    while (true) {
      if (isSym(".")) {
        size_t pos = peek().pos;
        ++p_;
        ASSIGN_OR_RETURN(std::string name, identifier());
        ASSIGN_OR_RETURN(NodeP inv, invocation(std::move(name), pos));
        inv->base = std::move(n);
        n = std::move(inv);
      } else if (isSym("[")) {
        auto idx = newNode();
        if (nodes_ > kMaxNodes) return syntaxError(peek().pos, "expression too long");
        idx->kind = NodeKind::kIndexer;
        idx->position = peek().pos;
        ++p_;
        ASSIGN_OR_RETURN(NodeP e, expression(0));
        if (!isSym("]")) return syntaxError(peek().pos, "expected ']'");
        ++p_;
        idx->base = std::move(n);
        idx->args.push_back(std::move(e));
        n = std::move(idx);
      } else {
        return n;
      }
    }
  }

  // After an identifier: a function call when '(' follows, else member access.
  Result<NodeP> invocation(std::string name, size_t pos) {
    auto n = newNode();
    if (nodes_ > kMaxNodes) return syntaxError(pos, "expression too long");
    n->position = pos;
    n->name = std::move(name);
    if (!isSym("(")) {
      n->kind = NodeKind::kMember;
      return n;
    }
    ++p_;
    n->kind = NodeKind::kFunction;
    if (!isSym(")")) {
      while (true) {
        ASSIGN_OR_RETURN(NodeP a, expression(0));
        n->args.push_back(std::move(a));
        if (isSym(",")) {
          ++p_;
          continue;
        }
        break;
      }
    }
    if (!isSym(")")) return syntaxError(peek().pos, "expected ')'");
    ++p_;
    if (nodes_ > kMaxNodes) return syntaxError(pos, "expression too long");
    auto info = lookupFunction(n->name);
    if (!info) return syntaxError(pos, "unknown function '" + n->name + "'");
    int argc = static_cast<int>(n->args.size());
    if (argc < info->min_args || argc > info->max_args) {
      return syntaxError(pos, "wrong number of arguments for " + n->name + "()");
    }
    n->function = info->id;
    if ((info->id == FunctionId::kMatches || info->id == FunctionId::kMatchesFull ||
         info->id == FunctionId::kReplaceMatches) &&
        n->args[0]->kind == NodeKind::kLiteral && n->args[0]->literal.kind() == ValueKind::kString) {
      auto re = compileRegex(n->args[0]->literal.asString());
      if (!re.isOk()) return syntaxError(pos, "invalid regular expression in " + n->name + "(): " + re.status().message());
      n->regex = std::move(re).value();
    }
    // Type arguments are specifiers, not expressions.
    if (info->id == FunctionId::kOfType || info->id == FunctionId::kAs || info->id == FunctionId::kIs) {
      const AstNode* a = n->args[0].get();
      if (a->kind == NodeKind::kMember && !a->base) {
        n->type.name = a->name;
      } else if (a->kind == NodeKind::kMember && a->base && a->base->kind == NodeKind::kMember && !a->base->base) {
        n->type.ns = a->base->name;
        n->type.name = a->name;
      } else {
        return syntaxError(pos, n->name + "() needs a type name");
      }
    }
    return n;
  }

  Result<NodeP> term() {
    const Token& t = peek();
    auto n = newNode();
    n->position = t.pos;
    switch (t.kind) {
      case Tok::kEnd:
        return syntaxError(t.pos, "unexpected end of expression");
      case Tok::kIdentifier:
      case Tok::kDelimited: {
        if (t.kind == Tok::kIdentifier && (t.text == "true" || t.text == "false")) {
          n->literal = Value::boolean(t.text == "true");
          ++p_;
          return n;
        }
        std::string name = t.text;
        ++p_;
        ASSIGN_OR_RETURN(NodeP inv, invocation(std::move(name), t.pos));
        // Resolve a leading type name once here rather than on every evaluation.
        if (inv->kind == NodeKind::kMember && std::isupper(static_cast<unsigned char>(inv->name[0]))) {
          inv->type_def = ModelInfo::r4().type(inv->name);
        }
        return inv;
      }
      case Tok::kString:
        n->literal = Value::string(t.text);
        ++p_;
        return n;
      case Tok::kNumber: {
        std::string text = t.text;
        ++p_;
        // A quantity: number followed by a unit string or a calendar keyword.
        if (peek().kind == Tok::kString || (peek().kind == Tok::kIdentifier && isCalendarUnit(peek().text))) {
          auto d = Decimal::parse(text);
          if (!d) return syntaxError(t.pos, "bad number");
          n->literal = Value::quantity({*d, peek().text});
          ++p_;
          return n;
        }
        if (text.find('.') == std::string::npos) {
          if (text.size() > 18) return syntaxError(t.pos, "integer literal too large");
          n->literal = Value::integer(std::stoll(text));
        } else {
          auto d = Decimal::parse(text);
          if (!d) return syntaxError(t.pos, "bad number");
          n->literal = Value::decimal(*d);
        }
        return n;
      }
      case Tok::kDate:
      case Tok::kDateTime:
      case Tok::kTime: {
        std::optional<Value> v;
        if (t.kind == Tok::kTime) {
          auto d = parseTime(t.text);
          if (d) v = Value::time(*d);
        } else {
          std::string text = t.text;
          // "@2015T" is a DateTime of year precision.
          bool trailing_t = !text.empty() && text.back() == 'T';
          if (trailing_t) text.pop_back();
          auto d = trailing_t || t.kind == Tok::kDate ? parseDate(text) : parseDateTime(text);
          if (d) v = t.kind == Tok::kDate ? Value::date(*d) : Value::dateTime(*d);
        }
        if (!v) return syntaxError(t.pos, "bad date/time literal @" + t.text);
        n->literal = std::move(*v);
        ++p_;
        return n;
      }
      case Tok::kVariable:
        n->kind = NodeKind::kVariable;
        n->name = t.text;
        ++p_;
        return n;
      case Tok::kSpecial:
        n->kind = t.text == "this" ? NodeKind::kThis : t.text == "index" ? NodeKind::kIndex : NodeKind::kTotal;
        ++p_;
        return n;
      case Tok::kSymbol:
        if (t.text == "(") {
          ++p_;
          ASSIGN_OR_RETURN(NodeP e, expression(0));
          if (!isSym(")")) return syntaxError(peek().pos, "expected ')'");
          ++p_;
          return e;
        }
        if (t.text == "{") {
          ++p_;
          if (!isSym("}")) return syntaxError(peek().pos, "expected '}'");
          ++p_;
          n->kind = NodeKind::kEmpty;
          return n;
        }
        return syntaxError(t.pos, "unexpected '" + t.text + "'");
    }
    return syntaxError(t.pos, "unexpected token");
  }

  // Caps the tree size: long operator or invocation chains nest without recursion in the parser, but evaluation
  // and destruction recurse along them.
  std::unique_ptr<AstNode> newNode() {
    ++nodes_;
    return std::make_unique<AstNode>();
  }

  std::vector<Token> t_;
  size_t p_ = 0;
  int depth_ = 0;

 public:
  static constexpr size_t kMaxNodes = 4000;
  size_t nodes_ = 0;
};

}  // namespace

Result<ExpressionPtr> compile(std::string_view text) {
  ASSIGN_OR_RETURN(std::vector<Token> tokens, Lexer(text).run());
  ASSIGN_OR_RETURN(std::unique_ptr<AstNode> root, Parser(std::move(tokens)).parseAll());
  return std::make_shared<const Expression>(std::string(text), std::move(root));
}

}  // namespace planbro::fhir::fhirpath
