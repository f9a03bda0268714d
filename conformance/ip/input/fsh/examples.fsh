// Synthetic examples. Every fødselsnummer / D-nummer / organisasjonsnummer here is made up and passes its check
// digits (mod 11); no real person or organisation is meant.
//   Kari Nordmann (user)            FNR 15038540189
//   Ola Nordmann (user, compulsory) DNR 41087840059
//   Randi Nordmann (mother, proxy)  FNR 03116040076
//   Bydel Eksempel (plan owner)     orgnr 974000008
//   NAV Eksempel                    orgnr 991000003


Instance: ip-example-patient-kari
InstanceOf: Patient
Usage: #example
Title: "Kari Nordmann (synthetic)"
* identifier.system = $FNR
* identifier.value = "15038540189"
* name.family = "Nordmann"
* name.given = "Kari"
* gender = #female
* birthDate = "1985-03-15"

Instance: ip-example-relatedperson-randi
InstanceOf: RelatedPerson
Usage: #example
Title: "Randi Nordmann, Kari's mother (synthetic)"
* identifier.system = $FNR
* identifier.value = "03116040076"
* patient = Reference(Patient/ip-example-patient-kari)
* relationship = $v3RoleCode#MTH "mother"
* name.family = "Nordmann"
* name.given = "Randi"
* telecom.system = #phone
* telecom.value = "+47 99 99 99 01"

Instance: ip-example-practitioner-coordinator
InstanceOf: Practitioner
Usage: #example
Title: "Siri Koordinator (synthetic)"
* identifier.system = $HPR
* identifier.value = "9144900"
* name.family = "Koordinator"
* name.given = "Siri"
* telecom.system = #phone
* telecom.value = "+47 99 99 99 02"

Instance: ip-example-practitioner-coordinator-hf
InstanceOf: Practitioner
Usage: #example
Title: "Per Sykehus, coordinator at the hospital (synthetic)"
* identifier.system = $HPR
* identifier.value = "9144901"
* name.family = "Sykehus"
* name.given = "Per"

Instance: ip-example-practitioner-gp
InstanceOf: Practitioner
Usage: #example
Title: "Anne Fastlege (synthetic)"
* identifier.system = $HPR
* identifier.value = "9144902"
* name.family = "Fastlege"
* name.given = "Anne"

Instance: ip-example-organization-bydel
InstanceOf: Organization
Usage: #example
Title: "Bydel Eksempel (synthetic)"
* identifier.system = $ENH
* identifier.value = "974000008"
* name = "Bydel Eksempel, koordinerende enhet"

Instance: ip-example-organization-nav
InstanceOf: Organization
Usage: #example
Title: "NAV Eksempel (synthetic)"
* identifier.system = $ENH
* identifier.value = "991000003"
* name = "NAV Eksempel"

Instance: ip-example-crisis-plan
InstanceOf: CarePlan
Usage: #example
Title: "Kari's crisis plan (a partial plan referenced by the IP)"
* status = #active
* intent = #plan
* category = IPCategory#kriseplan
* subject = Reference(Patient/ip-example-patient-kari)
* description = "Kriseplan: hvem Kari skal kontakte, og hva som skal gjøres, ved en krise."

Instance: ip-example-rehab-plan
InstanceOf: DocumentReference
Usage: #example
Title: "The rehabilitation hospital's rehabilitation plan, linked (not copied)"
* status = #current
* subject = Reference(Patient/ip-example-patient-kari)
* description = "Rehabiliteringsplan fra rehabiliteringssykehuset"
* content.attachment.contentType = #application/pdf
* content.attachment.url = "http://hf.example.org/dokumenter/rehabiliteringsplan-123"

Instance: ip-example-goal-main
InstanceOf: IPGoal
Usage: #example
Title: "Main goal, in Kari's own words"
* lifecycleStatus = #active
* category = IPGoalLevel#hovedmal
* description.text = "Jeg vil bo i egen leilighet og klare meg sjøl – med hunden min."
* subject = Reference(Patient/ip-example-patient-kari) "Kari Nordmann"
* subject.identifier.system = $FNR
* subject.identifier.value = "15038540189"
* expressedBy = Reference(Patient/ip-example-patient-kari)

Instance: ip-example-goal-sub
InstanceOf: IPGoal
Usage: #example
Title: "Sub-goal"
* extension[partOf].valueReference = Reference(Goal/ip-example-goal-main)
* extension[contactPerson].valueReference = Reference(Practitioner/ip-example-practitioner-coordinator)
* lifecycleStatus = #active
* category = IPGoalLevel#delmal
* description.text = "Få en bolig som passer for meg innen sommeren."
* subject = Reference(Patient/ip-example-patient-kari)
* subject.identifier.system = $FNR
* subject.identifier.value = "15038540189"

