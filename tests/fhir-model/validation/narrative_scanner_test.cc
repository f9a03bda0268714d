// The narrative fast path (isPlainAcceptableXhtml) against the authority (libxml2 + the narrative rules): whatever
// the scanner accepts, libxml2 must accept too. Checked on every narrative of the official examples and the validator
// test vectors (tests/data/validation/, copied from ../shared/fhir-r4/), on systematic one-byte mutations of them, and
// on hand-made bad cases. The fuzz target (fuzz/json_validate_fuzzer.cc) makes the same comparison on fuzzed input.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "../../../fhir-model/src/validation/narrative.h"
#include "planbro/fhir-model/json.h"
#include "test_files.h"

namespace planbro::fhir {
namespace {

using validation::checkNarrativeXhtml;
using validation::checkNarrativeXhtmlWithLibxml2;
using validation::isPlainAcceptableXhtml;

constexpr const char* kOpen = R"(<div xmlns="http://www.w3.org/1999/xhtml">)";

std::string wrap(const std::string& inner) { return kOpen + inner + "</div>"; }

void collectDivs(const JsonValue& value, std::vector<std::string>& out) {
  if (value.isObject()) {
    for (const JsonMember& m : value.members()) {
      if (m.key == "div" && m.value.isString()) out.emplace_back(m.value.text());
      collectDivs(m.value, out);
    }
  } else if (value.isArray()) {
    for (const JsonValue& item : value.items()) collectDivs(item, out);
  }
}

std::vector<std::string> realNarratives() {
  std::vector<std::string> divs;
  const auto root = std::filesystem::path(PLANBRO_TEST_DATA_DIR) / "validation";
  std::error_code ec;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root, ec)) {
    if (entry.path().extension() != ".json") continue;
    auto doc = JsonDocument::parse(testing::readFile(entry.path()));
    if (doc.isOk()) collectDivs(doc->root(), divs);
  }
  return divs;
}

// The property under test: the scanner never accepts what libxml2 and the rules reject.
void expectScannerImpliesLibxml2(const std::string& div) {
  if (!isPlainAcceptableXhtml(div)) return;
  const auto problems = checkNarrativeXhtmlWithLibxml2(div);
  EXPECT_TRUE(problems.empty()) << "scanner accepted, libxml2 reported '" << problems.front().message
                                << "' for: " << div;
}

TEST(NarrativeScanner, AcceptsOnlyWhatLibxml2AcceptsOnEveryRealNarrative) {
  const auto divs = realNarratives();
  ASSERT_GT(divs.size(), 50u);
  size_t libxml2_clean = 0;
  size_t scanner_accepted = 0;
  for (const std::string& div : divs) {
    const bool clean = checkNarrativeXhtmlWithLibxml2(div).empty();
    const bool fast = isPlainAcceptableXhtml(div);
    if (fast) {
      EXPECT_TRUE(clean) << div;
    }
    libxml2_clean += clean ? 1 : 0;
    scanner_accepted += fast ? 1 : 0;
  }
  // The fast path must also serve: nearly every clean real narrative is decided without libxml2.
  std::printf("narratives: %zu, clean by libxml2: %zu, accepted by the scanner: %zu\n", divs.size(), libxml2_clean,
              scanner_accepted);
  EXPECT_GE(scanner_accepted * 10, libxml2_clean * 9);
}

TEST(NarrativeScanner, AcceptsOnlyWhatLibxml2AcceptsOnOneByteMutationsOfRealNarratives) {
  const auto divs = realNarratives();
  ASSERT_FALSE(divs.empty());
  // Bytes that matter to the grammar: markup, quotes, references, controls, a stray UTF-8 lead and continuation.
  const std::string replacements = std::string("<>&;/\"'= #x!?-]a\t") + '\x01' + '\x7f' + '\xc3' + '\xa5' + '\xff';
  size_t mutated = 0;
  for (const std::string& div : divs) {
    if (div.size() > 4096) continue;
    // Positions spread over the text, bounded per narrative.
    const size_t step = std::max<size_t>(1, div.size() / 12);
    for (size_t at = 0; at < div.size(); at += step) {
      std::string deleted = div;
      deleted.erase(at, 1);
      expectScannerImpliesLibxml2(deleted);
      for (char r : replacements) {
        std::string replaced = div;
        replaced[at] = r;
        expectScannerImpliesLibxml2(replaced);
        std::string inserted = div;
        inserted.insert(at, 1, r);
        expectScannerImpliesLibxml2(inserted);
        mutated += 2;
      }
    }
    expectScannerImpliesLibxml2(div.substr(0, div.size() / 2));
  }
  std::printf("mutated narratives compared: %zu\n", mutated);
  EXPECT_GT(mutated, 100000u);
}

