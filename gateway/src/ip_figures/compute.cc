// Computes the IP figures from the store. Every candidate set comes from an index query (the IP category, the plan
// period, the CareTeam category, the Provenance target), so the cost follows the plans of the period, never the
// size of the store; each candidate is then read once and reduced to the few facts the rules need (PlanFacts), so
// memory follows the number of plans, not their size. The rules themselves are stated in the Measures of
// figures.fsh; the comments here say how each reads the data.
#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "figures_internal.h"
#include "planbro/fhir-model/json.h"
#include "planbro/gateway/ip/figures.h"
#include "planbro/gateway/ip/ip_package.h"
#include "planbro/gateway/search/index_predicates.h"
#include "planbro/gateway/search/indexer.h"

namespace planbro::gateway::ip {
namespace {

using fhir::JsonDocument;
using fhir::JsonValue;

constexpr std::string_view kNoArea = "ikke-angitt";
constexpr int64_t kMinTime = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTime = std::numeric_limits<int64_t>::max();
constexpr std::string_view kOrganizationNumberSystem = "urn:oid:2.16.578.1.12.4.1.4.101";  // Enhetsregisteret
constexpr std::string_view kParticipantTypeSystem = "http://terminology.hl7.org/CodeSystem/provenance-participant-type";
constexpr std::string_view kSourceSystemNaming = "http://planbro.no/fhir/NamingSystem/source-system";
// ICD-10 as Norwegian records code it (the Directorate's OID, codes without the dot: F900) and HL7's URI (F90.0).
constexpr std::string_view kIcd10Systems[] = {"urn:oid:2.16.578.1.12.4.1.1.7110", "http://hl7.org/fhir/sid/icd-10"};

std::string_view str(const JsonValue* v) { return v && v->isString() ? v->text() : std::string_view(); }

const JsonValue* extension(const JsonValue& element, std::string_view url) {
  const JsonValue* exts = element.find("extension");
  if (!exts) return nullptr;
  for (const JsonValue& e : exts->items()) {
    if (str(e.find("url")) == url) return &e;
  }
  return nullptr;
}

std::span<const JsonValue> items(const JsonValue* v) { return v ? v->items() : std::span<const JsonValue>{}; }

// "Type/id" of a literal reference, relative or absolute, without its version.
std::string localRef(std::string_view ref) {
  if (size_t h = ref.find("/_history/"); h != std::string_view::npos) ref = ref.substr(0, h);
  size_t last = ref.rfind('/');
  if (last == std::string_view::npos || last == 0) return std::string(ref);
  size_t prev = ref.rfind('/', last - 1);
  return std::string(prev == std::string_view::npos ? ref : ref.substr(prev + 1));
}

bool hasCoding(const JsonValue* codeable, std::string_view system, std::string_view code) {
  for (const JsonValue& c : items(codeable ? codeable->find("coding") : nullptr)) {
    if (str(c.find("system")) == system && str(c.find("code")) == code) return true;
  }
  return false;
}

struct Coordinator {
  std::string member;        // "Practitioner/x"
  std::string organization;  // participant.onBehalfOf, "Organization/y"; empty when not given
  int64_t start = kMinTime;
  int64_t end = kMaxTime;
  bool covers(int64_t t) const { return start <= t && t <= end; }
  bool overlaps(int64_t lo, int64_t hi) const { return start <= hi && end >= lo; }
};

struct MeasureFacts {
  bool in_plan = false;
  std::string status;
  std::optional<int64_t> evaluation_end;  // the last microsecond of the evaluation date
};

struct PlanFacts {
  std::string id;
  std::string status;
  std::string lifecycle;
  std::string patient;
  bool has_period = false;
  int64_t start = kMinTime;
  int64_t end = kMaxTime;
  std::string area;
  std::vector<Coordinator> coordinators;
  std::optional<int64_t> next_revision_end;
  std::vector<MeasureFacts> measures;
  // GW-63: read from the Conditions of CarePlan.addresses, for finished plans only (no other figure needs them).
  bool adhd = false;
  bool schizofreni = false;
  bool covers(int64_t t) const { return has_period && start <= t && t <= end; }
};

// The lifecycles of a plan whose planning work has started (D4:258-261 «planarbeidet var påbegynt»): every state
// from started on. need-reported and consented are before the work; draft and entered-in-error never count.
bool startedOrLater(std::string_view lifecycle) {
  return lifecycle == "started" || lifecycle == "finished" || lifecycle == "under-revision" || lifecycle == "on-hold" ||
         lifecycle == "ended";
}

std::vector<Coordinator> coordinatorsOf(const JsonValue& care_team) {
  std::vector<Coordinator> out;
  for (const JsonValue& p : items(care_team.find("participant"))) {
    bool coordinator = false;
    for (const JsonValue& role : items(p.find("role"))) coordinator = coordinator || hasCoding(&role, kCoordinatorRoleSystem, "8");
    const JsonValue* member = p.find("member");
    if (!coordinator || !member) continue;
    Coordinator c;
    c.member = localRef(str(member->find("reference")));
    if (const JsonValue* org = p.find("onBehalfOf")) c.organization = localRef(str(org->find("reference")));
    if (const JsonValue* period = p.find("period")) {
      if (auto s = search::parseDateRange(str(period->find("start")))) c.start = s->low;
      if (auto e = search::parseDateRange(str(period->find("end")))) c.end = e->high;
    }
    if (!c.member.empty()) out.push_back(std::move(c));
  }
  return out;
}

// The counting unit "patient": the subject's identifier (the Norwegian person number the profiles require), else
// its literal reference; so a patient stored twice under one fødselsnummer is still one patient.
std::string patientKey(const JsonValue* subject) {
  if (!subject) return {};
  if (const JsonValue* id = subject->find("identifier")) {
    std::string_view value = str(id->find("value"));
    if (!value.empty()) return std::string(search::canonicalTokenSystem(str(id->find("system")))) + "|" + std::string(value);
  }
  return localRef(str(subject->find("reference")));
}

class Computation {
 public:
  Computation(store::ResourceStore& store, const FiguresPeriod& period, const FiguresOptions& options)
      : store_(store), period_(period), options_(options) {}

