// GET [base]/CarePlan/$ip-deadlines?withinDays=N. An operation rather than custom SearchParameters on
// ip-next-revision and ip-evaluation-date: the search module compiles its parameters from the R4 tables and has no
// custom SearchParameter support yet, and a measure's evaluation date is inside an activity, so the answer is per
// measure, not per plan (a search could only return whole plans). The plans examined are the current IP plans,
// bounded by deadlines_max_plans; "today" is the injected clock's.
#include <algorithm>
#include <charconv>

#include "planbro/gateway/ip/ip_read_operations.h"
#include "plan_reading.h"

namespace planbro::gateway::ip {
namespace {

using detail::textOf;

struct Deadline {
  std::string date;       // YYYY-MM-DD (the first day of a partial date)
  std::string as_given;   // the date as the plan has it
  std::string kind;       // "revision" | "evaluation"
  std::string plan_id;
  std::string subject;    // the plan's subject reference JSON
  std::string measure;    // evaluation: the measure's name
  int activity = -1;      // evaluation: the activity index
  std::vector<std::string> responsible;  // evaluation: performer references JSON
};

bool measureEnded(const fhir::JsonValue& detail_element) {
  std::string_view status = textOf(&detail_element, "status");
  if (status == "completed" || status == "stopped" || status == "cancelled" || status == "entered-in-error") return true;
  const fhir::JsonValue* e = detail::extensionOf(detail_element, ip::kMeasureStatusUrl);
  return e && textOf(e->find("valueCoding"), "code") == "ended";
}

bool inPlan(const fhir::JsonValue& activity) {
  const fhir::JsonValue* e = detail::extensionOf(activity, ip::kInPlanUrl);
  const fhir::JsonValue* v = e ? e->find("valueBoolean") : nullptr;
  return !(v && v->isBool() && !v->boolean());
}

class IpDeadlines : public rest::Operation {
 public:
  explicit IpDeadlines(IpReadOptions options) : options_(options) {}
  std::string_view name() const override { return "ip-deadlines"; }
  rest::OperationLevel level() const override { return rest::OperationLevel::kType; }
  std::string_view resourceType() const override { return "CarePlan"; }
  bool allowsGet() const override { return true; }
  std::string_view definitionUrl() const override { return kIpDeadlinesDefinition; }

