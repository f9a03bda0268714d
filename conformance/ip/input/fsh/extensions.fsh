Extension: IPPlanLifecycleExt
Id: ip-plan-lifecycle
Title: "IP plan lifecycle"
Description: "Where the individual plan is in its lifecycle (need reported … ended). CarePlan.status keeps its R4 meaning; the invariants of IP CarePlan tie the two together (GW-06)."
* ^context[0].type = #element
* ^context[0].expression = "CarePlan"
* value[x] only Coding
* valueCoding 1..1
* valueCoding from IPPlanLifecycleVS (required)

Extension: IPNextRevisionExt
Id: ip-next-revision
Title: "IP next revision date"
Description: "The date set for the next adjustment or revision of the plan («tidspunkt for eventuelle justeringer og revisjoner», D0:397; GW-25)."
* ^context[0].type = #element
* ^context[0].expression = "CarePlan"
* value[x] only date
* valueDate 1..1

Extension: IPSituationDescriptionExt
Id: ip-situation-description
Title: "IP situation description"
Description: "«Situasjonsbeskrivelse om brukeren», including the user's general resources (D2:1483-1489; GW-16). Kept as written."
* ^context[0].type = #element
* ^context[0].expression = "CarePlan"
* value[x] only string
* valueString 1..1

Extension: IPLegalBasisExt
Id: ip-legal-basis
Title: "IP legal basis"
Description: "The legal basis of the plan. «tvungent-psykisk-helsevern» marks the compulsory-care exception: the plan may start without the plan consent (D2:823-825; GW-45). Visible to every participant."
* ^context[0].type = #element
* ^context[0].expression = "CarePlan"
* value[x] only Coding
* valueCoding 1..1
* valueCoding from IPLegalBasisVS (required)

Extension: IPLifeDomainExt
Id: ip-life-domain
Title: "IP life domain"
Description: "The life domain («livsområde») of a goal or a measure. A goal and a measure set it independently (GW-13). The binding is preferred: the code system is meant to be replaced."
* ^context[0].type = #element
* ^context[0].expression = "Goal"
* ^context[1].type = #element
* ^context[1].expression = "CarePlan.activity"
* value[x] only CodeableConcept
* valueCodeableConcept 1..1
* valueCodeableConcept from IPLifeDomainVS (preferred)

Extension: IPInPlanExt
Id: ip-in-plan
Title: "IP in the plan"
Description: "Whether a measure is part of the individual plan (true) or an internal follow-up measure that must not be published to the plan's participants (false) (D2:2783-2787; GW-21)."
* ^context[0].type = #element
* ^context[0].expression = "CarePlan.activity"
* value[x] only boolean
* valueBoolean 1..1

Extension: IPMeasureStatusExt
Id: ip-measure-status
Title: "IP measure status"
Description: "The status of a measure (wished, planned, applied for, started, on hold, ended); CarePlan.activity.detail.status keeps its R4 meaning (GW-18)."
* ^context[0].type = #element
* ^context[0].expression = "CarePlan.activity.detail"
* value[x] only Coding
* valueCoding 1..1
* valueCoding from IPMeasureStatusVS (required)

Extension: IPMeasureScopeExt
Id: ip-measure-scope
Title: "IP measure scope"
Description: "The scope or extent of a measure («omfang», D2:1981-1982, 2158; GW-17), as written."
* ^context[0].type = #element
* ^context[0].expression = "CarePlan.activity.detail"
* value[x] only string
* valueString 1..1

Extension: IPEvaluationDateExt
Id: ip-evaluation-date
Title: "IP evaluation date"
Description: "The date a measure is to be evaluated («dato for evaluering», D2:2757-2758; GW-25)."
* ^context[0].type = #element
* ^context[0].expression = "CarePlan.activity.detail"
* value[x] only date
* valueDate 1..1

Extension: IPMeasureWishExt
Id: ip-measure-wish
Title: "IP wished measure"
Description: "The measure and scope as the user wished them («Ønsket tiltak», «Ønsket omfang», D2:1932-1950; GW-17), kept apart from what was planned."
* ^context[0].type = #element
* ^context[0].expression = "CarePlan.activity.detail"
* extension contains
    measure 0..1 and
    scope 0..1
