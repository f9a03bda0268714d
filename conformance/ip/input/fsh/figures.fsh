// IP figures (GW-62…GW-68): the clinical areas of the Helse Sør-Øst campaign, one Measure per figure that
// `[base]/$ip-figures` reports as a MeasureReport, and the OperationDefinition of $ip-figures. The aggregation
// rule of each figure is in its Measure (description, definition and the population criteria); docs/ip-figures.md
// explains every rule with its source line. Time is read in UTC; a "cut-off" is the last day of a tertial, or the
// period end when that comes first.

Alias: $measurePopulation = http://terminology.hl7.org/CodeSystem/measure-population
Alias: $measureScoring = http://terminology.hl7.org/CodeSystem/measure-scoring

CodeSystem: IPClinicalArea
Id: ip-clinical-area
Title: "planbro IP clinical area (fagområde)"
Description: "The clinical areas («fagområder») the Helse Sør-Øst IP campaign counted plans in (D4:264-285; GW-62), plus the municipal services. A plan's area is the Organization.type coding from this code system of the plan owner (CarePlan.author); a plan whose owner has none is reported as «ikke angitt». One area per plan and so per patient and period (GW-67): rus is never counted inside VOP."
* ^caseSensitive = true
* ^content = #complete
* #bup "Barne- og ungdomspsykiatri" "Child and adolescent psychiatry (BUP, D4:273)."
* #vop "Voksenpsykiatri" "Adult psychiatry (VOP, D4:276)."
* #rus "Rusbehandling" "Substance-abuse treatment (D4:278). Counted on its own, never inside VOP (D4:289)."
* #barnehabilitering "Barnehabilitering" "Child habilitation (D4:279)."
* #somatikk-rehabilitering "Somatikk/rehabilitering" "Somatic care and rehabilitation (D4:280)."
* #kommune "Kommunale helse- og omsorgstjenester" "A plan owned by a municipality or a bydel (not part of the D4 campaign figures, which counted hospitals)."

ValueSet: IPClinicalAreaVS
Id: ip-clinical-area
Title: "planbro IP clinical area"
Description: "The clinical areas of IP figures."
* include codes from system IPClinicalArea

