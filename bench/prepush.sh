#!/usr/bin/env bash
# Pre-push latency: how long `secgate hook pre-push` takes on a typical push
# (3 commits touching a few files, one of them Cargo.lock) in a repository
# with a realistic history (200 earlier commits). Prints the median of RUNS.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo_root=$(dirname "$here")
runs=${RUNS:-9}
# SECGATE_BIN: measure a given binary instead of building the release one.
if [ -z "${SECGATE_BIN:-}" ]; then
  (cd "$repo_root" && cargo build --release --locked -q)
fi
secgate=${SECGATE_BIN:-$repo_root/target/release/secgate}
db=${SECGATE_DB:-$repo_root/tests/fixtures/advisory-db}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_GLOBAL=/dev/null GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid \
  GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid
git init -q --bare "$work/remote.git"
git init -q -b main "$work/repo"
cd "$work/repo"
cp "$repo_root/Cargo.lock" Cargo.lock
mkdir -p src
for i in $(seq 200); do
  printf 'pub fn f%d() -> u32 { %d }\n' "$i" "$i" >> "src/lib$((i % 20)).rs"
  git add -A && git commit -q -m "commit $i"
done
git remote add origin "$work/remote.git"
git push -q origin main
base=$(git rev-parse HEAD)
for i in 1 2 3; do
  printf 'pub const C%d: u32 = %d;\n' "$i" "$i" >> "src/new$i.rs"
  [ "$i" = 2 ] && echo "# touched" >> Cargo.lock
  git add -A && git commit -q -m "change $i"
done
head=$(git rev-parse HEAD)
line="refs/heads/main $head refs/heads/main $base"
times=()
for _ in $(seq "$runs"); do
  start=$(date +%s%N)
  echo "$line" | SECGATE_DB="$db" "$secgate" hook pre-push origin "$work/remote.git" -q --offline >/dev/null 2>&1 || true
  end=$(date +%s%N)
  times+=("$(( (end - start) / 1000000 ))")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")
printf 'pre-push of 3 commits (Cargo.lock changed, 200 earlier commits): median %d ms over %d runs\n' "$median" "$runs"
