#!/usr/bin/env python3
"""Second round of the outside probe (tests/system/outside_probe.sh runs it after probe.py, against the same server).

The first round (probe.py) covers HTTP framing, body shapes and the obvious query-string forms. This round goes into
what a hostile client reaches past them: XML namespaces, attributes and numbers, content negotiation, search
modifiers, prefixes and composite values at their edges, `_include:iterate` over stored reference loops, JSON Patch
pointer edge cases, transactions of conditional references and cycles, the IP operations' parameters, conditional
headers, slow bodies and pipelining after errors. Same rules: an answer in the expected set, an OperationOutcome for
every error, never a 5xx for the client's fault, never a dropped connection, never a hang, and /healthz after each.

Usage: probe_round2.py HOST PORT [--only NAME]
"""
import json
import socket
import sys
import time

import probe as base  # the first round's raw-socket client (read_response, request, fhir, expect, alive)

fhir, expect, request, raw, fail = base.fhir, base.expect, base.request, base.raw, base.fail
PROBES = []
XML = "application/fhir+xml"
PATCH = "application/json-patch+json"
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"


def probe(fn):
    PROBES.append(fn)
    return fn


def outcome_has_issue(r):
    """True when an error answer is an OperationOutcome with at least one issue (JSON or XML)."""
    if r is None or r[0] == "error":
        return False
    body = r[2]
    ctype = r[1].get("content-type", "")
    if "json" in ctype:
        try:
            oo = json.loads(body)
        except ValueError:
            return False
        return oo.get("resourceType") == "OperationOutcome" and bool(oo.get("issue"))
    if "xml" in ctype:
        return b"<OperationOutcome" in body and b"<issue>" in body
    return False


def expect_outcome(name, r, allowed):
    r = expect(name, r, allowed)
    if r and r[0] >= 400 and not outcome_has_issue(r):
        fail(name, f"status {r[0]} without an OperationOutcome issue; body {r[2][:200]!r}")
    return r


def json_of(r):
    try:
        return json.loads(r[2])
    except (ValueError, TypeError):
        return None


# ---- XML -----------------------------------------------------------------------------------------------------------


@probe
def xml_namespaces_and_attributes():
    bodies = {
        # a prefix bound to the FHIR namespace on a child, the default namespace moved away on another
        "prefix_child": ('<Patient xmlns="http://hl7.org/fhir" xmlns:f="http://hl7.org/fhir"><f:gender value="male"/>'
                         '</Patient>', {201, 400, 422}),
        "child_other_ns": ('<Patient xmlns="http://hl7.org/fhir"><gender xmlns="urn:evil" value="male"/></Patient>',
                           {400, 422}),
        "value_prefixed": ('<Patient xmlns="http://hl7.org/fhir" xmlns:f="http://hl7.org/fhir"><gender f:value="male"/>'
                           '</Patient>', {201, 400, 422}),
        "xml_lang": ('<Patient xmlns="http://hl7.org/fhir" xml:lang="nb"><gender value="male"/></Patient>',
                     {201, 400, 422}),
        "ns_flood": ('<Patient xmlns="http://hl7.org/fhir" ' + " ".join(f'xmlns:n{i}="urn:x{i}"' for i in range(5000)) +
                     '><gender value="male"/></Patient>', {201, 400, 413, 422}),
        "attr_flood": ('<Patient xmlns="http://hl7.org/fhir"><gender value="male" ' +
                       " ".join(f'a{i}="x"' for i in range(20000)) + '/></Patient>', {400, 413, 422}),
        "attr_name_huge": ('<Patient xmlns="http://hl7.org/fhir"><gender ' + "a" * 200000 + '="x" value="male"/></Patient>',
                           {400, 413, 422}),
        "attr_value_huge": ('<Patient xmlns="http://hl7.org/fhir"><gender value="' + "m" * 4000000 + '"/></Patient>',
                            {400, 413, 422}),
        "attr_duplicate": ('<Patient xmlns="http://hl7.org/fhir"><gender value="male" value="female"/></Patient>', {400}),
        "id_attr_on_primitive": ('<Patient xmlns="http://hl7.org/fhir"><gender id="g1" value="male"/></Patient>',
                                 {201, 422}),
        "text_in_primitive": ('<Patient xmlns="http://hl7.org/fhir"><gender>male</gender></Patient>', {400, 422}),
        "resource_type_element": ('<Patient xmlns="http://hl7.org/fhir"><resourceType value="Observation"/></Patient>',
                                  {400, 422}),
        "two_ids": ('<Patient xmlns="http://hl7.org/fhir"><id value="a"/><id value="b"/></Patient>', {400, 422}),
        "param_entity": ('<?xml version="1.0"?><!DOCTYPE p [<!ENTITY % a "<!ENTITY b \'x\'>"> %a;]>'
                         '<Patient xmlns="http://hl7.org/fhir"><name><family value="&b;"/></name></Patient>', {400}),
        "undefined_entity": ('<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/><div xmlns='
                             '"http://www.w3.org/1999/xhtml">&nbsp;</div></text></Patient>', {400, 422}),
        "char_refs": ('<Patient xmlns="http://hl7.org/fhir"><name><family value="&#0;&#xD800;"/></name></Patient>', {400}),
        "xml_11": ('<?xml version="1.1"?><Patient xmlns="http://hl7.org/fhir"><gender value="male"/></Patient>',
                   {201, 400, 422}),
        "standalone": ('<?xml version="1.0" standalone="yes"?><Patient xmlns="http://hl7.org/fhir"/>', {201, 400, 422}),
        "empty_resource_wrapper": ('<Bundle xmlns="http://hl7.org/fhir"><type value="collection"/><entry><resource/>'
                                   '</entry></Bundle>', {201, 400, 422}),
        "two_in_wrapper": ('<Patient xmlns="http://hl7.org/fhir"><contained><Patient/><Patient/></contained></Patient>',
                           {400, 422}),
        "contained_unknown": ('<Patient xmlns="http://hl7.org/fhir"><contained><Nope/></contained></Patient>',
                              {400, 422}),
        "contained_deep": ('<Patient xmlns="http://hl7.org/fhir">' + "<contained><Patient>" * 60 +
                           "</Patient></contained>" * 60 + "</Patient>", {400, 413, 422}),
        "xhtml_script_attrs": ('<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/><div xmlns='
                               '"http://www.w3.org/1999/xhtml"><a href="javascript:alert(1)" onclick="x()">x</a>'
                               '<img src="http://evil.example/x.png"/></div></text></Patient>', {400, 422}),
        "xhtml_wrong_ns": ('<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/><div>x</div></text>'
                           '</Patient>', {400, 422}),
        "xhtml_deep": ('<Patient xmlns="http://hl7.org/fhir"><text><status value="generated"/><div xmlns='
                       '"http://www.w3.org/1999/xhtml">' + "<span>" * 120 + "x" + "</span>" * 120 + "</div></text>"
                       "</Patient>", {201, 400, 413, 422}),
    }
    for name, (body, allowed) in bodies.items():
        expect_outcome(f"xml_{name}", fhir("POST", "/Patient", body, ctype=XML), allowed)


