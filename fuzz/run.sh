#!/bin/sh
# Runs each fuzz target for a bounded time (default 60 s each) and prints
# libFuzzer's closing stats. Exits non-zero if any target crashed, leaked,
# ran out of memory or failed to build (its last output lines are printed),
# after running the others. Only the stable toolchain exists here, so
# RUSTC_BOOTSTRAP=1 lets it accept cargo-fuzz's nightly flags (-Z sanitizer).
# Usage: fuzz/run.sh [SECONDS [TARGET...]]   (default: every target)
set -eu
cd "$(dirname "$0")"
seconds="${1:-60}"
[ "$#" -gt 0 ] && shift
[ "$#" -gt 0 ] || set -- policy rules scanner lockfile osv_record osv_index osv_zip python_lock npm_lock recheck_sarif
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=""
for target in "$@"; do
    mkdir -p "corpus/$target"
    echo "== $target (${seconds}s)"
    # Into a file, not a pipe (sh has no pipefail): the filter below must
    # not turn a crash or a build failure into success.
    status=0
    cargo fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
        >"$scratch/log" 2>&1 || status=$?
    # No stats line (a build failure) is not an error of its own.
    grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|SUMMARY|panicked|Done" \
        "$scratch/log" || true
    if [ "$status" -ne 0 ]; then
        echo "== $target FAILED (exit $status); its last output:"
        tail -n 30 "$scratch/log"
        failed="$failed $target"
    fi
done
if [ -n "$failed" ]; then
    echo "fuzz/run.sh: failed:$failed" >&2
    exit 1
fi
