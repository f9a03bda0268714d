// The four IP profiles. The HL7 Norway no-basis profiles are not available to SUSHI as a FHIR package offline
// (../shared/fhir-r4/norway/ holds their XML only), and no-basis has no CarePlan, Goal, CareTeam or Consent profile,
// so these profile the R4 core resources and require the no-basis identifier systems by invariant (ip-person-id).

Invariant: ip-person-id
Description: "The person is identified by a Norwegian fødselsnummer, D-nummer or felles hjelpenummer (no-basis identifier systems)."
Expression: "identifier.system = 'urn:oid:2.16.578.1.12.4.1.4.1' or identifier.system = 'urn:oid:2.16.578.1.12.4.1.4.2' or identifier.system = 'urn:oid:2.16.578.1.12.4.1.4.3'"
Severity: #error

// ---------------------------------------------------------------------------------------------------------------
Invariant: ip-cp-1
Description: "A plan whose lifecycle is need-reported or consented has R4 status draft."
Expression: "extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle' and (value.code = 'need-reported' or value.code = 'consented')).exists() implies status = 'draft'"
Severity: #error

Invariant: ip-cp-2
Description: "A plan whose lifecycle is started (påbegynt), finished (ferdig utarbeidet) or under revision has R4 status active."
Expression: "extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle' and (value.code = 'started' or value.code = 'finished' or value.code = 'under-revision')).exists() implies status = 'active'"
Severity: #error

Invariant: ip-cp-3
Description: "A plan whose lifecycle is on-hold has R4 status on-hold."
Expression: "extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle' and value.code = 'on-hold').exists() implies status = 'on-hold'"
Severity: #error

Invariant: ip-cp-4
Description: "A plan whose lifecycle is ended has R4 status completed or revoked."
Expression: "extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-plan-lifecycle' and value.code = 'ended').exists() implies (status = 'completed' or status = 'revoked')"
Severity: #error

Invariant: ip-cp-5
Description: "An active plan has a plan period with a start."
Expression: "status = 'active' implies period.start.exists()"
Severity: #error

Invariant: ip-act-1
Description: "A wished, planned or applied-for measure has R4 activity status not-started."
Expression: "extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-measure-status' and (value.code = 'wished' or value.code = 'planned' or value.code = 'applied-for')).exists() implies status = 'not-started'"
Severity: #error

Invariant: ip-act-2
Description: "A started measure has R4 activity status in-progress."
Expression: "extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-measure-status' and value.code = 'started').exists() implies status = 'in-progress'"
Severity: #error

Invariant: ip-act-3
Description: "A measure on hold has R4 activity status on-hold."
Expression: "extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-measure-status' and value.code = 'on-hold').exists() implies status = 'on-hold'"
Severity: #error

Invariant: ip-act-4
Description: "An ended measure has R4 activity status completed, stopped or cancelled."
Expression: "extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-measure-status' and value.code = 'ended').exists() implies (status = 'completed' or status = 'stopped' or status = 'cancelled')"
Severity: #error

Profile: IPCarePlan
Parent: CarePlan
Id: ip-careplan
Title: "IP CarePlan"
Description: "An individual plan (individuell plan): one per patient, the plan lifecycle next to the R4 status, plan period and next revision, situation description, goals, measures («tiltak») and links by reference to the crisis plan, warning signals, decisions, agreements and other organisations' plans."
* obeys ip-cp-1 and ip-cp-2 and ip-cp-3 and ip-cp-4 and ip-cp-5
* extension contains
    IPPlanLifecycleExt named lifecycle 1..1 MS and
    IPNextRevisionExt named nextRevision 0..1 MS and
    IPSituationDescriptionExt named situationDescription 0..1 MS and
    IPLegalBasisExt named legalBasis 0..1 MS
