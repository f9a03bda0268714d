#!/usr/bin/env python3
"""Seeds a running planbro for bench/server/load.sh: N Patients, each with K CarePlans whose subject is that
Patient, posted as transaction Bundles of at most 100 patients. Prints the new Patient ids, one per line.

usage: seed.py BASE_URL [PATIENTS] [CAREPLANS_PER_PATIENT]
"""
import json
import sys
import urllib.request
import uuid


def transaction(first, count, careplans):
    entries = []
    for i in range(first, first + count):
        patient_url = "urn:uuid:" + str(uuid.uuid4())
        entries.append({
            "fullUrl": patient_url,
            "resource": {
                "resourceType": "Patient",
                "active": True,
                "name": [{"use": "official", "family": "Seed%05d" % i, "given": ["Ola", "Benk"]}],
                "gender": "male" if i % 2 else "female",
                "birthDate": "19%02d-0%d-1%d" % (40 + i % 60, 1 + i % 9, i % 10),
            },
            "request": {"method": "POST", "url": "Patient"},
        })
        for k in range(careplans):
            entries.append({
                "fullUrl": "urn:uuid:" + str(uuid.uuid4()),
                "resource": {
                    "resourceType": "CarePlan",
                    "status": "active",
                    "intent": "plan",
                    "title": "Individuell plan %d" % k,
                    "subject": {"reference": patient_url},
                    "period": {"start": "2026-01-01"},
                },
                "request": {"method": "POST", "url": "CarePlan"},
            })
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def main():
    base = sys.argv[1].rstrip("/")
    patients = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    careplans = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    ids = []
    for first in range(0, patients, 100):
        body = json.dumps(transaction(first, min(100, patients - first), careplans)).encode()
        req = urllib.request.Request(base + "/", data=body, method="POST", headers={
            "Content-Type": "application/fhir+json", "Accept": "application/fhir+json", "Prefer": "return=minimal"})
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                answer = json.load(resp)
        except urllib.error.HTTPError as e:
            sys.exit("seed transaction failed: HTTP %d %s" % (e.code, e.read().decode(errors="replace")[:2000]))
        for entry in answer.get("entry", []):
            # Relative ("Patient/ID/_history/1") or absolute ("http://host/Patient/ID/_history/1").
            parts = entry.get("response", {}).get("location", "").split("/")
            if "Patient" in parts and parts.index("Patient") + 1 < len(parts):
                ids.append(parts[parts.index("Patient") + 1])
    if len(ids) != patients:
        sys.exit("seeded %d patients, expected %d" % (len(ids), patients))
    print("\n".join(ids))


if __name__ == "__main__":
    main()
