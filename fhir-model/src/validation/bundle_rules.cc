#include "bundle_rules.h"

#include <openssl/evp.h>

#include <deque>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "planbro/fhir-model/base64.h"
#include "slice_paths.h"

namespace planbro::fhir::validation {
namespace {

std::string_view text(const JsonValue* v) { return v != nullptr && v->isString() ? v->text() : std::string_view(); }

std::string truncated(std::string_view s) {
  return s.size() <= 80 ? std::string(s) : std::string(s.substr(0, 80)) + "...";
}

struct Entry {
  std::string_view full_url;
  const JsonValue* resource = nullptr;
  std::string_view type;
  std::string_view id;
  std::string_view version;
};

// "http://server/fhir/Patient/1" → "http://server/fhir/" when the URL ends in "<Type>/<id>" (a RESTful URL).
std::optional<std::string_view> restfulBase(std::string_view full_url) {
  if (!full_url.starts_with("http://") && !full_url.starts_with("https://")) return std::nullopt;
  std::string_view type = referenceTargetType(full_url);
  if (type.empty()) return std::nullopt;
  size_t slash = full_url.rfind('/');
  size_t type_at = full_url.rfind('/', slash - 1);
  if (type_at == std::string_view::npos) return std::nullopt;
  return full_url.substr(0, type_at + 1);
}

struct Reference {
  const JsonValue* value;  // the Reference.reference string
  size_t from_entry;
};

// Every Reference.reference string below `value` (not into nested Bundles, whose own rules apply to them). No
// paths are built here: locations are worked out only for references that are reported (pathTo).
void collectReferences(const JsonValue& value, size_t entry, std::vector<Reference>& out, int depth) {
  if (depth > 64) return;
  if (value.isArray()) {
    for (const JsonValue& item : value.items()) {
      if (!item.isPrimitive()) collectReferences(item, entry, out, depth + 1);
    }
    return;
  }
  if (!value.isObject()) return;
  if (depth > 0 && text(value.find("resourceType")) == "Bundle") return;
  for (const JsonMember& m : value.members()) {
    if (m.key.size() == 9 && m.key == "reference" && m.value.isString()) {
      if (depth > 0) out.push_back({&m.value, entry});
    } else if (!m.value.isPrimitive() && !(m.key.size() == 4 && m.key == "text")) {
      collectReferences(m.value, entry, out, depth + 1);
    }
  }
}

// The location of `target` below `value` ("subject.reference" appended to `path`); false when it is not there.
bool pathTo(const JsonValue& value, const JsonValue* target, std::string& path, int depth) {
  if (depth > 64) return false;
  if (value.isArray()) {
    auto items = value.items();
    for (size_t i = 0; i < items.size(); ++i) {
      size_t size = path.size();
      path += '[' + std::to_string(i) + ']';
      if (pathTo(items[i], target, path, depth + 1)) return true;
      path.resize(size);
    }
    return false;
  }
  for (const JsonMember& m : value.members()) {
    size_t size = path.size();
    path += '.';
    path += m.key;
    if (&m.value == target) return true;
    if (!m.value.isPrimitive() && pathTo(m.value, target, path, depth + 1)) return true;
    path.resize(size);
  }
  return false;
}

class BundleChecker {
 public:
  BundleChecker(const JsonValue& bundle, const std::string& location, OperationOutcome& out)
      : bundle_(bundle), location_(location), out_(out) {}

  void run() {
    type_ = text(bundle_.find("type"));
    const JsonValue* entries = bundle_.find("entry");
    if (entries == nullptr || !entries->isArray()) return;
    for (const JsonValue& e : entries->items()) {
      Entry entry;
      entry.full_url = text(e.find("fullUrl"));
      const JsonValue* r = e.find("resource");
      if (r != nullptr && r->isObject()) {
        entry.resource = r;
        entry.type = text(r->find("resourceType"));
        entry.id = text(r->find("id"));
        if (const JsonValue* meta = r->find("meta"); meta != nullptr) entry.version = text(meta->find("versionId"));
      }
      entries_.push_back(entry);
    }
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (!entries_[i].full_url.empty()) by_full_url_.emplace(entries_[i].full_url, i);
    }
    checkIdentities();
    checkReferences();
  }

 private:
  std::string entryLocation(size_t i) const { return location_ + ".entry[" + std::to_string(i) + "]"; }

