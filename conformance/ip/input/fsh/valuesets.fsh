ValueSet: IPPlanLifecycleVS
Id: ip-plan-lifecycle
Title: "planbro IP plan lifecycle"
Description: "All codes of the IP plan lifecycle."
* include codes from system IPPlanLifecycle

ValueSet: IPMeasureStatusVS
Id: ip-measure-status
Title: "planbro IP measure status"
Description: "All codes of the IP measure status."
* include codes from system IPMeasureStatus

ValueSet: IPLifeDomainVS
Id: ip-life-domain
Title: "planbro IP life domain"
Description: "The life domains of planbro's default list; replace or map (GW-13)."
* include codes from system IPLifeDomain

ValueSet: IPMeasureNameVS
Id: ip-measure-name
Title: "planbro IP measure names"
Description: "Example local measure names."
* include codes from system IPMeasureName

ValueSet: IPGoalLevelVS
Id: ip-goal-level
Title: "planbro IP goal level"
Description: "The goal levels."
* include codes from system IPGoalLevel

ValueSet: IPCareTeamRoleVS
Id: ip-careteam-role
Title: "planbro IP care team role"
Description: "The roles of an IP care team: planbro's roles plus kodeverk 9034 code 8 (Koordinator Individuell plan) and 6 (Fastlege)."
* include codes from system IPCareTeamRole
* $V9034#8 "Koordinator Individuell plan"
* $V9034#6 "Fastlege"

ValueSet: IPCareTeamCategoryVS
Id: ip-careteam-category
Title: "planbro IP care team category"
Description: "An IP team or a coordinator-only team («Enkelt samspill»)."
* IPCategory#individuell-plan
* IPCategory#enkelt-samspill

ValueSet: IPConsentKindVS
Id: ip-consent-kind
Title: "planbro IP consent kind"
Description: "The two IP consents."
* include codes from system IPConsentKind

ValueSet: IPLegalBasisVS
Id: ip-legal-basis
Title: "planbro IP legal basis"
Description: "Legal bases of an IP."
* include codes from system IPLegalBasis

ValueSet: IPLinkKindVS
Id: ip-link-kind
Title: "planbro IP link kind"
Description: "Kinds of resources linked to the plan."
* include codes from system IPLinkKind

ValueSet: IPEvaluationRoleVS
Id: ip-evaluation-role
Title: "planbro IP evaluation role"
Description: "User or professional."
* include codes from system IPEvaluationRole

ValueSet: IPEvaluationConclusionVS
Id: ip-evaluation-conclusion
Title: "planbro IP evaluation conclusion"
Description: "Continue, change, stop."
* include codes from system IPEvaluationConclusion