* extension[lifecycle] ^short = "Plan lifecycle: need-reported | consented | started | finished | on-hold | under-revision | ended"
* extension[legalBasis] ^short = "Legal basis; tvungent-psykisk-helsevern = the compulsory-care exception"
* intent = #plan
* category 1..* MS
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category ^slicing.description = "The individuell-plan category marks the CarePlan as an IP."
* category contains ip 1..1 MS
* category[ip] = IPCategory#individuell-plan
* subject only Reference(Patient)
* subject MS
* subject.identifier 1..1 MS
* subject.identifier.system 1..1
* subject.identifier.value 1..1
* subject obeys ip-person-id
* subject ^short = "The user, by a Norwegian identifier (and a reference where known)"
* period MS
* period ^short = "Plan period («planperioden»)"
* author only Reference(Organization or PractitionerRole or Practitioner)
* author ^short = "The plan owner organisation, or the initiator until ownership is set"
* careTeam only Reference(IPCareTeam)
* careTeam MS
* goal only Reference(IPGoal)
* goal MS
* supportingInfo MS
* supportingInfo ^short = "Crisis plan, warning signals, decisions, agreements, other plans, consents: by reference, not copy"
* supportingInfo.extension contains IPLinkKindExt named linkKind 1..1
* activity MS
* activity ^short = "A measure («tiltak»)"
* activity.extension contains
    IPInPlanExt named inPlan 1..1 MS and
    IPLifeDomainExt named lifeDomain 0..1 MS and
    IPMeasureEvaluationExt named evaluation 0..* MS
* activity.reference 0..0
* activity.detail 1..1 MS
* activity.detail obeys ip-act-1 and ip-act-2 and ip-act-3 and ip-act-4
* activity.detail.extension contains
    IPMeasureStatusExt named measureStatus 1..1 MS and
    IPMeasureScopeExt named scope 0..1 MS and
    IPEvaluationDateExt named evaluationDate 0..1 MS and
    IPMeasureWishExt named wish 0..1
* activity.detail.code 1..1 MS
* activity.detail.code from IPMeasureNameVS (example)
* activity.detail.code ^short = "Name of the measure: a local code and always the name as written in text"
* activity.detail.code.text 1..1
* activity.detail.reasonCode ^short = "Justification («begrunnelse for tiltaket»), as text"
* activity.detail.goal only Reference(IPGoal)
* activity.detail.goal MS
* activity.detail.scheduled[x] only Period
* activity.detail.scheduled[x] ^short = "Start (oppstartdato) with its precision kept: 2003, 2003-05 or a full date"
* activity.detail.performer only Reference(Practitioner or PractitionerRole or Organization or RelatedPerson or Patient)
* activity.detail.performer MS
* activity.detail.performer ^short = "Who is responsible for the measure"
* activity.detail.description MS
* activity.detail.description ^short = "Content («spesifisering av innhold»)"
* activity.progress ^short = "Supplementary information and running notes («utfyllende opplysninger»)"

// ---------------------------------------------------------------------------------------------------------------
Invariant: ip-goal-1
Description: "A main goal (hovedmål) is not part of another goal."
Expression: "category.coding.where(code = 'hovedmal').exists() implies extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-goal-part-of').empty()"
Severity: #error

Invariant: ip-goal-2
Description: "A sub-goal (delmål) is part of another goal."
Expression: "category.coding.where(code = 'delmal').exists() implies extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-goal-part-of').exists()"
Severity: #error

Invariant: ip-goal-3
Description: "A life-domain goal carries its life domain."
Expression: "category.coding.where(code = 'livsomrade-mal').exists() implies extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-life-domain').exists()"
Severity: #error

Profile: IPGoal
Parent: Goal
Id: ip-goal
Title: "IP Goal"
Description: "A goal of an individual plan: main goal, sub-goal, life-domain goal or measure goal, linked by ip-goal-part-of; the user's own wording kept exactly in description.text."
* obeys ip-goal-1 and ip-goal-2 and ip-goal-3
* extension contains
    IPGoalPartOfExt named partOf 0..1 MS and
    IPLifeDomainExt named lifeDomain 0..1 MS and
    IPGoalContactPersonExt named contactPerson 0..* MS
* category 1..1 MS
* category from IPGoalLevelVS (required)
* category ^short = "Goal level: hovedmal | delmal | livsomrade-mal | tiltaksmal"
* description MS
* description.text 1..1 MS
* description.text ^short = "The goal in the user's own words, kept exactly (no normalisation or truncation)"
* subject only Reference(Patient)
* subject.identifier 1..1
* subject obeys ip-person-id
* expressedBy MS
* expressedBy ^short = "Whose words these are (the user, a relative or a professional)"

// ---------------------------------------------------------------------------------------------------------------
Invariant: ip-ct-1
Description: "At most one coordinator without an end date, unless a coordinator is flagged as in a declared handover."
Expression: "participant.where(role.coding.where(system = 'urn:oid:2.16.578.1.12.4.1.1.9034' and code = '8').exists() and period.end.empty()).count() <= 1 or participant.extension.where(url = 'http://planbro.no/fhir/StructureDefinition/ip-handover' and value = true).exists()"
Severity: #error