Instance: ip-patients-with-plan
InstanceOf: Measure
Usage: #definition
Title: "Pasienter med individuell plan per tertial og fagområde"
* url = "http://planbro.no/fhir/Measure/ip-patients-with-plan"
* name = "IPPatientsWithPlan"
* title = "Pasienter med individuell plan per tertial og fagområde"
* status = #active
* experimental = false
* publisher = "planbro"
* description = "Patients with an individual plan at each tertial's cut-off (T1 Jan–Apr, T2 May–Aug, T3 Sep–Dec; counted «per 31. aug», D4:266), by clinical area, with the inclusion rule of the Helse Sør-Øst IP campaign: the patient already had an IP, or the planning work had started with a binding cooperation established (D4:258-261; GW-62)."
* definition[0] = "A plan is an IP CarePlan (category ip-category#individuell-plan). It counts at a cut-off C when its period contains C (period.start ≤ C, and no period.end or period.end ≥ C) and its lifecycle (current version) is finished, under-revision, on-hold or ended («already had an IP»), or is started («påbegynt») and one of its care teams (CarePlan.careTeam) has a coordinator (kodeverk 9034 code 8) whose participant period contains C («forpliktende samarbeid … om individuell plan»). Plans that are need-reported, consented, draft or entered-in-error never count."
* definition[1] = "Counting unit: the patient (CarePlan.subject.identifier system|value, else subject.reference), each counted once per cut-off. Clinical area: the Organization.type coding from ip-clinical-area of the plan owner (CarePlan.author); none: «ikke angitt». A patient with two counted plans at one cut-off is counted once, in the area of the plan that started last (GW-67). Aggregation: pooled counts over all plans in the store, no averaging."
* scoring = $measureScoring#cohort
* group[0].code.text = "patients-with-ip"
* group[0].description = "Distinct patients counted at one or more cut-offs of the period; the strata give each tertial, each area, and each tertial and area together (the third stratifier: the table of D4:264-285, reported with the code tertial-clinical-area)."
* group[0].population[0].code = $measurePopulation#initial-population
* group[0].population[0].description = "Patients with an IP at a cut-off of the period, by the D4 inclusion rule."
* group[0].population[0].criteria.language = #text/fhirpath
* group[0].population[0].criteria.expression = "category.coding.where(system = 'http://planbro.no/fhir/CodeSystem/ip-category' and code = 'individuell-plan').exists() and period.start <= %cutoff and (period.end.empty() or period.end >= %cutoff) and (extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle').value.code in ('finished' | 'under-revision' | 'on-hold' | 'ended') or (extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle').value.code = 'started' and careTeam.resolve().participant.where(role.coding.where(system = 'urn:oid:2.16.578.1.12.4.1.1.9034' and code = '8').exists() and period.start <= %cutoff and (period.end.empty() or period.end >= %cutoff)).exists()))"
* group[0].stratifier[0].code.text = "tertial"
* group[0].stratifier[0].description = "The tertial, as YYYY-T1, YYYY-T2 or YYYY-T3, counted at its cut-off."
* group[0].stratifier[0].criteria.language = #text/plain
* group[0].stratifier[0].criteria.expression = "the tertial of the cut-off"
* group[0].stratifier[1].code.text = "clinical-area"
* group[0].stratifier[1].description = "The clinical area (ip-clinical-area code, or «ikke angitt»): distinct patients of the period per area."
* group[0].stratifier[1].criteria.language = #text/fhirpath
* group[0].stratifier[1].criteria.expression = "author.resolve().type.coding.where(system = 'http://planbro.no/fhir/CodeSystem/ip-clinical-area').code"
// The third stratifier, tertial and clinical area together (the table of D4:264-285), has components only: a
// stratifier is a single criterion or a set of components, never both (mea-1). Its MeasureReport code is
// "tertial-clinical-area".
* group[0].stratifier[2].component[0].code.text = "tertial"
* group[0].stratifier[2].component[0].criteria.language = #text/plain
* group[0].stratifier[2].component[0].criteria.expression = "the tertial of the cut-off"
* group[0].stratifier[2].component[1].code.text = "clinical-area"
* group[0].stratifier[2].component[1].criteria.language = #text/fhirpath
* group[0].stratifier[2].component[1].criteria.expression = "author.resolve().type.coding.where(system = 'http://planbro.no/fhir/CodeSystem/ip-clinical-area').code"

Instance: ip-finished-plans
InstanceOf: Measure
Usage: #definition
Title: "Pasienter med ferdig utarbeidet individuell plan"
* url = "http://planbro.no/fhir/Measure/ip-finished-plans"
* name = "IPFinishedPlans"
* title = "Pasienter med ferdig utarbeidet individuell plan"
* status = #active
* experimental = false
* publisher = "planbro"
* description = "The national-indicator reading: patients whose plan is «ferdig utarbeidet» (finished) at each tertial's cut-off, by clinical area (D4:243-246, 344-346; GW-63). Started-but-not-finished plans are left out here and counted in ip-patients-with-plan."
* definition[0] = "As ip-patients-with-plan, but a plan counts at a cut-off C only when its period contains C and its lifecycle is finished («ferdig utarbeidet»). Counting unit, clinical area and aggregation as in ip-patients-with-plan."
* scoring = $measureScoring#cohort
* group[0].code.text = "patients-with-finished-ip"
* group[0].population[0].code = $measurePopulation#initial-population
* group[0].population[0].description = "Patients with a finished IP at a cut-off of the period."
* group[0].population[0].criteria.language = #text/fhirpath
* group[0].population[0].criteria.expression = "category.coding.where(system = 'http://planbro.no/fhir/CodeSystem/ip-category' and code = 'individuell-plan').exists() and period.start <= %cutoff and (period.end.empty() or period.end >= %cutoff) and extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle').value.code = 'finished'"
* group[0].stratifier[0].code.text = "tertial"
* group[0].stratifier[0].criteria.language = #text/plain
* group[0].stratifier[0].criteria.expression = "the tertial of the cut-off"
* group[0].stratifier[1].code.text = "clinical-area"
* group[0].stratifier[1].criteria.language = #text/fhirpath
* group[0].stratifier[1].criteria.expression = "author.resolve().type.coding.where(system = 'http://planbro.no/fhir/CodeSystem/ip-clinical-area').code"