Instance: ip-example-goal-life-domain
InstanceOf: IPGoal
Usage: #example
Title: "Life-domain goal (sosialt fellesskap)"
* extension[partOf].valueReference = Reference(Goal/ip-example-goal-main)
* extension[lifeDomain].valueCodeableConcept = IPLifeDomain#sosialt-fellesskap
* lifecycleStatus = #active
* category = IPGoalLevel#livsomrade-mal
* description.text = "Få flere venner."
* subject = Reference(Patient/ip-example-patient-kari)
* subject.identifier.system = $FNR
* subject.identifier.value = "15038540189"

Instance: ip-example-goal-measure
InstanceOf: IPGoal
Usage: #example
Title: "Measure goal, linked to the life-domain goal"
* extension[partOf].valueReference = Reference(Goal/ip-example-goal-life-domain)
* extension[lifeDomain].valueCodeableConcept = IPLifeDomain#helse
* lifecycleStatus = #active
* category = IPGoalLevel#tiltaksmal
* description.text = "Finne et nettverk utenfor «psykiatrien»."
* subject = Reference(Patient/ip-example-patient-kari)
* subject.identifier.system = $FNR
* subject.identifier.value = "15038540189"

Instance: ip-example-careteam
InstanceOf: IPCareTeam
Usage: #example
Title: "Kari's IP team, with a coordinator handover from the hospital to the district"
* status = #active
* category = IPCategory#individuell-plan
* name = "Ansvarsgruppe for Kari"
* subject = Reference(Patient/ip-example-patient-kari)
* subject.identifier.system = $FNR
* subject.identifier.value = "15038540189"
* managingOrganization = Reference(Organization/ip-example-organization-bydel)
* participant[coordinator][0].role = $V9034#8 "Koordinator Individuell plan"
* participant[coordinator][0].member = Reference(Practitioner/ip-example-practitioner-coordinator-hf)
* participant[coordinator][0].period.start = "2026-01-10"
* participant[coordinator][0].period.end = "2026-03-31"
* participant[coordinator][0].extension[handover].valueBoolean = true
* participant[coordinator][1].role = $V9034#8 "Koordinator Individuell plan"
* participant[coordinator][1].member = Reference(Practitioner/ip-example-practitioner-coordinator)
* participant[coordinator][1].period.start = "2026-03-15"
* participant[coordinator][1].extension[handover].valueBoolean = true
* participant[2].role = IPCareTeamRole#bruker
* participant[2].member = Reference(Patient/ip-example-patient-kari)
* participant[2].period.start = "2026-01-10"
* participant[3].role = IPCareTeamRole#parorende
* participant[3].member = Reference(RelatedPerson/ip-example-relatedperson-randi)
* participant[3].period.start = "2026-01-10"
* participant[4].role = $V9034#6 "Fastlege"
* participant[4].member = Reference(Practitioner/ip-example-practitioner-gp)
* participant[4].period.start = "2026-01-10"
* participant[5].role = IPCareTeamRole#nav
* participant[5].member = Reference(Organization/ip-example-organization-nav)
* participant[5].period.start = "2026-02-01"
* participant[6].role = IPCareTeamRole#kontaktperson
* participant[6].member = Reference(Practitioner/ip-example-practitioner-coordinator)
* participant[6].period.start = "2026-03-15"

Instance: ip-example-careteam-enkelt-samspill
InstanceOf: IPCareTeam
Usage: #example
Title: "A coordinator without an individual plan («Enkelt samspill»)"
* status = #active
* category = IPCategory#enkelt-samspill
* subject = Reference(Patient/ip-example-patient-ola)
* subject.identifier.system = $DNR
* subject.identifier.value = "41087840059"
* participant[coordinator][0].role = $V9034#8 "Koordinator Individuell plan"
* participant[coordinator][0].member = Reference(Practitioner/ip-example-practitioner-coordinator)
* participant[coordinator][0].period.start = "2026-05-01"

