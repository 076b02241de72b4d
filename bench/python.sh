#!/usr/bin/env bash
# The Python advisory check, end to end: `secgate audit` on a real
# requirements lock of 263 PyPI packages (bench/fixtures/requirements-263.txt,
# 2021 versions) and on its first 30 and 100 pins, against the whole PyPA
# snapshot (../shared/osv, or OSV_DB=DIR). Prints the first run (empty
# cache: the archive's package index is built) and the median of RUNS
# (default 11) later runs: wall time, CPU time and peak RSS. Goal: under
# 150 ms for 200+ packages, and linear in packages.
# Uses target/release/secgate (built if missing; SECGATE= for another).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
runs=${RUNS:-11}
osv=$(realpath "${OSV_DB:-$repo/../shared/osv}")
db=$(realpath "${RUSTSEC_DB:-$repo/tests/fixtures/advisory-db}")
secgate=${SECGATE:-$repo/target/release/secgate}
[ -x "$secgate" ] || (cd "$repo" && cargo build --release --locked -q)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
lock="$here/fixtures/requirements-263.txt"
for size in 30 100 263; do
  mkdir -p "$out/$size"
  grep -E '^[A-Za-z0-9].*==' "$lock" | awk -v n="$size" 'NR <= n' > "$out/$size/requirements.txt"
done

# One run: wall and CPU seconds and peak RSS (KiB).
measure() {
  XDG_CACHE_HOME="$1" /usr/bin/time -f "%e %U %S %M" -o "$out/time" \
    "$secgate" audit "$2" --osv-db "$osv" --db "$db" --offline -q \
    --sarif "$out/out.sarif" >/dev/null 2>&1 || true
  read -r wall user sys rss < <(tail -n 1 "$out/time")
  echo "$wall $(echo "$user + $sys" | bc) $rss"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "secgate $("$secgate" --version | cut -d' ' -f2); archive $osv/PyPI/all.zip; load $(cut -d' ' -f1-3 /proc/loadavg)"
for size in 30 100 263; do
  cache="$out/cache-$size"
  read -r wall cpu rss < <(measure "$cache" "$out/$size/requirements.txt")
  findings=$(jq '[.runs[0].results[]] | length' "$out/out.sarif" 2>/dev/null || echo "?")
  : > "$out/walls"; : > "$out/cpus"; : > "$out/rsss"
  for _ in $(seq "$runs"); do
    read -r w c r < <(measure "$cache" "$out/$size/requirements.txt")
    echo "$w" >> "$out/walls"; echo "$c" >> "$out/cpus"; echo "$r" >> "$out/rsss"
  done
  printf '%4d packages, %3s findings: first run %6.0f ms (index built); later runs median %5.0f ms wall, %5.0f ms CPU, %6d KiB peak RSS\n' \
    "$size" "$findings" "$(echo "$wall * 1000" | bc)" "$(echo "$(median < "$out/walls") * 1000" | bc)" \
    "$(echo "$(median < "$out/cpus") * 1000" | bc)" "$(median < "$out/rsss")"
done
