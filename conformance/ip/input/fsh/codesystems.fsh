// planbro code systems for the individual plan. Terms and their sources: ../shared/domain/individual-plan-requirements.md
// (section numbers in each description). All are planbro's own, under http://planbro.no/fhir/CodeSystem/.

CodeSystem: IPCategory
Id: ip-category
Title: "planbro IP category"
Description: "Marks a CarePlan as an individuell plan or a crisis plan, and a CareTeam as the team of an individuell plan or as a coordinator-only case («Enkelt samspill», requirements §1.2, GW-07)."
* ^caseSensitive = true
* ^content = #complete
* #individuell-plan "Individuell plan" "An individual plan (individuell plan) under the Norwegian regulation on habilitation, rehabilitation, individual plan and coordinator."
* #kriseplan "Kriseplan" "A crisis plan, a partial plan referenced by an individual plan (§1.7, GW-22)."
* #enkelt-samspill "Enkelt samspill" "A coordinator and/or a responsible group appointed without an individual plan (ACOS IP «Enkelt samspill», §1.2, GW-07). Not counted as an individual plan."

CodeSystem: IPPlanLifecycle
Id: ip-plan-lifecycle
Title: "planbro IP plan lifecycle"
Description: "The lifecycle of an individual plan (requirements §3.4). Carried by the extension ip-plan-lifecycle next to CarePlan.status; the ConceptMap ip-plan-lifecycle-to-r4 gives the R4 status each one goes with."
* ^caseSensitive = true
* ^content = #complete
* #need-reported "Behov meldt" "The need for an individual plan has been reported (D3:34, 38; D0:834-838). No consent yet."
* #consented "Samtykke gitt" "The user (or proxy) has consented to the plan being made (D2:904-906)."
* #started "Påbegynt" "The planning work has started but the plan is not finished («påbegynt», D4:258-261; D2:1702)."
* #finished "Ferdig utarbeidet" "The plan is finished and in use («ferdig utarbeidet», D4:245)."
* #on-hold "På vent" "The plan work is paused («på is», D2:604-609, 1678)."
* #under-revision "Under revisjon" "The plan is being evaluated and revised (D2:2598-2693); it stays in use."
* #ended "Avsluttet" "The plan has ended."

CodeSystem: IPMeasureStatus
Id: ip-measure-status
Title: "planbro IP measure (tiltak) status"
Description: "Status of a measure («tiltak») in an individual plan (requirements §1.6, §3.4, GW-18). The property «next» lists the statuses a measure may move to; the ConceptMap ip-measure-status-to-r4 gives the R4 CarePlan.activity.detail.status."
* ^caseSensitive = true
* ^content = #complete
* ^property[0].code = #next
* ^property[0].description = "A status this status may change to (the allowed transition graph of GW-18)."
* ^property[0].type = #code
* #wished "Ønsket" "A measure the user wishes («Ønsket tiltak», D2:1932-1959)."
  * ^property[0].code = #next
  * ^property[0].valueCode = #planned
  * ^property[1].code = #next
  * ^property[1].valueCode = #ended
* #planned "Planlagt" "The measure is planned («planlagt», D2:2873-2875)."
  * ^property[0].code = #next
  * ^property[0].valueCode = #applied-for
  * ^property[1].code = #next
  * ^property[1].valueCode = #started
  * ^property[2].code = #next
  * ^property[2].valueCode = #ended
* #applied-for "Søkt om" "The measure has been applied for («søkt om», D2:2873-2875, 2896-2897)."
  * ^property[0].code = #next
  * ^property[0].valueCode = #started
  * ^property[1].code = #next
  * ^property[1].valueCode = #planned
  * ^property[2].code = #next
  * ^property[2].valueCode = #ended
* #started "Igangsatt" "The measure has started («igangsatt»)."
  * ^property[0].code = #next
  * ^property[0].valueCode = #on-hold
  * ^property[1].code = #next
  * ^property[1].valueCode = #planned
  * ^property[2].code = #next
  * ^property[2].valueCode = #ended
