// The admin API over DispatchState. It reads and changes only the dispatcher's consumer state; a running
// dispatcher (on any node) picks the change up: a retry at its next round, a replay at its next lease renewal.
#include "planbro/gateway/dispatch/admin_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <ctime>

#include "planbro/fhir-model/json.h"
#include "planbro/fhir-model/json_quoted.h"
#include "planbro/gateway/search/indexer.h"
#include "planbro/gateway/search/search_request.h"
#include "planbro/gateway/store/dispatch_state.h"
#include "planbro/gateway/store/time_format.h"

namespace planbro::gateway::dispatch {
namespace {

constexpr std::string_view kPrefix = "/admin/dispatch/";

constexpr auto jsonString = &fhir::jsonQuoted;

std::string part(std::string_view name, std::string_view type, const std::string& json_value) {
  return "{\"name\":" + jsonString(name) + ",\"value" + std::string(type) + "\":" + json_value + "}";
}

std::optional<int64_t> number(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < 0) return std::nullopt;
  return v;
}

// The value of `key` in a query string (no percent-decoding: the values here are numbers and instants, whose '+'
// must come as %2B; a value with any other escape is refused as malformed).
std::optional<std::string> queryValue(std::string_view query, std::string_view key) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    const size_t eq = pair.find('=');
    if (pair.substr(0, eq) == key) {
      std::string value(eq == std::string_view::npos ? "" : pair.substr(eq + 1));
      for (size_t p; (p = value.find("%2B")) != std::string::npos || (p = value.find("%2b")) != std::string::npos;) {
        value.replace(p, 3, "+");
      }
      for (size_t p; (p = value.find("%3A")) != std::string::npos || (p = value.find("%3a")) != std::string::npos;) {
        value.replace(p, 3, ":");
      }
      return value;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

http::Response json(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/fhir+json");
  r.headers.set("Cache-Control", "no-store");
  r.body = std::move(body);
  return r;
}

http::Response done(std::string_view what) {
  return json(200, R"({"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational","diagnostics":)" +
                       jsonString(what) + "}]}");
}

std::string_view kindName(store::DeliveryStatus s) {
  switch (s) {
    case store::DeliveryStatus::kRetrying: return "retrying";
    case store::DeliveryStatus::kDead: return "dead";
    case store::DeliveryStatus::kRedeliverRequested: return "retry-requested";
  }
  return "unknown";
}

class AdminApiHandler final : public http::RequestHandler {
 public:
  AdminApiHandler(store::ResourceStore& store, AdminApiOptions options, std::shared_ptr<http::RequestHandler> next)
      : store_(store), options_(std::move(options)), next_(std::move(next)) {}

  std::optional<http::Response> handleWithoutBlocking(const http::Request& request,
                                                      http::RequestContext& context) override {
    if (request.path.starts_with(kPrefix) || request.path == "/admin/dispatch") return std::nullopt;
    return next_ ? next_->handleWithoutBlocking(request, context) : std::nullopt;
  }

  http::Response handle(const http::Request& request, http::RequestContext& context) override {
    if (!request.path.starts_with(kPrefix) && request.path != "/admin/dispatch") {
      return next_ ? next_->handle(request, context) : http::outcomeResponse(404, "not-found", "no such path");
    }
    context.interaction = "dispatch-admin";
    if (Status allowed = authorize(context); !allowed.isOk()) return http::outcomeResponse(allowed);
    store::DispatchState* state = store_.dispatchState();
    if (state == nullptr) return http::outcomeResponse(501, "not-supported", "this store keeps no dispatcher state");
    std::vector<std::string_view> seg;
    std::string_view rest = std::string_view(request.path).substr(std::min(request.path.size(), kPrefix.size()));
    while (!rest.empty()) {
      const size_t slash = rest.find('/');
      seg.push_back(rest.substr(0, slash));
      if (slash == std::string_view::npos) break;
      rest.remove_prefix(slash + 1);
    }
    const std::string& m = request.method;
    if (seg.size() == 1 && seg[0] == "subscribers" && m == "GET") return subscribers(*state);
    if (seg.size() < 3 || seg[0] != "subscribers") return http::outcomeResponse(404, "not-found", "no such admin path");
    // Percent-decoded: a name may hold '/' (a stored Subscription's subscriber is "Subscription/<id>").
    auto decoded_name = search::percentDecode(seg[1], false);
    if (!decoded_name.isOk() || decoded_name->empty()) {
      return http::outcomeResponse(400, "invalid", "the subscriber name in the path is not validly percent-encoded");
    }
    const std::string name = std::move(decoded_name).value();
    // An unknown subscriber is a 404 on every route (not an empty list that looks like "no dead letters").
    auto known = state->summaries();
    if (!known.isOk()) return http::outcomeResponse(known.status());
    if (std::none_of(known->begin(), known->end(), [&](const store::SubscriberSummary& s) { return s.subscriber == name; })) {
      return http::outcomeResponse(404, "not-found", "no subscriber '" + name + "'");
    }
    if (seg.size() == 3 && seg[2] == "$replay" && m == "POST") return replay(*state, name, request, context);
    if (seg[2] != "dead-letters") return http::outcomeResponse(404, "not-found", "no such admin path");
    if (seg.size() == 3 && m == "GET") return list(*state, name, request);
    if (seg.size() < 4) return http::outcomeResponse(405, "not-supported", "method not allowed here");
    const std::optional<int64_t> position = number(seg[3]);
    if (!position) return http::outcomeResponse(400, "invalid", "the dead letter's position must be a number");
    if (seg.size() == 4 && m == "GET") return inspect(*state, name, *position);
    if (seg.size() == 4 && m == "DELETE") {
      Status s = state->discardDeadLetter(name, *position);
      if (!s.isOk()) return http::outcomeResponse(s);
      audit(context, "discarded dead letter", name, *position);
      return done("dead letter " + std::to_string(*position) + " of " + name + " discarded");
    }
    if (seg.size() == 5 && seg[4] == "$retry" && m == "POST") {
      Status s = state->requestRedelivery(name, *position, store::systemClock()());
      if (!s.isOk()) return http::outcomeResponse(s);
      audit(context, "retry of dead letter", name, *position);
      return done("dead letter " + std::to_string(*position) + " of " + name + " will be sent again");
    }
    return http::outcomeResponse(405, "not-supported", "method not allowed here");
  }

 private:
  Status authorize(const http::RequestContext& context) const {
    if (context.principal) {
      for (const std::string& scope : context.principal->scopes) {
        if (scope == options_.admin_scope) return Status::ok();
      }
      return Status(StatusCode::kPermissionDenied, "the dispatch admin API needs the scope " + options_.admin_scope);
    }
    // Nobody authenticated the caller: only this machine may administer.
    const std::string& a = context.remote_address;
    if (a == "127.0.0.1" || a == "::1" || a == "::ffff:127.0.0.1") return Status::ok();
    return Status(StatusCode::kPermissionDenied,
                  "the dispatch admin API answers loopback callers only while no authentication is configured");
  }

  static std::string who(const http::RequestContext& context) {
    if (context.principal) {
      return "principal " + context.principal->subject + " (client " + context.principal->client_id + ")";
    }
    return "unauthenticated caller " + context.remote_address;
  }

  void audit(const http::RequestContext& context, std::string_view action, const std::string& subscriber,
             int64_t position) const {
    spdlog::info("dispatch admin: {} {} of {} by {} (request {})", action, position, subscriber, who(context),
                 context.request_id);
  }

  http::Response subscribers(store::DispatchState& state) {
    auto all = state.summaries();
    if (!all.isOk()) return http::outcomeResponse(all.status());
    std::string body = R"({"resourceType":"Parameters","parameter":[)";
    for (size_t i = 0; i < all->size(); ++i) {
      const store::SubscriberSummary& s = (*all)[i];
      body += (i ? "," : "") + std::string(R"({"name":"subscriber","part":[)") +
              part("name", "String", jsonString(s.subscriber)) + "," +
              part("partitions", "Integer", std::to_string(s.partitions)) + "," +
              part("position", "Decimal", std::to_string(s.min_position)) + "," +
              part("retrying", "Decimal", std::to_string(s.retrying)) + "," +
              part("deadLetters", "Decimal", std::to_string(s.dead)) + "]}";
    }
    return json(200, body + "]}");
  }

  std::string letter(const store::DeliveryRecord& r, const std::optional<store::OutboxEvent>& event) {
    std::string p = std::string(R"({"name":"deadLetter","part":[)") + part("position", "Decimal", std::to_string(r.position)) +
                    "," + part("status", "Code", jsonString(kindName(r.status))) + "," +
                    part("partition", "Integer", std::to_string(r.partition)) + "," +
                    part("attempts", "Integer", std::to_string(r.attempts)) + "," +
                    part("firstAttempt", "Instant", jsonString(store::formatInstant(r.first_attempt))) + "," +
                    part("lastAttempt", "Instant", jsonString(store::formatInstant(r.next_attempt))) + "," +
                    part("lastError", "String", jsonString(r.last_error));
    if (event) {
      p += "," + std::string(R"({"name":"change","valueReference":{"reference":)") +
           jsonString(event->type + "/" + event->id + "/_history/" + std::to_string(event->version)) + "}}," +
           part("changeKind", "Code", jsonString(store::changeKindName(event->kind))) + "," +
           part("occurred", "Instant", jsonString(store::formatInstant(event->occurred_at))) + "," +
           part("sourceSystem", "String", jsonString(event->source_system));
    }
    return p + "]}";
  }

  std::optional<store::OutboxEvent> eventAt(int64_t position) {
    auto events = store_.readOutbox(position - 1, 1);
    if (!events.isOk() || events->empty() || (*events)[0].position != position) return std::nullopt;
    return (*events)[0];
  }

  http::Response list(store::DispatchState& state, const std::string& name, const http::Request& request) {
    int64_t after = 0;
    size_t count = options_.max_page;
    if (auto a = queryValue(request.query, "after")) {
      auto n = number(*a);
      if (!n) return http::outcomeResponse(400, "invalid", "after must be a position (a number)");
      after = *n;
    }
    if (auto c = queryValue(request.query, "_count")) {
      auto n = number(*c);
      if (!n || *n < 1) return http::outcomeResponse(400, "invalid", "_count must be a positive number");
      count = std::min<size_t>(static_cast<size_t>(*n), options_.max_page);
    }
    auto letters = state.recordsWithStatus(name, store::DeliveryStatus::kDead, after, count);
    if (!letters.isOk()) return http::outcomeResponse(letters.status());
    std::string body = R"({"resourceType":"Parameters","parameter":[)";
    for (size_t i = 0; i < letters->size(); ++i) {
      body += (i ? "," : "") + letter((*letters)[i], eventAt((*letters)[i].position));
    }
    if (letters->size() == count) {
      body += std::string(letters->empty() ? "" : ",") +
              part("next", "String", jsonString("after=" + std::to_string(letters->back().position)));
    }
    return json(200, body + "]}");
  }

  http::Response inspect(store::DispatchState& state, const std::string& name, int64_t position) {
    auto r = state.record(name, position);
    if (!r.isOk()) return http::outcomeResponse(r.status());
    if (!r->has_value()) return http::outcomeResponse(404, "not-found", "no delivery record at that position");
    return json(200, R"({"resourceType":"Parameters","parameter":[)" + letter(**r, eventAt(position)) + "]}");
  }

  http::Response replay(store::DispatchState& state, const std::string& name, const http::Request& request,
                        const http::RequestContext& context) {
    int64_t position = 0;
    if (auto p = queryValue(request.query, "position")) {
      auto n = number(*p);
      if (!n) return http::outcomeResponse(400, "invalid", "position must be a number");
      position = *n;
    } else if (auto since = queryValue(request.query, "since")) {
      auto range = search::parseDateRange(*since);
      if (!range) return http::outcomeResponse(400, "invalid", "since must be a FHIR instant (e.g. 2026-12-01T00:00:00Z)");
      auto before = state.positionBefore(store::Timestamp(std::chrono::microseconds(range->low)));
      if (!before.isOk()) return http::outcomeResponse(before.status());
      position = *before;
    } else {
      return http::outcomeResponse(400, "required", "replay needs position=P or since=INSTANT");
    }
    Status s = state.rewind(name, position);
    if (!s.isOk()) return http::outcomeResponse(s);
    audit(context, "replay after position", name, position);
    return done(name + " replays every change after position " + std::to_string(position));
  }

  store::ResourceStore& store_;
  const AdminApiOptions options_;
  std::shared_ptr<http::RequestHandler> next_;
};

}  // namespace

std::shared_ptr<http::RequestHandler> makeAdminApiHandler(store::ResourceStore& store, AdminApiOptions options,
                                                          std::shared_ptr<http::RequestHandler> next) {
  return std::make_shared<AdminApiHandler>(store, std::move(options), std::move(next));
}

}  // namespace planbro::gateway::dispatch
