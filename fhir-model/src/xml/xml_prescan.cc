#include "xml_prescan.h"

#include <string>

namespace planbro::fhir::xml_internal {
namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
// Bytes that end a name in a tag; anything else (letters, digits, '-', '.', ':', '_', non-ASCII) continues it.
bool endsName(char c) { return isSpace(c) || c == '=' || c == '>' || c == '/' || c == '<' || c == '"' || c == '\''; }

class Scanner {
 public:
  Scanner(std::string_view xml, const XmlLimits& limits) : s_(xml), limits_(limits) {}

  Status run() {
    while (pos_ < s_.size()) {
      size_t lt = s_.find('<', pos_);
      if (lt == std::string_view::npos) break;
      countLines(pos_, lt);
      pos_ = lt + 1;
      if (pos_ >= s_.size()) break;
      char c = s_[pos_];
      bool ok = true;
      if (c == '!') {
        ok = skipMarkup();
      } else if (c == '?') {
        ok = skipPast("?>");
      } else if (c == '/') {
        ++pos_;
        size_t start = pos_;
        while (pos_ < s_.size() && !endsName(s_[pos_])) ++pos_;
        RETURN_IF_ERROR(checkName(pos_ - start, "element"));
        if (depth_ > 0) --depth_;
        ok = skipPast(">");
      } else {
        Status st = startTag(ok);
        if (!st.isOk()) return st;
      }
      if (!ok) break;  // not well-formed: libxml2 says where and why
    }
    return Status::ok();
  }

 private:
  Status startTag(bool& ok) {
    size_t start = pos_;
    while (pos_ < s_.size() && !endsName(s_[pos_])) ++pos_;
    RETURN_IF_ERROR(checkName(pos_ - start, "element"));
    if (++depth_ > limits_.max_depth) {
      return resourceExhausted("XML nesting deeper than " + std::to_string(limits_.max_depth) + " elements (line " +
                               std::to_string(line_) + ")");
    }
    size_t attributes = 0;
    while (true) {
      while (pos_ < s_.size() && isSpace(s_[pos_])) {
        if (s_[pos_] == '\n') ++line_;
        ++pos_;
      }
      if (pos_ >= s_.size()) {
        ok = false;
        return Status::ok();
      }
      char c = s_[pos_];
      if (c == '>') {
        ++pos_;
        return Status::ok();
      }
      if (c == '/') {
        if (depth_ > 0) --depth_;  // self-closing
        ok = skipPast(">");
        return Status::ok();
      }
      size_t name_start = pos_;
      while (pos_ < s_.size() && !endsName(s_[pos_])) ++pos_;
      if (pos_ == name_start) {
        ok = false;
        return Status::ok();
      }
      RETURN_IF_ERROR(checkName(pos_ - name_start, "attribute"));
      if (++attributes > limits_.max_attributes) {
        return resourceExhausted("an XML element with more than " + std::to_string(limits_.max_attributes) +
                                 " attributes (line " + std::to_string(line_) + ")");
      }
      while (pos_ < s_.size() && isSpace(s_[pos_])) {
        if (s_[pos_] == '\n') ++line_;
        ++pos_;
      }
      if (pos_ >= s_.size() || s_[pos_] != '=') {
        ok = false;
        return Status::ok();
      }
      ++pos_;
      while (pos_ < s_.size() && isSpace(s_[pos_])) {
        if (s_[pos_] == '\n') ++line_;
        ++pos_;
      }
      if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\'')) {
        ok = false;
        return Status::ok();
      }
      char quote = s_[pos_++];
      size_t close = s_.find(quote, pos_);
      if (close == std::string_view::npos) {
        ok = false;
        return Status::ok();
      }
      countLines(pos_, close);
      pos_ = close + 1;
    }
  }

  // After "<!": a comment, a CDATA section or a declaration (DOCTYPE is rejected later by the hardened parse).
  bool skipMarkup() {
    if (s_.substr(pos_, 3) == "!--") return skipPast("-->");
    if (s_.substr(pos_, 8) == "![CDATA[") return skipPast("]]>");
    return skipPast(">");
  }

  bool skipPast(std::string_view end) {
    size_t found = s_.find(end, pos_);
    if (found == std::string_view::npos) return false;
    countLines(pos_, found);
    pos_ = found + end.size();
    return true;
  }

  Status checkName(size_t length, const char* what) const {
    if (length <= limits_.max_name_bytes) return Status::ok();
    return resourceExhausted(std::string("an XML ") + what + " name of " + std::to_string(length) +
                             " bytes exceeds the limit of " + std::to_string(limits_.max_name_bytes) + " (line " +
                             std::to_string(line_) + ")");
  }

  void countLines(size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) line_ += s_[i] == '\n';
  }

  std::string_view s_;
  const XmlLimits& limits_;
  size_t pos_ = 0;
  size_t line_ = 1;
  uint32_t depth_ = 0;
};

}  // namespace

Status prescanXml(std::string_view xml, const XmlLimits& limits) { return Scanner(xml, limits).run(); }

}  // namespace planbro::fhir::xml_internal
