#!/usr/bin/env python3
"""The Python peer HealthRec is measured against: the way a typical ML project serves a risk model.

scikit-learn gradient boosting behind Flask (Debian's python3-sklearn and python3-flask): it parses the same CDS Hooks
patient-view prefetch HealthRec gets, computes 13 core features (age, sex, the last HbA1c, glucose, BMI, systolic and
diastolic pressure, LDL, HDL and total cholesterol, eGFR, hypertension, a statin), estimates the 5-year risk of type 2
diabetes with one model, and answers cards as JSON. It is a yardstick, not a product: no checks, no audit, no
recommendations, one outcome.

  peer.py train --input data/sample --model /tmp/peer.pkl       learn from Bulk Data NDJSON (plain or gzipped)
  peer.py serve --model /tmp/peer.pkl --port 5099               answer POST /cds-services/<id> on 127.0.0.1
  peer.py score --input DIR --model /tmp/peer.pkl --out FILE    one CSV row per patient

Training: for each patient, the index date is five years before their last recorded activity; the label is a type 2
diabetes diagnosis (SNOMED CT 44054006) in the five years after it; patients diagnosed before it are left out; a
missing value is imputed with the training median.
"""
import argparse, csv, glob, gzip, json, os, pickle, sys, uuid
from datetime import date, datetime, timedelta

LOINC = {
    "hba1c": {"4548-4", "17856-6"}, "glucose": {"2345-7", "2339-0"}, "bmi": {"39156-5"}, "sbp": {"8480-6"}, "dbp": {"8462-4"},
    "ldl": {"18262-6", "13457-7"}, "hdl": {"2085-9"}, "chol": {"2093-3"}, "egfr": {"33914-3", "62238-1", "48642-3", "48643-1", "98979-8"},
}
FEATURES = ["age", "female", "hba1c", "glucose", "bmi", "sbp", "dbp", "ldl", "hdl", "chol", "egfr", "hypertension", "statin"]
T2D, HYPERTENSION = {"44054006"}, {"38341003", "59621000"}
STATINS = ("statin",)  # atorvastatin, simvastatin, rosuvastatin, pravastatin, lovastatin...


def when(text):
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date() if "T" in text else date.fromisoformat(text[:10])
    except ValueError:
        return None


def codes(concept):
    return {c.get("code") for c in (concept or {}).get("coding", [])}


class Patient:
    def __init__(self):
        self.birth, self.female, self.labs, self.conditions, self.meds, self.last = None, 0, [], [], [], None

    def seen(self, day):
        if day and (self.last is None or day > self.last):
            self.last = day

    def add(self, r):
        kind = r.get("resourceType")
        if kind == "Patient":
            self.birth, self.female = when(r.get("birthDate")), 1 if r.get("gender") == "female" else 0
        elif kind == "Observation":
            day = when(r.get("effectiveDateTime") or r.get("issued"))
            self.seen(day)
            parts = [r] + r.get("component", [])
            for part in parts:
                value = (part.get("valueQuantity") or {}).get("value")
                if value is None:
                    continue
                for name, loinc in LOINC.items():
                    if codes(part.get("code")) & loinc:
                        self.labs.append((day, name, float(value)))
        elif kind == "Condition":
            day = when(r.get("onsetDateTime") or r.get("recordedDate"))
            self.seen(day)
            self.conditions.append((day, codes(r.get("code"))))
        elif kind in ("MedicationStatement", "MedicationRequest"):
            concept = r.get("medicationCodeableConcept") or {}
            text = " ".join([concept.get("text", "")] + [c.get("display", "") for c in concept.get("coding", [])]).lower()
            start = when((r.get("effectivePeriod") or {}).get("start") or r.get("effectiveDateTime") or r.get("authoredOn"))
            self.seen(start)
            self.meds.append((start, text))
        elif kind == "Encounter":
            self.seen(when((r.get("period") or {}).get("start")))

    def features(self, at):
        row = {f: None for f in FEATURES}
        row["age"] = (at - self.birth).days / 365.25 if self.birth else None
        row["female"] = self.female
        for day, name, value in sorted(l for l in self.labs if l[0] and l[0] <= at):
            row[name] = value
        row["hypertension"] = int(any(d and d <= at and c & HYPERTENSION for d, c in self.conditions))
        row["statin"] = int(any(d and d <= at and any(s in t for s in STATINS) for d, t in self.meds))
        return [float("nan") if row[f] is None else row[f] for f in FEATURES]

    def diabetes_by(self, day):
        return any(d and d <= day and c & T2D for d, c in self.conditions)