  size_t workRows() const { return rows_; }

  Status charge(size_t n) {
    rows_ += n;
    if (rows_ > options_.max_work_rows) {
      return resourceExhausted("the figures would take more than " + std::to_string(options_.max_work_rows) +
                               " rows of work (ip_figures.max_work_rows): narrow the period");
    }
    return Status::ok();
  }

  // Every id of `query`, page by page; each page is charged, so the loop ends within the budget.
  template <typename Fn>
  Status forEachId(store::IndexQuery query, Fn&& fn) {
    query.count = store::kMaxPageSize;
    while (true) {
      auto page = store_.searchIndex(query);
      if (!page.isOk()) return page.status();
      if (Status s = charge(1 + page->ids.size()); !s.isOk()) return s;
      for (const std::string& id : page->ids) {
        if (Status s = fn(id); !s.isOk()) return s;
      }
      if (!page->next_after_id) return Status::ok();
      query.after_id = page->next_after_id;
    }
  }

  // The current version, parsed; nullopt when it is missing or deleted (a dangling reference counts as absent).
  Result<std::optional<JsonDocument>> read(std::string_view type, std::string_view id) {
    if (Status s = charge(1); !s.isOk()) return s;
    auto v = store_.read(type, id);
    if (!v.isOk()) {
      if (v.status().code() == StatusCode::kNotFound || v.status().code() == StatusCode::kGone) return std::optional<JsonDocument>();
      return v.status();
    }
    auto doc = JsonDocument::parse(std::move(v->json));
    if (!doc.isOk()) return std::optional<JsonDocument>();  // stored bytes are valid JSON; never fail a report on one
    return std::optional<JsonDocument>(std::move(doc).value());
  }

  struct OrganizationFacts {
    std::string area = std::string(kNoArea);  // Organization.type from ip-clinical-area
    std::string number;                       // the organisation number (Enhetsregisteret); empty when none
    std::string name;
  };