* #on-hold "Satt på vent" "The measure is paused."
  * ^property[0].code = #next
  * ^property[0].valueCode = #started
  * ^property[1].code = #next
  * ^property[1].valueCode = #ended
* #ended "Avsluttet" "The measure has ended («avsluttet»); a final state."

CodeSystem: IPLifeDomain
Id: ip-life-domain
Title: "planbro IP life domain (livsområde)"
Description: "The life domains («livsområder») named in the source documents (requirements §1.4). The documents give no exhaustive list and vendor lists differ, so this code system is meant to be replaced or mapped: the bindings to it are preferred, not required (GW-13)."
* ^caseSensitive = true
* ^content = #complete
* #hjem-og-dagligliv "Hjem og dagligliv" "D2:1406"
* #bolig "Bolig" "D2:1700, 1810"
* #okonomi "Økonomi" "D2:1262"
* #helse "Helse" "D2:1567-1571, 1747, 2089, 2514"
* #arbeid-og-aktivitet "Arbeid og aktivitet" "D2:2088, 2245"
* #sosialt-fellesskap "Sosialt fellesskap" "D2:2112-2116"

CodeSystem: IPMeasureName
Id: ip-measure-name
Title: "planbro IP measure names (local example list)"
Description: "An example of a local code list of measure names («legge lokale navn på tiltak inn i kodeverket», D2:2863-2865). Each municipality keeps its own; CarePlan.activity.detail.code.text always keeps the name as written (GW-17)."
* ^caseSensitive = true
* ^content = #example
* #stottekontakt "Støttekontakt"
* #psykoterapi "Psykoterapi"
* #hjemmesykepleie "Hjemmesykepleie"
* #praktisk-bistand "Praktisk bistand"
* #dagtilbud "Dagtilbud"
* #kriseplan "Kriseplan" "A crisis plan as a measure (D2:773-775)."
* #planlegging "Planlegging av tiltak" "The planning of measures as a measure in itself (D2:2044-2048)."
* #arbeidstrening "Arbeidstrening"

CodeSystem: IPGoalLevel
Id: ip-goal-level
Title: "planbro IP goal level"
Description: "The levels of goals in an individual plan (requirements §1.5, GW-11)."
* ^caseSensitive = true
* ^content = #complete
* #hovedmal "Hovedmål" "The user's main goal («Pasientens hovedmål», D4:150-151)."
* #delmal "Delmål" "A sub-goal of the main goal (D4:155-170)."
* #livsomrade-mal "Mål for livsområde" "A goal within a life domain (D2:2100-2102, 1409-1412)."
* #tiltaksmal "Mål for tiltak" "The goal of one measure (D2:2101-2106, 1980-1981)."

CodeSystem: IPCareTeamRole
Id: ip-careteam-role
Title: "planbro IP care team role"
Description: "Roles in the team around an individual plan that kodeverk 9034 does not cover (requirements §2.1, GW-30). The coordinator and the GP use kodeverk 9034 (codes 8 and 6)."
* ^caseSensitive = true
* ^content = #complete
* #bruker "Bruker" "The user / patient whose plan it is."
* #kontaktperson "Kontaktperson" "Contact person for a sub-goal or need (D4:155-166)."
* #ansvarlig-tjenesteyter "Ansvarlig tjenesteyter" "A provider responsible for one or more measures (D2:2356-2358)."
* #parorende "Pårørende" "A relative (D0:390-392; D2:1218-1372)."
* #venn-nettverk "Venn / privat nettverk" "A friend or other private network (D2:1309-1333; D0:1247)."
* #nav "NAV" "The Norwegian Labour and Welfare Administration."
* #annen-etat "Annen etat" "Another agency or institution (school, PPT, child welfare …)."
* #planeier-foresatt "Planeier / foresatt" "Plan owner or guardian acting for the user (D0:1242; D3:13)."