def read_cohort(folder):
    patients = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.ndjson*"))):
        with (gzip.open if path.endswith(".gz") else open)(path, "rt") as lines:
            for line in lines:
                r = json.loads(line)
                ref = r.get("id") if r.get("resourceType") == "Patient" else (r.get("subject") or r.get("patient") or {}).get("reference", "").split("/")[-1]
                patients.setdefault(ref, Patient()).add(r)
    return patients


def train(args):
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    x, y = [], []
    for p in read_cohort(args.input).values():
        if not p.birth or not p.last:
            continue
        at = p.last - timedelta(days=5 * 365)
        if at <= p.birth or p.diabetes_by(at):
            continue
        x.append(p.features(at))
        y.append(int(p.diabetes_by(at + timedelta(days=5 * 365))))
    model = make_pipeline(SimpleImputer(strategy="median"), GradientBoostingClassifier(n_estimators=200, max_depth=3, random_state=1))
    model.fit(x, y)
    with open(args.model, "wb") as out:
        pickle.dump(model, out)
    print(f"trained on {len(y)} patients, {sum(y)} with the outcome", file=sys.stderr)


def prefetched(body):
    """The patient's resources from a patient-view call's prefetch (resources and searchset Bundles)."""
    patient = Patient()
    for value in (body.get("prefetch") or {}).values():
        if not value:
            continue
        for r in ([e.get("resource", {}) for e in value.get("entry", [])] if value.get("resourceType") == "Bundle" else [value]):
            patient.add(r)
    return patient


def card(probability):
    return {"uuid": str(uuid.uuid4()), "summary": f"5-year type 2 diabetes risk {probability:.0%} (peer estimate)",
            "indicator": "warning" if probability >= 0.2 else "info", "source": {"label": "Python peer (scikit-learn)"}}


def serve(args):
    from flask import Flask, jsonify, request
    with open(args.model, "rb") as f:
        model = pickle.load(f)
    app = Flask("peer")

    @app.post("/cds-services/<service>")
    def call(service):
        patient = prefetched(request.get_json(force=True))
        if not patient.birth:
            return jsonify({"cards": []})
        probability = float(model.predict_proba([patient.features(date.today())])[0][1])
        return jsonify({"cards": [card(probability)]})

    @app.get("/health")
    def health():
        return "ok"

    app.run(host="127.0.0.1", port=args.port, threaded=True)


def score(args):
    with open(args.model, "rb") as f:
        model = pickle.load(f)
    patients = [(pid, p) for pid, p in read_cohort(args.input).items() if p.birth and p.last]
    probabilities = model.predict_proba([p.features(p.last) for _, p in patients])[:, 1] if patients else []
    with open(args.out, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["patient_id", "t2d_5y"])
        for (pid, _), probability in zip(patients, probabilities):
            writer.writerow([pid, f"{probability:.6f}"])
    print(f"scored {len(patients)} patients", file=sys.stderr)


parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
commands = parser.add_subparsers(dest="command", required=True)
for name, handler in (("train", train), ("serve", serve), ("score", score)):
    command = commands.add_parser(name)
    command.set_defaults(handler=handler)
    command.add_argument("--model", required=True)
    if name != "serve":
        command.add_argument("--input", required=True)
    if name == "score":
        command.add_argument("--out", required=True)
    if name == "serve":
        command.add_argument("--port", type=int, default=5099)
arguments = parser.parse_args()
arguments.handler(arguments)