  void checkIdentities() {
    const bool history = type_ == "history";
    std::unordered_map<std::string, size_t> seen;
    for (size_t i = 0; i < entries_.size(); ++i) {
      const Entry& e = entries_[i];
      if (e.resource == nullptr) continue;
      if (!e.full_url.empty() && !e.type.empty() && !e.id.empty()) {
        if (std::optional<std::string_view> base = restfulBase(e.full_url)) {
          std::string expected = std::string(*base) + std::string(e.type) + "/" + std::string(e.id);
          // A SHALL of the specification, reported as a warning: one official R4 example (Bundle
          // 3a0707d3-..., fullUrl .../Patient/pat12 for Patient/pat2) breaks it, and it is kept valid.
          if (e.full_url != expected) {
            out_.add(Severity::kWarning, "invalid",
                     "the fullUrl '" + truncated(e.full_url) + "' does not match the resource " + std::string(e.type) +
                         "/" + truncated(e.id),
                     entryLocation(i));
          }
        }
      }
      if (history || e.type.empty() || e.id.empty()) continue;
      // bdl-7 judges equal fullUrls; two entries without fullUrl can still be one resource.
      if (!e.full_url.empty()) continue;
      std::string key = std::string(e.type) + "/" + std::string(e.id) + "|" + std::string(e.version);
      auto [it, inserted] = seen.emplace(key, i);
      if (!inserted) {
        out_.add(Severity::kError, "invalid",
                 "entries " + std::to_string(it->second) + " and " + std::to_string(i) + " are the same resource (" +
                     std::string(e.type) + "/" + truncated(e.id) + ")",
                 entryLocation(i));
      }
    }
  }

  // The entries a reference from entry `from` names; `version_mismatch` is set when the identity is present but
  // not in the requested version.
  std::optional<size_t> resolve(std::string_view reference, size_t from, bool& version_mismatch) const {
    version_mismatch = false;
    std::string_view version;
    std::string_view plain = reference;
    if (size_t h = plain.find("/_history/"); h != std::string_view::npos) {
      version = plain.substr(h + 10);
      plain = plain.substr(0, h);
    }
    std::string absolute;
    bool is_absolute = plain.find(':') != std::string_view::npos;
    if (is_absolute) {
      absolute = std::string(plain);
    } else {
      std::optional<std::string_view> base = restfulBase(entries_[from].full_url);
      if (!base) return std::nullopt;  // relative to the server, not to this Bundle
      absolute = std::string(*base) + std::string(plain);
    }
    // Hashed: a transaction of N entries with R references costs O(N + R), not O(N * R).
    std::optional<size_t> found;
    auto [first, last] = by_full_url_.equal_range(absolute);
    for (auto it = first; it != last; ++it) {
      size_t i = it->second;
      if (!version.empty() && entries_[i].version != version) {
        version_mismatch = true;
        continue;
      }
      if (!found || i < *found) found = i;
    }
    if (found) version_mismatch = false;
    return found;
  }

  void checkReferences() {
    std::vector<Reference> references;
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].resource != nullptr) collectReferences(*entries_[i].resource, i, references, 0);
    }
    const bool document = type_ == "document";
    const bool strict_urn = document || type_ == "message" || type_ == "transaction" || type_ == "batch";
    std::vector<std::vector<size_t>> links(entries_.size());
    for (const Reference& ref : references) {
      std::string_view r = ref.value->text();
      if (r.empty() || r.starts_with('#')) continue;
      if (r.find('?') != std::string_view::npos) continue;  // a conditional reference (transactions)
      bool version_mismatch = false;
      std::optional<size_t> target = resolve(r, ref.from_entry, version_mismatch);
      if (target) {
        links[ref.from_entry].push_back(*target);
        links[*target].push_back(ref.from_entry);
        continue;
      }
      bool urn = r.starts_with("urn:");
      bool relative = r.find(':') == std::string_view::npos;
      std::string location = entryLocation(ref.from_entry) + ".resource";
      if (!pathTo(*entries_[ref.from_entry].resource, ref.value, location, 0)) location = entryLocation(ref.from_entry);
      if (version_mismatch) {
        out_.add(Severity::kError, "not-found",
                 "the Bundle has '" + truncated(r.substr(0, r.find("/_history/"))) +
                     "', but not the version the reference asks for ('" + truncated(r) + "')",
                 location);
      } else if (urn && strict_urn) {
        out_.add(Severity::kError, "not-found",
                 "the reference '" + truncated(r) + "' does not resolve to an entry of this " + std::string(type_) +
                     " Bundle (no entry has it as fullUrl)",
                 location);
      } else if (urn) {
        out_.add(Severity::kWarning, "not-found",
                 "the reference '" + truncated(r) + "' does not resolve to an entry of the Bundle", location);
      } else if (document && relative && restfulBase(entries_[ref.from_entry].full_url)) {
        out_.add(Severity::kError, "not-found",
                 "the reference '" + truncated(r) + "' does not resolve to an entry of the document (a document "
                 "carries what it references)",
                 location);
      }
    }
    if (!document || entries_.empty()) return;
    std::vector<bool> reached(entries_.size(), false);
    std::deque<size_t> queue{0};
    reached[0] = true;
    while (!queue.empty()) {
      size_t at = queue.front();
      queue.pop_front();
      for (size_t next : links[at]) {
        if (!reached[next]) {
          reached[next] = true;
          queue.push_back(next);
        }
      }
    }
    for (size_t i = 1; i < entries_.size(); ++i) {
      if (!reached[i] && entries_[i].resource != nullptr) {
        out_.add(Severity::kWarning, "informational",
                 "the entry " + std::string(entries_[i].type) + "/" + truncated(entries_[i].id) +
                     " is not reachable by following references from the Composition",
                 entryLocation(i));
      }
    }
  }

  const JsonValue& bundle_;
  const std::string& location_;
  OperationOutcome& out_;
  std::string_view type_;
  std::vector<Entry> entries_;
  std::unordered_multimap<std::string_view, size_t> by_full_url_;
};