Instance: ip-registered-active
InstanceOf: Measure
Usage: #definition
Title: "Registrerte og aktive individuelle planer"
* url = "http://planbro.no/fhir/Measure/ip-registered-active"
* name = "IPRegisteredActive"
* title = "Registrerte og aktive individuelle planer"
* status = #active
* experimental = false
* publisher = "planbro"
* description = "Plans registered vs plans real / in use / active, as in the Oslo ACOS IP survey (D0:1304-1312; GW-65)."
* definition[0] = "Registered (denominator): IP CarePlans, not entered-in-error, whose period overlaps the reporting period, or that have no period yet. Active (numerator): those of them with R4 status active (lifecycle started, finished or under-revision). Counting unit: the plan. Aggregation: pooled over all plans (numerator / denominator of the totals), never a mean of per-organisation ratios (D0:1275-1279 vs Table 3 cannot be reconciled otherwise)."
* scoring = $measureScoring#proportion
* group[0].code.text = "registered-vs-active"
* group[0].population[0].code = $measurePopulation#denominator
* group[0].population[0].description = "Registered plans."
* group[0].population[0].criteria.language = #text/fhirpath
* group[0].population[0].criteria.expression = "category.coding.where(system = 'http://planbro.no/fhir/CodeSystem/ip-category' and code = 'individuell-plan').exists() and status != 'entered-in-error' and (period.empty() or ((period.start.empty() or period.start <= %periodEnd) and (period.end.empty() or period.end >= %periodStart)))"
* group[0].population[1].code = $measurePopulation#numerator
* group[0].population[1].description = "Active plans among the registered."
* group[0].population[1].criteria.language = #text/fhirpath
* group[0].population[1].criteria.expression = "status = 'active'"

Instance: ip-coordinator-only
InstanceOf: Measure
Usage: #definition
Title: "Koordinator uten individuell plan («Enkelt samspill»)"
* url = "http://planbro.no/fhir/Measure/ip-coordinator-only"
* name = "IPCoordinatorOnly"
* title = "Koordinator uten individuell plan («Enkelt samspill»)"
* status = #active
* experimental = false
* publisher = "planbro"
* description = "Coordinator-only cases («Enkelt samspill»: a coordinator and/or a responsible group appointed without an IP), reported as a line of their own and never in the IP totals (D0:1255-1259, 1332-1336; GW-07, GW-66)."
* definition[0] = "Patients with an active IP CareTeam of category ip-category#enkelt-samspill that has a coordinator (kodeverk 9034 code 8) whose participant period overlaps the reporting period, and who have no IP CarePlan registered in the period (ip-registered-active's denominator). Counting unit: the patient. Aggregation: pooled count."
* scoring = $measureScoring#cohort
* group[0].code.text = "coordinator-only"
* group[0].population[0].code = $measurePopulation#initial-population
* group[0].population[0].description = "Patients with a coordinator but no IP."
* group[0].population[0].criteria.language = #text/fhirpath
* group[0].population[0].criteria.expression = "category.coding.where(system = 'http://planbro.no/fhir/CodeSystem/ip-category' and code = 'enkelt-samspill').exists() and status = 'active' and participant.where(role.coding.where(system = 'urn:oid:2.16.578.1.12.4.1.1.9034' and code = '8').exists() and (period.start.empty() or period.start <= %periodEnd) and (period.end.empty() or period.end >= %periodStart)).exists()"