CodeSystem: Kodeverk9034Fragment
Id: kodeverk-9034-fragment
Title: "Volven 9034 Helsepersonells funksjoner mv. (fragment)"
Description: "The codes of Volven kodeverk 9034 that the IP profiles use, so that the bindings can be checked offline. Source: ../shared/domain/norwegian-standards.md §3.3 (kith-visningsfiler kodeverk.xsl). The code system is owned by Helsedirektoratet; this is a fragment only."
* ^url = $V9034
* ^identifier.system = "urn:ietf:rfc:3986"
* ^identifier.value = "urn:oid:2.16.578.1.12.4.1.1.9034"
* ^caseSensitive = true
* ^content = #fragment
* #3 "Behandlingsansvarlig lege"
* #6 "Fastlege"
* #8 "Koordinator Individuell plan"
* #9 "Primærkontakt"
* #18 "Koordinator (spesialisthelsetjenesteloven)"
* #19 "Kontaktlege"
* #21 "Helsefaglig kontakt"

CodeSystem: IPConsentKind
Id: ip-consent-kind
Title: "planbro IP consent kind"
Description: "The two consents of an individual plan (requirements §1.8, GW-40)."
* ^caseSensitive = true
* ^content = #complete
* #plan "Samtykke til individuell plan" "Consent that the plan is made and the planning work starts (D0:398-400; D2:904-906)."
* #sharing "Samtykke til deling av taushetsbelagte opplysninger" "Consent that the named participants get access to necessary confidential information (D0:398-400; D2:932-934)."

CodeSystem: IPLegalBasis
Id: ip-legal-basis
Title: "planbro IP legal basis"
Description: "Legal bases an individual plan or its sharing rests on (requirements §1.8, GW-45). The law texts must be verified against Lovdata."
* ^caseSensitive = true
* ^content = #complete
* #samtykke "Samtykke" "The user's consent (the normal basis)."
* #tvungent-psykisk-helsevern "Tvungent psykisk helsevern" "The user is under compulsory mental health care; an individual plan is made regardless of consent (D2:823-825)."

CodeSystem: IPLinkKind
Id: ip-link-kind
Title: "planbro IP link kind"
Description: "What a resource referenced from CarePlan.supportingInfo is to the plan: linked by reference, never copied (GW-22, GW-23, GW-51)."
* ^caseSensitive = true
* ^content = #complete
* #kriseplan "Kriseplan" "The crisis plan (D2:773-775, 795-797)."
* #varselsignaler "Varselsignaler" "The registered warning signals (D2:2866-2867)."
* #vedtak "Vedtak" "A decision on services (D2:2021-2026)."
* #avtale "Avtale" "An agreement, e.g. «avtale om oppfølging» (D2:2021-2026, 2165-2166)."
* #annen-plan "Annen plan" "Another organisation's plan: behandlingsplan, rehabiliteringsplan, kvalifiseringsprogram, opplæringsplan … (D4:150-172; D3:22)."
* #samtykke "Samtykke" "One of the plan's consents."

CodeSystem: IPEvaluationRole
Id: ip-evaluation-role
Title: "planbro IP evaluation role"
Description: "Whose evaluation of a measure it is: the user's and the professional's are kept apart (D2:2128-2139, GW-20)."
* ^caseSensitive = true
* ^content = #complete
* #bruker "Brukerens evaluering" "The user's own evaluation."
* #fagperson "Fagpersonens evaluering" "A professional's evaluation."

CodeSystem: IPEvaluationConclusion
Id: ip-evaluation-conclusion
Title: "planbro IP evaluation conclusion"
Description: "The conclusion of a measure's evaluation: continue, change or stop (D2:2137-2139, 1874-1875)."
* ^caseSensitive = true
* ^content = #complete
* #fortsette "Fortsette" "Continue the measure."
* #endres "Endres" "Change the measure."
* #opphore "Opphøre" "Stop the measure."
