#!/usr/bin/env python3
"""Writes CDS Hooks patient-view request bodies for wrk from a folder of Bulk Data NDJSON (default data/sample).

Each body is what an EHR would send for one patient: the prefetch keys of hooks/healthrec-patient-risk.json, filled
from that patient's resources (Observations by the template's LOINC codes, searchsets as Bundles, null when empty),
and the placeholder HOOK_INSTANCE that the wrk script replaces with a fresh UUID per call. With --fhir-server URL the
bodies carry no prefetch and name that server instead (HealthRec then reads every key from it).

  tests/load/make-requests.py [--input data/sample] [--out tests/load/requests] [--patients 20]
                              [--min-resources N] [--max-resources M]   (only prefetches of that size, spread over it)
                              [--fhir-server URL] [--load]   (--load also PUTs those patients' resources to the server)
"""
import argparse, glob, gzip, json, os, sys, urllib.request

parser = argparse.ArgumentParser()
parser.add_argument("--input", default="data/sample")
parser.add_argument("--out", default="tests/load/requests")
parser.add_argument("--patients", type=int, default=20)
parser.add_argument("--min-resources", type=int, default=0, help="only patients whose prefetch holds at least this many resources")
parser.add_argument("--max-resources", type=int, default=10**9, help="...and at most this many")
parser.add_argument("--fhir-server")
parser.add_argument("--load", action="store_true")
args = parser.parse_args()

templates = json.load(open("hooks/healthrec-patient-risk.json"))["prefetch"]
codes = {c.split("|")[1] for c in templates["observations"].split("code=")[1].split(",")}
types = {key: template.split("?")[0].split("/")[0] for key, template in templates.items()}

patients, resources = {}, {}
for path in glob.glob(os.path.join(args.input, "*.ndjson*")):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as lines:
        for line in lines:
            r = json.loads(line)
            if r["resourceType"] == "Patient":
                patients[r["id"]] = r
                continue
            ref = (r.get("subject") or r.get("patient") or {}).get("reference", "")
            resources.setdefault(ref.split("/")[-1], []).append(r)

def keyed(pid):
    out = {}
    for key, kind in types.items():
        if kind == "Patient":
            continue
        found = [r for r in resources.get(pid, []) if r["resourceType"] == kind]
        if kind == "Observation":
            found = [o for o in found if any(c.get("code") in codes for c in o.get("code", {}).get("coding", []))]
        out[key] = found
    return out

alive = [p for p in patients if "deceasedDateTime" not in patients[p] and "deceasedBoolean" not in patients[p]]
# The patients with the fullest records (about 300 resources each in the demo cohort): the heavy end of real prefetches.
size = {p: sum(len(v) for v in keyed(p).values()) + 1 for p in alive}
if args.min_resources or args.max_resources < 10**9:
    # Sizes spread evenly over the range asked for (fullest to leanest), not bunched at its top.
    eligible = sorted((p for p in alive if args.min_resources <= size[p] <= args.max_resources), key=lambda p: -size[p])
    n = min(args.patients, len(eligible))
    sized = [eligible[round(i * (len(eligible) - 1) / max(1, n - 1))] for i in range(n)]
else:
    sized = sorted(alive, key=lambda p: -size[p])[: args.patients]
os.makedirs(args.out, exist_ok=True)
for old in glob.glob(os.path.join(args.out, "*.json")):
    os.remove(old)
total = 0
for i, pid in enumerate(sized):
    body = {"hook": "patient-view", "hookInstance": "HOOK_INSTANCE", "context": {"userId": "Practitioner/example", "patientId": pid}}
    data = keyed(pid)
    count = sum(len(v) for v in data.values()) + 1
    total += count
    if args.fhir_server:
        body["fhirServer"] = args.fhir_server
        if args.load:
            everything = [patients[pid]] + [r for v in data.values() for r in v]
            for start in range(0, len(everything), 50):
                chunk = everything[start:start + 50]
                bundle = {"resourceType": "Bundle", "type": "transaction",
                          "entry": [{"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}} for r in chunk]}
                request = urllib.request.Request(args.fhir_server, json.dumps(bundle).encode(), {"Content-Type": "application/fhir+json"}, method="POST")
                urllib.request.urlopen(request).read()
    else:
        prefetch = {"patient": patients[pid]}
        for key, found in data.items():
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "total": len(found),
                             "entry": [{"resource": r} for r in found]} if found else None
        body["prefetch"] = prefetch
    with open(os.path.join(args.out, f"{i:03}.json"), "w") as f:
        json.dump(body, f, separators=(",", ":"))
print(f"{len(sized)} request bodies in {args.out}, {total / max(1, len(sized)):.0f} resources per patient on average", file=sys.stderr)