Instance: ip-edited-only-by-coordinator
InstanceOf: Measure
Usage: #definition
Title: "Aktive planer der bare koordinator skriver"
* url = "http://planbro.no/fhir/Measure/ip-edited-only-by-coordinator"
* name = "IPEditedOnlyByCoordinator"
* title = "Aktive planer der bare koordinator skriver"
* status = #active
* experimental = false
* publisher = "planbro"
* description = "Active plans in which only the coordinator writes (D0:1314-1317; GW-65), counted from the Provenance of every change (GW-50)."
* definition[0] = "Denominator: the active plans of ip-registered-active that have at least one Provenance (target = the CarePlan, any version) recorded on or before the period end. Numerator: those of them where the agent.who of every such Provenance is one of the plan's coordinators: a member with kodeverk 9034 code 8 in any of the plan's care teams (CarePlan.careTeam), at any time. Counting unit: the plan. Aggregation: pooled (numerator / denominator of the totals)."
* scoring = $measureScoring#proportion
* group[0].code.text = "edited-only-by-coordinator"
* group[0].population[0].code = $measurePopulation#denominator
* group[0].population[0].description = "Active plans with a recorded change."
* group[0].population[0].criteria.language = #text/fhirpath
* group[0].population[0].criteria.expression = "status = 'active' and %provenances.exists()"
* group[0].population[1].code = $measurePopulation#numerator
* group[0].population[1].description = "Of these, plans whose every change was made by a coordinator."
* group[0].population[1].criteria.language = #text/fhirpath
* group[0].population[1].criteria.expression = "%provenances.agent.who.all(%coordinators contains $this.reference)"

Instance: ip-overdue-evaluations
InstanceOf: Measure
Usage: #definition
Title: "Planer og tiltak med passert evaluerings- eller revisjonsdato"
* url = "http://planbro.no/fhir/Measure/ip-overdue-evaluations"
* name = "IPOverdueEvaluations"
* title = "Planer og tiltak med passert evaluerings- eller revisjonsdato"
* status = #active
* experimental = false
* publisher = "planbro"
* description = "Active plans past their next revision date, and measures past their evaluation date (D0:397; D2:2897-2899; GW-25)."
* definition[0] = "Reference date R: the period end, or today (the server's clock) when that comes first. Group plans-revision-overdue: active plans of ip-registered-active whose ip-next-revision date is before R. Group measures-evaluation-overdue: measures (CarePlan.activity) of those active plans that are in the plan (ip-in-plan true), not ended (ip-measure-status not ended), with an ip-evaluation-date before R; counted as measures. Aggregation: pooled counts."
* scoring = $measureScoring#cohort
* group[0].code.text = "plans-revision-overdue"
* group[0].population[0].code = $measurePopulation#initial-population
* group[0].population[0].description = "Active plans past their next revision date."
* group[0].population[0].criteria.language = #text/fhirpath
* group[0].population[0].criteria.expression = "status = 'active' and extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-next-revision').value < %referenceDate"
* group[1].code.text = "measures-evaluation-overdue"
* group[1].population[0].code = $measurePopulation#initial-population
* group[1].population[0].description = "Measures in the plan, not ended, past their evaluation date."
* group[1].population[0].criteria.language = #text/fhirpath
* group[1].population[0].criteria.expression = "activity.where(extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-in-plan').value = true and detail.extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-measure-status').value.code != 'ended' and detail.extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-evaluation-date').value < %referenceDate)"

