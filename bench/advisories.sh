#!/usr/bin/env bash
# Advisory-check benchmark: secgate vs cargo-audit on the same lock files and
# the same database, in one run, on this machine. Prints each tool's median
# wall time (and CPU time) over RUNS runs, taking turns, after one warm-up
# round, and secgate's ratio of wall times.
#
#   bench/advisories.sh [DB]    DB defaults to ../shared/advisory-db
#
# Two ways secgate reads the database, each against `cargo audit --db DB
# --no-fetch --no-yanked -f LOCK`:
#   --db      secgate audit LOCK --db DB --offline (a directory it must list)
#   cache     secgate audit LOCK --offline on its own cache, filled first by
#             `secgate db update` from an archive of DB served on 127.0.0.1
#             (the default way secgate runs; same advisories)
#
# Lock files: a small fixture, secgate's own, and a real large workspace's
# (rerun-cli 0.41.0, 1164 packages; see tests/fixtures/parity/README.md):
# the cost per package shows only on the large one. LOCKS (space-separated
# paths) times others instead.
#
# Builds secgate with `cargo build --release` (or set SECGATE=/path/to/secgate
# to time another build, e.g. one from before a change); installs cargo-audit
# with `cargo install --locked cargo-audit` when it is not on PATH (or set
# CARGO_AUDIT=/path/to/cargo-audit). INSTRUCTIONS=1 also counts each tool's
# instructions once per lock file with valgrind's callgrind: unlike wall
# times, the same on a busy machine. The load average is printed beside the
# times, since other work on the machine skews them. Nothing leaves the machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
runs=${RUNS:-31}
db=$(cd "${1:-$repo/../shared/advisory-db}" && pwd)
if [ -n "${SECGATE:-}" ]; then
  secgate=$(cd "$(dirname "$SECGATE")" && pwd)/$(basename "$SECGATE")
else
  (cd "$repo" && cargo build --release --locked -q)
  secgate="$repo/target/release/secgate"
fi
audit=${CARGO_AUDIT:-$(command -v cargo-audit || true)}
if [ -z "$audit" ]; then
  cargo install --locked cargo-audit
  audit=$(command -v cargo-audit || echo "${CARGO_HOME:-$HOME/.cargo}/bin/cargo-audit")
fi
out=$(mktemp -d)
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$out"' EXIT

# secgate's cache, filled from the same database through a local server.
tar -czf "$out/advisory-db.tar.gz" -C "$(dirname "$db")" \
  --transform "s,^$(basename "$db"),advisory-db-main," "$(basename "$db")"
python3 - "$out" > "$out/port" <<'PY' &
import functools, http.server, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
handler.log_message = lambda *args: None
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(server.server_address[1], flush=True)
server.serve_forever()
PY
server=$!
for _ in $(seq 100); do [ -s "$out/port" ] && break; sleep 0.05; done
export XDG_CACHE_HOME="$out/cache"
SECGATE_DB_URL="http://127.0.0.1:$(cat "$out/port")/advisory-db.tar.gz" "$secgate" db update
kill "$server" && server=

locks=(
  "$repo/tests/fixtures/parity/large/Cargo.lock"
  "$repo/Cargo.lock"
  "$repo/tests/fixtures/parity/rerun/Cargo.lock"
)
# LOCKS="a/Cargo.lock b/Cargo.lock" times those lock files instead.
if [ -n "${LOCKS:-}" ]; then
  read -r -a locks <<< "$LOCKS"
fi
echo "database: $db ($(find "$db/crates" -name '*.md' | wc -l) advisories)"
echo "$("$audit" --version 2>/dev/null || "$audit" audit --version); secgate $("$secgate" --version | cut -d' ' -f2); $(nproc) cores; median of $runs runs"
for lock in "${locks[@]}"; do
  packages=$(grep -c '^\[\[package\]\]' "$lock")
  echo
  echo "lock: $lock ($packages packages)"
  # Exit 1 means "found something" for both tools; the timer ignores it.
  python3 - "$runs" "$lock" "$secgate" "$audit" "$db" "$out" "${INSTRUCTIONS:-}" <<'PY'
import os, resource, statistics, subprocess, sys, time
runs, lock, secgate, audit, db, out, instructions = int(sys.argv[1]), *sys.argv[2:]
sarif = ["-q", "--sarif", f"{out}/x.sarif"]
tools = {
    "secgate --db": [secgate, "audit", lock, "--db", db, "--offline", *sarif],
    "secgate cache": [secgate, "audit", lock, "--offline", *sarif],
    # `cargo-audit audit ...` is how cargo runs the installed binary.
    "cargo-audit": [audit, "audit", "--db", db, "--no-fetch", "--no-yanked", "-f", lock],
}
load = lambda: "/".join(f"{x:.2f}" for x in os.getloadavg())
print(f"  load average before: {load()} (1/5/15 min)")
# The tools take turns, so a change in the machine's load hits all alike.
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
    print(f"  {name:<14} median {median[name] * 1000:7.1f} ms  (min {min(times) * 1000:.1f}, max {max(times) * 1000:.1f}; cpu median {statistics.median(cpu[name]) * 1000:.1f} ms)")
for name in ("secgate --db", "secgate cache"):
    print(f"  ratio {name} / cargo-audit: {median[name] / median['cargo-audit']:.2f}x (goal <= 0.50x)")
print(f"  load average after: {load()}")
if instructions:
    counted = {}
    for name, cmd in tools.items():
        log = f"{out}/callgrind.%p"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={log}", "--", *cmd],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        total = 0
        for file in os.listdir(out):
            if file.startswith("callgrind."):
                with open(f"{out}/{file}") as data:
                    total += sum(int(line.split()[1]) for line in data if line.startswith("summary:"))
                os.remove(f"{out}/{file}")
        counted[name] = total
        print(f"  {name:<14} {total / 1e6:9.1f} M instructions")
    for name in ("secgate --db", "secgate cache"):
        print(f"  instruction ratio {name} / cargo-audit: {counted[name] / counted['cargo-audit']:.2f}x")
PY
done
