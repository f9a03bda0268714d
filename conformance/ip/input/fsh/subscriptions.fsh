// SubscriptionTopics for the R5 Backport IG's topic-based Subscriptions (helper area "subs"; docs/dispatch.md,
// "Subscriptions"). R4 has no SubscriptionTopic resource: as the IG does for R4, each topic is a Basic with the R5
// cross-version extensions (url, status, resourceTrigger, canFilterBy). The gateway reads these files at start; a
// Subscription names one by its canonical URL in Subscription.criteria.

Instance: ip-topic-plan
InstanceOf: Basic
Usage: #definition
Title: "IP plan changes"
Description: "Every change to an individual plan and its parts: the patient, the IP CarePlan, its CareTeam, Goals and Consents, in commit order per patient (docs/dispatch.md, Subscriptions)."
* code = http://hl7.org/fhir/fhir-types#SubscriptionTopic
* extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.url"
* extension[0].valueUri = "http://planbro.no/fhir/SubscriptionTopic/ip-plan"
* extension[1].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.version"
* extension[1].valueString = "0.1.0"
* extension[2].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.name"
* extension[2].valueString = "IpPlan"
* extension[3].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.title"
* extension[3].valueString = "IP plan changes"
* extension[4].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.status"
* extension[4].valueCode = #active
* extension[5].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.description"
* extension[5].valueMarkdown = "Every change to an individual plan and its parts: the patient, the IP CarePlan, its CareTeam, Goals and Consents, in commit order per patient (docs/dispatch.md, Subscriptions)."
* extension[6].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"
* extension[6].extension[0].url = "description"
* extension[6].extension[0].valueMarkdown = "A Patient is created, updated or deleted."
* extension[6].extension[1].url = "resource"
* extension[6].extension[1].valueUri = "http://hl7.org/fhir/StructureDefinition/Patient"
* extension[6].extension[2].url = "supportedInteraction"
* extension[6].extension[2].valueCode = #create
* extension[6].extension[3].url = "supportedInteraction"
* extension[6].extension[3].valueCode = #update
* extension[6].extension[4].url = "supportedInteraction"
* extension[6].extension[4].valueCode = #delete
* extension[7].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"
* extension[7].extension[0].url = "description"
* extension[7].extension[0].valueMarkdown = "A CarePlan is created, updated or deleted."
* extension[7].extension[1].url = "resource"
* extension[7].extension[1].valueUri = "http://hl7.org/fhir/StructureDefinition/CarePlan"
* extension[7].extension[2].url = "supportedInteraction"
* extension[7].extension[2].valueCode = #create
* extension[7].extension[3].url = "supportedInteraction"
* extension[7].extension[3].valueCode = #update
* extension[7].extension[4].url = "supportedInteraction"
* extension[7].extension[4].valueCode = #delete
* extension[8].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"
* extension[8].extension[0].url = "description"
* extension[8].extension[0].valueMarkdown = "A CareTeam is created, updated or deleted."
* extension[8].extension[1].url = "resource"
* extension[8].extension[1].valueUri = "http://hl7.org/fhir/StructureDefinition/CareTeam"
* extension[8].extension[2].url = "supportedInteraction"
* extension[8].extension[2].valueCode = #create
* extension[8].extension[3].url = "supportedInteraction"
* extension[8].extension[3].valueCode = #update
* extension[8].extension[4].url = "supportedInteraction"
* extension[8].extension[4].valueCode = #delete
* extension[9].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"
* extension[9].extension[0].url = "description"
* extension[9].extension[0].valueMarkdown = "A Goal is created, updated or deleted."
* extension[9].extension[1].url = "resource"
* extension[9].extension[1].valueUri = "http://hl7.org/fhir/StructureDefinition/Goal"
* extension[9].extension[2].url = "supportedInteraction"
* extension[9].extension[2].valueCode = #create
* extension[9].extension[3].url = "supportedInteraction"
* extension[9].extension[3].valueCode = #update
* extension[9].extension[4].url = "supportedInteraction"
* extension[9].extension[4].valueCode = #delete
* extension[10].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"
* extension[10].extension[0].url = "description"
* extension[10].extension[0].valueMarkdown = "A Consent is created, updated or deleted."
* extension[10].extension[1].url = "resource"
* extension[10].extension[1].valueUri = "http://hl7.org/fhir/StructureDefinition/Consent"
* extension[10].extension[2].url = "supportedInteraction"
* extension[10].extension[2].valueCode = #create
* extension[10].extension[3].url = "supportedInteraction"
* extension[10].extension[3].valueCode = #update
* extension[10].extension[4].url = "supportedInteraction"
* extension[10].extension[4].valueCode = #delete
* extension[11].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[11].extension[0].url = "resource"
* extension[11].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/Patient"
* extension[11].extension[1].url = "filterParameter"
* extension[11].extension[1].valueString = "_id"
* extension[12].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[12].extension[0].url = "resource"
* extension[12].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/CarePlan"
* extension[12].extension[1].url = "filterParameter"
* extension[12].extension[1].valueString = "patient"
* extension[13].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[13].extension[0].url = "resource"
* extension[13].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/CarePlan"
* extension[13].extension[1].url = "filterParameter"
* extension[13].extension[1].valueString = "status"
* extension[14].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[14].extension[0].url = "resource"
* extension[14].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/CareTeam"
* extension[14].extension[1].url = "filterParameter"
* extension[14].extension[1].valueString = "patient"
* extension[15].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[15].extension[0].url = "resource"
* extension[15].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/CareTeam"
* extension[15].extension[1].url = "filterParameter"
* extension[15].extension[1].valueString = "status"
* extension[16].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[16].extension[0].url = "resource"
* extension[16].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/Goal"
* extension[16].extension[1].url = "filterParameter"
* extension[16].extension[1].valueString = "patient"
* extension[17].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[17].extension[0].url = "resource"
* extension[17].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/Goal"
* extension[17].extension[1].url = "filterParameter"
* extension[17].extension[1].valueString = "lifecycle-status"
* extension[18].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[18].extension[0].url = "resource"
* extension[18].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/Consent"
* extension[18].extension[1].url = "filterParameter"
* extension[18].extension[1].valueString = "patient"
* extension[19].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[19].extension[0].url = "resource"
* extension[19].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/Consent"
* extension[19].extension[1].url = "filterParameter"
* extension[19].extension[1].valueString = "status"

