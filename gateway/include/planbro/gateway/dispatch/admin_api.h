#pragma once
// The dispatcher's admin API, FHIR-style JSON (Parameters) under /admin/dispatch/ (docs/dispatch.md):
//   GET    /admin/dispatch/subscribers                                   every subscriber: partitions, position,
//                                                                        retrying and dead-lettered counts
//   GET    /admin/dispatch/subscribers/{name}/dead-letters[?after=P&_count=N]   list, by position
//   GET    /admin/dispatch/subscribers/{name}/dead-letters/{position}    inspect one (the change, tries, last error)
//   POST   /admin/dispatch/subscribers/{name}/dead-letters/{position}/$retry   send it again
//   DELETE /admin/dispatch/subscribers/{name}/dead-letters/{position}    discard it
//   POST   /admin/dispatch/subscribers/{name}/$replay?position=P | ?since=INSTANT   send again from there
// Who may: a principal with the configured admin scope; with no authentication in front, loopback callers only.
// Every action that changes something is logged with who did it (principal, or the caller's address) and the
// request id. Other paths go to the wrapped handler.

#include <memory>
#include <string>

#include "planbro/gateway/http/handler.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::dispatch {

struct AdminApiOptions {
  std::string admin_scope = "system/planbro.dispatch-admin";
  size_t max_page = 100;  // dead letters per list page (and the _count cap)
};

std::shared_ptr<http::RequestHandler> makeAdminApiHandler(store::ResourceStore& store, AdminApiOptions options,
                                                          std::shared_ptr<http::RequestHandler> next);

}  // namespace planbro::gateway::dispatch
