#!/usr/bin/env bash
# The npm advisory check, end to end: `secgate audit` on a real 2,007-package
# package-lock.json (bench/fixtures/npm-cra, lockfileVersion 3) and on
# locks of its first 250, 500 and 1,000 packages, against an archive of
# 4,000 npm advisory records (bench/make_npm_bench_archive.py: copies of the
# real records in tests/fixtures/osv/npm/records, OSV's bucket being out of
# reach here). Prints the first run (empty cache: the archive's package
# index is built) and the median of RUNS (default 11) later runs: wall
# time, CPU time and peak RSS. Goal: under 200 ms for 2,000 packages, and
# linear in packages. Uses target/release/secgate (built if missing;
# SECGATE= for another).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
runs=${RUNS:-11}
db=$(realpath "${RUSTSEC_DB:-$repo/tests/fixtures/advisory-db}")
secgate=${SECGATE:-$repo/target/release/secgate}
[ -x "$secgate" ] || (cd "$repo" && cargo build --release --locked -q)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
lock="$here/fixtures/npm-cra/package-lock.json"
python3 "$here/make_npm_bench_archive.py" "$repo/tests/fixtures/osv/npm/records" "$lock" "$out/osv" 4000 > /dev/null
sizes="250 500 1000 2007"
for size in $sizes; do
  mkdir -p "$out/$size"
  python3 - "$lock" "$size" "$out/$size/package-lock.json" <<'PY'
import json, sys
lock = json.load(open(sys.argv[1]))
keep = int(sys.argv[2])
entries = list(lock["packages"].items())
root = [(k, v) for k, v in entries if k == ""]
rest = [(k, v) for k, v in entries if k != ""][:keep]
lock["packages"] = dict(root + rest)
json.dump(lock, open(sys.argv[3], "w"), indent=2)
PY
done

# One run: wall and CPU seconds and peak RSS (KiB).
measure() {
  XDG_CACHE_HOME="$1" /usr/bin/time -f "%e %U %S %M" -o "$out/time" \
    "$secgate" audit "$2" --osv-db "$out/osv" --db "$db" --offline -q \
    --sarif "$out/out.sarif" >/dev/null 2>&1 || true
  read -r wall user sys rss < <(tail -n 1 "$out/time")
  echo "$wall $(echo "$user + $sys" | bc) $rss"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "secgate $("$secgate" --version | cut -d' ' -f2); 4000-record archive; load $(cut -d' ' -f1-3 /proc/loadavg)"
for size in $sizes; do
  cache="$out/cache-$size"
  read -r wall cpu rss < <(measure "$cache" "$out/$size/package-lock.json")
  findings=$(jq '[.runs[0].results[]] | length' "$out/out.sarif" 2>/dev/null || echo "?")
  : > "$out/walls"; : > "$out/cpus"; : > "$out/rsss"
  for _ in $(seq "$runs"); do
    read -r w c r < <(measure "$cache" "$out/$size/package-lock.json")
    echo "$w" >> "$out/walls"; echo "$c" >> "$out/cpus"; echo "$r" >> "$out/rsss"
  done
  printf '%5d packages, %3s findings: first run %6.0f ms (index built); later runs median %5.0f ms wall, %5.0f ms CPU, %6d KiB peak RSS\n' \
    "$size" "$findings" "$(echo "$wall * 1000" | bc)" "$(echo "$(median < "$out/walls") * 1000" | bc)" \
    "$(echo "$(median < "$out/cpus") * 1000" | bc)" "$(median < "$out/rsss")"
done