  // An Organization reduced to what the figures use, read once per reference (cached, a missing one too).
  Result<const OrganizationFacts*> organization(const std::string& ref) {
    if (auto it = organizations_.find(ref); it != organizations_.end()) return &it->second;
    OrganizationFacts facts;
    if (ref.starts_with("Organization/")) {
      auto org = read("Organization", ref.substr(13));
      if (!org.isOk()) return org.status();
      if (*org) {
        const JsonValue& root = (*org)->root();
        for (const JsonValue& t : items(root.find("type"))) {
          for (const JsonValue& c : items(t.find("coding"))) {
            if (str(c.find("system")) == kClinicalAreaSystem && !str(c.find("code")).empty()) facts.area = std::string(str(c.find("code")));
          }
        }
        for (const JsonValue& id : items(root.find("identifier"))) {
          if (str(id.find("system")) == kOrganizationNumberSystem && facts.number.empty()) facts.number = std::string(str(id.find("value")));
        }
        facts.name = std::string(str(root.find("name")));
      }
    }
    return &organizations_.emplace(ref, std::move(facts)).first->second;
  }

  // The clinical area of a plan owner: its Organization.type coding from ip-clinical-area.
  Result<std::string> areaOf(const JsonValue& plan) {
    const JsonValue* author = plan.find("author");  // 0..1 in R4
    std::string owner = author ? localRef(str(author->find("reference"))) : std::string();
    if (!owner.starts_with("Organization/")) return std::string(kNoArea);
    auto org = organization(owner);
    if (!org.isOk()) return org.status();
    return (*org)->area;
  }

  struct Diagnoses {
    bool adhd = false;         // ICD-10 F90.*
    bool schizofreni = false;  // ICD-10 F20.*
  };

  // The ICD-10 groups of one Condition's code (cached per reference; a missing Condition has none).
  Result<Diagnoses> diagnosesOf(const std::string& ref) {
    if (auto it = conditions_.find(ref); it != conditions_.end()) return it->second;
    Diagnoses d;
    if (ref.starts_with("Condition/")) {
      auto condition = read("Condition", ref.substr(10));
      if (!condition.isOk()) return condition.status();
      if (*condition) {
        const JsonValue* code = (*condition)->root().find("code");
        for (const JsonValue& c : items(code ? code->find("coding") : nullptr)) {
          std::string_view system = str(c.find("system"));
          if (std::find(std::begin(kIcd10Systems), std::end(kIcd10Systems), system) == std::end(kIcd10Systems)) continue;
          std::string_view value = str(c.find("code"));
          d.adhd = d.adhd || value.starts_with("F90");
          d.schizofreni = d.schizofreni || value.starts_with("F20");
        }
      }
    }
    conditions_.emplace(ref, d);
    return d;
  }

  Result<std::vector<Coordinator>> teamCoordinators(const std::string& ref) {
    if (auto it = teams_.find(ref); it != teams_.end()) return it->second;
    std::vector<Coordinator> out;
    if (ref.starts_with("CareTeam/")) {
      auto team = read("CareTeam", ref.substr(9));
      if (!team.isOk()) return team.status();
      if (*team) out = coordinatorsOf((*team)->root());
    }
    teams_.emplace(ref, out);
    return out;
  }

  Result<PlanFacts> facts(std::string id, const JsonValue& plan) {
    PlanFacts f;
    f.id = std::move(id);
    f.status = std::string(str(plan.find("status")));
    if (const JsonValue* lc = extension(plan, kLifecycleUrl)) {
      if (const JsonValue* coding = lc->find("valueCoding")) f.lifecycle = std::string(str(coding->find("code")));
    }
    f.patient = patientKey(plan.find("subject"));
    if (f.patient.empty()) f.patient = "CarePlan/" + f.id;
    if (const JsonValue* period = plan.find("period")) {
      auto s = search::parseDateRange(str(period->find("start")));
      auto e = search::parseDateRange(str(period->find("end")));
      f.has_period = s || e;
      if (s) f.start = s->low;
      if (e) f.end = e->high;
    }
    auto area = areaOf(plan);
    if (!area.isOk()) return area.status();
    f.area = std::move(area).value();
    for (const JsonValue& ct : items(plan.find("careTeam"))) {
      auto coordinators = teamCoordinators(localRef(str(ct.find("reference"))));
      if (!coordinators.isOk()) return coordinators.status();
      f.coordinators.insert(f.coordinators.end(), coordinators->begin(), coordinators->end());
    }
    if (const JsonValue* nr = extension(plan, kNextRevisionUrl)) {
      if (auto d = search::parseDateRange(str(nr->find("valueDate")))) f.next_revision_end = d->high;
    }
    for (const JsonValue& activity : items(plan.find("activity"))) {
      MeasureFacts m;
      if (const JsonValue* in = extension(activity, kInPlanUrl)) {
        const JsonValue* b = in->find("valueBoolean");
        m.in_plan = b && b->boolean();
      }
      if (const JsonValue* detail = activity.find("detail")) {
        if (const JsonValue* st = extension(*detail, kMeasureStatusUrl)) {
          if (const JsonValue* coding = st->find("valueCoding")) m.status = std::string(str(coding->find("code")));
        }
        if (const JsonValue* ed = extension(*detail, kEvaluationDateUrl)) {
          if (auto d = search::parseDateRange(str(ed->find("valueDate")))) m.evaluation_end = d->high;
        }
      }
      f.measures.push_back(std::move(m));
    }
    if (f.lifecycle == "finished") {
      for (const JsonValue& a : items(plan.find("addresses"))) {
        auto d = diagnosesOf(localRef(str(a.find("reference"))));
        if (!d.isOk()) return d.status();
        f.adhd = f.adhd || d->adhd;
        f.schizofreni = f.schizofreni || d->schizofreni;
      }
    }
    return f;
  }

