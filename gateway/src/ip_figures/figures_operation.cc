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
    std::optional<bool> persist;
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
    auto setPersist = [&](std::optional<bool> value, const std::string& expression) -> Status {
      if (persist) return fail("'persist' is given more than once", expression);
      if (!value) return fail("'persist' must be true or false", expression);
      persist = value;
      return Status::ok();
    };
    for (const auto& [name, value] : *call.query) {
      if (name == "periodStart" || name == "periodEnd") {
        RETURN_IF_ERROR(set(name, value, name));
      } else if (name == "persist") {
        RETURN_IF_ERROR(setPersist(value == "true" ? std::optional<bool>(true)
                                   : value == "false" ? std::optional<bool>(false) : std::nullopt, name));
      } else if (name != "_format" && name != "_pretty") {
        return fail("$ip-figures takes periodStart, periodEnd and persist, not '" + name + "'", name);
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
        if (n == "persist") {
          const JsonValue* b = p.find("valueBoolean");
          if (!b || !b->isBool()) return fail("'persist' must have a valueBoolean", at + ".value[x]");
          RETURN_IF_ERROR(setPersist(b->boolean(), at + ".valueBoolean"));
          continue;
        }
        if (n != "periodStart" && n != "periodEnd") {
          return fail("$ip-figures takes periodStart, periodEnd and persist, not '" + n + "'", at + ".name");
        }
        const JsonValue* v = p.find("valueDate");
        if (!v || !v->isString()) return fail("'" + n + "' must have a valueDate", at + ".value[x]");
        RETURN_IF_ERROR(set(n, std::string(v->text()), at + ".valueDate"));
      }
    }
    // Storing the reports changes state: never by GET (a GET may be repeated or prefetched by anyone).
    if (persist.value_or(false) && call.method == "GET") {
      return fail("'persist=true' stores the reports: use POST", "persist");
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
    if (!persist.value_or(false)) return rest::OperationResult{200, figuresBundleJson(*figures)};
    store::WriteContext writer;
    if (call.context->principal) {
      writer.actor = !call.context->principal->subject.empty() ? call.context->principal->subject
                                                               : call.context->principal->client_id;
    }
    writer.source_system = "planbro:ip-figures";
    auto stored = storeFigures(*call.store, *figures, writer, [&](std::string_view id, std::string_view json) {
      return call.decide(rest::AccessAction::kUpdate, "MeasureReport", id, json);
    });
    if (!stored.isOk()) return stored.status();
    return rest::OperationResult{200, figuresBundleJson(*figures, &*stored, call.base)};
  }

 private:
  FiguresOptions options_;
};

}  // namespace

std::shared_ptr<const rest::Operation> makeIpFiguresOperation(FiguresOptions options) {
  return std::make_shared<IpFiguresOperation>(options);
}

}  // namespace planbro::gateway::ip
