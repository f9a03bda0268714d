#!/usr/bin/env python3
"""Concurrency probes of a running planbro gateway (tests/system/outside_probe_round2.sh runs it on SQLite and on
PostgreSQL).

- The same conditional create (`If-None-Exist` on a fødselsnummer) from 20 clients at once: exactly one 201, the
  other answers 200 (the match) or 412, never a 5xx; the search then finds exactly one Patient.
- The same conditional create inside 20 concurrent transactions: likewise one Patient.
- A delete racing updates of one resource, many rounds: every answer a success or a 409/412 conflict, never a 5xx;
  afterwards the history is a gapless sequence of versions and the current state is the last one.

Usage: probe_races.py HOST PORT LABEL
Exit status 0 when every expectation held, 1 otherwise.
"""
import http.client
import json
import sys
import threading

HOST, PORT, LABEL = sys.argv[1], int(sys.argv[2]), sys.argv[3]
FNR_SYSTEM = "urn:oid:2.16.578.1.12.4.1.4.1"
FAILURES = []
TIMEOUT = 120  # a hang guard far above any honest answer of a loaded sanitizer build


def fail(msg):
    FAILURES.append(msg)
    print(f"FAIL {LABEL}: {msg}", flush=True)


def call(method, path, body=None, headers=None):
    c = http.client.HTTPConnection(HOST, PORT, timeout=TIMEOUT)
    hs = {"Accept": "application/fhir+json"}
    if body is not None:
        hs["Content-Type"] = "application/fhir+json"
    hs.update(headers or {})
    try:
        c.request(method, path, body=body.encode() if isinstance(body, str) else body, headers=hs)
        r = c.getresponse()
        data = r.read()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
    except Exception as e:  # noqa: BLE001 - a dropped connection is a finding, reported with its reason
        return None, {}, str(e).encode()
    finally:
        c.close()


def run_all(fns):
    results = [None] * len(fns)
    start = threading.Barrier(len(fns))

    def worker(i):
        start.wait()
        results[i] = fns[i]()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(fns))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 2)
    return results


def count_matches(query):
    s, _, b = call("GET", f"/Patient?{query}&_count=50")
    if s != 200:
        fail(f"search {query}: status {s}")
        return -1
    return len(json.loads(b).get("entry", []))


def same_conditional_create(fnr):
    body = json.dumps({"resourceType": "Patient", "identifier": [{"system": FNR_SYSTEM, "value": fnr}],
                       "name": [{"family": "Racer"}]})
    cond = f"identifier={FNR_SYSTEM}|{fnr}"
    results = run_all([lambda: call("POST", "/Patient", body, {"If-None-Exist": cond})] * 20)
    statuses = [r[0] for r in results]
    if statuses.count(201) != 1:
        fail(f"20 conditional creates: {statuses.count(201)} created (statuses {sorted(map(str, statuses))})")
    bad = [s for s in statuses if s not in (200, 201, 412)]
    if bad:
        fail(f"20 conditional creates: unexpected statuses {bad}; first body {results[statuses.index(bad[0])][2][:300]!r}")
    n = count_matches(f"identifier={FNR_SYSTEM}|{fnr}")
    if n != 1:
        fail(f"after 20 conditional creates the search finds {n} Patients")


def same_conditional_create_in_transactions(fnr):
    entry = {"fullUrl": "urn:uuid:5a1e0000-0000-4000-8000-000000000001",
             "resource": {"resourceType": "Patient", "identifier": [{"system": FNR_SYSTEM, "value": fnr}]},
             "request": {"method": "POST", "url": "Patient", "ifNoneExist": f"identifier={FNR_SYSTEM}|{fnr}"}}
    obs = {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "race"},
                        "subject": {"reference": entry["fullUrl"]}},
           "request": {"method": "POST", "url": "Observation"}}
    body = json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [entry, obs]})
    results = run_all([lambda: call("POST", "/", body)] * 20)
    statuses = [r[0] for r in results]
    bad = [s for s in statuses if s not in (200, 409, 412)]
    if bad:
        fail(f"20 transactions with one conditional create: statuses {bad}; body {results[statuses.index(bad[0])][2][:300]!r}")
    n = count_matches(f"identifier={FNR_SYSTEM}|{fnr}")
    if n != 1:
        fail(f"after 20 transactions with one conditional create the search finds {n} Patients")


def delete_racing_updates(rounds):
    for r in range(rounds):
        rid = f"race-{LABEL}-{r}"
        s, _, _ = call("PUT", f"/Patient/{rid}", json.dumps({"resourceType": "Patient", "id": rid}))
        if s not in (200, 201):
            fail(f"seed {rid}: {s}")
            continue
        fns = [lambda: call("DELETE", f"/Patient/{rid}")]
        for k in range(5):  # every body distinct: an update equal to the current version may write no version
            b = json.dumps({"resourceType": "Patient", "id": rid, "name": [{"family": f"u{k}"}]})
            c = json.dumps({"resourceType": "Patient", "id": rid, "name": [{"family": f"m{k}"}]})
            fns.append(lambda b=b: call("PUT", f"/Patient/{rid}", b))
            fns.append(lambda c=c: call("PUT", f"/Patient/{rid}", c, {"If-Match": 'W/"1"'}))
        results = run_all(fns)
        for res in results:
            if res[0] is None or res[0] >= 500 or res[0] not in (200, 201, 204, 409, 412):
                fail(f"{rid}: status {res[0]}: {res[2][:300]!r}")
        hs, _, hb = call("GET", f"/Patient/{rid}/_history?_count=100")
        if hs != 200:
            fail(f"{rid} history: {hs}")
            continue
        versions = sorted(int(e["resource"]["meta"]["versionId"]) if "resource" in e else
                          int(e.get("response", {}).get("etag", 'W/"0"').strip('W/"'))
                          for e in json.loads(hb).get("entry", []))
        if versions != list(range(1, len(versions) + 1)):
            fail(f"{rid}: history versions are not 1..n: {versions}")
        successes = sum(1 for res in results if res[0] in (200, 201, 204))
        if len(versions) != 1 + successes:
            fail(f"{rid}: {successes} successful writes after the seed but {len(versions)} versions in the history")
        rs, _, rb = call("GET", f"/Patient/{rid}")
        last = max(versions) if versions else 0
        if rs == 200:
            got = int(json.loads(rb)["meta"]["versionId"])
            if got != last:
                fail(f"{rid}: read gives version {got}, the history's newest is {last}")
        elif rs != 410:
            fail(f"{rid}: read after the race: {rs}")


def main():
    same_conditional_create("17054010060" if LABEL == "sqlite" else "01017010170")
    same_conditional_create_in_transactions("22057110051" if LABEL == "sqlite" else "04038210047")
    delete_racing_updates(8)
    s, _, _ = call("GET", "/healthz")
    if s != 200:
        fail(f"/healthz after the races: {s}")
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)")
        return 1
    print("all races held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
