#!/usr/bin/env bash
# OSV source benchmark: how long opening an OSV archive and loading the
# advisories of a lock file's packages takes, and the peak memory, for a
# 30- and a 200-package set: the first run (an empty cache: the package
# index is built from every record) and later runs (the index reused).
#
#   bench/osv.sh [ARCHIVE]    ARCHIVE defaults to ../shared/osv/PyPI/all.zip
#
# Two kinds of package set: `popular`, the most-downloaded PyPI packages
# (bench/osv-popular-200.txt: what a large real lock holds; most have no
# advisory), and `worst`, the archive's most-advised packages (tensorflow and
# its twins: hundreds of records with long version lists each). Builds a
# small release program on the secgate library (target/osv-bench); RUNS
# (default 11) later runs, the medians shown. Wall time suffers when other
# work shares the machine; CPU time (user + system) less so.
# Nothing leaves the machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
runs=${RUNS:-11}
archive=$(realpath "${1:-$repo/../shared/osv/PyPI/all.zip}")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# The program: open, load, finish; prints what it did on stderr.
mkdir -p "$out/prog/src"
cat > "$out/prog/Cargo.toml" <<EOF
[package]
name = "osv-bench"
version = "0.0.0"
edition = "2021"
publish = false
[dependencies]
secgate = { path = "$repo" }
[profile.release]
lto = "thin"
codegen-units = 4
[workspace]
EOF
cat > "$out/prog/src/main.rs" <<'EOF'
use secgate::advisory::osv::OsvSource;
use secgate::advisory::AdvisorySource;
use secgate::inventory::Ecosystem;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&args[3]).unwrap();
    let names: BTreeSet<&str> = text.lines().collect();
    let start = Instant::now();
    let source = OsvSource::open(Path::new(&args[1]), Ecosystem::PyPi, Path::new(&args[2])).unwrap();
    let status = source.index_status();
    let opened = start.elapsed();
    let loaded = source.load(&names).unwrap();
    let report = Box::new(source).finish().unwrap();
    eprintln!(
        "index {status:?}; open {:.1} ms, load {:.1} ms; {} advisories for {} of {} packages; database {}",
        opened.as_secs_f64() * 1e3,
        (start.elapsed() - opened).as_secs_f64() * 1e3,
        loaded.count(),
        loaded.by_package.len(),
        names.len(),
        report.database.advisories,
    );
}
EOF
(cd "$out/prog" && CARGO_TARGET_DIR="$repo/target/osv-bench" cargo build --release -q)
prog="$repo/target/osv-bench/release/osv-bench"

grep -v '^#' "$here/osv-popular-200.txt" | head -30 > "$out/names-popular-30"
grep -v '^#' "$here/osv-popular-200.txt" > "$out/names-popular-200"
# The most-advised packages, by how many records name them.
python3 - "$archive" "$out" <<'PY'
import collections, json, re, sys, zipfile
counts = collections.Counter()
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        record = json.loads(z.read(name))
        for affected in record.get("affected") or []:
            counts[re.sub(r"[-_.]+", "-", affected["package"]["name"]).lower()] += 1
ranked = [name for name, _ in counts.most_common()]
for size in (30, 200):
    with open(f"{sys.argv[2]}/names-worst-{size}", "w") as f:
        f.write("\n".join(ranked[:size]) + "\n")
PY

# One run: wall and CPU seconds and peak RSS (KiB) from /usr/bin/time, and
# what the program said.
measure() {
  /usr/bin/time -f "%e %U %S %M" -o "$out/time" "$prog" "$archive" "$1" "$2" 2>"$out/said"
  read -r wall user sys rss < "$out/time"
  echo "$wall $(echo "$user + $sys" | bc) $rss $(cat "$out/said")"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for set in popular-30 popular-200 worst-30 worst-200; do
  cache="$out/cache-$set"
  echo "== $set ($archive)"
  read -r wall cpu rss said < <(measure "$cache" "$out/names-$set")
  echo "first run:  ${wall}s wall, ${cpu}s CPU, ${rss} KiB peak RSS; $said"
  : > "$out/walls"; : > "$out/cpus"; : > "$out/rsss"
  for _ in $(seq "$runs"); do
    read -r wall cpu rss said < <(measure "$cache" "$out/names-$set")
    echo "$wall" >> "$out/walls"; echo "$cpu" >> "$out/cpus"; echo "$rss" >> "$out/rsss"
  done
  echo "later runs: median $(median < "$out/walls")s wall, $(median < "$out/cpus")s CPU, $(median < "$out/rsss") KiB peak RSS over $runs runs; $said"
done