Instance: ip-initiated-active
InstanceOf: Measure
Usage: #definition
Title: "Individuelle planer initiert og aktive per tertial (NPR)"
* url = "http://planbro.no/fhir/Measure/ip-initiated-active"
* name = "IPInitiatedActive"
* title = "Individuelle planer initiert og aktive per tertial (NPR)"
* status = #active
* experimental = false
* publisher = "planbro"
* description = "IPs initiated, not only those discharged with an IP, and IPs active, per tertial, for the reporting to NPR (D0:1530-1533, 1512-1514; GW-64)."
* definition[0] = "Initiated in a tertial: an IP CarePlan (not entered-in-error) whose period.start lies within the tertial (clipped to the reporting period) and whose lifecycle is started («påbegynt») or later (finished, under-revision, on-hold, ended): the planning work has begun (D4:258-261). The start of the plan period is the date: every started plan has one (invariant ip-careplan-active-period), so no version history is needed; need-reported and consented plans are not initiated, as no planning work is done yet. Active at a cut-off: the plan period contains the cut-off and the lifecycle is started, finished, under-revision or ended (an ended plan was in use until its period end); on-hold plans are not in use. The lifecycle is the current version's."
* definition[1] = "Counting unit: the plan («antall IP»), so a patient with an ended plan and its successor counts twice. Group initiated: initial-population = plans initiated in the period (the sum of the tertials). Group active: initial-population = distinct plans active at one or more cut-offs. Aggregation: pooled counts."
* scoring = $measureScoring#cohort
* group[0].code.text = "initiated"
* group[0].population[0].code = $measurePopulation#initial-population
* group[0].population[0].description = "Plans initiated in the period."
* group[0].population[0].criteria.language = #text/fhirpath
* group[0].population[0].criteria.expression = "period.start >= %tertialStart and period.start <= %cutoff and extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle').value.code in ('started' | 'finished' | 'under-revision' | 'on-hold' | 'ended')"
* group[0].stratifier[0].code.text = "tertial"
* group[0].stratifier[0].criteria.language = #text/plain
* group[0].stratifier[0].criteria.expression = "the tertial the plan period starts in"
* group[1].code.text = "active"
* group[1].population[0].code = $measurePopulation#initial-population
* group[1].population[0].description = "Plans active at a cut-off of the period."
* group[1].population[0].criteria.language = #text/fhirpath
* group[1].population[0].criteria.expression = "period.start <= %cutoff and (period.end.empty() or period.end >= %cutoff) and extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle').value.code in ('started' | 'finished' | 'under-revision' | 'ended')"
* group[1].stratifier[0].code.text = "tertial"
* group[1].stratifier[0].criteria.language = #text/plain
* group[1].stratifier[0].criteria.expression = "the tertial of the cut-off"

Instance: ip-active-by-source-system
InstanceOf: Measure
Usage: #definition
Title: "Aktive individuelle planer per fagsystem"
* url = "http://planbro.no/fhir/Measure/ip-active-by-source-system"
* name = "IPActiveBySourceSystem"
* title = "Aktive individuelle planer per fagsystem"
* status = #active
* experimental = false
* publisher = "planbro"
* description = "Active plans by the system they are written in (ACOS IP, Gerica, Fasit (NAV), …: D0:1275-1278, 1320-1322; GW-65)."
* definition[0] = "The active plans of ip-registered-active, each in exactly one stratum: the source system of its latest change recorded on or before the period end, read from that change's Provenance (GW-50): the agent of type provenance-participant-type#assembler, whose who.identifier (system http://planbro.no/fhir/NamingSystem/source-system) names the system the write came through (the gateway's source_system of the REST client, adapter or loader). A plan without such a Provenance: «ikke-angitt». Two changes at one instant: the smaller system name. The latest change decides so that after a migration a plan counts once, in the system it is kept in now. Counting unit: the plan. Aggregation: pooled counts."
* scoring = $measureScoring#cohort
* group[0].code.text = "active-plans-by-source-system"
* group[0].population[0].code = $measurePopulation#initial-population
* group[0].population[0].description = "Active plans."
* group[0].population[0].criteria.language = #text/fhirpath
* group[0].population[0].criteria.expression = "status = 'active'"
* group[0].stratifier[0].code.text = "source-system"
* group[0].stratifier[0].criteria.language = #text/fhirpath
* group[0].stratifier[0].criteria.expression = "%latestProvenance.agent.where(type.coding.where(system = 'http://terminology.hl7.org/CodeSystem/provenance-participant-type' and code = 'assembler').exists()).who.identifier.where(system = 'http://planbro.no/fhir/NamingSystem/source-system').value"

