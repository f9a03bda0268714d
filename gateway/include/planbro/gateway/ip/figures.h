#pragma once
// IP figures (GW-62…GW-68): the reporting figures of the individual plan, computed from the store through its
// search index, one MeasureReport per Measure of the IP package (conformance/ip/input/fsh/figures.fsh, whose
// descriptions state each aggregation rule; docs/ip-figures.md explains them with their sources).
//
// Cost: one index query (paged) per candidate set — IP CarePlans whose period has not ended before the reporting
// period, IP CarePlans without a period, active «Enkelt samspill» CareTeams, and the Provenances of the active plans
// (one OR-ed query per 1,000 plans) — plus one read per candidate, per distinct owner or coordinator Organization,
// per CareTeam and per Condition a finished plan addresses. Nothing else in the store is touched; the
// whole computation is bounded by FiguresOptions::max_work_rows.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "planbro/fhir-model/status.h"
#include "planbro/gateway/store/resource_store.h"

namespace planbro::gateway::ip {

/** Limits of one figures computation (config `ip_figures.*`). */
struct FiguresOptions {
  /** `ip_figures.max_work_rows`: index rows returned plus resources read by one computation; beyond it the request
   *  fails with kResourceExhausted ("narrow the period") instead of loading the store into memory. */
  size_t max_work_rows = 2'000'000;
  /** `ip_figures.max_period_years`: the longest period one request may ask for, in years. */
  int max_period_years = 10;
};

/** The reporting period: the first and the last microsecond it covers (UTC), and its text as given or defaulted. */
struct FiguresPeriod {
  std::string start_text;  // "2026-01-01"
  std::string end_text;    // "2026-12-31"
  int64_t start_us = 0;
  int64_t end_us = 0;
};

/**
 * The period of `periodStart` / `periodEnd` (FHIR dates YYYY, YYYY-MM or YYYY-MM-DD; the start is the first day it
 * covers, the end the last). A missing bound defaults to the start / end of the current year of `now` (UTC).
 * Errors: kInvalidArgument naming the parameter for a value that is not such a date, a start after the end, or a
 * period longer than options.max_period_years.
 */
Result<FiguresPeriod> figuresPeriod(std::optional<std::string_view> period_start,
                                    std::optional<std::string_view> period_end, store::Timestamp now,
                                    const FiguresOptions& options);

struct StratumComponent {
  std::string code;   // the stratifier component code ("tertial", "clinical-area")
  std::string value;  // "2026-T2", "somatikk-rehabilitering"
};
struct Stratum {
  std::string value;                         // single-criterion stratifiers; empty with components
  std::vector<StratumComponent> components;  // multi-component stratifiers
  int64_t count = 0;                         // the group's first population within the stratum
};
struct Stratifier {
  std::string code;
  std::vector<Stratum> strata;  // sorted by value / components
};
struct Population {
  std::string code;  // measure-population code: initial-population, denominator, numerator
  int64_t count = 0;
};
struct Group {
  std::string code;
  std::vector<Population> populations;
  std::vector<Stratifier> stratifiers;
  std::optional<double> score;  // proportion measures: numerator / denominator (unset when the denominator is 0)
};
struct FigureReport {
  std::string measure_id;  // the Measure's id in the IP package, e.g. "ip-patients-with-plan"
  std::vector<Group> groups;
};
struct Figures {
  FiguresPeriod period;
  store::Timestamp computed_at{};  // the clock at the start of the computation
  std::vector<FigureReport> reports;
  size_t work_rows = 0;            // the work taken, as counted against max_work_rows
};

/** The canonical URL of an IP figure's Measure. */
std::string measureUrl(std::string_view measure_id);

/**
 * Computes every IP figure for `period` from `store` (current versions). `clock` gives "now" for overdue dates.
 * Errors: kResourceExhausted when the work would exceed options.max_work_rows; a store failure keeps its code.
 */
Result<Figures> computeFigures(store::ResourceStore& store, const FiguresPeriod& period, const store::Clock& clock,
                               const FiguresOptions& options);

/** One figure's MeasureReport as stored (GW-67): its stable id and identifier per measure + period. */
struct StoredReport {
  std::string id;       // "<measure id>-<YYYYMMDD start>-<YYYYMMDD end>", e.g. ip-finished-plans-20260101-20261231
  int64_t version = 0;  // the version this computation wrote
  std::string json;     // the MeasureReport as written (no meta: the store keeps version and time)
};

/** The identifier system of stored figures; the value is "<measure id>|<period start>|<period end>". */
inline constexpr std::string_view kFiguresReportIdentifierSystem = "http://planbro.no/fhir/NamingSystem/ip-figures-report";
/** The data-quality note a restated report carries (extension of the IP package, valueString). */
inline constexpr std::string_view kFiguresDataQualityUrl = "http://planbro.no/fhir/StructureDefinition/ip-figures-data-quality";

/** The stable id of `measure_id`'s report for `period`. */
std::string storedReportId(std::string_view measure_id, const FiguresPeriod& period);

/**
 * GW-67: stores every MeasureReport of `figures` under its stable id (storedReportId), in one transaction: the
 * first run of a measure and period creates version 1, every later run writes a new version of the same resource,
 * so the earlier figures stay readable through `_history`. A later version carries the data-quality note
 * (kFiguresDataQualityUrl) naming the version it restates and every number that changed ("was → is"), or that
 * none did. `authorize(id, json)` is asked for each report before anything is written (the caller's update
 * right). Errors: the authorisation's, or the store's (kConflict when concurrent writers kept conflicting).
 */
Result<std::vector<StoredReport>> storeFigures(
    store::ResourceStore& store, const Figures& figures, const store::WriteContext& writer,
    const std::function<Status(std::string_view id, std::string_view json)>& authorize);

/** One figure's MeasureReport (JSON). `id` and `note` are written when not empty (stored reports). */
std::string measureReportJson(const Figures& figures, const FigureReport& report, std::string_view id = {},
                              std::string_view note = {});

/** The figures as a FHIR Bundle of type collection holding one MeasureReport (type summary) per figure (JSON).
 *  With `stored` (one per report, storeFigures' answer), the entries are the stored reports with their fullUrl
 *  under `base`. */
std::string figuresBundleJson(const Figures& figures, const std::vector<StoredReport>* stored = nullptr,
                              std::string_view base = {});

}  // namespace planbro::gateway::ip