std::optional<std::string> sha1(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha1(), nullptr) != 1) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(digest), size);
}

}  // namespace

void checkBundleRules(const JsonValue& bundle, const std::string& location, OperationOutcome& out) {
  BundleChecker(bundle, location, out).run();
}

void checkAttachment(const JsonValue& attachment, const std::string& location, OperationOutcome& out) {
  const JsonValue* data = attachment.find("data");
  if (data == nullptr || !data->isString()) return;
  const JsonValue* size = attachment.find("size");
  const JsonValue* hash = attachment.find("hash");
  if (size == nullptr && hash == nullptr) return;
  std::optional<std::string> bytes = base64Decode(data->text());
  if (!bytes) return;  // the base64Binary check reports it
  if (size != nullptr && size->isNumber()) {
    std::string expected = std::to_string(bytes->size());
    if (size->text() != expected) {
      out.add(Severity::kError, "value",
              "Attachment.size is " + std::string(size->text()) + ", but the data holds " + expected + " bytes",
              location + ".size");
    }
  }
  if (hash != nullptr && hash->isString()) {
    std::optional<std::string> given = base64Decode(hash->text());
    std::optional<std::string> actual = sha1(*bytes);
    if (given && actual && *given != *actual) {
      out.add(Severity::kError, "value",
              "Attachment.hash is not the SHA-1 of the data (the data hashes to " + base64Encode(*actual) + ")",
              location + ".hash");
    }
  }
}

void checkNarrativeLinks(const JsonValue& resource, const std::string& location, OperationOutcome& out) {
  const JsonValue* narrative = resource.find("text");
  const JsonValue* div = narrative != nullptr ? narrative->find("div") : nullptr;
  if (div == nullptr || !div->isString()) return;
  std::string_view xhtml = div->text();
  if (xhtml.find("href=\"#") == std::string_view::npos && xhtml.find("href='#") == std::string_view::npos) return;
  // Attribute values of the div: id="..." and name="..." are link targets; href="#..." are links.
  std::unordered_set<std::string_view> targets;  // hashed: many links and many ids stay linear
  std::vector<std::string_view> links;
  for (size_t at = 0; at < xhtml.size();) {
    size_t eq = xhtml.find('=', at);
    if (eq == std::string_view::npos || eq + 1 >= xhtml.size()) break;
    char quote = xhtml[eq + 1];
    size_t name_start = eq;
    while (name_start > 0 && ((xhtml[name_start - 1] >= 'a' && xhtml[name_start - 1] <= 'z') ||
                              (xhtml[name_start - 1] >= 'A' && xhtml[name_start - 1] <= 'Z'))) {
      --name_start;
    }
    std::string_view name = xhtml.substr(name_start, eq - name_start);
    at = eq + 1;
    if (quote != '"' && quote != '\'') continue;
    size_t end = xhtml.find(quote, eq + 2);
    if (end == std::string_view::npos) break;
    std::string_view value = xhtml.substr(eq + 2, end - eq - 2);
    at = end + 1;
    if (name == "id" || name == "name") targets.insert(value);
    if (name == "href" && value.size() > 1 && value[0] == '#') links.push_back(value.substr(1));
  }
  // Element ids anywhere in the resource and the ids of contained resources are targets too.
  std::vector<const JsonValue*> stack{&resource};
  while (!stack.empty()) {  // linear in the resource, which the JSON limits bound
    const JsonValue* v = stack.back();
    stack.pop_back();
    if (v->isArray()) {
      for (const JsonValue& i : v->items()) stack.push_back(&i);
    } else if (v->isObject()) {
      for (const JsonMember& m : v->members()) {
        if (m.key == "id" && m.value.isString()) targets.insert(m.value.text());
        if (!m.value.isPrimitive()) stack.push_back(&m.value);
      }
    }
  }
  for (std::string_view link : links) {
    if (targets.count(link) == 0) {
      out.add(Severity::kWarning, "not-found",
              "the narrative links to '#" + truncated(link) +
                  "', which is no id in the narrative, no contained resource and no element id",
              location + ".text.div");
    }
  }
}

}  // namespace planbro::fhir::validation
