#pragma once
// A stage between the store and the client: it may answer a stored version with other JSON (the IP CarePlan's
// narrative, generated from the resources the plan references, ip/plan_narrative.h). Every way a resource leaves the
// REST layer — read, vread, search matches and includes, history, the representation a write returns — passes it.
// Header-only, so that the library implementing one does not depend on the REST library.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/rest/access_policy.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::rest {

/** Whether the requester may see one resource the presenter reads (AccessPolicy::decide for kRead). */
using VisibleCheck = std::function<bool(std::string_view type, std::string_view id, std::string_view json)>;

class ResourcePresenter {
 public:
  virtual ~ResourcePresenter() = default;
  /** Whether versions of `type` may be presented differently (they are then never answered from memory on an I/O
   *  thread, since present() may read the store). */
  virtual bool presents(std::string_view type) const = 0;
  /**
   * The JSON (a whole resource, compact, without meta.versionId/lastUpdated, as stored) to answer in place of
   * `version.json`; nullopt: as stored. May read `store` (blocking); shows nothing `visible` denies. Thread-safe.
   * An error is logged by the caller and the stored version answered.
   */
  virtual Result<std::optional<std::string>> present(const store::ResourceVersion& version, store::ResourceStore& store,
                                                     const VisibleCheck& visible) const = 0;
};

}  // namespace planbro::gateway::rest