Instance: ip-coordinators-by-organization
InstanceOf: Measure
Usage: #definition
Title: "Koordinatorer per organisasjon"
* url = "http://planbro.no/fhir/Measure/ip-coordinators-by-organization"
* name = "IPCoordinatorsByOrganization"
* title = "Koordinatorer per organisasjon"
* status = #active
* experimental = false
* publisher = "planbro"
* description = "The coordinators of the active plans by the organisation they act for, e.g. NAV (D0:1278-1280, 1326-1328; GW-65)."
* definition[0] = "A coordinator: a participant with kodeverk 9034 code 8 in a care team of an active plan of ip-registered-active, whose participant period overlaps the reporting period. Counting unit: the person (participant.member), counted once in the total. Stratum: the organisation of participant.onBehalfOf, by its organisation number (Enhetsregisteret, urn:oid:2.16.578.1.12.4.1.4.101); none given, or an organisation without one: «ikke-angitt». A person coordinating for two organisations counts once in each organisation's stratum, so the strata may add up to more than the total. Aggregation: pooled distinct counts."
* scoring = $measureScoring#cohort
* group[0].code.text = "coordinators-by-organization"
* group[0].population[0].code = $measurePopulation#initial-population
* group[0].population[0].description = "Distinct coordinators of active plans in the period."
* group[0].population[0].criteria.language = #text/fhirpath
* group[0].population[0].criteria.expression = "careTeam.resolve().participant.where(role.coding.where(system = 'urn:oid:2.16.578.1.12.4.1.1.9034' and code = '8').exists() and (period.start.empty() or period.start <= %periodEnd) and (period.end.empty() or period.end >= %periodStart)).member"
* group[0].stratifier[0].code.text = "organization"
* group[0].stratifier[0].criteria.language = #text/fhirpath
* group[0].stratifier[0].criteria.expression = "onBehalfOf.resolve().identifier.where(system = 'urn:oid:2.16.578.1.12.4.1.4.101').value"

Instance: ip-national-indicators
InstanceOf: Measure
Usage: #definition
Title: "Nasjonale indikatorer: ferdig utarbeidet IP i barnehabilitering, ved ADHD og schizofreni"
* url = "http://planbro.no/fhir/Measure/ip-national-indicators"
* name = "IPNationalIndicators"
* title = "Nasjonale indikatorer: ferdig utarbeidet IP i barnehabilitering, ved ADHD og schizofreni"
* status = #active
* experimental = false
* publisher = "planbro"
* description = "The national quality indicators on IP (barnehabilitering, ADHD and schizofreni), which count finished plans only (D4:241-246, 344-346; GW-63)."
* definition[0] = "As ip-finished-plans (lifecycle finished at a tertial's cut-off, the patient as counting unit), split in three groups. barnehabilitering: the plan owner's clinical area (ip-clinical-area) is barnehabilitering. adhd: a Condition the plan addresses (CarePlan.addresses) has an ICD-10 code F90.* (system urn:oid:2.16.578.1.12.4.1.1.7110, codes without the dot such as F900, or http://hl7.org/fhir/sid/icd-10). schizofreni: likewise F20.*. A patient may be in more than one group. Only counts are reported: the indicators' denominators (all patients with the diagnosis) are outside an IP register. Aggregation: pooled counts."
* scoring = $measureScoring#cohort
* group[0].code.text = "barnehabilitering"
* group[0].population[0].code = $measurePopulation#initial-population
* group[0].population[0].description = "Patients with a finished IP owned by barnehabilitering."
* group[0].population[0].criteria.language = #text/fhirpath
* group[0].population[0].criteria.expression = "extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle').value.code = 'finished' and author.resolve().type.coding.where(system = 'http://planbro.no/fhir/CodeSystem/ip-clinical-area' and code = 'barnehabilitering').exists()"
* group[0].stratifier[0].code.text = "tertial"
* group[0].stratifier[0].criteria.language = #text/plain
* group[0].stratifier[0].criteria.expression = "the tertial of the cut-off"
* group[1].code.text = "adhd"
* group[1].population[0].code = $measurePopulation#initial-population
* group[1].population[0].description = "Patients with a finished IP addressing ADHD (ICD-10 F90)."
* group[1].population[0].criteria.language = #text/fhirpath
* group[1].population[0].criteria.expression = "extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle').value.code = 'finished' and addresses.resolve().code.coding.where((system = 'urn:oid:2.16.578.1.12.4.1.1.7110' or system = 'http://hl7.org/fhir/sid/icd-10') and code.startsWith('F90')).exists()"
* group[1].stratifier[0].code.text = "tertial"
* group[1].stratifier[0].criteria.language = #text/plain
* group[1].stratifier[0].criteria.expression = "the tertial of the cut-off"
* group[2].code.text = "schizofreni"
* group[2].population[0].code = $measurePopulation#initial-population
* group[2].population[0].description = "Patients with a finished IP addressing schizofreni (ICD-10 F20)."
* group[2].population[0].criteria.language = #text/fhirpath
* group[2].population[0].criteria.expression = "extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle').value.code = 'finished' and addresses.resolve().code.coding.where((system = 'urn:oid:2.16.578.1.12.4.1.1.7110' or system = 'http://hl7.org/fhir/sid/icd-10') and code.startsWith('F20')).exists()"
* group[2].stratifier[0].code.text = "tertial"
* group[2].stratifier[0].criteria.language = #text/plain
* group[2].stratifier[0].criteria.expression = "the tertial of the cut-off"

