#!/usr/bin/env python3
"""Where a HealthRec process's CPU went, by stage, from `perf script` output.

    DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 healthrec serve ...   (perf can then name JIT'd methods)
    perf record -F 499 -g -p <pid> -- sleep 20        (under load, e.g. wrk with cds-patient-view.lua)
    perf script > perf.txt && tests/load/perf-stages.py perf.txt

Each sample goes to the first stage in the list below one of whose patterns matches a method on its stack. A frame is
matched by its method's own name, not its parameter types (CallAsync's signature names the mapper, the audit trail,
...). libcoreclr has no symbols here: the runtime's own threads (the server GC's collections, the tiered JIT) land in
"runtime"; a GC on an allocating thread lands in "GC".
"""
import collections
import re
import sys

STAGES = [
    ("GC on an allocating thread", [r"\bgc_heap::", r"WKS::", r"SVR::", r"GCHeap::", r"GarbageCollect"]),
    ("prefetch read in place (fast reader, SDK fallback)", [r"FastResourceReader", r"PrefetchReader", r"FhirJson::TryParse"]),
    ("rest of the body: envelope document, Unicode check, request checks", [r"CdsBody", r"JsonText", r"CdsRequestReader", r"ReadJsonAsync"]),
    ("record mapping (terminology, units)", [r"FhirRecordMapper", r"RecordReader", r"UnitNormalizer", r"PatientGrouping", r"PatientRecordBuilder"]),
    ("estimates (features, LightGBM, factors, equations)", [r"HealthRec\.ML\.Serving", r"HealthRec\.ML\.Outcomes", r"LightGbm", r"lib_lightgbm",
                                                           r"Featurizer", r"HealthRec\.Clinical\.Risk"]),
    ("recommender", [r"HealthRec\.ML\.Recommendation"]),
    ("cards and FHIR proposals", [r"PatientRiskCards", r"CardSourceAttributes", r"ProposalBuilder", r"CdsHooks\.Card", r"AiTransparency"]),
    ("audit on the call's path", [r"HealthRec\.Server\.Audit", r"AuditWriter", r"AuditTrail", r"AuditEvents", r"CdsAudit"]),
    ("response serialization", [r"CdsResponse"]),
    ("call store, logging", [r"InvocationWriter", r"Microsoft\.Extensions\.Logging"]),
    ("Kestrel, HTTP, routing", [r"Microsoft\.AspNetCore", r"System\.Net\.", r"System\.IO\.Pipelines"]),
    ("kernel (network, memory)", [r"kernel\.kallsyms"]),
    ("runtime (GC threads, JIT, stubs, thread pool)", [r"libclrjit", r"libcoreclr", r"System\.Threading", r"System\.Private\.CoreLib"]),
]
COMPILED = [(name, [re.compile(p) for p in patterns]) for name, patterns in STAGES]
METHOD = re.compile(r"(\S+::[^(\s]+)")


def stage(frames):
    text = "\n".join(frames)
    for name, patterns in COMPILED:
        if any(p.search(text) for p in patterns):
            return name
    return "other"


def main(path):
    counts = collections.Counter()
    frames = []
    with open(path, errors="replace") as lines:
        for line in lines:
            if not line.strip():
                if frames:
                    counts[stage(frames)] += 1
                frames = []
            elif line[0] in "\t ":
                frame = line.strip()
                method = METHOD.search(frame)
                frames.append(method.group(1) if method else frame)
    if frames:
        counts[stage(frames)] += 1
    total = sum(counts.values())
    print(f"{total} samples")
    print("| stage | share of the samples |")
    print("| --- | --- |")
    for name, count in counts.most_common():
        print(f"| {name} | {100 * count / total:.1f} % |")


if __name__ == "__main__":
    main(sys.argv[1])