Profile: IPCareTeam
Parent: CareTeam
Id: ip-careteam
Title: "IP CareTeam"
Description: "The team around an individual plan, or a coordinator-only team («Enkelt samspill», no plan): the user, the coordinator (kodeverk 9034 code 8), contact persons, responsible providers, relatives and friends, GP, NAV and other agencies, each with a period."
* obeys ip-ct-1
* category 1..1 MS
* category from IPCareTeamCategoryVS (required)
* category ^short = "individuell-plan | enkelt-samspill (a coordinator without a plan)"
* subject 1..1 MS
* subject only Reference(Patient)
* subject.identifier 1..1
* subject obeys ip-person-id
* participant 1..* MS
* participant ^slicing.discriminator.type = #pattern
* participant ^slicing.discriminator.path = "role"
* participant ^slicing.rules = #open
* participant ^slicing.description = "The coordinator is the participant whose role is kodeverk 9034 code 8."
* participant contains coordinator 1..* MS
* participant.role 1..1 MS
* participant.role from IPCareTeamRoleVS (extensible)
* participant.member 1..1 MS
* participant.member only Reference(Patient or RelatedPerson or Practitioner or PractitionerRole or Organization or CareTeam)
* participant.period 1..1 MS
* participant.period.start 1..1
* participant.extension contains IPHandoverExt named handover 0..1
* participant[coordinator].role = $V9034#8
* participant[coordinator].member only Reference(Practitioner or PractitionerRole)

// ---------------------------------------------------------------------------------------------------------------
Invariant: ip-cons-1
Description: "Exactly one of the two IP consent kinds (plan or sharing)."
Expression: "category.coding.where(system = 'http://planbro.no/fhir/CodeSystem/ip-consent-kind').count() = 1"
Severity: #error

Invariant: ip-cons-2
Description: "The sharing consent names at least one participant in its provision."
Expression: "category.coding.where(system = 'http://planbro.no/fhir/CodeSystem/ip-consent-kind' and code = 'sharing').exists() implies provision.actor.exists()"
Severity: #error

Invariant: ip-cons-3
Description: "The plan consent has scope treatment; the sharing consent has scope patient-privacy."
Expression: "(category.coding.where(system = 'http://planbro.no/fhir/CodeSystem/ip-consent-kind' and code = 'plan').exists() implies scope.coding.where(code = 'treatment').exists()) and (category.coding.where(system = 'http://planbro.no/fhir/CodeSystem/ip-consent-kind' and code = 'sharing').exists() implies scope.coding.where(code = 'patient-privacy').exists())"
Severity: #error

Profile: IPConsent
Parent: Consent
Id: ip-consent
Title: "IP Consent"
Description: "One of the two consents of an individual plan: to make the plan, or to share confidential information with named participants. Reservations are nested deny provisions; the provision period defaults to the plan period; a proxy or guardian is a RelatedPerson performer. Under the compulsory-care exception (IP CarePlan legalBasis tvungent-psykisk-helsevern) the plan consent may be absent."
* obeys ip-cons-1 and ip-cons-2 and ip-cons-3
* extension contains IPInformationGivenExt named informationGiven 0..1 MS
* category ^slicing.discriminator.type = #pattern
* category ^slicing.discriminator.path = "$this"
* category ^slicing.rules = #open
* category contains
    loinc 1..1 MS and
    planConsent 0..1 MS and
    sharingConsent 0..1 MS
* category[loinc] = $LOINC#59284-0
* category[planConsent] = IPConsentKind#plan
* category[sharingConsent] = IPConsentKind#sharing
* patient 1..1 MS
* patient only Reference(Patient)
* patient.identifier 1..1
* patient obeys ip-person-id
* dateTime 1..1 MS
* performer 1..* MS
* performer only Reference(Patient or RelatedPerson)
* performer ^short = "The user, or the proxy or guardian («den som kan samtykke på vegne av», «foresatt») as a RelatedPerson"
* policyRule 1..1 MS
* policyRule from IPLegalBasisVS (extensible)
* provision 1..1 MS
* provision.type 1..1
* provision.type = #permit
* provision.period 1..1 MS
* provision.period ^short = "Validity; by default the plan period (a new plan period needs a new consent)"
* provision.data 1..* MS
* provision.data ^short = "The individual plan the consent is for"
* provision.data.reference only Reference(IPCarePlan)
* provision.actor MS
* provision.actor ^short = "The named participants who may receive confidential information"
* provision.provision MS
* provision.provision ^short = "A reservation («jeg har følgende reservasjoner»): deny overrides permit"
* provision.provision.type 1..1
* provision.provision.type = #deny
* provision.provision.actor 1..*
