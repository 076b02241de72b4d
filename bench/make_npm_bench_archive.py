#!/usr/bin/env python3
"""An npm advisory archive of a few thousand records for bench/npm.sh.

OSV's bucket (npm/all.zip) is not reachable from the benchmark machines, so
the archive is built from the real GitHub and OpenSSF records committed in
tests/fixtures/osv/npm/records/: each record is copied under a new id, about
one in eight naming a package of the benchmarked lock (as real advisories
name the popular packages a large lock holds), the rest naming packages it
does not have; the ranges, severities and texts stay those of the real
record it was copied from. What the check does with it is what it does with
OSV's archive: index lookup, then parsing only the records of the packages
present.

usage: make_npm_bench_archive.py RECORDS_DIR LOCK OUT_DIR [COUNT]
writes OUT_DIR/npm/all.zip
"""
import json
import os
import sys
import zipfile

records_dir, lock_path, out_dir = sys.argv[1:4]
count = int(sys.argv[4]) if len(sys.argv) > 4 else 4000
templates = []
for name in sorted(os.listdir(records_dir)):
    if name.endswith(".json"):
        with open(os.path.join(records_dir, name)) as f:
            templates.append(json.load(f))
with open(lock_path) as f:
    lock = json.load(f)
names = sorted({
    entry.get("name") or key.rsplit("node_modules/", 1)[-1]
    for key, entry in lock.get("packages", {}).items()
    if key.startswith("node_modules/")
})
os.makedirs(os.path.join(out_dir, "npm"), exist_ok=True)
path = os.path.join(out_dir, "npm", "all.zip")
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
    for i in range(count):
        record = json.loads(json.dumps(templates[i % len(templates)]))
        prefix = "MAL" if record["id"].startswith("MAL-") else "GHSA"
        record["id"] = f"{prefix}-bench-{i:06d}"
        record["aliases"] = []
        package = names[(i * 7919) % len(names)] if i % 8 == 0 else f"bench-absent-{i}"
        for affected in record.get("affected", []):
            if affected.get("package", {}).get("ecosystem") == "npm":
                affected["package"]["name"] = package
        info = zipfile.ZipInfo(f"{record['id']}.json", date_time=(2024, 1, 1, 0, 0, 0))
        archive.writestr(info, json.dumps(record, indent=2), zipfile.ZIP_DEFLATED)
print(f"{path}: {count} records, {len(templates)} templates, lock names {len(names)}")