* extension[measure].value[x] only string
* extension[measure].valueString 1..1
* extension[measure] ^short = "Wished measure, as written"
* extension[scope].value[x] only string
* extension[scope].valueString 1..1
* extension[scope] ^short = "Wished scope, as written"

Extension: IPMeasureEvaluationExt
Id: ip-measure-evaluation
Title: "IP measure evaluation"
Description: "One evaluation of a measure, by the user or by a professional; each is its own repetition so neither overwrites the other (D2:2128-2139, 2150-2153; GW-20)."
* ^context[0].type = #element
* ^context[0].expression = "CarePlan.activity"
* extension contains
    role 1..1 and
    author 1..1 and
    date 1..1 and
    howItWent 0..1 and
    scopeSatisfaction 0..1 and
    qualitySatisfaction 0..1 and
    comment 0..1 and
    conclusion 0..1
* extension[role].value[x] only Coding
* extension[role].valueCoding 1..1
* extension[role].valueCoding from IPEvaluationRoleVS (required)
* extension[author].value[x] only Reference(Patient or RelatedPerson or Practitioner or PractitionerRole)
* extension[date].value[x] only date
* extension[howItWent].value[x] only string
* extension[howItWent] ^short = "How the measure was carried out"
* extension[scopeSatisfaction].value[x] only string
* extension[scopeSatisfaction] ^short = "Satisfaction with the scope"
* extension[qualitySatisfaction].value[x] only string
* extension[qualitySatisfaction] ^short = "Satisfaction with the quality"
* extension[comment].value[x] only string
* extension[conclusion].value[x] only Coding
* extension[conclusion].valueCoding from IPEvaluationConclusionVS (required)

Extension: IPLinkKindExt
Id: ip-link-kind
Title: "IP link kind"
Description: "On a CarePlan.supportingInfo reference: what the referenced resource is to the plan (crisis plan, warning signals, decision, agreement, another organisation's plan, consent). Linked, not copied (GW-22, GW-23)."
* ^context[0].type = #element
* ^context[0].expression = "CarePlan.supportingInfo"
* value[x] only Coding
* valueCoding 1..1
* valueCoding from IPLinkKindVS (required)

Extension: IPGoalPartOfExt
Id: ip-goal-part-of
Title: "IP goal part of"
Description: "The goal this goal is part of: a sub-goal points to the main goal, a measure goal to its life-domain goal or sub-goal (GW-11)."
* ^context[0].type = #element
* ^context[0].expression = "Goal"
* value[x] only Reference(IPGoal)
* valueReference 1..1

Extension: IPInformationGivenExt
Id: ip-information-given
Title: "IP information given"
Description: "That information about the individual plan was given to the user, by whom and when, recorded apart from the consent itself (D2:302, 831-833; GW-49)."
* ^context[0].type = #element
* ^context[0].expression = "Consent"
* extension contains
    date 1..1 and
    by 1..1
* extension[date].value[x] only dateTime
* extension[by].value[x] only Reference(Practitioner or PractitionerRole)

Extension: IPHandoverExt
Id: ip-handover
Title: "IP coordinator handover"
Description: "On a coordinator participant of an IP CareTeam: this coordinator's period overlaps the other coordinator's by a declared handover (D2:2466-2483; GW-31, GW-32)."
* ^context[0].type = #element
* ^context[0].expression = "CareTeam.participant"
* value[x] only boolean
* valueBoolean 1..1

Extension: IPGoalContactPersonExt
Id: ip-goal-contact-person
Title: "IP goal contact person"
Description: "The contact person («Kontaktperson») for a sub-goal or need, who may be the coordinator (D4:155-166; GW-24)."
* ^context[0].type = #element
* ^context[0].expression = "Goal"
* value[x] only Reference(Practitioner or PractitionerRole or RelatedPerson or Organization)
* valueReference 1..1