Instance: ip-topic-careplan
InstanceOf: Basic
Usage: #definition
Title: "IP CarePlan changes"
Description: "A change to an IP CarePlan (created, updated, deleted)."
* code = http://hl7.org/fhir/fhir-types#SubscriptionTopic
* extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.url"
* extension[0].valueUri = "http://planbro.no/fhir/SubscriptionTopic/ip-careplan"
* extension[1].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.version"
* extension[1].valueString = "0.1.0"
* extension[2].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.name"
* extension[2].valueString = "IpCareplan"
* extension[3].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.title"
* extension[3].valueString = "IP CarePlan changes"
* extension[4].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.status"
* extension[4].valueCode = #active
* extension[5].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.description"
* extension[5].valueMarkdown = "A change to an IP CarePlan (created, updated, deleted)."
* extension[6].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"
* extension[6].extension[0].url = "description"
* extension[6].extension[0].valueMarkdown = "A CarePlan is created, updated or deleted."
* extension[6].extension[1].url = "resource"
* extension[6].extension[1].valueUri = "http://hl7.org/fhir/StructureDefinition/CarePlan"
* extension[6].extension[2].url = "supportedInteraction"
* extension[6].extension[2].valueCode = #create
* extension[6].extension[3].url = "supportedInteraction"
* extension[6].extension[3].valueCode = #update
* extension[6].extension[4].url = "supportedInteraction"
* extension[6].extension[4].valueCode = #delete
* extension[7].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[7].extension[0].url = "resource"
* extension[7].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/CarePlan"
* extension[7].extension[1].url = "filterParameter"
* extension[7].extension[1].valueString = "patient"
* extension[8].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[8].extension[0].url = "resource"
* extension[8].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/CarePlan"
* extension[8].extension[1].url = "filterParameter"
* extension[8].extension[1].valueString = "status"