@probe
def xml_numbers_and_primitives():
    obs = ('<Observation xmlns="http://hl7.org/fhir"><status value="final"/><code><text value="x"/></code>'
           '<valueQuantity><value value="{}"/></valueQuantity></Observation>')
    for i, v in enumerate(["9" * 100000, "1e99999", "-1e-99999", "1" + "0" * 400, "0x10", "1_000", "NaN", "Infinity",
                           "-0", "1.", ".5", "+1", " 1", "1e", "00.5"]):
        expect_outcome(f"xml_decimal_{i}", fhir("POST", "/Observation", obs.format(v), ctype=XML), {201, 400, 413, 422})
    pat = '<Patient xmlns="http://hl7.org/fhir"><multipleBirthInteger value="{}"/></Patient>'
    for i, v in enumerate(["99999999999999999999", "2147483648", "-2147483649", "1.0", "1e3", "9" * 100000]):
        expect_outcome(f"xml_integer_{i}", fhir("POST", "/Patient", pat.format(v), ctype=XML), {400, 413, 422})
    pat = '<Patient xmlns="http://hl7.org/fhir"><active value="{}"/></Patient>'
    for i, v in enumerate(["TRUE", "1", "", "yes"]):
        expect_outcome(f"xml_boolean_{i}", fhir("POST", "/Patient", pat.format(v), ctype=XML), {400, 422})
    pat = '<Patient xmlns="http://hl7.org/fhir"><birthDate value="{}"/></Patient>'
    for i, v in enumerate(["99999-01-01", "2020-02-30", "0000-01-01", "-2020-01-01", "2020-1-1", "2020-01-01T00:00:00Z"]):
        expect_outcome(f"xml_date_{i}", fhir("POST", "/Patient", pat.format(v), ctype=XML), {201, 400, 422})


@probe
def xml_encodings():
    # Latin-1 declared and used (a Norwegian name): a valid XML document.
    latin1 = ('<?xml version="1.0" encoding="ISO-8859-1"?><Patient xmlns="http://hl7.org/fhir"><name><family value="'
              'Bjørnstad Ærø"/></name></Patient>').encode("latin-1")
    r = expect_outcome("xml_latin1", fhir("POST", "/Patient", latin1, ctype=XML), {201, 400, 415, 422})
    if r and r[0] == 201:
        loc = r[1].get("location", "")
        path = loc[loc.find("/Patient/"):] if "/Patient/" in loc else None
        got = fhir("GET", path) if path else None
        if got and got[0] == 200 and "Bjørnstad Ærø" not in got[2].decode("utf-8", "replace"):
            fail("xml_latin1", f"the stored name is not the one sent: {got[2][:200]!r}")
    utf16 = '<?xml version="1.0" encoding="UTF-16"?><Patient xmlns="http://hl7.org/fhir"><gender value="male"/></Patient>'
    expect_outcome("xml_utf16_bom", fhir("POST", "/Patient", utf16.encode("utf-16"), ctype=XML), {201, 400, 415, 422})
    lying = ('<?xml version="1.0" encoding="UTF-8"?><Patient xmlns="http://hl7.org/fhir"><name><family value="'
             'Bjørn"/></name></Patient>').encode("latin-1")
    expect_outcome("xml_latin1_declared_utf8", fhir("POST", "/Patient", lying, ctype=XML), {400, 422})
    expect_outcome("xml_charset_param_conflict",
                   fhir("POST", "/Patient", latin1, ctype="application/fhir+xml; charset=utf-8"), {201, 400, 415, 422})
    expect_outcome("xml_unknown_encoding", fhir("POST", "/Patient", b'<?xml version="1.0" encoding="x-nope"?>'
                                                b'<Patient xmlns="http://hl7.org/fhir"/>', ctype=XML), {400, 415, 422})


@probe
def negotiation():
    xml_patient = '<Patient xmlns="http://hl7.org/fhir"><gender value="male"/></Patient>'
    cases = [
        ("format_twice", "GET", "/metadata?_format=json&_format=xml", None, None, {}, {200, 400, 406}),
        ("format_empty", "GET", "/metadata?_format=", None, None, {}, {200, 400, 406}),
        ("format_html", "GET", "/metadata?_format=text/html", None, None, {}, {200, 400, 406}),
        ("format_params", "GET", "/metadata?_format=application/fhir%2Bxml;fhirVersion=3.0", None, None, {},
         {200, 400, 406}),
        ("accept_q0", "GET", "/metadata", None, None, {"Accept": "application/fhir+json;q=0, application/fhir+xml"},
         {200, 406}),
        ("accept_all_q0", "GET", "/metadata", None, None, {"Accept": "*/*;q=0"}, {200, 406}),
        ("accept_1000", "GET", "/metadata", None, None, {"Accept": ",".join(["text/x%d" % i for i in range(1000)])},
         {200, 406, 431}),
        ("accept_fhir_version", "GET", "/metadata", None, None, {"Accept": "application/fhir+json; fhirVersion=3.0"},
         {200, 406}),
        ("xml_body_json_format", "POST", "/Patient?_format=json", xml_patient, XML, {}, {201}),
        ("json_body_xml_accept", "POST", "/Patient", '{"resourceType":"Patient"}', "application/fhir+json",
         {"Accept": XML}, {201}),
        ("xml_error_in_xml", "POST", "/Patient", "<Patient", XML, {"Accept": XML}, {400}),
        ("ctype_json_and_xml", "POST", "/Patient", '{"resourceType":"Patient"}',
         "application/fhir+json, application/fhir+xml", {}, {400, 415}),
        ("ctype_xml_suffix_json_body", "POST", "/Patient", '{"resourceType":"Patient"}', "application/xml", {},
         {400, 415}),
        ("ctype_text_xml", "POST", "/Patient", xml_patient, "text/xml", {}, {201, 415}),
        ("ctype_uppercase", "POST", "/Patient", '{"resourceType":"Patient"}', "APPLICATION/FHIR+JSON", {}, {201, 415}),
        ("ctype_params_garbage", "POST", "/Patient", '{"resourceType":"Patient"}',
         'application/fhir+json; charset="utf-8' + "x" * 5000, {}, {201, 400, 415}),
    ]
    for name, m, t, body, ctype, extra, allowed in cases:
        hs = dict(extra)
        hs.setdefault("Accept", "application/fhir+json")
        if body is not None:
            hs["Content-Type"] = ctype
        r = request(m, t, body.encode() if body is not None else b"", hs)
        r = expect(f"neg_{name}", r, allowed)
        if r and r[0] >= 400 and not outcome_has_issue(r):
            fail(f"neg_{name}", f"status {r[0]} without an OperationOutcome; body {r[2][:200]!r}")
        if name == "xml_error_in_xml" and r and "xml" not in r[1].get("content-type", ""):
            fail(name, f"an error asked for in XML came as {r[1].get('content-type')}")