TEST(NarrativeScanner, RejectsWhatLibxml2OrTheRulesReject) {
  const std::vector<std::string> bad = {
      wrap("<p>a</b>"),                                                      // mismatched tags
      wrap("<p>a"),                                                          // unclosed
      kOpen + std::string("text"),                                           // unclosed root
      wrap("a &nbsp; b"),                                                    // undeclared entity
      wrap("a &amp b"),                                                      // reference without ';'
      wrap("a &#0; b"), wrap("a &#xD800; b"), wrap("a &#x110000; b"), wrap("a &#; b"),
      wrap("<script>alert(1)</script>"),                                     // element not allowed
      wrap("<p onclick=\"x()\">a</p>"), wrap("<p ONMOUSEOVER='x()'>a</p>"),  // event attributes
      wrap("<p class=x>a</p>"),                                              // unquoted attribute
      wrap("<p class=\"x>a</p>"),                                            // unterminated value
      wrap("<p class=\"a\"class=\"b\">a</p>"),                               // no space between attributes
      wrap("<p class=\"a\" class=\"b\">a</p>"),                              // duplicate attribute
      wrap("<p title=\"a<b\">a</p>"),                                        // '<' in a value
      wrap("<p foo=\"a\">a</p>"),                                            // attribute not allowed
      wrap("<a href=\"javascript:alert(1)\">a</a>"), wrap("<a href=\" JavaScript:x\">a</a>"),
      wrap("<a href=\"&#106;avascript:alert(1)\">a</a>"),                   // scheme hidden by a reference
      wrap("<img src=\"vbscript:x\"/>"),
      "<div xmlns=\"http://www.w3.org/1999/xhtml#\">a</div>",               // wrong namespace
      "<div>a</div>",                                                        // no namespace
      "<p xmlns=\"http://www.w3.org/1999/xhtml\">a</p>",                    // root not a div
      wrap("<p xmlns=\"urn:x\">a</p>"),                                      // child in another namespace
      wrap("a ]]> b"),                                                       // ']]>' in content
      wrap("a <!-- x -- y --> b"),                                           // '--' inside a comment
      wrap("<?php x ?>a"),
      "<!DOCTYPE div><div xmlns=\"http://www.w3.org/1999/xhtml\">a</div>",
      wrap("a \x01 b"), wrap("a \x0b b"),                                    // control characters
      wrap("a \xff b"), wrap("a \xc3 b"), wrap("a \xed\xa0\x80 b"), wrap("a \xef\xbf\xbe b"),  // not UTF-8 / not Char
      wrap("   "), wrap("&#32;&#x9;"), std::string(kOpen) + "</div>",        // no content (txt-2)
      wrap("a") + "b",                                                       // content after the root
      wrap("a") + wrap("b"),                                                 // two roots
      wrap("<p>a</p >x</p>"),
      wrap("<P>a</P>"),                                                      // names are case-sensitive
      wrap("<p x:title=\"a\">a</p>"),                                        // undeclared prefix
      wrap("<p xml:base=\"a\">a</p>"), wrap("<p xml:lang=\"a\" xml:lang=\"b\">a</p>"),
      "",
  };
  for (const std::string& div : bad) {
    EXPECT_FALSE(isPlainAcceptableXhtml(div)) << div;
    EXPECT_FALSE(checkNarrativeXhtmlWithLibxml2(div).empty()) << div;
    EXPECT_FALSE(checkNarrativeXhtml(div).empty()) << div;
  }
}

TEST(NarrativeScanner, AcceptsPlainNarrativesWithoutLibxml2) {
  const std::vector<std::string> good = {
      wrap("a"),
      wrap("<p class=\"x\" title='y \"z\"'>a &amp; b &lt;c&gt; &quot;&apos; &#229; &#xE5; &#x1F600;</p>"),
      wrap("<table border=\"1\"><tr><td colspan = \"2\">x</td></tr></table><br/><hr />"),
      wrap("<a href=\"http://example.org/?a=1&amp;b=2\">link</a>"),
      wrap("<img src=\"x.png\" alt=\"\"/>"),  // an image is content
      wrap("<p xml:lang=\"nb-NO\">a</p>"),
      wrap("\xc3\xa6\xc3\xb8\xc3\xa5 \xe2\x82\xac \xf0\x9f\x98\x80"),
      wrap("<div xmlns=\"http://www.w3.org/1999/xhtml\">nested</div>"),
      std::string("<div xmlns=\"http://www.w3.org/1999/xhtml\">a</div >\n "),
  };
  for (const std::string& div : good) {
    EXPECT_TRUE(isPlainAcceptableXhtml(div)) << div;
    EXPECT_TRUE(checkNarrativeXhtmlWithLibxml2(div).empty()) << div;
  }
}

TEST(NarrativeScanner, LeavesConstructsOutsideItsGrammarToLibxml2) {
  // Acceptable narratives the scanner does not decide itself: libxml2 still judges them acceptable.
  const std::vector<std::string> fallback = {
      wrap("a <!-- a comment --> b"),
      wrap("<p xml:space=\"preserve\">a</p>"),
      wrap("<![CDATA[x]]>"),
      std::string("  ") + wrap("leading space"),
      wrap("a &#x7f; b"),
  };
  for (const std::string& div : fallback) {
    EXPECT_FALSE(isPlainAcceptableXhtml(div)) << div;
    EXPECT_TRUE(checkNarrativeXhtml(div).empty()) << div;
  }
}

}  // namespace
}  // namespace planbro::fhir
