#!/usr/bin/env python3
"""Outside probe of a running planbro gateway (tests/system/outside_probe.sh starts it).

Every probe sends one hostile request (or a few) on raw sockets and checks the answer: a status in the expected set,
never a 5xx where the client is at fault, never a dropped connection without an answer, never a hang (each socket
read is bounded by a timeout that is a safety net, not the measure). After every probe /healthz must still answer.

Usage: probe.py HOST PORT [--only NAME] [--list]
Exit status 0 when every probe held, 1 otherwise (each failure is printed).
"""
import json
import socket
import sys
import time

HOST = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1"
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 8080
ONLY = sys.argv[sys.argv.index("--only") + 1] if "--only" in sys.argv else None
IO_TIMEOUT = 60.0  # a safety net against a hang (sanitizer builds are slow), far above any honest answer
FAILURES = []
PROBES = []


def probe(fn):
    PROBES.append(fn)
    return fn


def connect():
    s = socket.create_connection((HOST, PORT), timeout=IO_TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


PENDING = {}  # socket -> bytes read past the previous response (pipelined answers arrive together)


def read_response(s, head_only=False):
    """Reads one HTTP/1.1 response; returns (status, headers dict (lower-case), body bytes) or None if closed."""
    buf = PENDING.pop(s, b"")
    while b"\r\n\r\n" not in buf:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout) as e:
            return ("error", str(e), buf)
        if not chunk:
            return None if not buf else ("error", "closed mid-header", buf)
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), v.strip())
    if head_only or status in (100, 204, 304) or 100 <= status < 200:
        PENDING[s] = rest
        return (status, headers, b"")
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout) as e:
            return ("error", "body: " + str(e), rest)
        if not chunk:
            break
        rest += chunk
    PENDING[s] = rest[n:]
    return (status, headers, rest[:n])


def raw(data, shut=False):
    s = connect()
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        return read_response(s)
    except (BrokenPipeError, ConnectionResetError) as e:
        return ("error", str(e), b"")
    finally:
        s.close()


def request(method, target, body=b"", headers=None, version="HTTP/1.1"):
    hs = {"Host": "probe"}
    hs.update(headers or {})
    if body is not None and (body or method in ("POST", "PUT", "PATCH")) and "Transfer-Encoding" not in hs:
        hs.setdefault("Content-Length", str(len(body)))
    head = f"{method} {target} {version}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hs.items()) + "\r\n"
    return raw(head.encode("latin-1") + (body or b""))


def fail(name, msg):
    FAILURES.append(f"{name}: {msg}")
    print(f"FAIL {name}: {msg}", flush=True)


def expect(name, r, allowed):
    if r is None:
        fail(name, "connection closed without an answer")
        return None
    if r[0] == "error":
        fail(name, f"no complete answer ({r[1]}); got {r[2][:200]!r}")
        return None
    status = r[0]
    if status not in allowed:
        fail(name, f"status {status}, expected one of {sorted(allowed)}; body {r[2][:300]!r}")
    elif status >= 400 and r[1].get("content-type", "").startswith("application/fhir+json"):
        try:
            oo = json.loads(r[2])
            if oo.get("resourceType") != "OperationOutcome":
                fail(name, f"error body is a {oo.get('resourceType')}, not an OperationOutcome")
        except ValueError:
            fail(name, "error body is not JSON")
    return r


def fhir(method, target, body=None, ctype="application/fhir+json", extra=None):
    hs = {"Accept": "application/fhir+json"}
    if body is not None:
        hs["Content-Type"] = ctype
    hs.update(extra or {})
    if isinstance(body, str):
        body = body.encode("utf-8")
    return request(method, target, body if body is not None else b"", hs)


def alive(after):
    r = request("GET", "/healthz")
    if r is None or r[0] != 200:
        fail(after, f"/healthz after the probe: {r and r[0]}")
        return False
    return True


BAD = {400, 404, 405, 406, 409, 412, 413, 414, 415, 422, 431}

# ---- HTTP framing --------------------------------------------------------------------------------------------------


@probe
def pipelining():
    s = connect()
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: p\r\n\r\n" * 50)
    for i in range(50):
        r = read_response(s)
        if r is None or r[0] != 200:
            fail("pipelining", f"answer {i}: {r and r[0]}")
            break
    s.close()


@probe
def chunked_huge_size():
    expect("chunked_huge_size", raw(b"POST /Patient HTTP/1.1\r\nHost: p\r\nContent-Type: application/fhir+json\r\n"
                                    b"Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFF\r\nx"), {400, 413})


