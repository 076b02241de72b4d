#!/usr/bin/env bash
# Wall time of `secgate sbom` against `cargo cyclonedx --format json` on
# secgate's own repository (a clean copy, since cargo-cyclonedx writes beside
# Cargo.toml), plus the component-set parity of the two on the same copy.
# Installs cargo-cyclonedx (into bench/.tools) when it is missing.
# Usage: bench/sbom.sh [RUNS]   (SECGATE_BIN to use an existing binary)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
repo=$PWD

if ! command -v cargo-cyclonedx >/dev/null; then
    if [ ! -x bench/.tools/bin/cargo-cyclonedx ]; then
        nice -n 10 cargo install --locked --quiet cargo-cyclonedx --root bench/.tools
    fi
    export PATH="$repo/bench/.tools/bin:$PATH"
fi
if [ -z "${SECGATE_BIN:-}" ]; then
    nice -n 5 cargo build --release --locked --quiet
    SECGATE_BIN="${CARGO_TARGET_DIR:-$repo/target}/release/secgate"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git archive HEAD | tar -x -C "$work"
project="$work"

# Warm the caches once for both (cargo metadata reads the same registry files).
(cd "$project" && cargo metadata --format-version 1 --locked >/dev/null)

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
time_of() {
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    echo "$end - $start" | bc -l
}

ours=(); theirs=()
for _ in $(seq "$runs"); do
    ours+=("$(time_of "$SECGATE_BIN" sbom "$project" --sbom "$work/ours.cdx.json" --sarif "$work/ours.sarif" -q)")
    theirs+=("$(cd "$project" && time_of cargo cyclonedx --format json --target all --override-filename theirs)")
done
ours_median=$(printf '%s\n' "${ours[@]}" | median)
theirs_median=$(printf '%s\n' "${theirs[@]}" | median)
printf 'secgate sbom:        median %.3fs over %d runs\n' "$ours_median" "$runs"
printf 'cargo cyclonedx:     median %.3fs over %d runs\n' "$theirs_median" "$runs"
printf 'ratio (ours/theirs): %.2fx (goal <= 1x)\n' "$(echo "$ours_median / $theirs_median" | bc -l)"

# Parity: (name, version) of every component, the root aside.
python3 - "$work/ours.cdx.json" "$project/theirs.json" <<'PY'
import json, sys
def components(path):
    return {(c["name"], c.get("version", "")) for c in json.load(open(path))["components"]}
ours, theirs = components(sys.argv[1]), components(sys.argv[2])
print(f"components: secgate {len(ours)}, cargo-cyclonedx {len(theirs)}, equal: {ours == theirs}")
for name, version in sorted(ours - theirs):
    print(f"  only secgate:         {name} {version}")
for name, version in sorted(theirs - ours):
    print(f"  only cargo-cyclonedx: {name} {version}")
sys.exit(0 if ours == theirs else 1)
PY
