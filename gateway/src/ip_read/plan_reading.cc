#include "plan_reading.h"

#include <chrono>
#include <cstdio>

#include "planbro/gateway/search/search_request.h"

namespace planbro::gateway::ip::detail {

const fhir::JsonValue* extensionOf(const fhir::JsonValue& element, std::string_view url) {
  const fhir::JsonValue* extensions = element.find("extension");
  if (!extensions) return nullptr;
  for (const fhir::JsonValue& e : extensions->items()) {
    if (textOf(&e, "url") == url) return &e;
  }
  return nullptr;
}

std::string_view textOf(const fhir::JsonValue* value, std::string_view key) {
  if (!value) return {};
  const fhir::JsonValue* v = value->find(key);
  return v && v->isString() ? v->text() : std::string_view();
}

namespace {

bool codingIn(const fhir::JsonValue* concept_or_coding_list, std::string_view system, std::string_view code) {
  if (!concept_or_coding_list) return false;
  const fhir::JsonValue* codings = concept_or_coding_list->find("coding");
  if (!codings) return false;
  for (const fhir::JsonValue& c : codings->items()) {
    if (textOf(&c, "system") == system && textOf(&c, "code") == code) return true;
  }
  return false;
}

}  // namespace

bool hasCategory(const fhir::JsonValue& resource, std::string_view system, std::string_view code) {
  const fhir::JsonValue* categories = resource.find("category");
  if (!categories) return false;
  if (categories->isObject()) return codingIn(categories, system, code);
  for (const fhir::JsonValue& c : categories->items()) {
    if (codingIn(&c, system, code)) return true;
  }
  return false;
}

std::string_view lifecycleCode(const fhir::JsonValue& care_plan) {
  const fhir::JsonValue* e = extensionOf(care_plan, kLifecycleUrl);
  return e ? textOf(e->find("valueCoding"), "code") : std::string_view();
}

bool isCurrentPlan(const fhir::JsonValue& care_plan) {
  std::string_view status = textOf(&care_plan, "status");
  if (status == "completed" || status == "revoked" || status == "entered-in-error") return false;
  return lifecycleCode(care_plan) != "ended";
}

bool isCurrentCoordinator(const fhir::JsonValue& participant, std::string_view today) {
  const fhir::JsonValue* roles = participant.find("role");
  bool coordinator = false;
  for (const fhir::JsonValue& role : roles ? roles->items() : std::span<const fhir::JsonValue>{}) {
    if (codingIn(&role, kCoordinatorRoleSystem, kCoordinatorRoleCode)) coordinator = true;
  }
  if (!coordinator) return false;
  const fhir::JsonValue* period = participant.find("period");
  if (auto start = firstDay(textOf(period, "start")); start && *start > today) return false;
  // An end date names its whole day (or month, year): the coordinator is current through it.
  std::string_view end = textOf(period, "end");
  if (!end.empty()) {
    auto end_day = firstDay(end);
    if (end_day && end.size() >= 10 && *end_day < today) return false;
    if (end_day && end.size() < 10 && std::string(today.substr(0, end.size())) > std::string(end)) return false;
  }
  return true;
}

std::string isoDate(store::Timestamp t) {
  auto days = std::chrono::floor<std::chrono::days>(t);
  std::chrono::year_month_day ymd(days);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

std::optional<std::string> firstDay(std::string_view d) {
  auto digits = [&](size_t from, size_t n) {
    if (d.size() < from + n) return false;
    for (size_t i = from; i < from + n; ++i) {
      if (d[i] < '0' || d[i] > '9') return false;
    }
    return true;
  };
  if (!digits(0, 4)) return std::nullopt;
  if (d.size() == 4) return std::string(d) + "-01-01";
  if (d[4] != '-' || !digits(5, 2)) return std::nullopt;
  if (d.size() == 7) return std::string(d) + "-01";
  if (d.size() < 10 || d[7] != '-' || !digits(8, 2)) return std::nullopt;
  if (d.size() > 10 && d[10] != 'T') return std::nullopt;
  return std::string(d.substr(0, 10));
}

std::string addDays(std::string_view date, int days) {
  int y = 0;
  unsigned m = 0, dd = 0;
  if (std::sscanf(std::string(date).c_str(), "%d-%u-%u", &y, &m, &dd) != 3) return std::string(date);
  std::chrono::sys_days day = std::chrono::year_month_day(std::chrono::year(y), std::chrono::month(m), std::chrono::day(dd));
  day += std::chrono::days(days);
  return isoDate(std::chrono::time_point_cast<std::chrono::microseconds>(day));
}

std::optional<std::pair<std::string, std::string>> splitReference(std::string_view reference) {
  size_t slash = reference.find('/');
  if (slash == 0 || slash == std::string_view::npos) return std::nullopt;
  std::string_view type = reference.substr(0, slash);
  std::string_view id = reference.substr(slash + 1);
  if (id.empty() || id.find('/') != std::string_view::npos || type.find(':') != std::string_view::npos) return std::nullopt;
  for (char c : type) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'))) return std::nullopt;
  }
  return std::pair(std::string(type), std::string(id));
}

Result<std::optional<store::ResourceVersion>> readVisible(const rest::OperationCall& call, std::string_view type,
                                                          std::string_view id) {
  auto read = call.store->read(type, id);
  if (!read.isOk()) {
    if (read.status().code() == StatusCode::kNotFound || read.status().code() == StatusCode::kGone) {
      return std::optional<store::ResourceVersion>();
    }
    return read.status();
  }
  if (read->deleted) return std::optional<store::ResourceVersion>();
  if (!call.decide(rest::AccessAction::kRead, read->type, read->id, read->json).isOk()) {
    return std::optional<store::ResourceVersion>();
  }
  return std::optional<store::ResourceVersion>(std::move(read).value());
}

Result<std::vector<store::ResourceVersion>> searchVisible(const rest::OperationCall& call, std::string_view type,
                                                          const search::QueryParams& params, size_t max_matches) {
  search::QueryParams all = params;
  all.emplace_back("_count", std::to_string(store::kMaxPageSize));
  ASSIGN_OR_RETURN(search::SearchRequest request, search::parseSearch(type, all, search::Handling::kStrict));
  std::vector<store::ResourceVersion> out;
  size_t seen = 0;
  // Every page moves the cursor on; the number of pages is bounded by max_matches / page size.
  while (true) {
    // Narrowed: a hidden plan is neither returned nor counted against max_matches (a 422 must not reveal it).
    ASSIGN_OR_RETURN(search::SearchResult page, call.search->execute(request, call.scope));
    seen += page.matches.size();
    if (seen > max_matches) {
      return resourceExhausted("more than " + std::to_string(max_matches) + " " + std::string(type) +
                               " resources match; narrow the request");
    }
    for (store::ResourceVersion& v : page.matches) {
      if (call.decide(rest::AccessAction::kSearch, v.type, v.id, v.json).isOk()) out.push_back(std::move(v));
    }
    if (!page.next_cursor || page.matches.empty()) break;
    request.cursor = page.next_cursor;
  }
  return out;
}

std::string humanNameText(const fhir::JsonValue* names) {
  if (!names) return {};
  const fhir::JsonValue* name = names->isArray() ? (names->size() ? &names->items()[0] : nullptr) : names;
  if (!name) return {};
  if (std::string_view text = textOf(name, "text"); !text.empty()) return std::string(text);
  std::string out;
  if (const fhir::JsonValue* given = name->find("given")) {
    for (const fhir::JsonValue& g : given->items()) {
      if (!g.isString()) continue;
      if (!out.empty()) out += ' ';
      out += g.text();
    }
  }
  if (std::string_view family = textOf(name, "family"); !family.empty()) {
    if (!out.empty()) out += ' ';
    out += family;
  }
  return out;
}

void appendStringMember(std::string& out, std::string_view key, std::string_view value, bool comma) {
  if (comma) out += ',';
  fhir::writeJsonString(key, out);
  out += ':';
  fhir::writeJsonString(value, out);
}

}  // namespace planbro::gateway::ip::detail