Instance: ip-example-careplan
InstanceOf: IPCarePlan
Usage: #example
Title: "Kari's individual plan, finished and in use"
* extension[lifecycle].valueCoding = IPPlanLifecycle#finished "Ferdig utarbeidet"
* extension[nextRevision].valueDate = "2026-09-01"
* extension[situationDescription].valueString = "Kari er 41 år og flytter hjem etter et opphold på rehabiliteringssykehuset.\nHun er glad i turer med hunden, og tegner."
* extension[legalBasis].valueCoding = IPLegalBasis#samtykke
* status = #active
* intent = #plan
* category[ip] = IPCategory#individuell-plan
* title = "Individuell plan for Kari Nordmann"
* subject = Reference(Patient/ip-example-patient-kari)
* subject.identifier.system = $FNR
* subject.identifier.value = "15038540189"
* period.start = "2026-03-01"
* period.end = "2027-02-28"
* author = Reference(Organization/ip-example-organization-bydel)
* careTeam = Reference(CareTeam/ip-example-careteam)
* goal[0] = Reference(Goal/ip-example-goal-main)
* goal[1] = Reference(Goal/ip-example-goal-sub)
* goal[2] = Reference(Goal/ip-example-goal-life-domain)
* goal[3] = Reference(Goal/ip-example-goal-measure)
* supportingInfo[0] = Reference(CarePlan/ip-example-crisis-plan)
* supportingInfo[0].extension[linkKind].valueCoding = IPLinkKind#kriseplan
* supportingInfo[1] = Reference(DocumentReference/ip-example-rehab-plan)
* supportingInfo[1].extension[linkKind].valueCoding = IPLinkKind#annen-plan
* supportingInfo[2] = Reference(Consent/ip-example-consent-plan)
* supportingInfo[2].extension[linkKind].valueCoding = IPLinkKind#samtykke
* supportingInfo[3] = Reference(Consent/ip-example-consent-sharing)
* supportingInfo[3].extension[linkKind].valueCoding = IPLinkKind#samtykke
// Measure 1: support contact, started; start known to the month only; both evaluations kept apart.
* activity[0].extension[inPlan].valueBoolean = true
* activity[0].extension[lifeDomain].valueCodeableConcept = IPLifeDomain#sosialt-fellesskap
* activity[0].extension[evaluation][0].extension[role].valueCoding = IPEvaluationRole#bruker
* activity[0].extension[evaluation][0].extension[author].valueReference = Reference(Patient/ip-example-patient-kari)
* activity[0].extension[evaluation][0].extension[date].valueDate = "2026-06-01"
* activity[0].extension[evaluation][0].extension[howItWent].valueString = "Bra, vi har gått tur hver uke."
* activity[0].extension[evaluation][0].extension[scopeSatisfaction].valueString = "Litt for lite."
* activity[0].extension[evaluation][0].extension[qualitySatisfaction].valueString = "Fornøyd."
* activity[0].extension[evaluation][0].extension[conclusion].valueCoding = IPEvaluationConclusion#endres
* activity[0].extension[evaluation][1].extension[role].valueCoding = IPEvaluationRole#fagperson
* activity[0].extension[evaluation][1].extension[author].valueReference = Reference(Practitioner/ip-example-practitioner-coordinator)
* activity[0].extension[evaluation][1].extension[date].valueDate = "2026-06-01"
* activity[0].extension[evaluation][1].extension[howItWent].valueString = "Gjennomført som planlagt."
* activity[0].extension[evaluation][1].extension[conclusion].valueCoding = IPEvaluationConclusion#fortsette
* activity[0].detail.extension[measureStatus].valueCoding = IPMeasureStatus#started "Igangsatt"
* activity[0].detail.extension[scope].valueString = "2 timer per uke"
* activity[0].detail.extension[evaluationDate].valueDate = "2026-09-01"
* activity[0].detail.extension[wish].extension[measure].valueString = "Støttekontakt som liker å gå tur"
* activity[0].detail.extension[wish].extension[scope].valueString = "Brukeren er usikker"
* activity[0].detail.status = #in-progress
* activity[0].detail.code = IPMeasureName#stottekontakt "Støttekontakt"
* activity[0].detail.code.text = "Støttekontakt"
* activity[0].detail.reasonCode.text = "Kari ønsker å komme mer ut og bli kjent med folk."
* activity[0].detail.goal = Reference(Goal/ip-example-goal-measure)
* activity[0].detail.scheduledPeriod.start = "2026-04"
* activity[0].detail.performer = Reference(Organization/ip-example-organization-bydel)
* activity[0].detail.description = "Turer og kafébesøk sammen med støttekontakt."
* activity[0].progress.text = "Avtalt at koordinator kontakter tjenestekontoret."
// Measure 2: a wished measure, the user's own name for it, not (yet) in the plan: internal follow-up.
* activity[1].extension[inPlan].valueBoolean = false
* activity[1].extension[lifeDomain].valueCodeableConcept = IPLifeDomain#helse
* activity[1].detail.extension[measureStatus].valueCoding = IPMeasureStatus#wished "Ønsket"
* activity[1].detail.status = #not-started
* activity[1].detail.code.text = "Samtaler med psykolog N.N."
* activity[1].detail.scheduledPeriod.start = "2026"
* activity[1].detail.performer = Reference(Practitioner/ip-example-practitioner-gp)
// Measure 3: the crisis plan as a measure.
* activity[2].extension[inPlan].valueBoolean = true
* activity[2].extension[lifeDomain].valueCodeableConcept = IPLifeDomain#helse
* activity[2].detail.extension[measureStatus].valueCoding = IPMeasureStatus#planned "Planlagt"
* activity[2].detail.status = #not-started
* activity[2].detail.code = IPMeasureName#kriseplan "Kriseplan"
* activity[2].detail.code.text = "Kriseplan"
* activity[2].detail.goal = Reference(Goal/ip-example-goal-sub)
* activity[2].detail.performer = Reference(Practitioner/ip-example-practitioner-coordinator)

