// Criteria matched in memory against the index rows of one version. The row semantics below mirror the store's SQL
// (store/index_query_sql.cc, valueMatch): a predicate holds when some row of its parameter and value kind matches
// its value, a negated one when none does, a presence test (:missing) when any row of the parameter or its presence
// row is there.
#include "planbro/gateway/subscriptions/criteria.h"

#include <algorithm>
#include <optional>

#include "planbro/gateway/search/indexer.h"

namespace planbro::gateway::subscriptions {
namespace {

using store::IndexPredicate;
using store::IndexRow;
using store::IndexValueKind;

Status unprocessable(std::string message) { return {StatusCode::kUnprocessable, std::move(message)}; }

bool textMatches(const IndexPredicate& p, const std::string& value) {
  switch (p.match) {
    case IndexPredicate::Match::kExact: return value == p.text;
    case IndexPredicate::Match::kPrefix: return value.starts_with(p.text);
    case IndexPredicate::Match::kContains: return value.find(p.text) != std::string::npos;
  }
  return false;
}

bool valueMatches(const IndexPredicate& p, const IndexRow& r) {
  if (r.param != p.param || r.kind != p.kind) return false;
  switch (p.kind) {
    case IndexValueKind::kToken:
      return (!p.code || r.code == *p.code) && (!p.system || r.system == *p.system);
    case IndexValueKind::kString:
    case IndexValueKind::kUri:
      return textMatches(p, r.text);
    case IndexValueKind::kReference:
      if (!p.text.empty()) return r.ref_id.empty() && r.ref_type.empty() && r.text == p.text;
      return r.ref_id == p.ref_id && (!p.ref_type || (r.ref_type == *p.ref_type && r.text.empty()));
    case IndexValueKind::kDate:
      return (!p.low_ge || r.date_low >= *p.low_ge) && (!p.low_le || r.date_low <= *p.low_le) &&
             (!p.high_ge || r.date_high >= *p.high_ge) && (!p.high_le || r.date_high <= *p.high_le);
    case IndexValueKind::kNumber:
      return (!p.number_ge || r.number >= *p.number_ge) && (!p.number_le || r.number <= *p.number_le);
  }
  return false;
}

bool present(const IndexPredicate& p, const IndexRow& r) {
  return (r.param == p.param && r.kind == p.kind) ||
         (r.param == p.presence_param && r.kind == IndexValueKind::kToken && r.code == "1");
}

bool predicateHolds(const IndexPredicate& p, const std::vector<IndexRow>& rows) {
  const bool any = std::any_of(rows.begin(), rows.end(), [&](const IndexRow& r) {
    return p.presence_param.empty() ? valueMatches(p, r) : present(p, r);
  });
  return p.negate ? !any : any;
}

bool isResultParameter(std::string_view name) {
  static constexpr std::string_view kResult[] = {"_count",   "_sort",  "_include", "_revinclude", "_summary",
                                                 "_elements", "_total", "_format",  "_pretty",     "_cursor",
                                                 "_contained", "_containedType"};
  const std::string_view base = name.substr(0, name.find(':'));
  return std::find(std::begin(kResult), std::end(kResult), base) != std::end(kResult);
}

class CriteriaFilter final : public dispatch::EventFilter {
 public:
  CriteriaFilter(Criteria criteria, std::string own_base_url)
      : criteria_(std::move(criteria)), own_base_url_(std::move(own_base_url)) {}
  bool matches(const store::OutboxEvent& event, const std::string* resource) const override {
    if (event.type != criteria_.type || resource == nullptr) return false;
    auto doc = fhir::JsonDocument::parse(*resource);
    if (!doc.isOk()) return false;
    return subscriptions::matches(criteria_, doc->root(), own_base_url_);
  }