Instance: ip-topic-careteam
InstanceOf: Basic
Usage: #definition
Title: "IP CareTeam changes"
Description: "A change to the CareTeam of an individual plan."
* code = http://hl7.org/fhir/fhir-types#SubscriptionTopic
* extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.url"
* extension[0].valueUri = "http://planbro.no/fhir/SubscriptionTopic/ip-careteam"
* extension[1].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.version"
* extension[1].valueString = "0.1.0"
* extension[2].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.name"
* extension[2].valueString = "IpCareteam"
* extension[3].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.title"
* extension[3].valueString = "IP CareTeam changes"
* extension[4].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.status"
* extension[4].valueCode = #active
* extension[5].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.description"
* extension[5].valueMarkdown = "A change to the CareTeam of an individual plan."
* extension[6].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"
* extension[6].extension[0].url = "description"
* extension[6].extension[0].valueMarkdown = "A CareTeam is created, updated or deleted."
* extension[6].extension[1].url = "resource"
* extension[6].extension[1].valueUri = "http://hl7.org/fhir/StructureDefinition/CareTeam"
* extension[6].extension[2].url = "supportedInteraction"
* extension[6].extension[2].valueCode = #create
* extension[6].extension[3].url = "supportedInteraction"
* extension[6].extension[3].valueCode = #update
* extension[6].extension[4].url = "supportedInteraction"
* extension[6].extension[4].valueCode = #delete
* extension[7].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[7].extension[0].url = "resource"
* extension[7].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/CareTeam"
* extension[7].extension[1].url = "filterParameter"
* extension[7].extension[1].valueString = "patient"
* extension[8].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[8].extension[0].url = "resource"
* extension[8].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/CareTeam"
* extension[8].extension[1].url = "filterParameter"
* extension[8].extension[1].valueString = "status"

Instance: ip-topic-goal
InstanceOf: Basic
Usage: #definition
Title: "IP Goal changes"
Description: "A change to a Goal of an individual plan."
* code = http://hl7.org/fhir/fhir-types#SubscriptionTopic
* extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.url"
* extension[0].valueUri = "http://planbro.no/fhir/SubscriptionTopic/ip-goal"
* extension[1].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.version"
* extension[1].valueString = "0.1.0"
* extension[2].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.name"
* extension[2].valueString = "IpGoal"
* extension[3].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.title"
* extension[3].valueString = "IP Goal changes"
* extension[4].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.status"
* extension[4].valueCode = #active
* extension[5].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.description"
* extension[5].valueMarkdown = "A change to a Goal of an individual plan."
* extension[6].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"
* extension[6].extension[0].url = "description"
* extension[6].extension[0].valueMarkdown = "A Goal is created, updated or deleted."
* extension[6].extension[1].url = "resource"
* extension[6].extension[1].valueUri = "http://hl7.org/fhir/StructureDefinition/Goal"
* extension[6].extension[2].url = "supportedInteraction"
* extension[6].extension[2].valueCode = #create
* extension[6].extension[3].url = "supportedInteraction"
* extension[6].extension[3].valueCode = #update
* extension[6].extension[4].url = "supportedInteraction"
* extension[6].extension[4].valueCode = #delete
* extension[7].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[7].extension[0].url = "resource"
* extension[7].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/Goal"
* extension[7].extension[1].url = "filterParameter"
* extension[7].extension[1].valueString = "patient"
* extension[8].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[8].extension[0].url = "resource"
* extension[8].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/Goal"
* extension[8].extension[1].url = "filterParameter"
* extension[8].extension[1].valueString = "lifecycle-status"

