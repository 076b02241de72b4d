#!/usr/bin/env bash
# Advisory-check benchmark: secgate vs cargo-audit on the same lock files and
# the same database, in one run, on this machine. Prints each tool's median
# wall time (and CPU time) over RUNS runs, taking turns, after one warm-up
# round, and secgate's ratio of wall times.
#
#   bench/advisories.sh [DB]    DB defaults to ../shared/advisory-db
#
# Builds secgate with `cargo build --release`; installs cargo-audit with
# `cargo install --locked cargo-audit` when it is not on PATH (or set
# CARGO_AUDIT=/path/to/cargo-audit). Neither tool touches the network here:
# secgate runs with --db --offline, cargo-audit with --no-fetch --no-yanked.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
runs=${RUNS:-31}
db=$(cd "${1:-$repo/../shared/advisory-db}" && pwd)
(cd "$repo" && cargo build --release --locked -q)
secgate="$repo/target/release/secgate"
audit=${CARGO_AUDIT:-$(command -v cargo-audit || true)}
if [ -z "$audit" ]; then
  cargo install --locked cargo-audit
  audit=$(command -v cargo-audit || echo "${CARGO_HOME:-$HOME/.cargo}/bin/cargo-audit")
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

locks=(
  "$repo/tests/fixtures/parity/large/Cargo.lock"
  "$repo/Cargo.lock"
)
echo "database: $db ($(find "$db/crates" -name '*.md' | wc -l) advisories)"
echo "$("$audit" --version 2>/dev/null || "$audit" audit --version); secgate $("$secgate" --version | cut -d' ' -f2); $(nproc) cores; median of $runs runs"
for lock in "${locks[@]}"; do
  packages=$(grep -c '^\[\[package\]\]' "$lock")
  echo
  echo "lock: $lock ($packages packages)"
  # Exit 1 means "found something" for both tools; the timer ignores it.
  python3 - "$runs" "$lock" "$secgate" "$audit" "$db" "$out" <<'PY'
import resource, statistics, subprocess, sys, time
runs, lock, secgate, audit, db, out = int(sys.argv[1]), *sys.argv[2:]
tools = {
    "secgate": [secgate, "audit", lock, "--db", db, "--offline", "-q", "--sarif", f"{out}/x.sarif"],
    "cargo-audit": [audit, "audit", "--db", db, "--no-fetch", "--no-yanked", "-f", lock],
}
# `cargo-audit audit ...` is how cargo runs the installed binary.
# The tools take turns, so a change in the machine's load hits both alike.
wall = {name: [] for name in tools}
cpu = {name: [] for name in tools}
for i in range(runs + 1):
    for name, cmd in tools.items():
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode not in (0, 1):
            sys.exit(f"{name} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
        if i:  # the first round warms the page cache
            wall[name].append(elapsed)
            cpu[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
median = {name: statistics.median(times) for name, times in wall.items()}
for name in tools:
    times = wall[name]
    print(f"  {name:<12} median {median[name] * 1000:7.1f} ms  (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}; cpu median {statistics.median(cpu[name]) * 1000:.1f} ms)")
print(f"  ratio secgate / cargo-audit: {median['secgate'] / median['cargo-audit']:.2f}x (goal <= 0.50x)")
PY
done
