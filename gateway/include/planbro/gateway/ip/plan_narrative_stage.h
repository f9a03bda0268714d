#pragma once
// Where the generated narrative of an IP CarePlan (plan_narrative.h) is made:
//  - on every write, by a ResourceTransform (before validation): a narrative a client sent is replaced by one made
//    from the plan alone, so the store never holds a narrative that disagrees with the data, and the validator
//    checks every generated narrative;
//  - on every read, by a ResourcePresenter: the narrative is made again with the Goal, CareTeam and participant
//    resources the plan references, as they are now. A change of a Goal or CareTeam therefore shows in the plan's
//    narrative at once, without writing a new version of every plan that references it (docs/ip-operations.md).

#include <cstddef>
#include <memory>

#include "planbro/gateway/ip/conformance_catalog.h"
#include "planbro/gateway/ops/write_pipeline.h"
#include "planbro/gateway/rest/resource_presenter.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::ip {

/** `ip_read.narrative_max_references`: resources one plan's narrative may read; the rest are shown unresolved. */
inline constexpr size_t kDefaultNarrativeMaxReferences = 200;

/** The read-time stage: IP CarePlans get their narrative from the referenced resources; `clock` gives "today";
 *  `catalog` (may be null) the displays of codes the resources give without one. */
std::shared_ptr<const rest::ResourcePresenter> makePlanNarrativePresenter(
    store::Clock clock, std::shared_ptr<const ConformanceCatalog> catalog,
    size_t max_references = kDefaultNarrativeMaxReferences);

/** The write-time stage: as makePlanNarrativeTransform() below, with code displays from `catalog` (may be null). */
std::shared_ptr<const ops::ResourceTransform> makePlanNarrativeTransform(std::shared_ptr<const ConformanceCatalog> catalog);

/** The write-time stage: an IP CarePlan's `text` is replaced by the narrative made from the plan alone. Other
 *  resources pass unchanged. Pure; thread-safe. */
std::shared_ptr<const ops::ResourceTransform> makePlanNarrativeTransform();

}  // namespace planbro::gateway::ip