# ---- Search --------------------------------------------------------------------------------------------------------


@probe
def search_edges():
    qs = {
        "Patient": ["_sort=" + ",".join(["name", "-birthdate", "gender", "family", "given", "address", "-_id", "identifier",
                                         "telecom", "phone", "email", "_lastUpdated", "organization", "death-date"] * 3),
                    "_sort=_id,-_id,_id", "_sort=-name,-name", "_sort=,,,", "_sort=name:exact", "_sort=-" * 1,
                    "_count=2147483648", "_count=9223372036854775808", "_count=1e3", "_count=+5", "_count=05",
                    "_count=1&_count=2", "_offset=9223372036854775807&_count=1", "_offset=1e400",
                    "birthdate=gt99999999999-01-01", "birthdate=ge-9999", "birthdate=2020-02-30", "birthdate=2020-02-29",
                    "birthdate=2019-02-29", "birthdate=2020-01-01T24:00:00Z", "birthdate=2020-01-01T23:59:60Z",
                    "birthdate=2020-01-01T00:00:00+99:99", "birthdate=2020-01-01T00:00:00.9999999999999Z",
                    "birthdate=ge2020&birthdate=le2019", "birthdate=sa9999-12-31", "birthdate=eb0001-01-01",
                    "birthdate=ap0001", "birthdate=ap9999-12-31T23:59:59Z", "_lastUpdated=gt9999-12-31T23:59:59.999Z",
                    "_lastUpdated=lt0001-01-01", "_lastUpdated=ap2020", "birthdate:missing=true", "birthdate:missing=",
                    "name:missing=false", "identifier:missing=true&identifier:missing=false", "_id:missing=true",
                    "_lastUpdated:missing=true", "general-practitioner:missing=true&_sort=name",
                    "_has:CarePlan:subject:status=active", "_has:CarePlan:subject:_has:Provenance:target:agent=x",
                    "_has:" + ":".join(["CarePlan:subject:_has"] * 12) + ":CarePlan:subject:status=active",
                    "_has:CarePlan:subject:status:missing=true", "_has:CarePlan:nope:status=x",
                    "_has:Nope:subject:status=x", "_has:CarePlan:subject:status=" + ",".join(["a"] * 3000),
                    "_include:iterate=Patient:link", "_include:iterate=Patient:general-practitioner&_include:iterate=*",
                    "_revinclude:iterate=CarePlan:subject&_include:iterate=CarePlan:part-of&_include:iterate=CarePlan:subject",
                    "_include=Patient:link:Patient:Patient", "_include=Patient:link:Nope", "_include=:::",
                    "_include=Patient:general-practitioner&" * 500, "_revinclude=Provenance:target:Patient",
                    "_elements=*", "_elements=name,name,name", "_elements=meta.tag", "_summary=count&_include=*",
                    "_summary=true&_elements=name", "_summary=text", "_summary=data&_count=0", "_total=accurate&_count=0",
                    "_total=accurate&_has:CarePlan:subject:status=active", "identifier:of-type=a|b",
                    "identifier:of-type=a|b|c|d", "identifier:of-type=||", "identifier:of-type=|HNR|1",
                    "identifier:identifier=x", "name:exact=" + "\u00e6".encode().decode("latin-1") * 2,
                    "name:contains=%", "name:contains=_", "name:contains=" + "\\" * 100, "name=%25%25",
                    "name:text=x", "gender:not=male,female", "gender:not=", "_id=" + "x" * 65, "_id=../x",
                    "organization=Organization/x/_history/1", "organization=http://other.example/fhir/Organization/x",
                    "organization:Organization.name=x", "organization:Nope.name=x", "organization.name:missing=true",
                    "general-practitioner:Practitioner.identifier:of-type=a|b|c", "link:Patient.link:Patient.link=x"],
        "Observation": ["code-value-quantity=http://loinc.org|x$gt5|http://unitsofmeasure.org|mg",
                        "code-value-quantity=$", "code-value-quantity=$$", "code-value-quantity=a$b$c",
                        "code-value-quantity=a$", "code-value-quantity=$gt5", "code-value-quantity=a$gt1e99999",
                        "code-value-quantity=a$gt" + "9" * 5000, "code-value-quantity=a$ne5,b$lt", "code-value-quantity:missing=true",
                        "code-value-quantity:exact=a$5", "component-code-value-quantity=a$ap0",
                        "code-value-concept=a$b|c|d", "code-value-date=a$gt2020-13-01", "code-value-string=a$" + "x" * 5000,
                        "combo-code-value-quantity=" + ",".join(["a$1"] * 2000), "value-quantity=gt1e308",
                        "value-quantity=lt-1e308", "value-quantity=1e-400", "value-quantity=ap0", "value-quantity=5||",
                        "value-quantity=5|" + "s" * 5000 + "|mg", "value-quantity=nan", "value-quantity=inf",
                        "value-quantity=0x10", "value-quantity=sa1.7976931348623157e309", "date=gt2020-01-01&date=lt2019-01-01",
                        "value-date=ap2020-01-01T00:00:00Z", "subject:missing=true&_sort=-date", "_sort=value-quantity",
                        "_sort=code-value-quantity", "_sort=component-code-value-quantity", "code-value-quantity=a$5&_sort=date"],
        "CarePlan": ["_include:iterate=CarePlan:part-of", "_include:iterate=CarePlan:part-of&_include:iterate=CarePlan:replaces"
                     "&_include:iterate=CarePlan:based-on&_revinclude:iterate=CarePlan:part-of",
                     "_revinclude:iterate=Provenance:target&_include:iterate=Provenance:agent&_include:iterate=*",
                     "_include=*&_revinclude=*&_include:iterate=*&_revinclude:iterate=*",
                     "subject.general-practitioner.organization.partof=x", "subject:Patient.link:Patient.link:Patient.name=x",
                     "_has:Provenance:target:_has:Provenance:target:agent=x", "period=gt2020-01-01&period=lt2019",
                     "period:missing=true", "activity-date=ap" + "2020-01-01T00:00:00Z", "_filter=status eq active",
                     "_text=plan", "instantiates-canonical:below=http://", "_sort=period,-date,activity-date,_lastUpdated"],
    }
    for rtype, qlist in qs.items():
        for i, q in enumerate(qlist):
            expect_outcome(f"search_{rtype}_{i}_{q[:50]}", fhir("GET", f"/{rtype}?{q}"), {200, 400, 403, 413, 414, 422, 431})
    # The same forms through POST _search (form-encoded body), where the parameters are not in the URL.
    for i, q in enumerate(["_count=2147483648", "birthdate=2020-01-01T00:00:00+99:99", "_has:" + ":".join(["CarePlan:subject:_has"] * 12)
                           + ":CarePlan:subject:status=active", "_sort=" + ",".join(["name"] * 3000)]):
        expect_outcome(f"post_search_{i}", fhir("POST", "/Patient/_search", q, ctype="application/x-www-form-urlencoded"),
                       {200, 400, 403, 413, 422})