  Result<rest::OperationResult> invoke(const rest::OperationCall& call, fhir::OperationOutcome& outcome) const override {
    ASSIGN_OR_RETURN(int within, withinDays(call, outcome));
    const std::string today = detail::isoDate(call.clock());
    const std::string horizon = detail::addDays(today, within);
    const std::string category = std::string(ip::kIpCategorySystem) + "|individuell-plan";
    auto plans = detail::searchVisible(call, "CarePlan", {{"category", category}, {"status", "draft,active,on-hold"}},
                                       options_.deadlines_max_plans);
    if (!plans.isOk()) {
      if (plans.status().code() == StatusCode::kResourceExhausted) {
        outcome.add(fhir::Severity::kError, "too-costly", plans.status().message());
        return Status(StatusCode::kUnprocessable, plans.status().message());
      }
      return plans.status();
    }
    std::vector<Deadline> due;
    for (const store::ResourceVersion& v : *plans) {
      auto doc = fhir::JsonDocument::parse(v.json);
      if (!doc.isOk() || !detail::isCurrentPlan(doc->root())) continue;
      const fhir::JsonValue& plan = doc->root();
      const fhir::JsonValue* subject = plan.find("subject");
      std::string subject_json = subject && subject->isObject() ? fhir::writeJson(*subject) : std::string();
      if (const fhir::JsonValue* e = detail::extensionOf(plan, ip::kNextRevisionUrl)) {
        std::string_view given = textOf(e, "valueDate");
        if (auto day = detail::firstDay(given); day && *day <= horizon) {
          due.push_back(Deadline{*day, std::string(given), "revision", v.id, subject_json, {}, -1, {}});
        }
      }
      const fhir::JsonValue* activities = plan.find("activity");
      int index = 0;
      for (const fhir::JsonValue& activity : activities ? activities->items() : std::span<const fhir::JsonValue>{}) {
        int here = index++;
        const fhir::JsonValue* d = activity.find("detail");
        if (!d || !inPlan(activity) || measureEnded(*d)) continue;
        const fhir::JsonValue* e = detail::extensionOf(*d, ip::kEvaluationDateUrl);
        std::string_view given = textOf(e, "valueDate");
        auto day = detail::firstDay(given);
        if (!day || *day > horizon) continue;
        Deadline dl{*day, std::string(given), "evaluation", v.id, subject_json, {}, here, {}};
        const fhir::JsonValue* code = d->find("code");
        dl.measure = std::string(textOf(code, "text"));
        const fhir::JsonValue* performers = d->find("performer");
        for (const fhir::JsonValue& p : performers ? performers->items() : std::span<const fhir::JsonValue>{}) {
          if (p.isObject()) dl.responsible.push_back(fhir::writeJson(p));
        }
        due.push_back(std::move(dl));
      }
    }
    std::sort(due.begin(), due.end(), [](const Deadline& a, const Deadline& b) {
      return std::tie(a.date, a.plan_id, a.activity) < std::tie(b.date, b.plan_id, b.activity);
    });

    std::string out = R"({"resourceType":"Parameters","parameter":[{"name":"today","valueDate":")" + today +
                      R"("},{"name":"horizon","valueDate":")" + horizon + "\"}";
    for (const Deadline& d : due) {
      out += R"(,{"name":"deadline","part":[{"name":"kind","valueCode":")" + d.kind + "\"}";
      out += R"(,{"name":"plan","valueReference":{"reference":"CarePlan/)" + d.plan_id + "\"}}";
      if (!d.subject.empty()) out += R"(,{"name":"subject","valueReference":)" + d.subject + "}";
      out += R"(,{"name":"due","valueDate":)";
      fhir::writeJsonString(d.as_given, out);
      out += "}";
      out += R"(,{"name":"overdue","valueBoolean":)" + std::string(d.date < today ? "true" : "false") + "}";
      if (d.activity >= 0) {
        out += R"(,{"name":"activity","valueString":)";
        fhir::writeJsonString("CarePlan.activity[" + std::to_string(d.activity) + "]", out);
        out += "}";
        if (!d.measure.empty()) {
          out += R"(,{"name":"measure","valueString":)";
          fhir::writeJsonString(d.measure, out);
          out += "}";
        }
        for (const std::string& r : d.responsible) out += R"(,{"name":"responsible","valueReference":)" + r + "}";
      }
      out += "]}";
    }
    out += "]}";
    return rest::OperationResult{200, std::move(out)};
  }

 private:
  Result<int> withinDays(const rest::OperationCall& call, fhir::OperationOutcome& outcome) const {
    std::string value;
    std::string location = "withinDays";
    if (const std::string* q = call.queryParam("withinDays")) value = *q;
    if (call.parameters) {
      const fhir::JsonValue* parameters = call.parameters->find("parameter");
      size_t i = 0;
      for (const fhir::JsonValue& p : parameters ? parameters->items() : std::span<const fhir::JsonValue>{}) {
        std::string here = "Parameters.parameter[" + std::to_string(i++) + "]";
        if (textOf(&p, "name") != "withinDays") {
          std::string message = "unknown parameter '" + std::string(textOf(&p, "name")) + "' (only 'withinDays' is taken)";
          outcome.add(fhir::Severity::kError, "invalid", message, here + ".name");
          return invalidArgument(message);
        }
        const fhir::JsonValue* v = p.find("valueInteger");
        if (!v || !v->isNumber()) {
          outcome.add(fhir::Severity::kError, "invalid", "withinDays must be a valueInteger", here);
          return invalidArgument("withinDays must be a valueInteger");
        }
        value = std::string(v->text());
        location = here + ".valueInteger";
      }
    }
    for (const auto& [k, v] : *call.query) {
      if (k != "withinDays" && k != "_format" && k != "_pretty") {
        std::string message = "unknown parameter '" + k + "' (only 'withinDays' is taken)";
        outcome.add(fhir::Severity::kError, "invalid", message, k);
        return invalidArgument(message);
      }
    }
    if (value.empty()) {
      outcome.add(fhir::Severity::kError, "required", "withinDays (a number of days, 0 or more) is required", location);
      return invalidArgument("withinDays is required");
    }
    int days = -1;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), days);
    if (ec != std::errc() || end != value.data() + value.size() || days < 0 || days > options_.deadlines_max_within_days) {
      std::string message = "withinDays must be a whole number from 0 to " +
                            std::to_string(options_.deadlines_max_within_days);
      outcome.add(fhir::Severity::kError, "invalid", message, location);
      return invalidArgument(message);
    }
    return days;
  }

  IpReadOptions options_;
};

}  // namespace

std::shared_ptr<const rest::Operation> makeIpDeadlinesOperation(IpReadOptions options) {
  return std::make_shared<IpDeadlines>(options);
}

Status registerIpReadOperations(rest::OperationRegistry& registry, IpReadOptions options) {
  RETURN_IF_ERROR(registry.add(makeIpStatusOperation(options)));
  return registry.add(makeIpDeadlinesOperation(options));
}

}  // namespace planbro::gateway::ip