  // IP CarePlans whose period overlaps the reporting period, and those without a period: the registered plans
  // (and the only plans any figure looks at).
  Status loadPlans() {
    const store::IndexPredicate category = search::tokenPredicate("category", kIpCategorySystem, "individuell-plan");
    // Not ended before the period: one bound only. With both bounds (low_le = period end too) SQLite's plan for
    // the date range made every page of 1,000 ids cost about a second at 10,000 plans (docs/performance.md); the
    // other bound, a start after the period end, is checked on the plan read anyway.
    store::IndexPredicate overlaps;
    overlaps.param = "date";
    overlaps.kind = store::IndexValueKind::kDate;
    overlaps.high_ge = period_.start_us;
    // No period: neither a date row nor the presence row (the search `date:missing=true`).
    store::IndexPredicate no_period;
    no_period.param = "date";
    no_period.kind = store::IndexValueKind::kDate;
    no_period.presence_param = std::string("date") + std::string(search::kPresentSuffix);
    no_period.negate = true;
    for (const auto& second : {overlaps, no_period}) {
      store::IndexQuery q;
      q.type = "CarePlan";
      q.all_of = {{category}, {second}};
      Status s = forEachId(q, [&](const std::string& id) -> Status {
        auto doc = read("CarePlan", id);
        if (!doc.isOk()) return doc.status();
        if (!*doc) return Status::ok();
        auto f = facts(id, (*doc)->root());
        if (!f.isOk()) return f.status();
        if (f->status == "entered-in-error" || (f->has_period && f->start > period_.end_us)) return Status::ok();
        plans_.push_back(std::move(f).value());
        return Status::ok();
      });
      if (!s.isOk()) return s;
    }
    return Status::ok();
  }

  // D4's inclusion rule at cut-off `t`: the plan exists (finished, under revision, on hold, ended) or the planning
  // work has started with a binding cooperation, read as a coordinator appointed in the plan's team at `t`.
  static bool countsAt(const PlanFacts& p, int64_t t) {
    if (!p.covers(t)) return false;
    if (p.lifecycle == "finished" || p.lifecycle == "under-revision" || p.lifecycle == "on-hold" || p.lifecycle == "ended") return true;
    if (p.lifecycle != "started") return false;
    return std::any_of(p.coordinators.begin(), p.coordinators.end(), [&](const Coordinator& c) { return c.covers(t); });
  }

  struct Cutoff {
    std::string label;  // "2026-T2"
    int64_t at = 0;
    int64_t from = 0;   // the tertial's first microsecond within the period
  };
  std::vector<Cutoff> cutoffs() const {
    using namespace std::chrono;
    std::vector<Cutoff> out;
    const int first = static_cast<int>(detail::dayOf(period_.start_us).year());
    const int last = static_cast<int>(detail::dayOf(period_.end_us).year());
    for (int y = first; y <= last; ++y) {
      const year_month_day starts[3] = {year(y) / January / 1, year(y) / May / 1, year(y) / September / 1};
      const year_month_day ends[3] = {year(y) / April / 30, year(y) / August / 31, year(y) / December / 31};
      for (int t = 0; t < 3; ++t) {
        const int64_t lo = detail::dayStart(starts[t]);
        const int64_t hi = detail::dayEnd(ends[t]);
        if (hi < period_.start_us || lo > period_.end_us) continue;
        out.push_back({std::to_string(y) + "-T" + std::to_string(t + 1), std::min(hi, period_.end_us),
                       std::max(lo, period_.start_us)});
      }
    }
    return out;
  }

