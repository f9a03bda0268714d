#include "planbro/gateway/http/handler.h"

#include <algorithm>
#include <strings.h>

#include "planbro/fhir-model/operation_outcome.h"

namespace planbro::gateway::http {
namespace {

bool sameName(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

const std::string* Headers::find(std::string_view name) const {
  for (const auto& [n, v] : fields_) {
    if (sameName(n, name)) return &v;
  }
  return nullptr;
}

std::string_view Headers::get(std::string_view name) const {
  const std::string* v = find(name);
  return v ? std::string_view(*v) : std::string_view();
}

void Headers::add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }

void Headers::set(std::string name, std::string value) {
  erase(name);
  add(std::move(name), std::move(value));
}

void Headers::erase(std::string_view name) {
  std::erase_if(fields_, [&](const auto& f) { return sameName(f.first, name); });
}

Response outcomeResponse(const Status& status) {
  Response r;
  r.status = fhir::httpStatusFor(status.code());
  r.headers.set("Content-Type", "application/fhir+json; charset=utf-8");
  r.body = fhir::outcomeFromStatus(status).toJson();
  return r;
}

Response outcomeResponse(int http_status, std::string_view issue_code, std::string diagnostics) {
  fhir::OperationOutcome outcome;
  outcome.add(http_status >= 400 ? fhir::Severity::kError : fhir::Severity::kInformation, std::string(issue_code),
              std::move(diagnostics));
  Response r;
  r.status = http_status;
  r.headers.set("Content-Type", "application/fhir+json; charset=utf-8");
  r.body = outcome.toJson();
  return r;
}

}  // namespace planbro::gateway::http
