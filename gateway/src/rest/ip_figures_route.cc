// `[base]/$ip-figures`: the REST glue around ip::computeFigures. It only reads the two parameters (query string, or
// a Parameters body as Measure/$evaluate-measure takes them), asks the access policy once for the type-level right
// to read MeasureReports (the answer holds counts only, no person data), and writes the Bundle.
#include "planbro/gateway/ip/figures.h"
#include "rest_internal.h"

namespace planbro::gateway::rest {

Reply RestHandler::Impl::ipFigures(Call& call) {
  if (call.method != "GET" && call.method != "POST") return methodNotAllowed(call.method, "GET, POST");
  std::optional<std::string> start;
  std::optional<std::string> end;
  auto set = [](std::optional<std::string>& slot, std::string_view name, std::string value) -> Status {
    if (slot) return invalidArgument("'" + std::string(name) + "' is given more than once");
    slot = std::move(value);
    return Status::ok();
  };
  for (const auto& [name, value] : call.params) {
    Status s = Status::ok();
    if (name == "periodStart") s = set(start, name, value);
    else if (name == "periodEnd") s = set(end, name, value);
    else if (name != "_format" && name != "_pretty") s = invalidArgument("$ip-figures takes periodStart and periodEnd, not '" + name + "'");
    if (!s.isOk()) return errorReply(400, "invalid", s.message());
  }
  JsonDocument doc;
  if (call.method == "POST" && !call.body.empty()) {
    auto body = bodyResource(call, doc);
    if (!body.isOk()) return statusReply(body.status());
    if (const JsonValue* rt = body->find("resourceType"); !rt || rt->text() != "Parameters") {
      return errorReply(400, "invalid", "the body of $ip-figures must be a Parameters resource");
    }
    const JsonValue* params = body->find("parameter");
    for (const JsonValue& p : params ? params->items() : std::span<const JsonValue>{}) {
      const JsonValue* name = p.find("name");
      std::string n = name && name->isString() ? std::string(name->text()) : std::string();
      if (n != "periodStart" && n != "periodEnd") {
        return errorReply(400, "invalid", "$ip-figures takes periodStart and periodEnd, not '" + n + "'",
                          "Parameters.parameter");
      }
      const JsonValue* v = p.find("valueDate");
      if (!v || !v->isString()) {
        return errorReply(400, "invalid", "'" + n + "' must have a valueDate", "Parameters.parameter.value[x]");
      }
      if (Status s = set(n == "periodStart" ? start : end, n, std::string(v->text())); !s.isOk()) {
        return errorReply(400, "invalid", s.message());
      }
    }
  }
  if (Status s = decide(call, AccessAction::kSearch, "MeasureReport", "", ""); !s.isOk()) return statusReply(s);
  const store::Timestamp now = options_.clock();
  auto period = ip::figuresPeriod(start ? std::optional<std::string_view>(*start) : std::nullopt,
                                  end ? std::optional<std::string_view>(*end) : std::nullopt, now, options_.ip_figures);
  if (!period.isOk()) return errorReply(400, "invalid", period.status().message());
  auto figures = ip::computeFigures(store_, *period, options_.clock, options_.ip_figures);
  if (!figures.isOk()) {
    if (figures.status().code() == StatusCode::kResourceExhausted) return errorReply(422, "too-costly", figures.status().message());
    return statusReply(figures.status());
  }
  Reply r;
  r.json = ip::figuresBundleJson(*figures);
  return r;
}

}  // namespace planbro::gateway::rest