Extension: IPFiguresDataQualityExt
Id: ip-figures-data-quality
Title: "IP figures data-quality note"
Description: "On a stored IP figures MeasureReport (`$ip-figures` with persist=true) that restates an earlier version of the same report (same measure and period, same id): the version it replaces, when that was computed, and every number that changed as «was → is», or that none did (D4:287-291 «nedjustert etter en tallrevisjon»; GW-67). The earlier versions stay readable through the report's _history."
* ^context[0].type = #element
* ^context[0].expression = "MeasureReport"
* value[x] only string
* valueString 1..1

Instance: ip-figures
InstanceOf: OperationDefinition
Usage: #definition
Title: "IP figures"
* url = "http://planbro.no/fhir/OperationDefinition/ip-figures"
* name = "IPFigures"
* title = "IP figures"
* status = #active
* kind = #operation
* publisher = "planbro"
* description = "The IP figures (GW-62…GW-68) for a period, computed from the store: one MeasureReport (type summary) per Measure of the package (ip-patients-with-plan, ip-finished-plans, ip-registered-active, ip-coordinator-only, ip-edited-only-by-coordinator, ip-overdue-evaluations, ip-initiated-active, ip-active-by-source-system, ip-coordinators-by-organization, ip-national-indicators), in a Bundle of type collection. The parameters are those of Measure/$evaluate-measure; without them the period is the current year by the server's clock."
* affectsState = false
* comment = "affectsState is false because the operation only reads unless persist=true; with persist=true it stores the reports, and then only POST is accepted (a GET with persist=true is 400), as for an operation that affects state."
* code = #ip-figures
* system = true
* type = false
* instance = false
* parameter[0].name = #periodStart
* parameter[0].use = #in
* parameter[0].min = 0
* parameter[0].max = "1"
* parameter[0].type = #date
* parameter[0].documentation = "Start of the period (YYYY, YYYY-MM or YYYY-MM-DD; the first day it covers). Default: 1 January of the current year."
* parameter[1].name = #periodEnd
* parameter[1].use = #in
* parameter[1].min = 0
* parameter[1].max = "1"
* parameter[1].type = #date
* parameter[1].documentation = "End of the period (YYYY, YYYY-MM or YYYY-MM-DD; the last day it covers). Default: 31 December of the current year."
* parameter[2].name = #persist
* parameter[2].use = #in
* parameter[2].min = 0
* parameter[2].max = "1"
* parameter[2].type = #boolean
* parameter[2].documentation = "true: store every MeasureReport under a stable id per measure and period (MeasureReport/<measure id>-<YYYYMMDD start>-<YYYYMMDD end>, identifier http://planbro.no/fhir/NamingSystem/ip-figures-report <measure id>|<start>|<end>); a re-run of the period is a new version of the same report carrying the ip-figures-data-quality note, and earlier versions stay readable through _history (GW-67). Needs POST and the right to update MeasureReports. Default false: nothing is stored."
* parameter[3].name = #return
* parameter[3].use = #out
* parameter[3].min = 1
* parameter[3].max = "1"
* parameter[3].type = #Bundle
* parameter[3].documentation = "A Bundle of type collection with one MeasureReport per figure (with persist=true: the stored reports, each with its fullUrl)."
