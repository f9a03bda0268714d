Instance: ip-plan-lifecycle-to-r4
InstanceOf: ConceptMap
Usage: #definition
Title: "IP plan lifecycle to R4 CarePlan.status"
* url = "http://planbro.no/fhir/ConceptMap/ip-plan-lifecycle-to-r4"
* name = "IPPlanLifecycleToR4"
* status = #draft
* description = "The R4 CarePlan.status each IP lifecycle code goes with (enforced by the IP CarePlan invariants ip-cp-1 … ip-cp-4)."
* sourceCanonical = "http://planbro.no/fhir/ValueSet/ip-plan-lifecycle"
* targetCanonical = "http://hl7.org/fhir/ValueSet/request-status"
* group.source = "http://planbro.no/fhir/CodeSystem/ip-plan-lifecycle"
* group.target = "http://hl7.org/fhir/request-status"
* group.element[0].code = #need-reported
* group.element[0].target.code = #draft
* group.element[0].target.equivalence = #wider
* group.element[1].code = #consented
* group.element[1].target.code = #draft
* group.element[1].target.equivalence = #wider
* group.element[2].code = #started
* group.element[2].target.code = #active
* group.element[2].target.equivalence = #wider
* group.element[3].code = #finished
* group.element[3].target.code = #active
* group.element[3].target.equivalence = #wider
* group.element[4].code = #on-hold
* group.element[4].target.code = #on-hold
* group.element[4].target.equivalence = #equivalent
* group.element[5].code = #under-revision
* group.element[5].target.code = #active
* group.element[5].target.equivalence = #wider
* group.element[6].code = #ended
* group.element[6].target[0].code = #completed
* group.element[6].target[0].equivalence = #wider
* group.element[6].target[1].code = #revoked
* group.element[6].target[1].equivalence = #wider
* group.element[6].target[1].comment = "When the plan ended before it was finished."

Instance: ip-measure-status-to-r4
InstanceOf: ConceptMap
Usage: #definition
Title: "IP measure status to R4 CarePlan.activity.detail.status"
* url = "http://planbro.no/fhir/ConceptMap/ip-measure-status-to-r4"
* name = "IPMeasureStatusToR4"
* status = #draft
* description = "The R4 activity status each IP measure status goes with (enforced by the IP CarePlan invariants ip-act-1 … ip-act-4)."
* sourceCanonical = "http://planbro.no/fhir/ValueSet/ip-measure-status"
* targetCanonical = "http://hl7.org/fhir/ValueSet/care-plan-activity-status"
* group.source = "http://planbro.no/fhir/CodeSystem/ip-measure-status"
* group.target = "http://hl7.org/fhir/care-plan-activity-status"
* group.element[0].code = #wished
* group.element[0].target.code = #not-started
* group.element[0].target.equivalence = #wider
* group.element[1].code = #planned
* group.element[1].target.code = #not-started
* group.element[1].target.equivalence = #wider
* group.element[2].code = #applied-for
* group.element[2].target.code = #not-started
* group.element[2].target.equivalence = #wider
* group.element[3].code = #started
* group.element[3].target.code = #in-progress
* group.element[3].target.equivalence = #equivalent
* group.element[4].code = #on-hold
* group.element[4].target.code = #on-hold
* group.element[4].target.equivalence = #equivalent
* group.element[5].code = #ended
* group.element[5].target[0].code = #completed
* group.element[5].target[0].equivalence = #wider
* group.element[5].target[1].code = #stopped
* group.element[5].target[1].equivalence = #wider
* group.element[5].target[2].code = #cancelled
* group.element[5].target[2].equivalence = #wider