  // Patients counted per cut-off, by `rule`, stratified by tertial, clinical area and both (GW-62, GW-63).
  template <typename Rule>
  FigureReport tertialFigure(std::string measure_id, std::string group_code, Rule&& rule, bool with_area = true) const {
    std::map<std::string, std::string> area_of_patient;  // in the last cut-off the patient counts at
    std::map<std::string, int64_t> by_tertial;
    std::map<std::pair<std::string, std::string>, int64_t> by_both;
    for (const Cutoff& c : cutoffs()) {
      std::unordered_map<std::string, const PlanFacts*> counted;  // patient -> the plan that started last
      for (const PlanFacts& p : plans_) {
        if (!rule(p, c.at)) continue;
        auto [it, fresh] = counted.emplace(p.patient, &p);
        if (!fresh && p.start > it->second->start) it->second = &p;
      }
      by_tertial[c.label] = static_cast<int64_t>(counted.size());
      for (const auto& [patient, plan] : counted) {
        ++by_both[{c.label, plan->area}];
        area_of_patient[patient] = plan->area;
      }
    }
    std::map<std::string, int64_t> by_area;
    for (const auto& [patient, area] : area_of_patient) ++by_area[area];
    Group g;
    g.code = std::move(group_code);
    g.populations.push_back({"initial-population", static_cast<int64_t>(area_of_patient.size())});
    Stratifier tertial{"tertial", {}};
    for (const auto& [label, n] : by_tertial) tertial.strata.push_back({label, {}, n});
    Stratifier area{"clinical-area", {}};
    for (const auto& [a, n] : by_area) area.strata.push_back({a, {}, n});
    g.stratifiers.push_back(std::move(tertial));
    if (with_area) g.stratifiers.push_back(std::move(area));
    if (measure_id == "ip-patients-with-plan") {
      Stratifier both{"tertial-clinical-area", {}};
      for (const auto& [key, n] : by_both) both.strata.push_back({{}, {{"tertial", key.first}, {"clinical-area", key.second}}, n});
      g.stratifiers.push_back(std::move(both));
    }
    return FigureReport{std::move(measure_id), {std::move(g)}};
  }

  static Group proportion(std::string code, int64_t denominator, int64_t numerator) {
    Group g;
    g.code = std::move(code);
    g.populations.push_back({"denominator", denominator});
    g.populations.push_back({"numerator", numerator});
    if (denominator > 0) g.score = static_cast<double>(numerator) / static_cast<double>(denominator);
    return g;
  }

  // GW-07, GW-66: active «Enkelt samspill» teams with a coordinator in the period, for patients without an IP.
  Result<int64_t> coordinatorOnlyPatients() {
    std::unordered_set<std::string> with_plan;
    for (const PlanFacts& p : plans_) with_plan.insert(p.patient);
    const store::IndexPredicate category = search::tokenPredicate("category", kIpCategorySystem, "enkelt-samspill");
    const store::IndexPredicate active = search::tokenPredicate("status", std::nullopt, "active");
    store::IndexQuery q;
    q.type = "CareTeam";
    q.all_of = {{category}, {active}};
    std::set<std::string> patients;
    Status s = forEachId(q, [&](const std::string& id) -> Status {
      auto doc = read("CareTeam", id);
      if (!doc.isOk()) return doc.status();
      if (!*doc) return Status::ok();
      const JsonValue& team = (*doc)->root();
      auto coordinators = coordinatorsOf(team);
      bool in_period = std::any_of(coordinators.begin(), coordinators.end(),
                                   [&](const Coordinator& c) { return c.overlaps(period_.start_us, period_.end_us); });
      std::string patient = patientKey(team.find("subject"));
      if (in_period && !patient.empty() && !with_plan.count(patient)) patients.insert(patient);
      return Status::ok();
    });
    if (!s.isOk()) return s;
    return static_cast<int64_t>(patients.size());
  }