 private:
  const Criteria criteria_;
  const std::string own_base_url_;
};

class FiltersFilter final : public dispatch::EventFilter {
 public:
  FiltersFilter(std::vector<Criteria> filters, std::string own_base_url)
      : filters_(std::move(filters)), own_base_url_(std::move(own_base_url)) {}
  bool matches(const store::OutboxEvent& event, const std::string* resource) const override {
    std::optional<fhir::JsonDocument> doc;
    for (const Criteria& c : filters_) {
      if (c.type != event.type) continue;
      if (resource == nullptr) return false;
      if (!doc) {
        auto parsed = fhir::JsonDocument::parse(*resource);
        if (!parsed.isOk()) return false;
        doc.emplace(std::move(parsed).value());
      }
      if (!subscriptions::matches(c, doc->root(), own_base_url_)) return false;
    }
    return true;
  }

 private:
  const std::vector<Criteria> filters_;
  const std::string own_base_url_;
};

}  // namespace

Result<Criteria> parseCriteria(std::string_view text, const CriteriaLimits& limits) {
  if (text.empty()) return unprocessable("criteria is empty (expected Type?parameters)");
  if (text.size() > limits.max_bytes) {
    return unprocessable("criteria is longer than " + std::to_string(limits.max_bytes) + " bytes");
  }
  const size_t question = text.find('?');
  Criteria out;
  out.type = std::string(text.substr(0, question));
  if (out.type.find('/') != std::string::npos) {
    return unprocessable("criteria must be a relative search Type?parameters (got '" + out.type + "')");
  }
  search::QueryParams params;
  if (question != std::string_view::npos) {
    auto decoded = search::decodeQuery(text.substr(question + 1), false);
    if (!decoded.isOk()) return unprocessable("criteria: " + decoded.status().message());
    params = std::move(decoded).value();
  }
  if (params.size() > limits.max_parameters) {
    return unprocessable("criteria has more than " + std::to_string(limits.max_parameters) + " parameters");
  }
  for (const auto& [name, value] : params) {
    if (isResultParameter(name)) return unprocessable("criteria: '" + name + "' is a result parameter, not a filter");
    if (name.starts_with("_has:") || name.find('.') != std::string::npos) {
      return unprocessable("criteria: '" + name +
                           "': chains and _has depend on other resources and are not supported in criteria");
    }
  }
  search::ParseOptions options;
  options.handling = search::Handling::kStrict;
  options.max_parameters = limits.max_parameters;
  options.max_or_values = limits.max_or_values;
  options.max_chain_depth = 0;
  auto parsed = search::parseSearch(out.type, params, options);
  if (!parsed.isOk()) return unprocessable("criteria: " + parsed.status().message());
  out.search = std::move(parsed).value();
  for (const search::Criterion& c : out.search.criteria) {
    if (c.chain || c.has) return unprocessable("criteria: '" + c.name + "' is not supported in criteria");
  }
  return out;
}

bool matches(const Criteria& criteria, const fhir::JsonValue& resource, const std::string& own_base_url) {
  const fhir::JsonValue* type = resource.find("resourceType");
  if (type == nullptr || type->text() != criteria.type) return false;
  if (criteria.search.criteria.empty()) return true;
  search::IndexOptions options;
  options.own_base_url = own_base_url;
  auto rows = search::indexResource(resource, nullptr, options);
  if (!rows.isOk()) return false;
  for (const search::Criterion& c : criteria.search.criteria) {
    if (c.chain || c.has) return false;
    if (std::none_of(c.any_of.begin(), c.any_of.end(),
                     [&](const IndexPredicate& p) { return predicateHolds(p, *rows); })) {
      return false;
    }
  }
  return true;
}

std::shared_ptr<const dispatch::EventFilter> makeFiltersFilter(std::vector<Criteria> filters, std::string own_base_url) {
  return std::make_shared<FiltersFilter>(std::move(filters), std::move(own_base_url));
}

std::shared_ptr<const dispatch::EventFilter> makeCriteriaFilter(Criteria criteria, std::string own_base_url) {
  return std::make_shared<CriteriaFilter>(std::move(criteria), std::move(own_base_url));
}

}  // namespace planbro::gateway::subscriptions
