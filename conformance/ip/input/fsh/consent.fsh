// Consent enforcement (helper area "consent"; docs/security.md, "Consent enforcement"): emergency access.

CodeSystem: AccessEvent
Id: access-event
Title: "planbro access event"
Description: "Access events planbro records as resources: an emergency-access grant («nødtilgang», GW-46) is a Communication with this category, written only by Patient/$emergency-access."
* ^caseSensitive = true
* ^content = #complete
* #emergency-access "Nødtilgang" "Emergency access: a practitioner outside the plan read the patient's plan for a stated reason, for a limited time. The Communication is the grant and its notification to the patient and the plan's coordinator(s)."

Instance: emergency-access
InstanceOf: OperationDefinition
Usage: #definition
* url = "http://planbro.no/fhir/OperationDefinition/emergency-access"
* version = "0.1.0"
* name = "EmergencyAccess"
* title = "Emergency access («nødtilgang») to a patient's individual plan"
* status = #draft
* kind = #operation
* description = "A practitioner (HPR number) outside the plan's sharing consent states a reason and gets read access to the patient's compartment for auth.emergency_access_minutes (default 60), after which it ends by itself (GW-46). The grant is stored as a Communication (category access-event#emergency-access, reasonCode v3-ActReason#ETREAT with the reason, sender the practitioner, recipients the patient and the plan's coordinators) that the outbox carries like every change: it is the notification of the patient and the coordinator. Every read under it is recorded with purpose of use ETREAT. GET is not allowed."
* code = #emergency-access
* resource = #Patient
* system = false
* type = true
* instance = false
* affectsState = true
* parameter[0].name = #identifier
* parameter[0].use = #in
* parameter[0].min = 1
* parameter[0].max = "1"
* parameter[0].type = #Identifier
* parameter[0].documentation = "The patient's fødselsnummer, D-nummer or FH-nummer (without a system: any of the three)."
* parameter[1].name = #reason
* parameter[1].use = #in
* parameter[1].min = 1
* parameter[1].max = "1"
* parameter[1].type = #string
* parameter[1].documentation = "Why emergency access is needed (mandatory, 1..1000 bytes)."
* parameter[2].name = #patient
* parameter[2].use = #out
* parameter[2].min = 1
* parameter[2].max = "1"
* parameter[2].type = #Reference
* parameter[2].documentation = "The patient the grant is for."
* parameter[3].name = #grant
* parameter[3].use = #out
* parameter[3].min = 1
* parameter[3].max = "1"
* parameter[3].type = #Reference
* parameter[3].documentation = "The Communication that records the grant and notifies the patient and coordinator(s)."
* parameter[4].name = #expires
* parameter[4].use = #out
* parameter[4].min = 1
* parameter[4].max = "1"
* parameter[4].type = #instant
* parameter[4].documentation = "When the grant ends by itself."