  // What the Provenances of the active plans tell (GW-50), as recorded by the period end.
  struct ChangeFacts {
    // Plan id -> every change made by a coordinator so far (absent: no change recorded, outside the denominator).
    std::unordered_map<std::string, bool> only_coordinator;
    // Plan id -> the source system of its latest change (the recorded instant, the system) (GW-65 per source
    // system): the assembler agent the gateway records for the system a write came through.
    std::unordered_map<std::string, std::pair<int64_t, std::string>> latest_source;
  };

  // GW-65 via GW-50. The Provenances are found by one index query per kMaxPageSize plans (the plan ids are one
  // OR-ed group: a single index lookup over the list), not one query per plan. The writers of a change are its
  // agents other than the assembler: the assembler is the system the change came through (the Device the
  // gateway names for the source system), never a person, so it neither makes nor breaks «only the coordinator».
  Result<ChangeFacts> changes(const std::vector<const PlanFacts*>& active) {
    std::unordered_map<std::string, const PlanFacts*> by_id;
    for (const PlanFacts* p : active) by_id.emplace(p->id, p);
    ChangeFacts out;
    std::unordered_set<std::string> seen;  // Provenances already judged (one may target several plans)
    for (size_t first = 0; first < active.size(); first += store::kMaxPageSize) {
      std::vector<store::IndexPredicate> targets;
      for (size_t i = first; i < std::min(active.size(), first + store::kMaxPageSize); ++i) {
        targets.push_back(search::referencePredicate("target", "CarePlan", active[i]->id));
      }
      store::IndexQuery q;
      q.type = "Provenance";
      q.all_of = {std::move(targets)};
      Status s = forEachId(q, [&](const std::string& id) -> Status {
        if (!seen.insert(id).second) return Status::ok();
        auto doc = read("Provenance", id);
        if (!doc.isOk()) return doc.status();
        if (!*doc) return Status::ok();
        const JsonValue& prov = (*doc)->root();
        auto recorded = search::parseDateRange(str(prov.find("recorded")));
        if (recorded && recorded->low > period_.end_us) return Status::ok();
        const int64_t at = recorded ? recorded->low : kMinTime;
        std::vector<std::string> writers;
        std::string source_system;
        for (const JsonValue& agent : items(prov.find("agent"))) {
          const JsonValue* who = agent.find("who");
          if (hasCoding(agent.find("type"), kParticipantTypeSystem, "assembler")) {
            const JsonValue* ident = who ? who->find("identifier") : nullptr;
            if (ident && str(ident->find("system")) == kSourceSystemNaming) source_system = std::string(str(ident->find("value")));
            continue;
          }
          writers.push_back(who ? localRef(str(who->find("reference"))) : std::string());
        }
        for (const JsonValue& t : items(prov.find("target"))) {
          std::string ref = localRef(str(t.find("reference")));
          if (!ref.starts_with("CarePlan/")) continue;
          auto plan = by_id.find(ref.substr(9));
          if (plan == by_id.end()) continue;
          bool by_coordinators = !writers.empty();
          for (const std::string& w : writers) {
            bool coordinator = !w.empty() && std::any_of(plan->second->coordinators.begin(), plan->second->coordinators.end(),
                                                         [&](const Coordinator& c) { return c.member == w; });
            by_coordinators = by_coordinators && coordinator;
          }
          auto [it, fresh] = out.only_coordinator.emplace(plan->first, by_coordinators);
          if (!fresh) it->second = it->second && by_coordinators;
          // The latest change decides; at one instant, the smaller system name (so the answer never depends on
          // the order the index returns the Provenances in).
          std::pair<int64_t, std::string> candidate{at, source_system.empty() ? std::string(kNoArea) : source_system};
          auto [src, first_change] = out.latest_source.emplace(plan->first, candidate);
          if (!first_change && (candidate.first > src->second.first ||
                                (candidate.first == src->second.first && candidate.second < src->second.second))) {
            src->second = std::move(candidate);
          }
        }
        return Status::ok();
      });
      if (!s.isOk()) return s;
    }
    return out;
  }

