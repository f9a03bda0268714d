// Norwegian identifier systems: HL7 Norway no-basis fixedUri values (../shared/domain/norwegian-standards.md §0.1).
Alias: $FNR = urn:oid:2.16.578.1.12.4.1.4.1
Alias: $DNR = urn:oid:2.16.578.1.12.4.1.4.2
Alias: $FHN = urn:oid:2.16.578.1.12.4.1.4.3
Alias: $HPR = urn:oid:2.16.578.1.12.4.1.4.4
Alias: $ENH = urn:oid:2.16.578.1.12.4.1.4.101
// Volven kodeverk 9034 «Helsepersonells funksjoner mv.» (norwegian-standards.md §1.3 and §3.3).
Alias: $V9034 = urn:oid:2.16.578.1.12.4.1.1.9034
Alias: $LOINC = http://loinc.org
Alias: $consentscope = http://terminology.hl7.org/CodeSystem/consentscope
Alias: $v3ActCode = http://terminology.hl7.org/CodeSystem/v3-ActCode
Alias: $v3RoleCode = http://terminology.hl7.org/CodeSystem/v3-RoleCode
