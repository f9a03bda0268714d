// `$ip-figures` as a registered operation: it only reads the two parameters (query string, or a Parameters body as
// Measure/$evaluate-measure takes them), asks the access decision once, and hands over to computeFigures.
#include "planbro/gateway/ip/figures_operation.h"

#include <optional>
#include <span>
#include <string>

namespace planbro::gateway::ip {

namespace {

using fhir::JsonValue;

class IpFiguresOperation final : public rest::Operation {
 public:
  explicit IpFiguresOperation(FiguresOptions options) : options_(options) {}
  std::string_view name() const override { return "ip-figures"; }
  rest::OperationLevel level() const override { return rest::OperationLevel::kSystem; }
  bool allowsGet() const override { return true; }
  std::string_view definitionUrl() const override { return kIpFiguresDefinition; }

  Result<rest::OperationResult> invoke(const rest::OperationCall& call, fhir::OperationOutcome& outcome) const override {
    std::optional<std::string> start;
    std::optional<std::string> end;
    auto fail = [&](std::string message, std::string expression) -> Status {
      outcome.add(fhir::Severity::kError, "invalid", message, std::move(expression));
      return invalidArgument(std::move(message));
    };
    auto set = [&](std::string_view name, std::string value, const std::string& expression) -> Status {
      std::optional<std::string>& slot = name == "periodStart" ? start : end;
      if (slot) return fail("'" + std::string(name) + "' is given more than once", expression);
      slot = std::move(value);
      return Status::ok();
    };
    for (const auto& [name, value] : *call.query) {
      if (name == "periodStart" || name == "periodEnd") {
        RETURN_IF_ERROR(set(name, value, name));
      } else if (name != "_format" && name != "_pretty") {
        return fail("$ip-figures takes periodStart and periodEnd, not '" + name + "'", name);
      }
    }
    if (call.parameters) {
      const JsonValue* params = call.parameters->find("parameter");
      if (params && !params->isArray()) return fail("Parameters.parameter must be an array", "Parameters.parameter");
      size_t i = 0;
      for (const JsonValue& p : params ? params->items() : std::span<const JsonValue>{}) {
        const std::string at = "Parameters.parameter[" + std::to_string(i++) + "]";
        const JsonValue* name = p.isObject() ? p.find("name") : nullptr;
        std::string n = name && name->isString() ? std::string(name->text()) : std::string();
        if (n != "periodStart" && n != "periodEnd") {
          return fail("$ip-figures takes periodStart and periodEnd, not '" + n + "'", at + ".name");
        }
        const JsonValue* v = p.find("valueDate");
        if (!v || !v->isString()) return fail("'" + n + "' must have a valueDate", at + ".value[x]");
        RETURN_IF_ERROR(set(n, std::string(v->text()), at + ".valueDate"));
      }
    }
    RETURN_IF_ERROR(call.decide(rest::AccessAction::kSearch, "MeasureReport", "", ""));
    auto period = figuresPeriod(start ? std::optional<std::string_view>(*start) : std::nullopt,
                                end ? std::optional<std::string_view>(*end) : std::nullopt, call.clock(), options_);
    if (!period.isOk()) return fail(period.status().message(), "");  // the message names the parameter
    auto figures = computeFigures(*call.store, *period, call.clock, options_);
    if (!figures.isOk()) {
      if (figures.status().code() == StatusCode::kResourceExhausted) {
        // The data's cost, not the request's fault: 422 too-costly, as for every bounded operation.
        outcome.add(fhir::Severity::kError, "too-costly", figures.status().message());
        return Status(StatusCode::kUnprocessable, figures.status().message());
      }
      return figures.status();
    }
    return rest::OperationResult{200, figuresBundleJson(*figures)};
  }

 private:
  FiguresOptions options_;
};

}  // namespace

std::shared_ptr<const rest::Operation> makeIpFiguresOperation(FiguresOptions options) {
  return std::make_shared<IpFiguresOperation>(options);
}

}  // namespace planbro::gateway::ip
