#pragma once
// `[base]/$ip-figures` (GET, or POST with a Parameters body): the IP figures (figures.h) as a Bundle of
// MeasureReports, with the parameters of Measure/$evaluate-measure that apply (periodStart, periodEnd; without them,
// the current year). A system-level operation of the REST layer's OperationRegistry, so the access policy is asked
// for the interaction before the parameters are read; the operation then asks once for the type-level right to
// search MeasureReports (the answer holds counts only, no person data). With `persist=true` (POST only: a GET never
// changes state) the reports are stored too (storeFigures, GW-67), after the update right for each report is
// asked. Its OperationDefinition is in the IP package (conformance/ip/input/fsh/figures.fsh).

#include <memory>
#include <string_view>

#include "planbro/gateway/ip/figures.h"
#include "planbro/gateway/rest/operation_registry.h"

namespace planbro::gateway::ip {

inline constexpr std::string_view kIpFiguresDefinition = "http://planbro.no/fhir/OperationDefinition/ip-figures";

/** The operation, with the limits `options` (config `ip_figures.*`). Errors it answers: 400 for a parameter that
 *  is not a FHIR date (persist: not a boolean), unknown or repeated (its expression names it), or persist=true by
 *  GET; 409 when concurrent runs kept conflicting while storing; 422 too-costly beyond
 *  options.max_work_rows. */
std::shared_ptr<const rest::Operation> makeIpFiguresOperation(FiguresOptions options = {});

}  // namespace planbro::gateway::ip