  // GW-64: plans initiated in each tertial and plans active at its cut-off, for NPR (D0:1530-1533). Initiated: the
  // plan's period starts within the tertial and its planning work has started (lifecycle started or later) — the
  // start of the plan period is the one date every started plan has (ip-careplan-active-period), so no history is
  // read. Active at a cut-off: the period contains it and the lifecycle is started, finished, under-revision or
  // ended (an ended plan was in use until its period end); on-hold is not in use. Counting unit: the plan.
  FigureReport initiatedAndActive() const {
    Group initiated;
    initiated.code = "initiated";
    Group active;
    active.code = "active";
    Stratifier initiated_by{"tertial", {}};
    Stratifier active_by{"tertial", {}};
    int64_t initiated_total = 0;
    std::unordered_set<const PlanFacts*> active_any;
    for (const Cutoff& c : cutoffs()) {
      int64_t started = 0;
      int64_t in_use = 0;
      for (const PlanFacts& p : plans_) {
        if (startedOrLater(p.lifecycle) && p.has_period && p.start >= c.from && p.start <= c.at) ++started;
        if (p.covers(c.at) && startedOrLater(p.lifecycle) && p.lifecycle != "on-hold") {
          ++in_use;
          active_any.insert(&p);
        }
      }
      initiated_total += started;
      initiated_by.strata.push_back({c.label, {}, started});
      active_by.strata.push_back({c.label, {}, in_use});
    }
    initiated.populations.push_back({"initial-population", initiated_total});
    initiated.stratifiers.push_back(std::move(initiated_by));
    active.populations.push_back({"initial-population", static_cast<int64_t>(active_any.size())});
    active.stratifiers.push_back(std::move(active_by));
    return FigureReport{"ip-initiated-active", {std::move(initiated), std::move(active)}};
  }

  // GW-65: the active plans by the source system of their latest change (ChangeFacts::latest_source; none
  // recorded: «ikke-angitt»). Each plan in exactly one stratum.
  static FigureReport bySourceSystem(const std::vector<const PlanFacts*>& active, const ChangeFacts& changes) {
    std::map<std::string, int64_t> counts;
    for (const PlanFacts* p : active) {
      auto it = changes.latest_source.find(p->id);
      ++counts[it == changes.latest_source.end() ? std::string(kNoArea) : it->second.second];
    }
    Group g;
    g.code = "active-plans-by-source-system";
    g.populations.push_back({"initial-population", static_cast<int64_t>(active.size())});
    Stratifier st{"source-system", {}};
    for (const auto& [system, n] : counts) st.strata.push_back({system, {}, n});
    g.stratifiers.push_back(std::move(st));
    return FigureReport{"ip-active-by-source-system", {std::move(g)}};
  }

  // GW-65: the coordinators of the active plans (a participant with kodeverk 9034 code 8 in a plan's team whose
  // participant period overlaps the period), distinct persons, by the organisation they act for
  // (participant.onBehalfOf: its organisation number; none: «ikke-angitt»). A person coordinating for two
  // organisations is one coordinator in the total and one in each organisation's stratum.
  Result<FigureReport> coordinatorsByOrganization(const std::vector<const PlanFacts*>& active) {
    std::set<std::string> all;
    std::map<std::string, std::set<std::string>> by_org;
    for (const PlanFacts* p : active) {
      for (const Coordinator& c : p->coordinators) {
        if (!c.overlaps(period_.start_us, period_.end_us)) continue;
        std::string key(kNoArea);
        if (!c.organization.empty()) {
          auto org = organization(c.organization);
          if (!org.isOk()) return org.status();
          if (!(*org)->number.empty()) key = (*org)->number;
        }
        all.insert(c.member);
        by_org[key].insert(c.member);
      }
    }
    Group g;
    g.code = "coordinators-by-organization";
    g.populations.push_back({"initial-population", static_cast<int64_t>(all.size())});
    Stratifier st{"organization", {}};
    for (const auto& [org, members] : by_org) st.strata.push_back({org, {}, static_cast<int64_t>(members.size())});
    g.stratifiers.push_back(std::move(st));
    return FigureReport{"ip-coordinators-by-organization", {std::move(g)}};
  }

  // GW-63: the national indicators (D4:241-246, 344-346): patients with a finished plan at a cut-off, for
  // barnehabilitering (the plan owner's clinical area) and for ADHD (ICD-10 F90.*) and schizofreni (F20.*) read
  // from the Conditions the plan addresses. A patient may be in more than one group.
  FigureReport nationalIndicators() const {
    auto finished = [](const PlanFacts& p, int64_t t) { return p.covers(t) && p.lifecycle == "finished"; };
    FigureReport out{"ip-national-indicators", {}};
    auto add = [&](std::string code, auto&& rule) {
      FigureReport r = tertialFigure("ip-national-indicators", std::move(code), rule, /*with_area=*/false);
      out.groups.push_back(std::move(r.groups.front()));
    };
    add("barnehabilitering", [&](const PlanFacts& p, int64_t t) { return finished(p, t) && p.area == "barnehabilitering"; });
    add("adhd", [&](const PlanFacts& p, int64_t t) { return finished(p, t) && p.adhd; });
    add("schizofreni", [&](const PlanFacts& p, int64_t t) { return finished(p, t) && p.schizofreni; });
    return out;
  }