@probe
def include_iterate_over_a_stored_loop():
    # Three CarePlans part-of each other in a ring, and two Patients linked to each other: :iterate must end.
    ids = ["probe-ring-a", "probe-ring-b", "probe-ring-c"]
    fhir("PUT", "/Patient/probe-loop-1", json.dumps({"resourceType": "Patient", "id": "probe-loop-1"}))
    fhir("PUT", "/Patient/probe-loop-2", json.dumps({"resourceType": "Patient", "id": "probe-loop-2",
                                                     "link": [{"type": "seealso", "other": {"reference": "Patient/probe-loop-1"}}]}))
    expect("loop_patient_1", fhir("PUT", "/Patient/probe-loop-1", json.dumps(
        {"resourceType": "Patient", "id": "probe-loop-1",
         "link": [{"type": "seealso", "other": {"reference": "Patient/probe-loop-2"}}]})), {200, 201})
    for i, id_ in enumerate(ids):
        fhir("PUT", f"/CarePlan/{id_}", json.dumps({"resourceType": "CarePlan", "id": id_, "status": "draft",
                                                    "intent": "plan", "subject": {"reference": "Patient/probe-loop-1"}}))
    for i, id_ in enumerate(ids):
        nxt = ids[(i + 1) % 3]
        expect(f"ring_{id_}", fhir("PUT", f"/CarePlan/{id_}", json.dumps(
            {"resourceType": "CarePlan", "id": id_, "status": "draft", "intent": "plan",
             "subject": {"reference": "Patient/probe-loop-1"}, "partOf": [{"reference": f"CarePlan/{nxt}"}]})),
            {200, 201, 422})
    r = expect_outcome("ring_iterate", fhir("GET", "/CarePlan?_id=probe-ring-a&_include:iterate=CarePlan:part-of"),
                       {200})
    if r and r[0] == 200:
        b = json_of(r) or {}
        got = [e.get("resource", {}).get("id") for e in b.get("entry", [])]
        if len(got) != len(set(got)):
            fail("ring_iterate", f"an included resource appears twice: {got}")
    r = expect_outcome("link_iterate", fhir("GET", "/Patient?_id=probe-loop-1&_include:iterate=Patient:link"), {200})
    if r and r[0] == 200:
        b = json_of(r) or {}
        got = [e.get("resource", {}).get("id") for e in b.get("entry", [])]
        if sorted(got) != ["probe-loop-1", "probe-loop-2"]:
            fail("link_iterate", f"expected the two linked Patients once each, got {got}")
    expect_outcome("ring_rev_iterate", fhir("GET", "/CarePlan?_id=probe-ring-a&_revinclude:iterate=CarePlan:part-of"
                                           "&_include:iterate=CarePlan:part-of&_include:iterate=CarePlan:subject"
                                           "&_revinclude:iterate=CarePlan:subject"), {200})


# ---- $validate, FHIRPath Patch -------------------------------------------------------------------------------------


@probe
def validate_edges():
    reqs = [
        ("POST", "/Patient/$validate?profile=http://planbro.no/fhir/StructureDefinition/ip-careplan", '{"resourceType":"Patient"}'),
        ("POST", "/Patient/$validate?profile=http://hl7.org/fhir/StructureDefinition/Extension", '{"resourceType":"Patient"}'),
        ("POST", "/Patient/$validate?profile=http://hl7.org/fhir/StructureDefinition/Patient|9.9", '{"resourceType":"Patient"}'),
        ("POST", "/Patient/$validate?profile=" + "http://a/" * 2000, '{"resourceType":"Patient"}'),
        ("POST", "/Patient/$validate?mode=delete", '{"resourceType":"Patient"}'),
        ("POST", "/Patient/$validate?mode=update", '{"resourceType":"Patient"}'),
        ("POST", "/Observation/$validate", '{"resourceType":"Patient"}'),
        ("POST", "/Patient/$validate", '{"resourceType":"Parameters","parameter":[{"name":"resource","valueString":"x"}]}'),
        ("POST", "/Patient/$validate", '{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Parameters",'
                                       '"parameter":[{"name":"resource","resource":{"resourceType":"Patient"}}]}}]}'),
        ("POST", "/Patient/$validate", '{"resourceType":"Parameters","parameter":[{"name":"profile","valueCanonical":"' + "x" * 10000 + '"},'
                                       '{"name":"resource","resource":{"resourceType":"Patient"}}]}'),
        ("POST", "/Patient/$validate", '{"resourceType":"Parameters","parameter":[{"name":"resource","resource":{"resourceType":"Patient"}},'
                                       '{"name":"resource","resource":{"resourceType":"Patient"}}]}'),
        ("POST", "/Patient/probe-patch/$validate?mode=delete", None),
        ("POST", "/Patient/nope/$validate?mode=delete", None),
        ("POST", "/Bundle/$validate", json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}}] * 3})),
        # A constraint expression in a contained StructureDefinition is data, never run.
        ("POST", "/StructureDefinition/$validate", json.dumps({"resourceType": "StructureDefinition", "url": "http://x", "name": "X",
                                                               "status": "draft", "kind": "resource", "abstract": False, "type": "Patient",
                                                               "differential": {"element": [{"path": "Patient", "constraint": [
                                                                   {"key": "x-1", "severity": "error", "human": "x",
                                                                    "expression": "repeat(repeat(descendants()))"}]}]}})),
        ("POST", "/Patient/$validate", json.dumps({"resourceType": "Patient", "meta": {"profile": ["http://planbro.no/fhir/StructureDefinition/ip-careplan"] * 50}})),
    ]
    for i, (m, t, b) in enumerate(reqs):
        expect_outcome(f"validate_{i}", fhir(m, t, b), {200, 400, 404, 405, 412, 413, 422, 431})