Instance: ip-topic-consent
InstanceOf: Basic
Usage: #definition
Title: "IP Consent changes"
Description: "A change to a Consent of an individual plan."
* code = http://hl7.org/fhir/fhir-types#SubscriptionTopic
* extension[0].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.url"
* extension[0].valueUri = "http://planbro.no/fhir/SubscriptionTopic/ip-consent"
* extension[1].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.version"
* extension[1].valueString = "0.1.0"
* extension[2].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.name"
* extension[2].valueString = "IpConsent"
* extension[3].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.title"
* extension[3].valueString = "IP Consent changes"
* extension[4].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.status"
* extension[4].valueCode = #active
* extension[5].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.description"
* extension[5].valueMarkdown = "A change to a Consent of an individual plan."
* extension[6].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.resourceTrigger"
* extension[6].extension[0].url = "description"
* extension[6].extension[0].valueMarkdown = "A Consent is created, updated or deleted."
* extension[6].extension[1].url = "resource"
* extension[6].extension[1].valueUri = "http://hl7.org/fhir/StructureDefinition/Consent"
* extension[6].extension[2].url = "supportedInteraction"
* extension[6].extension[2].valueCode = #create
* extension[6].extension[3].url = "supportedInteraction"
* extension[6].extension[3].valueCode = #update
* extension[6].extension[4].url = "supportedInteraction"
* extension[6].extension[4].valueCode = #delete
* extension[7].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[7].extension[0].url = "resource"
* extension[7].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/Consent"
* extension[7].extension[1].url = "filterParameter"
* extension[7].extension[1].valueString = "patient"
* extension[8].url = "http://hl7.org/fhir/5.0/StructureDefinition/extension-SubscriptionTopic.canFilterBy"
* extension[8].extension[0].url = "resource"
* extension[8].extension[0].valueUri = "http://hl7.org/fhir/StructureDefinition/Consent"
* extension[8].extension[1].url = "filterParameter"
* extension[8].extension[1].valueString = "status"

// $events of the Subscriptions R5 Backport IG as this server answers it (its base is the IG's definition).
Instance: subscription-events
InstanceOf: OperationDefinition
Usage: #definition
Title: "Subscription events"
* url = "http://planbro.no/fhir/OperationDefinition/subscription-events"
* name = "SubscriptionEvents"
* title = "Subscription events"
* status = #active
* kind = #operation
* publisher = "planbro"
* description = "The Subscriptions R5 Backport IG's $events: the events of a Subscription read again from the outbox, numbered as its notifications were (the outbox position). Only what the Subscription would have been sent is listed: its type or topic, its criteria and filters, and what the patient's consent lets the Subscription's creator see now. At most dispatch.subscriptions.events_max_count events per answer; the rest behind a next link. A number beyond the newest event is 400."
* base = "http://hl7.org/fhir/uv/subscriptions-backport/OperationDefinition/backport-subscription-events"
* affectsState = false
* code = #events
* resource[0] = #Subscription
* system = false
* type = false
* instance = true
* parameter[0].name = #eventsSinceNumber
* parameter[0].use = #in
* parameter[0].min = 0
* parameter[0].max = "1"
* parameter[0].type = #string
* parameter[0].documentation = "The first event number to return (a positive integer). Default: the most recent events the scan bound allows."
* parameter[1].name = #eventsUntilNumber
* parameter[1].use = #in
* parameter[1].min = 0
* parameter[1].max = "1"
* parameter[1].type = #string
* parameter[1].documentation = "The last event number to return. Default: the newest."
* parameter[2].name = #content
* parameter[2].use = #in
* parameter[2].min = 0
* parameter[2].max = "1"
* parameter[2].type = #code
* parameter[2].documentation = "empty | id-only | full-resource. Default: the Subscription's payload content."
* parameter[3].name = #return
* parameter[3].use = #out
* parameter[3].min = 1
* parameter[3].max = "1"
* parameter[3].type = #Bundle
* parameter[3].documentation = "A Bundle of type history led by a SubscriptionStatus of type query-event."