@probe
def chunked_invalid_size():
    expect("chunked_invalid_size", raw(b"POST /Patient HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\n"
                                       b"zz\r\nx\r\n0\r\n\r\n"), {400})
    expect("chunked_negative", raw(b"POST /Patient HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\n"
                                   b"-5\r\nx\r\n0\r\n\r\n"), {400})


@probe
def chunked_trailers():
    body = b'{"resourceType":"Patient"}'
    data = (b"POST /Patient HTTP/1.1\r\nHost: p\r\nContent-Type: application/fhir+json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"%x\r\n" % len(body) + body + b"\r\n0\r\nX-Trailer: a\r\nContent-Length: 5\r\n\r\n")
    expect("chunked_trailers", raw(data), {201, 400, 422})


@probe
def chunked_many_tiny_chunks():
    body = b'{"resourceType":"Patient"}'
    data = b"".join(b"1\r\n" + bytes([c]) + b"\r\n" for c in body) + b"0\r\n\r\n"
    expect("chunked_many_tiny", raw(b"POST /Patient HTTP/1.1\r\nHost: p\r\nContent-Type: application/fhir+json\r\n"
                                    b"Transfer-Encoding: chunked\r\n\r\n" + data), {201, 422})


@probe
def chunk_extensions_flood():
    data = b"1;" + b"a" * 100000 + b"\r\nx\r\n0\r\n\r\n"
    expect("chunk_ext_flood", raw(b"POST /Patient HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\n\r\n" + data),
           {400, 413, 431})


@probe
def duplicate_content_length():
    expect("dup_cl_differ", raw(b"POST /Patient HTTP/1.1\r\nHost: p\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x"),
           {400})
    expect("dup_cl_list", raw(b"POST /Patient HTTP/1.1\r\nHost: p\r\nContent-Length: 2, 3\r\n\r\n{}x"), {400})
    expect("cl_plus", raw(b"POST /Patient HTTP/1.1\r\nHost: p\r\nContent-Length: +2\r\n\r\n{}"), {400})
    expect("cl_huge", raw(b"POST /Patient HTTP/1.1\r\nHost: p\r\nContent-Length: 99999999999999999999999\r\n\r\n{}"),
           {400, 413})
    expect("cl_negative", raw(b"POST /Patient HTTP/1.1\r\nHost: p\r\nContent-Length: -1\r\n\r\n{}"), {400})


@probe
def duplicate_transfer_encoding():
    expect("dup_te", raw(b"POST /Patient HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
           {400})
    expect("te_and_cl", raw(b"POST /Patient HTTP/1.1\r\nHost: p\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
           {400})
    expect("te_obs_fold", raw(b"POST /Patient HTTP/1.1\r\nHost: p\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n"),
           {400})


@probe
def header_flood():
    hs = b"".join(b"X-H%d: v\r\n" % i for i in range(5000))
    expect("header_flood", raw(b"GET /metadata HTTP/1.1\r\nHost: p\r\n" + hs + b"\r\n"), {431, 400})


@probe
def long_request_line():
    expect("long_request_line", raw(b"GET /" + b"a" * 200000 + b" HTTP/1.1\r\nHost: p\r\n\r\n"), {414, 431, 400})
    expect("long_header_value", raw(b"GET /metadata HTTP/1.1\r\nHost: p\r\nX-A: " + b"a" * 200000 + b"\r\n\r\n"),
           {431, 400})


@probe
def http10():
    r = expect("http10", raw(b"GET /metadata HTTP/1.0\r\n\r\n"), {200})
    r = expect("http09", raw(b"GET /metadata\r\n\r\n"), {400, 505})
    expect("http2_preface", raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), {400, 505})
    expect("http_version_99", raw(b"GET /metadata HTTP/9.9\r\nHost: p\r\n\r\n"), {400, 505})


@probe
def absolute_form():
    expect("absolute_form", raw(b"GET http://probe/metadata HTTP/1.1\r\nHost: p\r\n\r\n"), {200, 400})
    expect("asterisk_form", raw(b"OPTIONS * HTTP/1.1\r\nHost: p\r\n\r\n"), {200, 204, 400, 404, 405})
    expect("connect", raw(b"CONNECT evil:443 HTTP/1.1\r\nHost: evil:443\r\n\r\n"), {400, 404, 405, 501})


@probe
def expect_continue():
    s = connect()
    body = b'{"resourceType":"Patient"}'
    s.sendall(b"POST /Patient HTTP/1.1\r\nHost: p\r\nContent-Type: application/fhir+json\r\nExpect: 100-continue\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body))
    r = read_response(s, head_only=True)
    if r is None or r[0] != 100:
        fail("expect_continue", f"no 100 Continue: {r and r[0]}")
    s.sendall(body)
    expect("expect_continue_final", read_response(s), {201})
    s.close()
    expect("expect_other", request("GET", "/metadata", headers={"Expect": "200-ok"}), {417})


@probe
def half_closed():
    expect("half_closed", raw(b"GET /metadata HTTP/1.1\r\nHost: p\r\n\r\n", shut=True), {200})
    expect("half_closed_partial_body",
           raw(b"POST /Patient HTTP/1.1\r\nHost: p\r\nContent-Type: application/fhir+json\r\nContent-Length: 100\r\n\r\n{",
               shut=True), {400})


@probe
def bad_request_lines():
    for i, line in enumerate([b"GET  /metadata HTTP/1.1", b"G\x00T /metadata HTTP/1.1", b"GET /meta\x00data HTTP/1.1",
                              b"GET /metadata\tHTTP/1.1", b"\r\n\r\nGET /metadata HTTP/1.1", b"GET /%zz HTTP/1.1",
                              b"GET /Patient?%zz=1 HTTP/1.1", b"GET /Patient/%00 HTTP/1.1", b"GET /../../etc/passwd HTTP/1.1",
                              b"GET /Patient/..%2f..%2fetc HTTP/1.1", b"\xff\xfe HTTP/1.1"]):
        expect(f"bad_request_line_{i}", raw(line + b"\r\nHost: p\r\n\r\n"), {200, 400, 404, 501})
    expect("bad_header_name", raw(b"GET /metadata HTTP/1.1\r\nHost: p\r\nBad Header: x\r\n\r\n"), {400})
    expect("header_no_colon", raw(b"GET /metadata HTTP/1.1\r\nHost: p\r\nnocolon\r\n\r\n"), {400})
    expect("bare_lf", raw(b"GET /metadata HTTP/1.1\nHost: p\n\n"), {200, 400})
    expect("header_nul", raw(b"GET /metadata HTTP/1.1\r\nHost: p\r\nX-A: a\x00b\r\n\r\n"), {400})


@probe
def many_idle_connections():
    socks = []
    for _ in range(200):
        socks.append(connect())
    r = request("GET", "/healthz")
    if r is None or r[0] != 200:
        fail("many_idle", f"/healthz with 200 idle connections: {r and r[0]}")
    for s in socks:
        s.close()


@probe
def slow_reader():
    # Asks for a large answer many times on one connection and never reads it: the server must not hang other clients.
    s = connect()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        s.settimeout(2)
        for _ in range(200):
            s.send(b"GET /metadata HTTP/1.1\r\nHost: p\r\n\r\n")
    except (socket.timeout, BlockingIOError, OSError):
        pass
    alive("slow_reader")
    s.close()


# ---- FHIR bodies ---------------------------------------------------------------------------------------------------


@probe
def deep_nesting():
    body = '{"resourceType":"Patient","extension":' + "[" * 100000 + "]" * 100000 + "}"
    expect("deep_array_nesting", fhir("POST", "/Patient", body), {400, 413, 422})
    body = '{"resourceType":"Patient","x":' + '{"a":' * 50000 + "1" + "}" * 50000 + "}"
    expect("deep_object_nesting", fhir("POST", "/Patient", body), {400, 413, 422})


@probe
def huge_array():
    # 50,000 names are far past limits.max_index_rows_per_resource: refused before the rows are sorted or stored
    # (this request held the store's writer for minutes before the bound).
    body = '{"resourceType":"Patient","name":[' + ",".join(['{"family":"f%d"}' % i for i in range(50000)]) + "]}"
    expect("huge_array", fhir("POST", "/Patient", body), {413})
    body = '{"resourceType":"Patient","name":[' + ",".join(["null"] * 200000) + "]}"
    expect("huge_null_array", fhir("POST", "/Patient", body), {400, 422})


@probe
def long_strings():
    body = '{"resourceType":"Patient","name":[{"family":"' + "a" * 5000000 + '"}]}'
    expect("long_string", fhir("POST", "/Patient", body), {201, 400, 413, 422})
    body = '{"resourceType":"Patient","id":"' + "a" * 100000 + '"}'
    expect("long_id", fhir("PUT", "/Patient/" + "a" * 100, body), {400, 422})


@probe
def long_numbers():
    body = '{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":' + "9" * 10000 + "}}"
    expect("number_10000_digits", fhir("POST", "/Observation", body), {400, 413, 422})
    body = '{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":1e99999}}'
    expect("number_huge_exponent", fhir("POST", "/Observation", body), {400, 413, 422})
    body = '{"resourceType":"Observation","status":"final","code":{"text":"x"},"valueQuantity":{"value":-0.0000000000000000000000001e-400}}'
    expect("number_tiny", fhir("POST", "/Observation", body), {201, 400, 422})
    body = '{"resourceType":"Patient","multipleBirthInteger":99999999999999999999}'
    expect("integer_overflow", fhir("POST", "/Patient", body), {400, 422})


@probe
def bad_utf8_and_bytes():
    for i, b in enumerate([b'{"resourceType":"Patient","name":[{"family":"\xff\xfe"}]}',
                           b'\xef\xbb\xbf{"resourceType":"Patient"}',
                           b'{"resourceType":"Patient","name":[{"family":"a\x00b"}]}',
                           b'{"resourceType":"Patient","name":[{"family":"a\\u0000b"}]}',
                           b'{"resourceType":"Patient","name":[{"family":"\\ud800"}]}',
                           b'{"resourceType":"Patient","name":[{"family":"\xed\xa0\x80"}]}',
                           b'{"resourceType":"Patient","name":[{"family":"\xc0\xaf"}]}',
                           b'{"resourceType":"Patient"}\x00',
                           b'{"resourceType":"Patient"} {"resourceType":"Patient"}',
                           b'{"resourceType":"Patient","gender":"male","gender":"female"}',
                           b'{"resourceType":"Patient","resourceType":"Observation"}',
                           b'', b'null', b'[]', b'"Patient"', b'{', b'{"resourceType":1}', b'{"resourceType":"../x"}']):
        expect(f"body_{i}", fhir("POST", "/Patient", b), {201, 400, 415, 422})


@probe
def xml_attacks():
    x = "application/fhir+xml"
    bodies = [
        '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
        '<Patient xmlns="http://hl7.org/fhir"><name><family value="&d;"/></name></Patient>',
        '<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<Patient xmlns="http://hl7.org/fhir"><name><family value="&x;"/></name></Patient>',
        '<?xml version="1.0"?><!DOCTYPE p SYSTEM "http://127.0.0.1:1/x.dtd"><Patient xmlns="http://hl7.org/fhir"/>',
        '<Patient xmlns="http://example.org/wrong"><gender value="male"/></Patient>',
        '<Patient><gender value="male"/></Patient>',
        '<f:Patient xmlns:f="http://hl7.org/fhir"><f:gender value="male"/></f:Patient>',
        '<Patient xmlns="http://hl7.org/fhir"><gender value="male">text<x/></gender></Patient>',
        '<Patient xmlns="http://hl7.org/fhir"><xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="/etc/passwd"/></Patient>',
        '<Patient xmlns="http://hl7.org/fhir"><text><div xmlns="http://www.w3.org/1999/xhtml"><script>x</script></div></text></Patient>',
        '<Patient xmlns="http://hl7.org/fhir">' + "<extension>" * 5000 + "</extension>" * 5000 + "</Patient>",
        '<Patient xmlns="http://hl7.org/fhir"><gender value="male"/>',
        '<?xml version="1.0" encoding="UTF-16"?><Patient xmlns="http://hl7.org/fhir"/>',
        '<?xml version="1.0" encoding="EBCDIC"?><Patient xmlns="http://hl7.org/fhir"/>',
        '<Patient xmlns="http://hl7.org/fhir"><?php evil ?><gender value="male"/></Patient>',
        '<Patient xmlns="http://hl7.org/fhir"><![CDATA[x]]></Patient>',
        '<Patient xmlns="http://hl7.org/fhir"><name><family value="' + "a" * 3000000 + '"/></name></Patient>',
        '<Patient xmlns="http://hl7.org/fhir">' + '<name><family value="a"/></name>' * 100000 + "</Patient>",
    ]
    for i, b in enumerate(bodies):
        r = expect(f"xml_{i}", fhir("POST", "/Patient", b, ctype=x), {201, 400, 413, 415, 422})
        if r and b"root:" in r[2]:
            fail(f"xml_{i}", "XXE: file content in the answer")


@probe
def content_type_mismatch():
    expect("json_as_xml", fhir("POST", "/Patient", '{"resourceType":"Patient"}', ctype="application/fhir+xml"), {400, 422})
    expect("xml_as_json", fhir("POST", "/Patient", '<Patient xmlns="http://hl7.org/fhir"/>'), {400})
    expect("ctype_unknown", fhir("POST", "/Patient", '{"resourceType":"Patient"}', ctype="text/plain"), {415})
    expect("ctype_garbage", fhir("POST", "/Patient", '{"resourceType":"Patient"}', ctype=";;;==;charset"), {400, 415})
    expect("ctype_charset_latin1", fhir("POST", "/Patient", '{"resourceType":"Patient"}',
                                        ctype="application/fhir+json; charset=iso-8859-1"), {201, 415})
    expect("format_xml_json_body", fhir("POST", "/Patient?_format=xml", '{"resourceType":"Patient"}'), {201})
    expect("format_garbage", fhir("GET", "/metadata?_format=%00"), {400, 406})
    expect("format_unknown", fhir("GET", "/metadata?_format=application/pdf"), {406, 400})
    expect("accept_garbage", request("GET", "/metadata", headers={"Accept": ";q=x,,,*/*;q=999999999999"}), {200, 406})
    expect("pretty_garbage", fhir("GET", "/metadata?_pretty=maybe"), {200, 400})
    expect("form_search_bad", fhir("POST", "/Patient/_search", "%zz=1&name=" + "a" * 100, ctype="application/x-www-form-urlencoded"),
           {400})


# ---- Query strings -------------------------------------------------------------------------------------------------


@probe
def search_malformed():
    qs = ["birthdate=notadate", "birthdate=gt", "birthdate=2020-13-45", "birthdate=99999-01-01", "birthdate=ap" + "9" * 500,
          "_lastUpdated=gt2020-01-01T25:00:00Z", "_count=-1", "_count=999999999999999999999", "_count=abc", "_count=0",
          "_count=100000000", "_offset=-5", "_include=*", "_include=Patient:*", "_include:iterate=*", "_revinclude=*",
          "_revinclude:iterate=*", "_sort=nonexistent", "_sort=-", "_sort=" + ",".join(["name"] * 1000),
          "_elements=nope.nope.nope", "_elements=" + ",".join(["x%d" % i for i in range(5000)]), "_summary=wrong",
          "_total=lots", "name:nonexistentmodifier=x", "identifier=|||", "identifier=" + "|" * 1000,
          "general-practitioner.name.name.name=x", "organization.partof.partof.partof.partof.partof.partof.partof.partof.partof.name=x",
          "_has:Observation:subject:_has:Observation:subject:_has:Observation:subject:code=x",
          "_has:=x", "_has:Observation=x", "_has:Observation:subject=x", "_has:Observation:nonexistent:code=x",
          "name=" + "%" * 10, "name=%E2%82", "name=%FF", "name=%00", "_id=" + ",".join(["a"] * 10000),
          "&".join(["name=x"] * 5000), "birthdate=" + ",".join(["2020-01-01"] * 5000), "_text=x", "_content=x",
          "_filter=name eq x", "_query=x", "_list=x", "address-postalcode:above=x", "death-date=eqnow",
          "gender:text=a", "gender:in=http://x", "general-practitioner:Patient=x", "general-practitioner:missing=maybe",
          "phone=" + "9" * 100000, "_tag=|", "_security=a|b|c", "_profile=::::", "_source=" + "x" * 5000,
          "_type=Patient", "=x", "&&&", "a" * 10000 + "=1"]
    for i, q in enumerate(qs):
        r = expect(f"search_{i}_{q[:40]}", fhir("GET", "/Patient?" + q), {200, 400, 403, 413, 414, 422, 431})
        if r and r[0] == 200 and q.startswith("_count=") and not q.endswith("=0"):
            pass
    for i, q in enumerate(["subject.subject.subject=x", "value-quantity=abc", "value-quantity=1|||", "value-quantity=ne1e99999",
                           "code-value-quantity=a$b$c", "combo-code-value-quantity=" + "$" * 100, "date=le" + "1" * 100,
                           "value-concept:below=x", "component-value-quantity=gt-", "_lastUpdated=sa2020&_lastUpdated=eb2020"]):
        expect(f"search_obs_{i}", fhir("GET", "/Observation?" + q), {200, 400, 403, 413, 414, 422})
    expect("system_search_bad", fhir("GET", "/?_type=" + ",".join(["Patient"] * 1000) + "&_id=x"), {200, 400, 405})
    expect("system_search_unknown_type", fhir("GET", "/?_type=Nope"), {400, 405})
    expect("history_bad_since", fhir("GET", "/Patient/_history?_since=yesterday"), {400})
    expect("history_bad_at", fhir("GET", "/_history?_at=gt2020-02-30"), {400})
    expect("page_token_forged", fhir("GET", "/?_page=" + "A" * 5000), {400, 404, 405, 410})
    expect("page_token_forged2", fhir("GET", "/Patient?_page=%00%00"), {400, 404, 410})


@probe
def conditional_headers():
    body = '{"resourceType":"Patient"}'
    for i, v in enumerate(["%zz", "=", "identifier", "_id=" + "a" * 20000, "?", "name=x&" * 2000, "http://evil/Patient?name=x",
                           "Patient?name=x"]):
        expect(f"if_none_exist_{i}", fhir("POST", "/Patient", body, extra={"If-None-Exist": v}), {200, 201, 400, 412, 431})
    for i, v in enumerate(['W/"abc"', '"', 'W/"', 'W/"' + "9" * 100 + '"', "*", 'W/"-1"', 'W/"1", W/"2"', "\t"]):
        expect(f"if_match_{i}", fhir("PUT", "/Patient/probe-im", '{"resourceType":"Patient","id":"probe-im"}',
                                     extra={"If-Match": v}), {200, 201, 400, 404, 409, 412})
    expect("if_none_match_bad", fhir("GET", "/Patient/probe-im", extra={"If-None-Match": '"'}), {200, 304, 400, 404})
    expect("if_modified_since_bad", fhir("GET", "/Patient/probe-im", extra={"If-Modified-Since": "yesterday"}),
           {200, 304, 400, 404})
    expect("prefer_bad", fhir("POST", "/Patient", body, extra={"Prefer": "return=" + "x" * 1000}), {201, 400})
    expect("cond_update_many", fhir("PUT", "/Patient?gender:missing=false,true", body), {200, 201, 400, 412})
    expect("cond_delete_all", fhir("DELETE", "/Patient?_lastUpdated=gt1900"), {200, 204, 400, 412})
    expect("cond_delete_empty", fhir("DELETE", "/Patient"), {400, 405, 412})
    expect("cond_patch_empty", fhir("PATCH", "/Patient?", "[]", ctype="application/json-patch+json"), {400, 405, 412})


# ---- Operations ----------------------------------------------------------------------------------------------------


@probe
def operations():
    reqs = [("POST", "/Patient/$validate", '{"resourceType":"Parameters","parameter":[{"name":"resource","resource":' + "{" * 10 + "}"),
            ("POST", "/Patient/$validate", '{"resourceType":"Parameters","parameter":' + "[" + ",".join(['{"name":"mode","valueCode":"create"}'] * 20000) + "]}"),
            ("POST", "/Patient/$validate?profile=" + "x" * 10000, '{"resourceType":"Patient"}'),
            ("POST", "/Patient/$validate?mode=nope", '{"resourceType":"Patient"}'),
            ("POST", "/$validate", '{"resourceType":"Patient"}'),
            ("GET", "/Patient/nope/$validate", None),
            ("POST", "/Patient/$ip-status", '{"resourceType":"Parameters","parameter":[{"name":"identifier","valueIdentifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"' + "1" * 100000 + '"}}]}'),
            ("POST", "/Patient/$ip-status", '{"resourceType":"Parameters","parameter":[' + ",".join(['{"name":"identifier","valueString":"x"}'] * 5000) + "]}"),
            ("POST", "/Patient/$ip-status", '{"resourceType":"Patient"}'),
            ("GET", "/Patient/$ip-status", None),
            ("GET", "/CarePlan/$ip-deadlines?withinDays=-1", None),
            ("GET", "/CarePlan/$ip-deadlines?withinDays=99999999999999999999", None),
            ("GET", "/CarePlan/$ip-deadlines?withinDays=1&withinDays=2", None),
            ("GET", "/CarePlan/$ip-deadlines?withinDays=1e5", None),
            ("GET", "/$ip-figures?periodStart=0001-01-01&periodEnd=9999-12-31", None),
            ("GET", "/$ip-figures?periodStart=2026-13-01&periodEnd=2026-01-01", None),
            ("GET", "/$ip-figures?periodStart=2026-02-01&periodEnd=2026-01-01", None),
            ("GET", "/$ip-figures?persist=true&periodStart=2026-01-01&periodEnd=2026-02-01", None),
            ("POST", "/$ip-figures", '{"resourceType":"Parameters","parameter":[{"name":"periodStart","valueDate":"2026"}]}'),
            ("GET", "/Patient/x/$everything", None), ("GET", "/Patient/$everything", None),
            ("GET", "/$events?since=-1", None), ("GET", "/$events?_count=99999999999", None),
            ("GET", "/$nope", None), ("POST", "/Patient/$nope", "{}"), ("GET", "/Patient/$", None),
            ("GET", "/AuditEvent/$export-ndjson?since=bad", None),
            ("GET", "/AuditEvent/$export-ndjson?since=2020-01-01T00:00:00Z&_count=-1", None),
            ("GET", "/AuditEvent/$export-ndjson?since=2020-01-01T00:00:00Z&_cursor=" + "A" * 1000, None),
            ("GET", "/metadata?mode=nope", None), ("POST", "/metadata", "{}"), ("DELETE", "/metadata", None),
            ("GET", "/readyz?x=" + "a" * 1000, None), ("POST", "/healthz", "{}"), ("GET", "/metrics?x=1", None),
            ("GET", "/admin/dispatch/dead-letters", None), ("POST", "/admin/dispatch/replay", '{"x":' * 100),
            ("GET", "/StructureDefinition?url=" + "x" * 10000, None), ("DELETE", "/StructureDefinition/x", None)]
    for i, (m, t, b) in enumerate(reqs):
        expect(f"op_{i}_{m}_{t[:40]}", fhir(m, t, b), {200, 201, 400, 403, 404, 405, 406, 409, 410, 413, 415, 422, 501})


@probe
def json_patch():
    body = '{"resourceType":"Patient","id":"probe-patch"}'
    fhir("PUT", "/Patient/probe-patch", body)
    ops = json.dumps([{"op": "add", "path": "/name/-", "value": {"family": "x"}}] * 1)
    expect("patch_seed", fhir("PATCH", "/Patient/probe-patch", '[{"op":"add","path":"/name","value":[]}]',
                              ctype="application/json-patch+json"), {200, 422})
    ops = json.dumps([{"op": "add", "path": "/name/-", "value": {"family": "x"}}] * 100000)
    expect("patch_huge_op_list", fhir("PATCH", "/Patient/probe-patch", ops, ctype="application/json-patch+json"),
           {200, 400, 413, 422})
    ops = json.dumps([{"op": "test", "path": "/id", "value": "probe-patch"}] * 200000)
    expect("patch_many_tests", fhir("PATCH", "/Patient/probe-patch", ops, ctype="application/json-patch+json"),
           {200, 400, 413, 422})
    ops = json.dumps([{"op": "copy", "from": "/name", "path": "/name/0/extension"}] * 30)
    expect("patch_copy_doubling", fhir("PATCH", "/Patient/probe-patch", ops, ctype="application/json-patch+json"),
           {200, 400, 413, 422})
    for i, o in enumerate(['[{"op":"move","from":"/name","path":"/name/0"}]', '[{"op":"remove","path":""}]',
                           '[{"op":"replace","path":"","value":{"resourceType":"Observation"}}]',
                           '[{"op":"add","path":"/name/99999999999999999999","value":1}]',
                           '[{"op":"add","path":"/name/-1","value":1}]', '[{"op":"add","path":"/~2","value":1}]',
                           '[{"op":"replace","path":"/id","value":"other"}]', '[{"op":"replace","path":"/meta/versionId","value":"99"}]',
                           '[{"op":"x"}]', '{"op":"add"}', '[]', '[' * 100000, '[{"op":"add","path":"/a' + "/a" * 5000 + '","value":1}]']):
        expect(f"patch_bad_{i}", fhir("PATCH", "/Patient/probe-patch", o, ctype="application/json-patch+json"),
               {200, 400, 409, 412, 422})
    fp = ('{"resourceType":"Parameters","parameter":[{"name":"operation","part":[{"name":"type","valueCode":"add"},'
          '{"name":"path","valueString":"Patient"},{"name":"name","valueString":"name"},'
          '{"name":"value","valueHumanName":{"family":"x"}}]}]}')
    expect("fhirpath_patch", fhir("PATCH", "/Patient/probe-patch", fp), {200, 400, 422})
    fp2 = fp.replace('"Patient"', '"Patient.repeat(name).repeat(name).repeat(name)"')
    expect("fhirpath_patch_repeat", fhir("PATCH", "/Patient/probe-patch", fp2), {200, 400, 422})


# ---- Transactions and batches --------------------------------------------------------------------------------------


def bundle(kind, entries):
    return json.dumps({"resourceType": "Bundle", "type": kind, "entry": entries})


@probe
def transactions():
    entries = [{"fullUrl": f"urn:uuid:00000000-0000-0000-0000-{i:012d}", "resource": {"resourceType": "Patient"},
                "request": {"method": "POST", "url": "Patient"}} for i in range(1500)]
    expect("tx_1500", fhir("POST", "/", bundle("transaction", entries)), {200, 400, 413, 422})
    # Many entries, each under limits.max_index_rows_per_resource, together over limits.max_index_rows_per_transaction.
    spread = [{"resource": {"resourceType": "Patient", "name": [{"family": f"f{i}x{j}"} for j in range(1000)]},
               "request": {"method": "POST", "url": "Patient"}} for i in range(100)]
    expect("tx_index_rows_spread", fhir("POST", "/", bundle("transaction", spread)), {413})
    expect("batch_1500", fhir("POST", "/", bundle("batch", [{"request": {"method": "GET", "url": "metadata"}}] * 1500)),
           {200, 400, 413})
    cyc = [{"fullUrl": "urn:uuid:11111111-1111-1111-1111-111111111111",
            "resource": {"resourceType": "Patient", "link": [{"type": "seealso", "other": {"reference": "urn:uuid:22222222-2222-2222-2222-222222222222"}}]},
            "request": {"method": "POST", "url": "Patient"}},
           {"fullUrl": "urn:uuid:22222222-2222-2222-2222-222222222222",
            "resource": {"resourceType": "Patient", "link": [{"type": "seealso", "other": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"}}]},
            "request": {"method": "POST", "url": "Patient"}}]
    expect("tx_cycle", fhir("POST", "/", bundle("transaction", cyc)), {200, 400, 422})
    dup = [{"fullUrl": "urn:uuid:33333333-3333-3333-3333-333333333333", "resource": {"resourceType": "Patient"},
            "request": {"method": "POST", "url": "Patient"}}] * 2
    expect("tx_dup_fullurl", fhir("POST", "/", bundle("transaction", dup)), {400, 422})
    many = [{"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                          "subject": {"reference": "Patient?_lastUpdated=gt1900"}},
             "request": {"method": "POST", "url": "Observation"}}]
    expect("tx_cond_ref_many", fhir("POST", "/", bundle("transaction", many)), {200, 400, 412, 422})
    for i, e in enumerate([[{"request": {"method": "GET", "url": "/" * 1000}}], [{"request": {"method": "TRACE", "url": "Patient"}}],
                           [{"request": {"method": "POST", "url": "/"}, "resource": {"resourceType": "Bundle", "type": "transaction"}}],
                           [{"request": {"method": "GET", "url": "http://evil.example/Patient"}}],
                           [{"request": {"method": "GET", "url": "Patient?_count=999999999"}}],
                           [{"request": {"method": "DELETE", "url": "Patient?_lastUpdated=gt1900"}}],
                           [{"request": {"method": "PATCH", "url": "Patient/probe-patch"}, "resource": {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": "W10="}}],
                           [{}], [None], [1], "x"]):
        b = json.dumps({"resourceType": "Bundle", "type": "batch", "entry": e})
        expect(f"batch_odd_{i}", fhir("POST", "/", b), {200, 400, 422})
        b = json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": e})
        expect(f"tx_odd_{i}", fhir("POST", "/", b), {200, 400, 404, 405, 409, 412, 422})
    nested = {"resourceType": "Bundle", "type": "batch", "entry": []}
    cur = nested
    for _ in range(30):
        inner = {"resourceType": "Bundle", "type": "batch", "entry": []}
        cur["entry"].append({"request": {"method": "POST", "url": "/"}, "resource": inner})
        cur = inner
    expect("batch_nested", fhir("POST", "/", json.dumps(nested)), {200, 400, 422})


# ---- probes that must not hang the rest ----------------------------------------------------------------------------


@probe
def slowloris_header():
    # A sender that trickles a header: other clients must be served meanwhile.
    s = connect()
    s.sendall(b"GET /metadata HTTP/1.1\r\nHost: p\r\n")
    for i in range(20):
        s.sendall(b"X-%d: a\r\n" % i)
        alive("slowloris_header")
    s.close()


def run(probes):
    """Runs each probe (only the one named by ONLY, when set), checks the server is still up after it, prints one
    line per probe and returns the exit code: 1 when any probe failed. The later probe rounds run theirs with it."""
    failures_before = 0
    for p in probes:
        if ONLY and p.__name__ != ONLY:
            continue
        t0 = time.monotonic()
        try:
            p()
        except Exception as e:  # a probe that cannot even talk to the server is a finding
            fail(p.__name__, f"probe raised {type(e).__name__}: {e}")
        alive(p.__name__)
        n = len(FAILURES) - failures_before
        failures_before = len(FAILURES)
        print(f"{'ok  ' if n == 0 else 'FAIL'} {p.__name__} ({time.monotonic() - t0:.2f}s)", flush=True)
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("all probes held")
    return 0


def main():
    return run(PROBES)


if __name__ == "__main__":
    sys.exit(main())
