#!/bin/sh
# Runs each fuzz target for a bounded time (default 60 s each) and prints
# libFuzzer's closing stats. Only the stable toolchain exists here, so
# RUSTC_BOOTSTRAP=1 lets it accept cargo-fuzz's nightly flags (-Z sanitizer).
# Usage: fuzz/run.sh [SECONDS]
set -eu
cd "$(dirname "$0")"
seconds="${1:-60}"
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
for target in policy rules scanner lockfile; do
    mkdir -p "corpus/$target"
    echo "== $target (${seconds}s)"
    cargo fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 2>&1 |
        grep -E "stat::number_of_executed_units|stat::average_exec_per_sec|SUMMARY|panicked|Done" || true
done