  Result<std::vector<FigureReport>> run(int64_t now_us) {
    if (Status s = loadPlans(); !s.isOk()) return s;
    std::vector<FigureReport> out;
    out.push_back(tertialFigure("ip-patients-with-plan", "patients-with-ip", countsAt));
    out.push_back(tertialFigure("ip-finished-plans", "patients-with-finished-ip",
                                [](const PlanFacts& p, int64_t t) { return p.covers(t) && p.lifecycle == "finished"; }));
    std::vector<const PlanFacts*> active;
    for (const PlanFacts& p : plans_) {
      if (p.status == "active") active.push_back(&p);
    }
    out.push_back({"ip-registered-active", {proportion("registered-vs-active", static_cast<int64_t>(plans_.size()),
                                                       static_cast<int64_t>(active.size()))}});
    auto coordinator_only = coordinatorOnlyPatients();
    if (!coordinator_only.isOk()) return coordinator_only.status();
    Group co;
    co.code = "coordinator-only";
    co.populations.push_back({"initial-population", *coordinator_only});
    out.push_back({"ip-coordinator-only", {std::move(co)}});
    auto changed = changes(active);
    if (!changed.isOk()) return changed.status();
    const int64_t with_changes = static_cast<int64_t>(changed->only_coordinator.size());
    int64_t only_coordinator = 0;
    for (const auto& [plan, only] : changed->only_coordinator) only_coordinator += only ? 1 : 0;
    out.push_back({"ip-edited-only-by-coordinator", {proportion("edited-only-by-coordinator", with_changes, only_coordinator)}});
    // Overdue: dates that ended before the reference day (the period end, or now when that comes first).
    const int64_t reference = std::min(period_.end_us, now_us);
    int64_t plans_overdue = 0;
    int64_t measures_overdue = 0;
    for (const PlanFacts* p : active) {
      if (p->next_revision_end && *p->next_revision_end < reference) ++plans_overdue;
      for (const MeasureFacts& m : p->measures) {
        if (m.in_plan && m.status != "ended" && m.evaluation_end && *m.evaluation_end < reference) ++measures_overdue;
      }
    }
    Group revision;
    revision.code = "plans-revision-overdue";
    revision.populations.push_back({"initial-population", plans_overdue});
    Group evaluation;
    evaluation.code = "measures-evaluation-overdue";
    evaluation.populations.push_back({"initial-population", measures_overdue});
    out.push_back({"ip-overdue-evaluations", {std::move(revision), std::move(evaluation)}});
    out.push_back(initiatedAndActive());
    out.push_back(bySourceSystem(active, *changed));
    auto coordinators = coordinatorsByOrganization(active);
    if (!coordinators.isOk()) return coordinators.status();
    out.push_back(std::move(coordinators).value());
    out.push_back(nationalIndicators());
    return out;
  }

 private:
  store::ResourceStore& store_;
  const FiguresPeriod& period_;
  const FiguresOptions& options_;
  size_t rows_ = 0;
  std::vector<PlanFacts> plans_;
  std::unordered_map<std::string, OrganizationFacts> organizations_;
  std::unordered_map<std::string, Diagnoses> conditions_;
  std::unordered_map<std::string, std::vector<Coordinator>> teams_;
};

}  // namespace

Result<Figures> computeFigures(store::ResourceStore& store, const FiguresPeriod& period, const store::Clock& clock,
                               const FiguresOptions& options) {
  Figures f;
  f.period = period;
  f.computed_at = clock ? clock() : store::systemClock()();
  Computation c(store, period, options);
  auto reports = c.run(f.computed_at.time_since_epoch().count());
  if (!reports.isOk()) return reports.status();
  f.reports = std::move(reports).value();
  f.work_rows = c.workRows();
  return f;
}

}  // namespace planbro::gateway::ip