Instance: ip-example-patient-ola
InstanceOf: Patient
Usage: #example
Title: "Ola Nordmann (synthetic, D-nummer)"
* identifier.system = $DNR
* identifier.value = "41087840059"
* name.family = "Nordmann"
* name.given = "Ola"
* gender = #male

Instance: ip-example-careplan-compulsory-care
InstanceOf: IPCarePlan
Usage: #example
Title: "A started plan under compulsory mental health care, without a plan consent"
* extension[lifecycle].valueCoding = IPPlanLifecycle#started "Påbegynt"
* extension[legalBasis].valueCoding = IPLegalBasis#tvungent-psykisk-helsevern
* status = #active
* intent = #plan
* category[ip] = IPCategory#individuell-plan
* subject = Reference(Patient/ip-example-patient-ola)
* subject.identifier.system = $DNR
* subject.identifier.value = "41087840059"
* period.start = "2026-05-01"
* activity[0].extension[inPlan].valueBoolean = true
* activity[0].detail.extension[measureStatus].valueCoding = IPMeasureStatus#planned
* activity[0].detail.status = #not-started
* activity[0].detail.code = IPMeasureName#planlegging "Planlegging av tiltak"
* activity[0].detail.code.text = "Planlegging av tiltak"
* activity[0].detail.scheduledPeriod.start = "2003-05"
* activity[0].detail.performer = Reference(Practitioner/ip-example-practitioner-coordinator)

Instance: ip-example-consent-plan
InstanceOf: IPConsent
Usage: #example
Title: "Consent to make the plan, given by Kari"
* extension[informationGiven].extension[date].valueDateTime = "2026-02-20T10:00:00+01:00"
* extension[informationGiven].extension[by].valueReference = Reference(Practitioner/ip-example-practitioner-coordinator-hf)
* status = #active
* scope = $consentscope#treatment
* category[loinc] = $LOINC#59284-0 "Patient Consent"
* category[planConsent] = IPConsentKind#plan
* patient = Reference(Patient/ip-example-patient-kari)
* patient.identifier.system = $FNR
* patient.identifier.value = "15038540189"
* dateTime = "2026-02-27T10:00:00+01:00"
* performer = Reference(Patient/ip-example-patient-kari)
* policyRule = IPLegalBasis#samtykke
* provision.type = #permit
* provision.period.start = "2026-03-01"
* provision.period.end = "2027-02-28"
* provision.data.meaning = #related
* provision.data.reference = Reference(CarePlan/ip-example-careplan)

Instance: ip-example-consent-sharing
InstanceOf: IPConsent
Usage: #example
Title: "Consent to share with named participants, given by Kari's mother as proxy, with a reservation"
* status = #active
* scope = $consentscope#patient-privacy
* category[loinc] = $LOINC#59284-0 "Patient Consent"
* category[sharingConsent] = IPConsentKind#sharing
* patient = Reference(Patient/ip-example-patient-kari)
* patient.identifier.system = $FNR
* patient.identifier.value = "15038540189"
* dateTime = "2026-02-27T10:05:00+01:00"
* performer = Reference(RelatedPerson/ip-example-relatedperson-randi)
* policyRule = IPLegalBasis#samtykke
* provision.type = #permit
* provision.period.start = "2026-03-01"
* provision.period.end = "2027-02-28"
* provision.data.meaning = #related
* provision.data.reference = Reference(CarePlan/ip-example-careplan)
* provision.actor[0].role = http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP "information recipient"
* provision.actor[0].reference = Reference(Practitioner/ip-example-practitioner-coordinator)
* provision.actor[1].role = http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP "information recipient"
* provision.actor[1].reference = Reference(Organization/ip-example-organization-nav)
* provision.actor[2].role = http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP "information recipient"
* provision.actor[2].reference = Reference(Organization/ip-example-organization-bydel)
// The reservation («jeg har følgende reservasjoner»): this person gets nothing, whatever else is permitted.
* provision.provision.type = #deny
* provision.provision.actor.role = http://terminology.hl7.org/CodeSystem/v3-ParticipationType#IRCP "information recipient"
* provision.provision.actor.reference = Reference(Practitioner/ip-example-practitioner-gp)