@probe
def fhirpath_patch_edges():
    fhir("PUT", "/Patient/probe-fpp", '{"resourceType":"Patient","id":"probe-fpp","name":[{"family":"a"}]}')

    def op(parts):
        return json.dumps({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": parts}]})

    cases = [
        [{"name": "type", "valueCode": "delete"}, {"name": "path", "valueString": "Patient.descendants()"}],
        [{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.id"}, {"name": "value", "valueId": "other"}],
        [{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient"}, {"name": "value", "valueString": "x"}],
        [{"name": "type", "valueCode": "insert"}, {"name": "path", "valueString": "Patient.name"}, {"name": "index", "valueInteger": 2147483647},
         {"name": "value", "valueHumanName": {"family": "b"}}],
        [{"name": "type", "valueCode": "insert"}, {"name": "path", "valueString": "Patient.name"}, {"name": "index", "valueInteger": -1},
         {"name": "value", "valueHumanName": {"family": "b"}}],
        [{"name": "type", "valueCode": "move"}, {"name": "path", "valueString": "Patient.name"}, {"name": "source", "valueInteger": 0},
         {"name": "destination", "valueInteger": 99}],
        [{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient"}, {"name": "name", "valueString": "resourceType"},
         {"name": "value", "valueString": "Observation"}],
        [{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient"}, {"name": "name", "valueString": "contained"},
         {"name": "value", "resource": {"resourceType": "Patient", "contained": [{"resourceType": "Patient"}]}}],
        [{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient.name.where(family.matches('(a+)+$'))"},
         {"name": "name", "valueString": "given"}, {"name": "value", "valueString": "x"}],
        [{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient" + ".name" * 5000},
         {"name": "name", "valueString": "given"}, {"name": "value", "valueString": "x"}],
        [{"name": "type", "valueCode": "delete"}, {"name": "path", "valueString": "%resource.id"}],
        [{"name": "type", "valueCode": "delete"}, {"name": "path", "valueString": "Patient.meta"}],
        [{"name": "type", "valueCode": "add"}],
    ]
    for i, parts in enumerate(cases):
        expect_outcome(f"fhirpath_patch_{i}", fhir("PATCH", "/Patient/probe-fpp", op(parts)), {200, 400, 409, 412, 413, 422})
    # resolve() of "#" is the resource itself, of "#o1" a contained one: a patch must not swap the resource out.
    fhir("PUT", "/Patient/probe-fpp2", json.dumps({
        "resourceType": "Patient", "id": "probe-fpp2",
        "contained": [{"resourceType": "Organization", "id": "o1", "name": "x"}],
        "generalPractitioner": [{"reference": "#o1"}], "managingOrganization": {"reference": "#"}}))
    resolved = [
        [{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.managingOrganization.resolve()"},
         {"name": "value", "valueString": "x"}],
        [{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.generalPractitioner.resolve()"},
         {"name": "value", "valueString": "x"}],
        [{"name": "type", "valueCode": "delete"}, {"name": "path", "valueString": "Patient.generalPractitioner.resolve()"}],
        [{"name": "type", "valueCode": "delete"}, {"name": "path", "valueString": "Patient.managingOrganization.resolve()"}],
        [{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient.managingOrganization.resolve()"},
         {"name": "name", "valueString": "id"}, {"name": "value", "valueId": "other"}],
        [{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.managingOrganization.resolve().id"},
         {"name": "value", "valueId": "other"}],
    ]
    for i, parts in enumerate(resolved):
        expect_outcome(f"fhirpath_patch_resolve_{i}", fhir("PATCH", "/Patient/probe-fpp2", op(parts)), {200, 400, 409, 412, 422})
    r = fhir("GET", "/Patient/probe-fpp2")
    if r and r[0] == 200 and ((json_of(r) or {}).get("resourceType"), (json_of(r) or {}).get("id")) != ("Patient", "probe-fpp2"):
        fail("fhirpath_patch_resolve", f"a patch through resolve() changed the resource's type or id: {r[2][:200]!r}")
    many = json.dumps({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
        {"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient"},
        {"name": "name", "valueString": "name"}, {"name": "value", "valueHumanName": {"family": "z" * 100}}]}] * 20000})
    expect_outcome("fhirpath_patch_20000_adds", fhir("PATCH", "/Patient/probe-fpp", many), {200, 400, 413, 422})
    r = expect("fhirpath_patch_still_readable", fhir("GET", "/Patient/probe-fpp"), {200})
    if r and r[0] == 200 and (json_of(r) or {}).get("id") != "probe-fpp":
        fail("fhirpath_patch_still_readable", "the resource's id changed through a patch")


# ---- JSON Patch ----------------------------------------------------------------------------------------------------


@probe
def json_patch_pointer_edges():
    seed = '{"resourceType":"Patient","id":"probe-jp","name":[{"family":"a","given":["b"]}]}'
    fhir("PUT", "/Patient/probe-jp", seed)
    ops = [
        '[{"op":"add","path":"/name/0/~1x","value":1}]', '[{"op":"add","path":"/name/0/~01","value":1}]',
        '[{"op":"add","path":"/name/01","value":{"family":"x"}}]', '[{"op":"add","path":"/name/","value":{}}]',
        '[{"op":"add","path":"name","value":[]}]', '[{"op":"replace","path":"/resourceType","value":"Observation"}]',
        '[{"op":"remove","path":"/resourceType"}]', '[{"op":"remove","path":"/id"}]', '[{"op":"remove","path":"/meta"}]',
        '[{"op":"copy","from":"/nope","path":"/name/-"}]', '[{"op":"move","from":"/name/0","path":"/name/0/given/-"}]',
        '[{"op":"move","from":"/name/0/given","path":"/name"}]', '[{"op":"test","path":"/name/0/given/0","value":"b"},'
        '{"op":"remove","path":"/name/0/given/0"},{"op":"test","path":"/name/0/given/0","value":"b"}]',
        '[{"op":"test","path":"/id","value":1}]', '[{"op":1,"path":"/id"}]', '[{"op":"add","path":1,"value":1}]',
        '[{"op":"add","path":"/name/0","value":{"family":"x"},"op":"remove"}]', '[{"op":"add","path":"/name/-"}]',
        '[{"op":"add","path":"/contained","value":[{"resourceType":"Patient","contained":[{"resourceType":"Patient"}]}]}]',
        '[{"op":"add","path":"/contained","value":[{"resourceType":"Nope"}]}]',
        '[{"op":"add","path":"/meta/lastUpdated","value":"not-a-date"}]', '[{"op":"add","path":"/meta/versionId","value":"999"}]',
        '[{"op":"add","path":"/extension","value":[{"url":"' + "x" * 200000 + '","valueString":"x"}]}]',
        '[{"op":"add","path":"/name/0/family","value":"' + "f" * 3000000 + '"}]',
        '[{"op":"add","path":"/name/9223372036854775807","value":{}}]', '[{"op":"add","path":"/name/1e2","value":{}}]',
        '[{"op":"add","path":"/name/ 0","value":{}}]', '[{"op":"add","path":"/name/0x0","value":{}}]',
        '[{"op":"replace","path":"/name/0/given/0","value":null}]', '[{"op":"add","path":"/birthDate","value":"2020-02-30"}]',
        '[{"op":"add","path":"/\\u0000","value":1}]', '[{"op":"add","path":"/name/0/\\ud800","value":1}]',
    ]
    for i, o in enumerate(ops):
        expect_outcome(f"jpatch_{i}", fhir("PATCH", "/Patient/probe-jp", o, ctype=PATCH), {200, 400, 409, 412, 413, 422})
    for i, v in enumerate(['W/"99999999999999999999999"', 'W/"1"x', '"1"', 'W/"0"', 'W/"-0"', 'W/" 1"', "W/1", '*']):
        expect_outcome(f"jpatch_if_match_{i}", fhir("PATCH", "/Patient/probe-jp", "[]", ctype=PATCH, extra={"If-Match": v}),
                       {200, 400, 409, 412})
    expect_outcome("jpatch_ctype_charset", fhir("PATCH", "/Patient/probe-jp", "[]", ctype=PATCH + "; charset=iso-8859-1"),
                   {200, 400, 415})
    expect_outcome("jpatch_xml_ctype", fhir("PATCH", "/Patient/probe-jp", "[]", ctype=XML), {400, 415, 422})
    expect_outcome("jpatch_empty", fhir("PATCH", "/Patient/probe-jp", "", ctype=PATCH), {400, 422})
    expect_outcome("jpatch_missing", fhir("PATCH", "/Patient/probe-nope-" + "x" * 50, "[]", ctype=PATCH), {404})
    fhir("PUT", "/Patient/probe-jp-del", '{"resourceType":"Patient","id":"probe-jp-del"}')
    fhir("DELETE", "/Patient/probe-jp-del")
    expect_outcome("jpatch_deleted", fhir("PATCH", "/Patient/probe-jp-del", '[{"op":"add","path":"/active","value":true}]',
                                          ctype=PATCH), {404, 405, 409, 410})
    r = expect("jpatch_still_patient", fhir("GET", "/Patient/probe-jp"), {200})
    if r and r[0] == 200:
        b = json_of(r) or {}
        if b.get("resourceType") != "Patient" or b.get("id") != "probe-jp":
            fail("jpatch_still_patient", f"a patch changed the resource's type or id: {r[2][:200]!r}")


# ---- Transactions --------------------------------------------------------------------------------------------------


def bundle(kind, entries):
    return json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries})


@probe
def transaction_conditional_references():
    fnr = "13116900216"
    seed = {"resourceType": "Patient", "identifier": [{"system": FNR_SYSTEM, "value": fnr}]}
    fhir("POST", "/Patient", json.dumps(seed), extra={"If-None-Exist": f"identifier={FNR_SYSTEM}|{fnr}"})
    same = [{"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                          "subject": {"reference": f"Patient?identifier={FNR_SYSTEM}|{fnr}"}},
             "request": {"method": "POST", "url": "Observation"}} for _ in range(1000)]
    r = expect_outcome("tx_1000_same_cond_ref", fhir("POST", "/", bundle("transaction", same)), {200, 400, 413, 422})
    if r and r[0] == 200:
        b = json_of(r) or {}
        if len(b.get("entry", [])) != 1000:
            fail("tx_1000_same_cond_ref", f"{len(b.get('entry', []))} entries answered, not 1000")
    distinct = [{"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                              "subject": {"reference": f"Patient?identifier=urn:probe|nobody-{i}"}},
                 "request": {"method": "POST", "url": "Observation"}} for i in range(1000)]
    expect_outcome("tx_1000_unmatched_cond_refs", fhir("POST", "/", bundle("transaction", distinct)), {400, 404, 412, 422})
    odd = ["Patient?", "Patient?_id=", "Patient?identifier=" + "x" * 10000, "Patient?nope=1", "Nope?x=1", "Patient?_count=1",
           "Patient?_sort=name", "Patient?_include=*", "Patient?identifier=%zz", "Patient?_has:CarePlan:subject:status=active",
           "?identifier=x", "Patient?identifier:missing=false"]
    for i, ref in enumerate(odd):
        e = [{"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                           "subject": {"reference": ref}}, "request": {"method": "POST", "url": "Observation"}}]
        expect_outcome(f"tx_odd_cond_ref_{i}", fhir("POST", "/", bundle("transaction", e)), {200, 400, 404, 412, 422})


@probe
def transaction_cycles_and_conditionals():
    u = [f"urn:uuid:aaaaaaaa-0000-0000-0000-{i:012d}" for i in range(3)]
    # A ring of three new Patients, each created only if absent (ifNoneExist) and linked to the next.
    ring = [{"fullUrl": u[i], "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:probe:ring", "value": str(i)}],
                                           "link": [{"type": "seealso", "other": {"reference": u[(i + 1) % 3]}}]},
             "request": {"method": "POST", "url": "Patient", "ifNoneExist": f"identifier=urn:probe:ring|{i}"}} for i in range(3)]
    for round_ in range(2):
        expect_outcome(f"tx_ring_cond_create_{round_}", fhir("POST", "/", bundle("transaction", ring)), {200, 400, 412, 422})
    r = fhir("GET", "/Patient?identifier=urn:probe:ring|0")
    if r and r[0] == 200 and len((json_of(r) or {}).get("entry", [])) > 1:
        fail("tx_ring_cond_create", "a conditional create in a transaction made a second Patient")
    # A PUT by a conditional URL whose match is the other entry of the same transaction.
    e = [{"fullUrl": u[0], "resource": {"resourceType": "Patient", "identifier": [{"system": "urn:probe:cu", "value": "1"}]},
          "request": {"method": "POST", "url": "Patient"}},
         {"resource": {"resourceType": "Patient", "identifier": [{"system": "urn:probe:cu", "value": "1"}]},
          "request": {"method": "PUT", "url": "Patient?identifier=urn:probe:cu|1"}}]
    expect_outcome("tx_cond_put_vs_post", fhir("POST", "/", bundle("transaction", e)), {200, 400, 409, 412, 422})
    # Self-reference, a reference to a fullUrl not in the bundle, the same resource written twice, a delete and a write.
    cases = [
        [{"fullUrl": u[0], "resource": {"resourceType": "Patient", "link": [{"type": "seealso", "other": {"reference": u[0]}}]},
          "request": {"method": "POST", "url": "Patient"}}],
        [{"fullUrl": u[0], "resource": {"resourceType": "Patient", "link": [{"type": "seealso", "other": {"reference": u[2]}}]},
          "request": {"method": "POST", "url": "Patient"}}],
        [{"resource": {"resourceType": "Patient", "id": "probe-twice"}, "request": {"method": "PUT", "url": "Patient/probe-twice"}}] * 2,
        [{"request": {"method": "DELETE", "url": "Patient/probe-twice"}},
         {"resource": {"resourceType": "Patient", "id": "probe-twice"}, "request": {"method": "PUT", "url": "Patient/probe-twice"}}],
        [{"resource": {"resourceType": "Patient", "id": "probe-twice"}, "request": {"method": "PUT", "url": "Patient/probe-twice",
                                                                                     "ifMatch": 'W/"' + "9" * 40 + '"'}}],
        [{"resource": {"resourceType": "Patient", "id": "probe-twice"}, "request": {"method": "PUT", "url": "Patient/probe-twice",
                                                                                     "ifNoneMatch": "*"}}],
        [{"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient", "ifNoneExist": "%zz"}}],
        [{"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient", "ifNoneExist": "identifier=a&" * 3000}}],
        [{"fullUrl": "Patient/probe-fu", "resource": {"resourceType": "Patient", "id": "other"}, "request": {"method": "PUT", "url": "Patient/probe-fu"}}],
        [{"fullUrl": u[1], "resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Observation"}}],
        [{"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient/x/y/z"}}],
        [{"request": {"method": "GET", "url": "Patient/probe-twice/_history/99999999999999999999"}}],
        [{"request": {"method": "PATCH", "url": "Patient/probe-twice"},
          "resource": {"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [{"name": "type", "valueCode": "delete"},
                                                                                                   {"name": "path", "valueString": "Patient.id"}]}]}}],
    ]
    for i, entries in enumerate(cases):
        expect_outcome(f"tx_case_{i}", fhir("POST", "/", bundle("transaction", entries)), {200, 400, 404, 405, 409, 412, 422})
        expect_outcome(f"batch_case_{i}", fhir("POST", "/", bundle("batch", entries)), {200, 400, 422})


# ---- IP operations -------------------------------------------------------------------------------------------------


@probe
def ip_operation_parameters():
    def params(*ps):
        return json.dumps({"resourceType": "Parameters", "parameter": list(ps)})

    status = [
        params({"name": "identifier", "valueInteger": 1}),
        params({"name": "identifier", "valueIdentifier": {}}),
        params({"name": "identifier", "valueIdentifier": {"system": FNR_SYSTEM}}),
        params({"name": "identifier", "valueIdentifier": {"value": "13116900216"}}),
        params({"name": "identifier", "valueIdentifier": {"system": "urn:x", "value": "13116900216"}}),
        params({"name": "identifier", "valueIdentifier": {"system": FNR_SYSTEM, "value": "1311690021"}}),
        params({"name": "identifier", "valueIdentifier": {"system": FNR_SYSTEM, "value": "13116900216"}},
               {"name": "identifier", "valueIdentifier": {"system": FNR_SYSTEM, "value": "13116900216"}}),
        params({"name": "identifier", "part": [{"name": "x", "valueString": "y"}]}),
        params({"name": "identifier", "resource": {"resourceType": "Patient"}}),
        params({"name": "nope", "valueString": "x"}),
        params(),
        '{"resourceType":"Parameters","parameter":{}}',
        '{"resourceType":"Parameters","parameter":[null]}',
    ]
    for i, b in enumerate(status):
        expect_outcome(f"ip_status_{i}", fhir("POST", "/Patient/$ip-status", b), {200, 400, 404, 422})
    for i, q in enumerate(["identifier=" + FNR_SYSTEM + "|13116900216", "identifier=x", "identifier=" + "|" * 500]):
        expect_outcome(f"ip_status_get_{i}", fhir("GET", "/Patient/$ip-status?" + q), {200, 400, 404, 405, 422})
    fig = ["periodStart=2026-01-01&periodEnd=2026-01-01", "periodStart=2026-01-01&periodEnd=2025-12-31",
           "periodStart=0001-01-01&periodEnd=0001-01-02", "periodStart=-0001-01-01&periodEnd=2026-01-01",
           "periodStart=99999-01-01&periodEnd=99999-12-31", "periodStart=2026-02-29&periodEnd=2026-03-01",
           "periodStart=2026-01-01T00:00:00%2B99:00&periodEnd=2026-02-01", "periodStart=2026-01-01T00:00:00Z&periodEnd=2026-02-01T00:00:00Z",
           "periodStart=2026&periodEnd=2027", "periodStart=2026-01&periodEnd=2026-02", "periodStart=&periodEnd=",
           "periodStart=2026-01-01", "periodEnd=2026-01-01", "periodStart=2026-01-01&periodStart=2025-01-01&periodEnd=2027-01-01",
           "periodStart=2026-01-01&periodEnd=2027-01-01&measure=" + "x" * 5000, "periodStart=2026-01-01&periodEnd=2027-01-01&measure=GW-62,GW-99",
           "periodStart=2026-01-01&periodEnd=2027-01-01&persist=maybe", "periodStart=2026-01-01&periodEnd=2027-01-01&subject=Patient/x",
           "periodStart=0001-01-01&periodEnd=9999-12-31&_format=xml", "periodStart=2026-01-01T25:00:00Z&periodEnd=2027-01-01"]
    for i, q in enumerate(fig):
        expect_outcome(f"ip_figures_get_{i}", fhir("GET", "/$ip-figures?" + q), {200, 400, 403, 404, 422})
    posts = [
        params({"name": "periodStart", "valueInteger": 2026}, {"name": "periodEnd", "valueDate": "2027-01-01"}),
        params({"name": "periodStart", "valueDate": "2027-01-01"}, {"name": "periodEnd", "valueDate": "2026-01-01"}),
        params({"name": "periodStart", "valueDate": "0001-01-01"}, {"name": "periodEnd", "valueDate": "9999-12-31"}),
        params({"name": "periodStart", "valueDateTime": "2026-01-01T00:00:00+14:00"}, {"name": "periodEnd", "valueDateTime": "2026-01-01T00:00:00-12:00"}),
        params({"name": "periodStart", "valueString": "2026-01-01"}, {"name": "periodEnd", "valueString": "2027-01-01"}),
        params({"name": "periodStart", "valuePeriod": {"start": "2026"}}),
        params(*[{"name": "periodStart", "valueDate": "2026-01-01"}] * 3000),
        params({"name": "periodStart", "valueDate": "2026-01-01"}, {"name": "periodEnd", "valueDate": "2027-01-01"},
               {"name": "persist", "valueBoolean": True}, {"name": "persist", "valueBoolean": False}),
    ]
    for i, b in enumerate(posts):
        expect_outcome(f"ip_figures_post_{i}", fhir("POST", "/$ip-figures", b), {200, 400, 403, 422})
    for i, q in enumerate(["withinDays=2147483648", "withinDays=-2147483649", "withinDays=0", "withinDays=", "withinDays=1&_count=0",
                           "withinDays=36500", "withinDays=1&_format=xml"]):
        expect_outcome(f"ip_deadlines_{i}", fhir("GET", "/CarePlan/$ip-deadlines?" + q), {200, 400, 422})


# ---- Conditional headers -------------------------------------------------------------------------------------------


@probe
def conditional_header_garbage():
    fhir("PUT", "/Patient/probe-cond", '{"resourceType":"Patient","id":"probe-cond"}')
    body = '{"resourceType":"Patient","id":"probe-cond"}'
    for i, v in enumerate(["*", 'W/"1"', '"', "W/", 'W/"99999999999999999999"', "x" * 8000, '*, W/"1"']):
        expect_outcome(f"put_if_none_match_{i}", fhir("PUT", "/Patient/probe-cond", body, extra={"If-None-Match": v}),
                       {200, 201, 304, 400, 409, 412})
        expect_outcome(f"get_if_none_match_{i}", fhir("GET", "/Patient/probe-cond", extra={"If-None-Match": v}),
                       {200, 304, 400, 412})
    for i, v in enumerate(['W/"99999999999999999999"', 'W/"0"', "garbage", 'W/"1"' * 2000]):
        expect_outcome(f"delete_if_match_{i}", fhir("DELETE", "/Patient/probe-cond", extra={"If-Match": v}),
                       {200, 204, 400, 409, 412})
    for i, v in enumerate(["Sat, 29 Feb 99999 00:00:00 GMT", "Mon, 32 Jan 2020 00:00:00 GMT", "0", "-1"]):
        expect_outcome(f"if_modified_since_{i}", fhir("GET", "/Patient/probe-cond", extra={"If-Modified-Since": v}),
                       {200, 304, 400})
    for i, v in enumerate(["return=representation, return=minimal", "return=OperationOutcome", "handling=strict",
                           "handling=lenient; return=minimal", "respond-async", "wait=99999999999999999999"]):
        expect_outcome(f"prefer_{i}", fhir("GET", "/Patient?_count=1", extra={"Prefer": v}), {200, 202, 400})
    r = expect("cond_still_there", fhir("GET", "/Patient/probe-cond"), {200, 410})


# ---- Connections ---------------------------------------------------------------------------------------------------


@probe
def slow_bodies():
    # Ten clients trickle a body (a byte a second); meanwhile the server must answer others, and each slow client
    # must in the end get an answer or a close, not hold anything forever.
    socks = []
    for _ in range(10):
        s = base.connect()
        s.sendall(b"POST /Patient HTTP/1.1\r\nHost: p\r\nContent-Type: application/fhir+json\r\nContent-Length: 1000\r\n\r\n{")
        socks.append(s)
    for i in range(6):
        for s in socks:
            try:
                s.sendall(b" ")
            except OSError:
                pass
        r = fhir("GET", "/Patient?_count=1")
        expect(f"served_during_slow_bodies_{i}", r, {200})
        time.sleep(0.5)
    for s in socks:
        s.close()


@probe
def pipelining_after_errors():
    s = base.connect()
    reqs = (b"GET /Patient?birthdate=notadate HTTP/1.1\r\nHost: p\r\n\r\n"
            b"POST /Patient HTTP/1.1\r\nHost: p\r\nContent-Type: application/fhir+json\r\nContent-Length: 1\r\n\r\n{"
            b"GET /healthz HTTP/1.1\r\nHost: p\r\n\r\n"
            b"POST /Patient HTTP/1.1\r\nHost: p\r\nContent-Type: application/fhir+json\r\nContent-Length: 26\r\n\r\n"
            b'{"resourceType":"Patient"}'
            b"GET /healthz HTTP/1.1\r\nHost: p\r\nConnection: close\r\n\r\n"
            b"GET /healthz HTTP/1.1\r\nHost: p\r\n\r\n")
    s.sendall(reqs)
    want = [{400}, {400}, {200}, {201}, {200}]
    for i, allowed in enumerate(want):
        r = base.read_response(s)
        expect(f"pipelined_{i}", r, allowed)
        if r is None or r[0] == "error":
            break
    s.settimeout(10)
    try:
        extra = base.PENDING.pop(s, b"") + s.recv(65536)
    except (socket.timeout, OSError):
        extra = b""
    if extra.startswith(b"HTTP/"):
        fail("pipelined_after_close", "an answer came after a request with Connection: close")
    s.close()
    # A pipelined request whose body is shorter than its Content-Length swallows the next request; the server must
    # not answer a request hidden in a body.
    s = base.connect()
    s.sendall(b"POST /Patient/$validate HTTP/1.1\r\nHost: p\r\nContent-Type: application/fhir+json\r\nContent-Length: 40\r\n\r\n"
              b"GET /healthz HTTP/1.1\r\nHost: p\r\n\r\n" + b" " * 6)
    r = base.read_response(s)
    expect("pipelined_smuggled", r, {400, 422})
    s.close()


def main():
    return base.run(PROBES)


if __name__ == "__main__":
    sys.exit(main())
